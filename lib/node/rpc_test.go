package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"
)

// proxyBody asks the node under test to call Dest with Body and to answer
// the client with the outcome (a deferred reply from the callback).
type proxyBody struct {
	Dest      string          `json:"dest"`
	Body      json.RawMessage `json:"body"`
	TimeoutMs int64           `json:"timeout_ms"`
	Typed     bool            `json:"typed"` // decode the reply as readOK
}

type readOK struct {
	Value int64 `json:"value"`
}

// outcome is what the callback saw: the reply, or the error and its
// Maelstrom code (-1 when it is not an RPC error), and when.
type outcome struct {
	Type    string          `json:"type"`
	Reply   json.RawMessage `json:"reply,omitempty"`
	Value   int64           `json:"value,omitempty"`
	Code    int             `json:"code"`
	Err     string          `json:"err,omitempty"`
	AfterMs int64           `json:"after_ms"`
}

func outcomeOf(start time.Time, reply json.RawMessage, err error) outcome {
	o := outcome{Type: "proxy_ok", Reply: reply, Code: maelstrom.ErrorCode(err), AfterMs: time.Since(start).Milliseconds()}
	if err != nil {
		o.Err = err.Error()
	}
	return o
}

// rpcNode is n1 in a cluster n1, n2 with a "proxy" handler; calls lists
// every callback run, by request msg_id order of the proxy requests.
func rpcNode(t *testing.T, cfg Config, setup func(n *Node)) *harness {
	h := startNode(t, cfg, func(n *Node) {
		Handle(n, "proxy", func(req *Request, b proxyBody) error {
			start := time.Now()
			timeout := time.Duration(b.TimeoutMs) * time.Millisecond
			if b.Typed {
				return Call(n, b.Dest, b.Body, timeout, func(r readOK, err error) {
					o := outcomeOf(start, nil, err)
					o.Value = r.Value
					_ = req.Reply(o)
				})
			}
			return Call(n, b.Dest, b.Body, timeout, func(r json.RawMessage, err error) {
				_ = req.Reply(outcomeOf(start, r, err))
			})
		})
		Handle(n, "echo", echoHandler)
		Handle(n, "tables", func(req *Request, _ struct{}) error {
			s := n.stats()
			return req.Reply(statsOK{Type: "tables_ok", Pending: s.Pending, Queued: s.Queued, Dests: s.Dests, Timers: s.Timers})
		})
		if setup != nil {
			setup(n)
		}
	})
	h.init("n1", "n1", "n2")
	return h
}

