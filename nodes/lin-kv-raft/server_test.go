package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"maelkit/lib/raftnode"
	"maelkit/lib/regmodel"
)

// envelope is a Maelstrom message on the wire.
type envelope struct {
	Src  string          `json:"src"`
	Dest string          `json:"dest"`
	Body json.RawMessage `json:"body"`
}

type replyBody struct {
	Type      string          `json:"type"`
	InReplyTo int64           `json:"in_reply_to"`
	Code      int             `json:"code"`
	Value     json.RawMessage `json:"value"`
}

// testNet runs real nodes (run over pipes) and routes their messages, with
// partitions; clients talk to nodes through it. It stands in for eddy.
type testNet struct {
	t      *testing.T
	ids    []string
	mu     sync.Mutex
	cut    map[string]bool    // node id -> isolated
	links  map[[2]string]bool // src,dest -> dropped
	inputs map[string]chan []byte
	// replies to clients, by client id and msg_id.
	waiters map[string]map[int64]chan replyBody
	wg      sync.WaitGroup
}

func newTestNet(t *testing.T, n int) *testNet {
	return newTestNetTiming(t, n, raftnode.DefaultTiming())
}

func newTestNetTiming(t *testing.T, n int, tm raftnode.Timing) *testNet {
	tn := &testNet{t: t, cut: map[string]bool{}, links: map[[2]string]bool{}, inputs: map[string]chan []byte{}, waiters: map[string]map[int64]chan replyBody{}}
	for i := range n {
		tn.ids = append(tn.ids, "n"+strconv.Itoa(i))
	}
	for _, id := range tn.ids {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		in := make(chan []byte, 4096)
		tn.inputs[id] = in
		tn.wg.Add(3)
		go func() { // the node
			defer tn.wg.Done()
			if err := runTiming(inR, outW, io.Discard, tm); err != nil {
				t.Errorf("%s: %v", id, err)
			}
			outW.Close()
		}()
		go func() { // its stdin writer
			defer tn.wg.Done()
			for line := range in {
				if _, err := inW.Write(append(line, '\n')); err != nil {
					return
				}
			}
			inW.Close()
		}()
		go func() { // its stdout router
			defer tn.wg.Done()
			sc := bufio.NewScanner(outR)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for sc.Scan() {
				tn.route(append([]byte(nil), sc.Bytes()...))
			}
		}()
	}
	ids, _ := json.Marshal(tn.ids)
	for i, id := range tn.ids {
		tn.inputs[id] <- fmt.Appendf(nil, `{"src":"c0","dest":%q,"body":{"type":"init","msg_id":%d,"node_id":%q,"node_ids":%s}}`, id, i+1, id, ids)
	}
	return tn
}

func (tn *testNet) route(line []byte) {
	var env envelope
	if err := json.Unmarshal(line, &env); err != nil {
		tn.t.Errorf("bad output line %s: %v", line, err)
		return
	}
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if in, ok := tn.inputs[env.Dest]; ok {
		if tn.cut[env.Src] || tn.cut[env.Dest] || tn.links[[2]string{env.Src, env.Dest}] {
			return
		}
		select {
		case in <- line:
		default: // a full queue is a lost message
		}
		return
	}
	var rb replyBody
	if json.Unmarshal(env.Body, &rb) != nil {
		return
	}
	if ch, ok := tn.waiters[env.Dest][rb.InReplyTo]; ok {
		ch <- rb
		delete(tn.waiters[env.Dest], rb.InReplyTo)
	}
}

// cutLink drops messages between a and b, both ways.
func (tn *testNet) cutLink(a, b string) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	tn.links[[2]string{a, b}] = true
	tn.links[[2]string{b, a}] = true
}

func (tn *testNet) isolate(id string, on bool) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	tn.cut[id] = on
}