// requireEmptyTables asks the loop for its tables: no call pending or
// queued, no destination state, no timer left.
func (h *harness) requireEmptyTables(msgID int64) {
	h.t.Helper()
	h.sendf(`{"src":"c1","dest":"n1","body":{"type":"tables","msg_id":%d}}`, msgID)
	h.expect(fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"tables_ok","pending":0,"queued":0,"dests":0,"timers":0,"callbacks":0,"timeouts":0,"twice":0,"in_reply_to":%d}}`, msgID))
}

func (h *harness) proxy(msgID int64, dest, body string, timeoutMs int64, typed bool) {
	h.t.Helper()
	h.sendf(`{"src":"c1","dest":"n1","body":{"type":"proxy","msg_id":%d,"dest":%q,"body":%s,"timeout_ms":%d,"typed":%t}}`,
		msgID, dest, body, timeoutMs, typed)
}

func (h *harness) outcome(inReplyTo int64) outcome {
	h.t.Helper()
	var m struct {
		Dest string `json:"dest"`
		Body struct {
			outcome
			InReplyTo int64 `json:"in_reply_to"`
		} `json:"body"`
	}
	require.NoError(h.t, json.Unmarshal([]byte(h.recv()), &m))
	require.Equal(h.t, "c1", m.Dest)
	require.Equal(h.t, inReplyTo, m.Body.InReplyTo)
	return m.Body.outcome
}

func TestCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := rpcNode(t, Config{}, nil)

		// Node-originated msg_ids start at 1; the request carries exactly the
		// body's fields plus msg_id; integers stay exact both ways.
		h.proxy(10, "n2", `{"type":"read","key":9007199254740993}`, 1000, true)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"read","key":9007199254740993,"msg_id":1}}`)
		h.send(`{"id":4,"src":"n2","dest":"n1","body":{"type":"read_ok","value":9007199254740993,"in_reply_to":1}}`)
		require.Equal(t, outcome{Type: "proxy_ok", Value: 9007199254740993, Code: -1}, h.outcome(10))

		// An error reply with code 0 is an error, not a success.
		h.proxy(11, "lin-kv", `{"type":"read","key":"a"}`, 1000, false)
		h.expect(`{"src":"n1","dest":"lin-kv","body":{"type":"read","key":"a","msg_id":2}}`)
		h.send(`{"src":"lin-kv","dest":"n1","body":{"type":"error","code":0,"text":"slow","in_reply_to":2}}`)
		require.Equal(t, outcome{Type: "proxy_ok", Code: 0, Err: `RPCError(Timeout, "slow")`}, h.outcome(11))

		// An error reply with no code at all is an error with code 0 too.
		h.proxy(12, "lin-kv", `{"type":"read","key":"a"}`, 1000, false)
		h.expect(`{"src":"n1","dest":"lin-kv","body":{"type":"read","key":"a","msg_id":3}}`)
		h.send(`{"src":"lin-kv","dest":"n1","body":{"type":"error","in_reply_to":3}}`)
		require.Equal(t, outcome{Type: "proxy_ok", Code: 0, Err: `RPCError(Timeout, "")`}, h.outcome(12))

		// A definite error keeps its code.
		h.proxy(13, "lin-kv", `{"type":"read","key":"a"}`, 1000, false)
		h.expect(`{"src":"n1","dest":"lin-kv","body":{"type":"read","key":"a","msg_id":4}}`)
		h.send(`{"src":"lin-kv","dest":"n1","body":{"type":"error","code":20,"text":"not found","in_reply_to":4}}`)
		require.Equal(t, outcome{Type: "proxy_ok", Code: 20, Err: `RPCError(KeyDoesNotExist, "not found")`}, h.outcome(13))

		// No reply: the callback runs once, with a code-0 timeout, at the
		// deadline; the late reply is then dropped.
		h.proxy(14, "n2", `{"type":"read"}`, 1500, false)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"read","msg_id":5}}`)
		require.Equal(t, outcome{Type: "proxy_ok", Code: 0, Err: `RPCError(Timeout, "read to n2 timed out after 1.5s")`, AfterMs: 1500}, h.outcome(14))
		h.send(`{"src":"n2","dest":"n1","body":{"type":"read_ok","in_reply_to":5}}`)
		h.probe(15)

		// A reply from another node than the callee does not complete the call.
		h.proxy(16, "n2", `{"type":"read"}`, 1000, false)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"read","msg_id":6}}`)
		h.send(`{"src":"n3","dest":"n1","body":{"type":"read_ok","value":1,"in_reply_to":6}}`)
		h.probe(17)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"read_ok","value":2,"in_reply_to":6}}`)
		require.Equal(t, outcome{Type: "proxy_ok", Reply: json.RawMessage(`{"type":"read_ok","value":2,"in_reply_to":6}`), Code: -1}, h.outcome(16))

		// A reply that does not decode into T is an error (not an RPC code).
		h.proxy(18, "n2", `{"type":"read"}`, 1000, true)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"read","msg_id":7}}`)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"read_ok","value":"x","in_reply_to":7}}`)
		o := h.outcome(18)
		require.Equal(t, -1, o.Code)
		require.Contains(t, o.Err, "decode read_ok reply from n2")

		// Bad calls are refused synchronously: the handler's error answers.
		h.proxy(19, "", `{"type":"read"}`, 1000, false)
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"error","code":13,"text":"node: Call with an empty dest","in_reply_to":19}}`)
		h.proxy(20, "n2", `{"type":"read"}`, 0, false)
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"error","code":13,"text":"node: Call timeout 0s, must be positive","in_reply_to":20}}`)
		h.proxy(21, "n2", `[1]`, 100, false)
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"error","code":13,"text":"node: raw body \"[1]\" is not a JSON object","in_reply_to":21}}`)
		h.requireEmptyTables(22)
		h.closeClean()
	})
}

// spawnBody asks for Count calls to n2 whose callbacks are counted.
type spawnBody struct {
	Count     int   `json:"count"`
	TimeoutMs int64 `json:"timeout_ms"`
}

type statsOK struct {
	Type      string `json:"type"`
	Pending   int    `json:"pending"`
	Queued    int    `json:"queued"`
	Dests     int    `json:"dests"`
	Timers    int    `json:"timers"`
	Callbacks int    `json:"callbacks"`
	Timeouts  int    `json:"timeouts"`
	Twice     int    `json:"twice"` // callbacks that ran more than once
}

// TestTimedOutCallsLeaveNothing is the official package's leak: 10,000
// calls that time out, then 10,000 late replies. The pending table, the
// per-peer queues and the timer heap end empty, every callback ran exactly
// once, and no goroutine is left (synctest fails on a leaked goroutine; the
// count is checked too).
func TestTimedOutCallsLeaveNothing(t *testing.T) {
	const count = 10_000
	before := runtime.NumGoroutine()
	synctest.Test(t, func(t *testing.T) {
		runs := make(map[int]int)
		timeouts := 0
		h := rpcNode(t, Config{Logger: testLogger(t, slog.LevelWarn)}, func(n *Node) {
			Handle(n, "spawn", func(req *Request, b spawnBody) error {
				for i := range b.Count {
					err := Call(n, "n2", initOK{Type: "ping"}, time.Duration(b.TimeoutMs)*time.Millisecond, func(_ json.RawMessage, err error) {
						runs[i]++
						if maelstrom.ErrorCode(err) == maelstrom.Timeout {
							timeouts++
						}
					})
					if err != nil {
						return err
					}
				}
				return req.Reply(initOK{Type: "spawn_ok"})
			})
			Handle(n, "stats", func(req *Request, _ struct{}) error {
				s := n.stats()
				o := statsOK{Type: "stats_ok", Pending: s.Pending, Queued: s.Queued, Dests: s.Dests, Timers: s.Timers, Callbacks: len(runs), Timeouts: timeouts}
				for _, c := range runs {
					if c > 1 {
						o.Twice++
					}
				}
				return req.Reply(o)
			})
		})
		start := time.Now()
		h.sendf(`{"src":"c1","dest":"n1","body":{"type":"spawn","msg_id":2,"count":%d,"timeout_ms":1000}}`, count)
		// The first PeerInflightMax calls go out at once, the rest as slots free.
		for id := 1; id <= DefaultPeerInflightMax; id++ {
			h.expect(fmt.Sprintf(`{"src":"n1","dest":"n2","body":{"type":"ping","msg_id":%d}}`, id))
		}
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"spawn_ok","in_reply_to":2}}`)
		for id := DefaultPeerInflightMax + 1; id <= count; id++ {
			h.expect(fmt.Sprintf(`{"src":"n1","dest":"n2","body":{"type":"ping","msg_id":%d}}`, id))
		}
		waves := (count + DefaultPeerInflightMax - 1) / DefaultPeerInflightMax
		time.Sleep(time.Second) // virtual: the last wave's deadline
		synctest.Wait()
		require.Equal(t, time.Duration(waves)*time.Second, time.Since(start))
		want := `{"src":"n1","dest":"c1","body":{"type":"stats_ok","pending":0,"queued":0,"dests":0,"timers":0,"callbacks":10000,"timeouts":10000,"twice":0,"in_reply_to":%d}}`
		h.send(`{"src":"c1","dest":"n1","body":{"type":"stats","msg_id":3}}`)
		h.expect(fmt.Sprintf(want, 3))
		for id := 1; id <= count; id++ {
			h.sendf(`{"src":"n2","dest":"n1","body":{"type":"ping_ok","in_reply_to":%d}}`, id)
		}
		h.send(`{"src":"c1","dest":"n1","body":{"type":"stats","msg_id":4}}`)
		h.expect(fmt.Sprintf(want, 4))
		h.closeClean()
	})
	// synctest.Test returns only once every bubble goroutine has exited;
	// the process-wide count confirms nothing escaped the bubble.
	// Runtime helpers (finalizer, cleanup) may be exiting; poll, bounded.
	for i := 0; i < 1000 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(time.Millisecond)
	}
	if runtime.NumGoroutine() > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("before %d after %d\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
}

// TestPeerQueue: past PeerInflightMax calls wait in FIFO order, past
// PeerQueueMax Call fails synchronously, and other peers are not held up.
func TestPeerQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var order []int
		h := rpcNode(t, Config{PeerInflightMax: 2, PeerQueueMax: 3}, func(n *Node) {
			Handle(n, "burst", func(req *Request, b struct {
				Dest  string `json:"dest"`
				Count int    `json:"count"`
			}) error {
				for i := range b.Count {
					err := Call(n, b.Dest, struct {
						Type string `json:"type"`
						I    int    `json:"i"`
					}{Type: "ping", I: i}, time.Second, func(_ json.RawMessage, err error) {
						order = append(order, i)
					})
					if err != nil {
						return fmt.Errorf("call %d: %w", i, err)
					}
				}
				return req.Reply(initOK{Type: "burst_ok"})
			})
		})
		h.send(`{"src":"c1","dest":"n1","body":{"type":"burst","msg_id":2,"dest":"n2","count":6}}`)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"ping","i":0,"msg_id":1}}`,
			`{"src":"n1","dest":"n2","body":{"type":"ping","i":1,"msg_id":2}}`,
			`{"src":"n1","dest":"c1","body":{"type":"error","code":13,"text":"call 5: node: peer call queue full","in_reply_to":2}}`)
		// Another destination has its own slots.
		h.send(`{"src":"c1","dest":"n1","body":{"type":"burst","msg_id":3,"dest":"lin-kv","count":1}}`)
		h.expect(`{"src":"n1","dest":"lin-kv","body":{"type":"ping","i":0,"msg_id":3}}`,
			`{"src":"n1","dest":"c1","body":{"type":"burst_ok","in_reply_to":3}}`)
		// Each freed slot sends the oldest queued call.
		h.send(`{"src":"n2","dest":"n1","body":{"type":"ping_ok","in_reply_to":2}}`)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"ping","i":2,"msg_id":4}}`)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"ping_ok","in_reply_to":1}}`)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"ping","i":3,"msg_id":5}}`)
		// A timeout frees a slot too.
		time.Sleep(time.Second)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"ping","i":4,"msg_id":6}}`)
		h.send(`{"src":"lin-kv","dest":"n1","body":{"type":"ping_ok","in_reply_to":3}}`)
		h.probe(9)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"ping_ok","in_reply_to":6}}`)
		h.requireEmptyTables(10)
		h.closeClean()
		// Callbacks: 1 and 0 by reply, then by timeout lin-kv's 0, 2 and 3,
		// then 4 by reply.
		require.Equal(t, []int{1, 0, 0, 2, 3, 4}, order)
	})
}

// TestShutdownFailsCalls: calls pending or queued at EOF get ErrStopped
// exactly once; their callbacks can still send (flushed before Run returns)
// but cannot start calls or timers.
func TestShutdownFailsCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := rpcNode(t, Config{PeerInflightMax: 1}, func(n *Node) {
			Handle(n, "two", func(req *Request, _ struct{}) error {
				for i := range 2 {
					err := Call(n, "n2", initOK{Type: "ping"}, time.Hour, func(_ json.RawMessage, err error) {
						again := Call(n, "n2", initOK{Type: "ping"}, time.Hour, func(json.RawMessage, error) {})
						timer := n.After(0, func() { panic("timer after stop") })
						_ = n.Send("n2", struct {
							Type  string `json:"type"`
							I     int    `json:"i"`
							Err   string `json:"err"`
							Again string `json:"again"`
							Stop  bool   `json:"stop"`
						}{Type: "bye", I: i, Err: err.Error(), Again: again.Error(), Stop: timer.Stop()})
					})
					if err != nil {
						return err
					}
				}
				return req.Reply(initOK{Type: "two_ok"})
			})
		})
		h.send(`{"src":"c1","dest":"n1","body":{"type":"two","msg_id":2}}`)
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"ping","msg_id":1}}`,
			`{"src":"n1","dest":"c1","body":{"type":"two_ok","in_reply_to":2}}`)
		rest, err := h.close()
		require.NoError(t, err)
		require.Equal(t, []string{
			`{"src":"n1","dest":"n2","body":{"type":"bye","i":0,"err":"node: stopped","again":"node: stopped","stop":false}}`,
			`{"src":"n1","dest":"n2","body":{"type":"bye","i":1,"err":"node: stopped","again":"node: stopped","stop":false}}`,
		}, rest)
	})
}