// call sends a client request and waits for the reply (ok false on timeout).
func (tn *testNet) call(client string, msgID int64, dest string, body string, timeout time.Duration) (replyBody, bool) {
	ch := make(chan replyBody, 1)
	tn.mu.Lock()
	if tn.waiters[client] == nil {
		tn.waiters[client] = map[int64]chan replyBody{}
	}
	tn.waiters[client][msgID] = ch
	tn.inputs[dest] <- fmt.Appendf(nil, `{"src":%q,"dest":%q,"body":%s}`, client, dest, body)
	tn.mu.Unlock()
	select {
	case rb := <-ch:
		return rb, true
	case <-time.After(timeout):
		tn.mu.Lock()
		delete(tn.waiters[client], msgID)
		tn.mu.Unlock()
		return replyBody{}, false
	}
}

// writer returns a client c1 that writes key 1 through a node and says
// whether it got write_ok, once a first write through n0 has succeeded
// (the cluster works; it fails the test after 5 s without one).
func (tn *testNet) writer(t *testing.T) func(dest string) bool {
	t.Helper()
	var id int64
	write := func(dest string) bool {
		id++
		rb, ok := tn.call("c1", id, dest, fmt.Sprintf(`{"type":"write","msg_id":%d,"key":1,"value":%d}`, id, id%5), 500*time.Millisecond)
		return ok && rb.Type == "write_ok"
	}
	deadline := time.Now().Add(5 * time.Second)
	for !write("n0") {
		require.True(t, time.Now().Before(deadline), "no write succeeded")
	}
	return write
}

func (tn *testNet) close() {
	tn.mu.Lock()
	for _, in := range tn.inputs {
		close(in)
	}
	tn.inputs = map[string]chan []byte{}
	tn.mu.Unlock()
	tn.wg.Wait()
}

// TestLinearizableUnderPartitions runs real nodes with concurrent clients
// on two keys while a nemesis isolates nodes, and checks the history with
// porcupine. Indefinite outcomes are modelled as possibly applied.
func TestLinearizableUnderPartitions(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	tn := newTestNet(t, 3)
	defer tn.close()
	runFor := 4 * time.Second
	if testing.Short() {
		runFor = 2 * time.Second
	}
	h := &regHistory{start: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.runClient(t, tn, c, rand.New(rand.NewPCG(seed, uint64(c))), stop)
		}()
	}
	isolateRandomly(tn, rand.New(rand.NewPCG(seed, 99)), runFor)
	close(stop)
	wg.Wait()
	res := porcupine.CheckOperationsTimeout(regmodel.Model(), h.ops, 20*time.Second)
	require.Equal(t, porcupine.Ok, res, "seed %d: history of %d ops not linearizable", seed, len(h.ops))
	require.Greater(t, h.oks, 20, "too few completed operations")
	t.Logf("%d operations, %d definite", len(h.ops), h.oks)
}

// regHistory collects the operations of concurrent clients.
type regHistory struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	oks   int // operations with a definite outcome
}