// retryBody asks for one CallRetry to n2.
type retryBody struct {
	Attempts int   `json:"attempts"`
	MinMs    int64 `json:"min_ms"`
	MaxMs    int64 `json:"max_ms"`
}

func TestCallRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := rpcNode(t, Config{Rand: rand.New(rand.NewPCG(1, 2))}, func(n *Node) {
			Handle(n, "retry", func(req *Request, b retryBody) error {
				start := time.Now()
				r := Retry{Attempts: b.Attempts, Timeout: time.Second, BackoffMin: time.Duration(b.MinMs) * time.Millisecond, BackoffMax: time.Duration(b.MaxMs) * time.Millisecond}
				return CallRetry(n, "n2", initOK{Type: "write"}, r, func(rep readOK, err error) {
					o := outcomeOf(start, nil, err)
					o.Value = rep.Value
					_ = req.Reply(o)
				})
			})
		})
		sendAt := func(msgID int) time.Time {
			t.Helper()
			h.expect(fmt.Sprintf(`{"src":"n1","dest":"n2","body":{"type":"write","msg_id":%d}}`, msgID))
			return time.Now()
		}

		// Two timeouts, a temporarily-unavailable, then success on attempt 4.
		h.send(`{"src":"c1","dest":"n1","body":{"type":"retry","msg_id":2,"attempts":5,"min_ms":100,"max_ms":250}}`)
		t1 := sendAt(1)
		t2 := sendAt(2)
		requireBackoff(t, t2.Sub(t1)-time.Second, 100*time.Millisecond)
		t3 := sendAt(3)
		requireBackoff(t, t3.Sub(t2)-time.Second, 200*time.Millisecond)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"error","code":11,"in_reply_to":3}}`)
		t4 := sendAt(4)
		requireBackoff(t, t4.Sub(t3), 250*time.Millisecond)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"write_ok","value":7,"in_reply_to":4}}`)
		o := h.outcome(2)
		require.Equal(t, int64(7), o.Value)
		require.Equal(t, -1, o.Code)

		// A definite error is not retried.
		h.send(`{"src":"c1","dest":"n1","body":{"type":"retry","msg_id":3,"attempts":5,"min_ms":100,"max_ms":250}}`)
		sendAt(5)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"error","code":22,"in_reply_to":5}}`)
		require.Equal(t, 22, h.outcome(3).Code)

		// Attempts bound the work: the last timeout is the answer.
		h.send(`{"src":"c1","dest":"n1","body":{"type":"retry","msg_id":4,"attempts":2,"min_ms":0,"max_ms":0}}`)
		sendAt(6)
		sendAt(7)
		o = h.outcome(4)
		require.Equal(t, 0, o.Code)
		require.Equal(t, int64(2000), o.AfterMs)
		h.requireEmptyTables(7)

		// Invalid policies are refused synchronously.
		h.send(`{"src":"c1","dest":"n1","body":{"type":"retry","msg_id":5,"attempts":0}}`)
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"error","code":13,"text":"node: Retry.Attempts = 0, must be >= 1","in_reply_to":5}}`)

		// Input ends during a back-off: the callback still runs, with ErrStopped.
		h.send(`{"src":"c1","dest":"n1","body":{"type":"retry","msg_id":6,"attempts":3,"min_ms":60000,"max_ms":60000}}`)
		sendAt(8)
		time.Sleep(time.Second) // virtual: attempt 1 times out, the back-off starts
		synctest.Wait()
		rest, err := h.close()
		require.NoError(t, err)
		require.Len(t, rest, 1)
		require.Contains(t, rest[0], `"err":"node: stopped"`)
	})
}