// runClient has client c (0-based) issue random operations on two keys at
// random nodes, one at a time, until stop is closed.
func (h *regHistory) runClient(t *testing.T, tn *testNet, c int, r *rand.Rand, stop <-chan struct{}) {
	client := "c" + strconv.Itoa(c+1)
	for id := int64(1); ; id++ {
		select {
		case <-stop:
			return
		default:
		}
		in, body := drawRegOp(r, id)
		call := time.Since(h.start).Nanoseconds()
		rb, ok := tn.call(client, id, tn.ids[r.IntN(len(tn.ids))], body, 500*time.Millisecond)
		ret := time.Since(h.start).Nanoseconds()
		out, record := regOutcome(t, in, rb, ok)
		if !record {
			continue
		}
		if out.Unknown {
			ret = 1 << 62 // open to the end of the history
		}
		h.mu.Lock()
		if !out.Unknown {
			h.oks++
		}
		h.ops = append(h.ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
		h.mu.Unlock()
	}
}

// drawRegOp draws a read, write or cas on key 0 or 1 and its request body.
func drawRegOp(r *rand.Rand, id int64) (regmodel.Input, string) {
	in := regmodel.Input{Key: r.Int64N(2), Value: r.Int64N(5), From: r.Int64N(5), To: r.Int64N(5)}
	switch r.IntN(3) {
	case 0:
		in.F = regmodel.Read
		return in, fmt.Sprintf(`{"type":"read","msg_id":%d,"key":%d}`, id, in.Key)
	case 1:
		in.F = regmodel.Write
		return in, fmt.Sprintf(`{"type":"write","msg_id":%d,"key":%d,"value":%d}`, id, in.Key, in.Value)
	default:
		in.F = regmodel.Cas
		return in, fmt.Sprintf(`{"type":"cas","msg_id":%d,"key":%d,"from":%d,"to":%d}`, id, in.Key, in.From, in.To)
	}
}

// regOutcome is what a reply (ok false: none in time) says of in; record
// is false when the operation constrains nothing: a failed read, or a
// definite failure (11), which did not happen.
func regOutcome(t *testing.T, in regmodel.Input, rb replyBody, ok bool) (out regmodel.Output, record bool) {
	switch {
	case !ok || rb.Type == "error" && rb.Code == 13:
		if in.F == regmodel.Read {
			return out, false
		}
		out.Unknown = true
	case rb.Type == "error" && (rb.Code == 20 || rb.Code == 22):
		out.Code = int64(rb.Code)
	case rb.Type == "error":
		return out, false
	case in.F == regmodel.Read:
		v, err := strconv.ParseInt(string(rb.Value), 10, 64)
		if err != nil {
			t.Errorf("read value %s", rb.Value)
		}
		out.Value = v
	}
	return out, true
}

// isolateRandomly isolates a random node for 400 ms, heals for 400 ms,
// and repeats for runFor; it ends with every node connected.
func isolateRandomly(tn *testNet, nr *rand.Rand, runFor time.Duration) {
	deadline := time.After(runFor)
loop:
	for {
		victim := tn.ids[nr.IntN(len(tn.ids))]
		tn.isolate(victim, true)
		select {
		case <-deadline:
			break loop
		case <-time.After(400 * time.Millisecond):
		}
		tn.isolate(victim, false)
		select {
		case <-deadline:
			break loop
		case <-time.After(400 * time.Millisecond):
		}
	}
	for _, id := range tn.ids {
		tn.isolate(id, false)
	}
}

// A node cut off from the leader but not from a peer that reaches it
// hands client requests off to that peer (a "majorities ring" partition).
func TestHandoffAroundBrokenLink(t *testing.T) {
	tn := newTestNet(t, 3)
	defer tn.close()
	// Wait for a working cluster, then break one link.
	write := tn.writer(t)
	// Whoever leads, n2 keeps a path to it: directly, through n1 (if n0
	// leads: the handoff), or it leads itself.
	tn.cutLink("n2", "n0")
	ok := 0
	for tries := 0; tries < 40 && ok < 3; tries++ {
		if write("n2") {
			ok++
		}
	}
	require.Equal(t, 3, ok, "writes through n2 keep succeeding with the n0-n2 link cut")
}

// In Maelstrom's majorities-ring partition on three nodes every link works
// one way only (n0->n1->n2->n0 here), so no two nodes can talk both ways:
// raft messages must go around through the third node. Writes keep
// succeeding.
func TestDirectedRing(t *testing.T) {
	tm := raftnode.DefaultTiming()
	tm.RelayRouting = true
	tn := newTestNetTiming(t, 3, tm)
	defer tn.close()
	write := tn.writer(t)
	tn.mu.Lock()
	tn.links[[2]string{"n1", "n0"}] = true
	tn.links[[2]string{"n2", "n1"}] = true
	tn.links[[2]string{"n0", "n2"}] = true
	tn.mu.Unlock()
	for _, dest := range tn.ids {
		ok := false
		for tries := 0; tries < 20 && !ok; tries++ {
			ok = write(dest)
		}
		require.True(t, ok, "a write through %s succeeded in the directed ring", dest)
	}
}