func requireBackoff(t *testing.T, got, d time.Duration) {
	t.Helper()
	require.GreaterOrEqual(t, got, d/2)
	require.LessOrEqual(t, got, d)
}

// TestBackoffBounds is a property test of the back-off schedule.
func TestBackoffBounds(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 2000 {
		lo := time.Duration(rng.Int64N(int64(time.Second)))
		r := Retry{Attempts: 100, Timeout: time.Second, BackoffMin: lo, BackoffMax: lo + time.Duration(rng.Int64N(int64(time.Minute)))}
		require.NoError(t, r.validate())
		attempt := 1 + rng.IntN(80)
		d := r.backoff(attempt, rng)
		ideal := r.BackoffMax
		if f := float64(lo) * math.Pow(2, float64(attempt-1)); f < float64(r.BackoffMax) {
			ideal = time.Duration(f)
		}
		require.GreaterOrEqual(t, d, ideal/2, "seed %d", seed)
		require.LessOrEqual(t, d, ideal, "seed %d", seed)
	}
	for _, bad := range []Retry{
		{Attempts: 1},
		{Attempts: 1, Timeout: time.Second, BackoffMin: -1},
		{Attempts: 1, Timeout: time.Second, BackoffMin: 2, BackoffMax: 1},
		{Attempts: 1, Timeout: time.Second, BackoffMax: 2 * time.Hour},
	} {
		require.Error(t, bad.validate())
	}
}
