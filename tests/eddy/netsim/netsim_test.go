package netsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/journal"
)

// newNet builds a network with the given participants; it must run inside
// the synctest bubble when the test depends on time.
func newNet(t *testing.T, cfg Config, ids ...string) *Net {
	t.Helper()
	n, err := New(cfg)
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, n.Add(id))
	}
	return n
}

func body(s string) json.RawMessage { return json.RawMessage(s) }

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "default", cfg: Config{}},
		{name: "constant 0", cfg: Config{Dist: DistConstant}},
		{name: "constant 10", cfg: Config{Dist: DistConstant, LatencyMs: 10}},
		{name: "uniform 10", cfg: Config{Dist: DistUniform, LatencyMs: 10}},
		{name: "exponential 10", cfg: Config{Dist: DistExponential, LatencyMs: 10}},
		{name: "unknown dist", cfg: Config{Dist: "normal", LatencyMs: 10}, wantErr: "unknown latency distribution"},
		{name: "uniform 0", cfg: Config{Dist: DistUniform}, wantErr: "needs a mean above 0"},
		{name: "exponential 0", cfg: Config{Dist: DistExponential}, wantErr: "needs a mean above 0"},
		{name: "negative latency", cfg: Config{LatencyMs: -1}, wantErr: "negative"},
		{name: "huge latency", cfg: Config{LatencyMs: math.MaxInt64 / 2}, wantErr: "exceeds one day"},
		{name: "negative MaxQueued", cfg: Config{MaxQueued: -1}, wantErr: "MaxQueued"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := New(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, n)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, n)
		})
	}
}

// drawMs draws count node-to-node latencies in ms.
func drawMs(t *testing.T, cfg Config, count int) []int64 {
	t.Helper()
	n := newNet(t, cfg)
	out := make([]int64, count)
	for i := range out {
		ns := n.latencyLocked("n1", "n2")
		if ns%int64(time.Millisecond) != 0 {
			t.Fatalf("latency %d ns is not whole ms", ns)
		}
		out[i] = ns / int64(time.Millisecond)
	}
	return out
}

func TestLatencyDistributions(t *testing.T) {
	const draws = 40000
	const seed = 7
	tests := []struct {
		dist     string
		mean     int64
		wantMean float64 // expected mean of the whole-ms draws
		min, max int64   // inclusive bounds every draw respects
		hitEnds  bool    // both bounds should be reached
	}{
		{dist: DistConstant, mean: 0, wantMean: 0, min: 0, max: 0, hitEnds: true},
		{dist: DistConstant, mean: 25, wantMean: 25, min: 25, max: 25, hitEnds: true},
		// uniform integer in [0, 2L): mean (2L-1)/2.
		{dist: DistUniform, mean: 10, wantMean: 9.5, min: 0, max: 19, hitEnds: true},
		{dist: DistUniform, mean: 100, wantMean: 99.5, min: 0, max: 199},
		{dist: DistUniform, mean: 1, wantMean: 0.5, min: 0, max: 1, hitEnds: true},
		// floor of an exponential with mean L: 1/(e^(1/L)-1), about L-0.5.
		{dist: DistExponential, mean: 100, wantMean: 1 / (math.Exp(0.01) - 1), min: 0, max: math.MaxInt64},
		{dist: DistExponential, mean: 5, wantMean: 1 / (math.Exp(0.2) - 1), min: 0, max: math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.dist, tt.mean), func(t *testing.T) {
			ms := drawMs(t, Config{Dist: tt.dist, LatencyMs: tt.mean, Seed: seed}, draws)
			var sum float64
			lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
			for _, v := range ms {
				sum += float64(v)
				lo, hi = min(lo, v), max(hi, v)
			}
			require.GreaterOrEqual(t, lo, tt.min, "seed %d", seed)
			require.LessOrEqual(t, hi, tt.max, "seed %d", seed)
			mean := sum / draws
			require.InDelta(t, tt.wantMean, mean, 0.03*tt.wantMean+0.01, "seed %d", seed)
			if tt.hitEnds {
				require.Equal(t, tt.min, lo, "seed %d", seed)
				require.Equal(t, tt.max, hi, "seed %d", seed)
			}
			if tt.dist == DistExponential {
				// Exponential: about 1/e of draws exceed the mean.
				over := 0
				for _, v := range ms {
					if float64(v) >= float64(tt.mean) {
						over++
					}
				}
				require.InDelta(t, math.Exp(-1), float64(over)/draws, 0.02, "seed %d", seed)
			}
		})
	}
}

func TestLatencySeeded(t *testing.T) {
	cfg := Config{Dist: DistUniform, LatencyMs: 50, Seed: 42}
	require.Equal(t, drawMs(t, cfg, 100), drawMs(t, cfg, 100))
	cfg2 := cfg
	cfg2.Seed = 43
	require.NotEqual(t, drawMs(t, cfg, 100), drawMs(t, cfg2, 100))
}

func TestClientLatencyZero(t *testing.T) {
	for _, dist := range []string{DistConstant, DistUniform, DistExponential} {
		n := newNet(t, Config{Dist: dist, LatencyMs: 100, Seed: 1})
		for _, pair := range [][2]string{{"c1", "n1"}, {"n1", "c1"}, {"c1", "lin-kv"}, {"lin-kv", "c3"}, {"c1", "c2"}} {
			for range 50 {
				require.Zero(t, n.latencyLocked(pair[0], pair[1]), "%s %v", dist, pair)
			}
		}
		// Services are not clients: node<->service gets a draw.
		var total int64
		for range 50 {
			total += n.latencyLocked("n1", "lin-kv")
		}
		require.Positive(t, total, dist)
	}
}

// recvAll receives count messages for id, failing on any error.
func recvAll(t *testing.T, n *Net, id string, count int) []Message {
	t.Helper()
	out := make([]Message, 0, count)
	for range count {
		m, err := n.Recv(t.Context(), id)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

func TestFIFOUnderConstantLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 30}, "n1", "n2", "n3")
		var want []int64
		go func() {
			// A second sender interleaves, so n2's queue mixes sources.
			for i := range 50 {
				_, err := n.Send("n3", "n2", body(fmt.Sprint(i)))
				assert.NoError(t, err)
				time.Sleep(3 * time.Millisecond)
			}
		}()
		for i := range 50 {
			id, err := n.Send("n1", "n2", body(fmt.Sprint(i)))
			require.NoError(t, err)
			want = append(want, id)
			time.Sleep(time.Duration(i%3) * time.Millisecond) // some sends share an instant
		}
		var got []int64
		for _, m := range recvAll(t, n, "n2", 100) {
			if m.Src == "n1" {
				got = append(got, m.ID)
			}
		}
		require.Equal(t, want, got)
	})
}

func TestReorderingUnderUniformLatency(t *testing.T) {
	const seed = 3
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{Dist: DistUniform, LatencyMs: 50, Seed: seed}, "n1", "n2")
		for i := range 100 {
			_, err := n.Send("n1", "n2", body(fmt.Sprint(i)))
			require.NoError(t, err)
		}
		inversions := 0
		prev := int64(-1)
		for _, m := range recvAll(t, n, "n2", 100) {
			if m.ID < prev {
				inversions++
			}
			prev = m.ID
		}
		require.Positive(t, inversions, "seed %d: uniform latency never reordered", seed)
	})
}

func TestDeliveryWaitsForDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := newNet(t, Config{LatencyMs: 40, Start: start}, "n1", "n2")
		_, err := n.Send("n1", "n2", body(`{"type":"x"}`))
		require.NoError(t, err)
		m := recvAll(t, n, "n2", 1)[0]
		require.Equal(t, 40*time.Millisecond, time.Since(start))
		require.Equal(t, Message{ID: 0, Src: "n1", Dest: "n2", Body: body(`{"type":"x"}`)}, m)
	})
}

func TestHeadOfLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := newNet(t, Config{LatencyMs: 100, Start: start}, "n1", "n2", "c1")
		_, err := n.Send("n1", "n2", body(`1`))
		require.NoError(t, err)
		got := make(chan Message, 2)
		go func() {
			for range 2 {
				m, err := n.Recv(t.Context(), "n2")
				assert.NoError(t, err)
				got <- m
			}
		}()
		synctest.Wait() // the receiver has taken message 0 and sleeps on it
		time.Sleep(10 * time.Millisecond)
		_, err = n.Send("c1", "n2", body(`2`)) // due now, but waits behind 0
		require.NoError(t, err)
		first, second := <-got, <-got
		require.Equal(t, int64(0), first.ID)
		require.Equal(t, int64(1), second.ID)
		j := n.Journal()
		require.Len(t, j, 4)
		require.Equal(t, journal.Recv, j[3].Kind)
		require.Equal(t, int64(100*time.Millisecond), j[3].Time, "client message delivered behind the node message")
	})
}

func TestGrudgeAppliedAtDequeue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 100}, "n1", "n2", "n3")
		// Sent before the partition, still queued when it starts: dropped.
		_, err := n.Send("n1", "n2", body(`"queued"`))
		require.NoError(t, err)
		// From an unpartitioned source: delivered.
		_, err = n.Send("n3", "n2", body(`"other"`))
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, n.SetGrudge(Grudge{"n2": {"n1"}}))
		m := recvAll(t, n, "n2", 1)[0]
		require.Equal(t, "n3", m.Src)
		sent, delivered, dropped := n.Stats()
		require.Equal(t, [3]int64{2, 1, 1}, [3]int64{sent, delivered, dropped})
		for _, e := range n.Journal() {
			if e.ID == 0 {
				require.Equal(t, journal.Send, e.Kind, "a dropped message has no recv event")
			}
		}
	})
}

func TestGrudgeAfterTakeStillDelivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 100}, "n1", "n2")
		_, err := n.Send("n1", "n2", body(`"taken"`))
		require.NoError(t, err)
		got := make(chan Message, 1)
		go func() {
			m, err := n.Recv(t.Context(), "n2")
			assert.NoError(t, err)
			got <- m
		}()
		synctest.Wait() // taken, sleeping until its deadline
		require.NoError(t, n.SetGrudge(Grudge{"n2": {"n1"}}))
		m := <-got
		require.Equal(t, int64(0), m.ID)
		_, delivered, dropped := n.Stats()
		require.Equal(t, int64(1), delivered)
		require.Zero(t, dropped)
	})
}

func TestGrudgeIsDirectional(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 5}, "n1", "n2")
		require.NoError(t, n.SetGrudge(Grudge{"n2": {"n1"}}))
		_, err := n.Send("n1", "n2", body(`"lost"`))
		require.NoError(t, err)
		_, err = n.Send("n2", "n1", body(`"kept"`))
		require.NoError(t, err)
		m := recvAll(t, n, "n1", 1)[0]
		require.Equal(t, body(`"kept"`), m.Body)

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err = n.Recv(ctx, "n2")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		_, _, dropped := n.Stats()
		require.Equal(t, int64(1), dropped)

		// After a heal the same direction flows again.
		n.Heal()
		require.Empty(t, n.Grudge())
		_, err = n.Send("n1", "n2", body(`"healed"`))
		require.NoError(t, err)
		require.Equal(t, body(`"healed"`), recvAll(t, n, "n2", 1)[0].Body)
	})
}

func TestGrudgeValidationAndCopy(t *testing.T) {
	n := newNet(t, Config{})
	require.ErrorContains(t, n.SetGrudge(Grudge{"c1": {"n1"}}), "not a server node")
	require.ErrorContains(t, n.SetGrudge(Grudge{"n1": {"c2"}}), "not a server node")
	require.ErrorContains(t, n.SetGrudge(Grudge{"": {"n1"}}), "not a server node")
	require.NoError(t, n.SetGrudge(Grudge{"n1": {"n3", "n2"}, "n2": {}, "n3": nil}))
	g := n.Grudge()
	require.Equal(t, Grudge{"n1": {"n2", "n3"}}, g)
	g["n1"][0] = "zz"
	g["n9"] = []string{"n1"}
	require.Equal(t, Grudge{"n1": {"n2", "n3"}}, n.Grudge(), "Grudge returns a copy")
}

func TestUnknownParticipants(t *testing.T) {
	n := newNet(t, Config{}, "n1")
	_, err := n.Send("n1", "n7", body(`{}`))
	require.ErrorIs(t, err, ErrUnknownDest)
	_, err = n.Send("n7", "n1", body(`{}`))
	require.ErrorIs(t, err, ErrUnknownSrc)
	_, err = n.Recv(t.Context(), "n7")
	require.ErrorIs(t, err, ErrNotParticipant)
	require.Error(t, n.Add(""))
	require.ErrorContains(t, n.Add("n1"), "already exists")
	sent, _, _ := n.Stats()
	require.Zero(t, sent)
	require.Empty(t, n.Journal())
}

func TestRemovedParticipant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{}, "n1", "c1", "c2")
		for range 3 {
			_, err := n.Send("n1", "c1", body(`{}`))
			require.NoError(t, err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := n.Recv(t.Context(), "c2")
			errc <- err
		}()
		synctest.Wait() // c2's receiver waits on an empty inbox
		n.Remove("c1")
		n.Remove("c2")
		n.Remove("c9") // unknown: no-op
		require.ErrorIs(t, <-errc, ErrNotParticipant, "Remove wakes waiting receivers")
		require.False(t, n.Has("c1"))
		require.True(t, n.Has("n1"))
		_, err := n.Send("n1", "c1", body(`{}`))
		require.ErrorIs(t, err, ErrUnknownDest)
		_, err = n.Recv(t.Context(), "c1")
		require.ErrorIs(t, err, ErrNotParticipant)
		sent, delivered, dropped := n.Stats()
		require.Equal(t, [3]int64{3, 0, 0}, [3]int64{sent, delivered, dropped})
		require.Len(t, n.Journal(), 3)
		n.mu.Lock()
		require.Zero(t, n.queued)
		n.mu.Unlock()
	})
}

func TestJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := newNet(t, Config{LatencyMs: 10, Start: start}, "n1", "n2", "c0")
		time.Sleep(5 * time.Millisecond)
		for i, p := range [][2]string{{"c0", "n1"}, {"n1", "n2"}, {"n2", "n1"}} {
			id, err := n.Send(p[0], p[1], body(fmt.Sprintf(`{"i":%d}`, i)))
			require.NoError(t, err)
			require.Equal(t, int64(i), id)
		}
		recvAll(t, n, "n1", 2) // c0's at 5ms (latency 0), n2's at 15ms
		recvAll(t, n, "n2", 1)
		want := []journal.Event{
			{Time: 5e6, Kind: journal.Send, ID: 0, Src: "c0", Dest: "n1", Body: body(`{"i":0}`)},
			{Time: 5e6, Kind: journal.Send, ID: 1, Src: "n1", Dest: "n2", Body: body(`{"i":1}`)},
			{Time: 5e6, Kind: journal.Send, ID: 2, Src: "n2", Dest: "n1", Body: body(`{"i":2}`)},
			{Time: 5e6, Kind: journal.Recv, ID: 0, Src: "c0", Dest: "n1", Body: body(`{"i":0}`)},
			{Time: 15e6, Kind: journal.Recv, ID: 2, Src: "n2", Dest: "n1", Body: body(`{"i":2}`)},
			{Time: 15e6, Kind: journal.Recv, ID: 1, Src: "n1", Dest: "n2", Body: body(`{"i":1}`)},
		}
		got := n.Journal()
		require.Equal(t, want, got)
		got[0].Src = "mutated"
		require.Equal(t, "c0", n.Journal()[0].Src, "Journal returns a copy")
	})
}

func TestSendCopiesAndCompactsBody(t *testing.T) {
	n := newNet(t, Config{}, "n1", "n2")
	b := []byte(`{"a":1}`)
	_, err := n.Send("n1", "n2", b)
	require.NoError(t, err)
	b[2] = 'X'
	_, err = n.Send("n1", "n2", body("{\n  \"b\": [1,\r\n 2]\n}"))
	require.NoError(t, err)
	_, err = n.Send("n1", "n2", body("{\n  \"b\": "))
	require.ErrorContains(t, err, "not valid JSON")
	ms := recvAll(t, n, "n2", 2)
	require.Equal(t, body(`{"a":1}`), ms[0].Body)
	require.Equal(t, body(`{"b":[1,2]}`), ms[1].Body)
}

func TestAppendLine(t *testing.T) {
	tests := []struct {
		msg  Message
		want string
	}{
		{msg: Message{ID: 0, Src: "c1", Dest: "n1", Body: body(`{"type":"init","msg_id":1}`)},
			want: `{"id":0,"src":"c1","dest":"n1","body":{"type":"init","msg_id":1}}` + "\n"},
		{msg: Message{ID: 1234567890123, Src: "lin-kv", Dest: "n10", Body: body(`[1,"x"]`)},
			want: `{"id":1234567890123,"src":"lin-kv","dest":"n10","body":[1,"x"]}` + "\n"},
		{msg: Message{ID: 2, Src: `a"b\c`, Dest: "é\n", Body: nil},
			want: `{"id":2,"src":"a\"b\\c","dest":"é\n","body":null}` + "\n"},
	}
	for _, tt := range tests {
		got := tt.msg.AppendLine([]byte("prefix:"))
		require.Equal(t, "prefix:"+tt.want, string(got))
		var v map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(got[len("prefix:"):], &v))
	}
}

func TestRecvCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 100}, "n1", "n2")

		// Waiting on an empty inbox.
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := n.Recv(ctx, "n2")
			errc <- err
		}()
		synctest.Wait()
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)

		// Waiting for a taken message's deadline: the message goes back
		// and the next receiver gets it at its original deadline.
		start := time.Now()
		_, err := n.Send("n1", "n2", body(`"later"`))
		require.NoError(t, err)
		ctx2, cancel2 := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel2()
		_, err = n.Recv(ctx2, "n2")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 30*time.Millisecond, time.Since(start), "cancel returns promptly")
		m := recvAll(t, n, "n2", 1)[0]
		require.Equal(t, body(`"later"`), m.Body)
		require.Equal(t, 100*time.Millisecond, time.Since(start))

		// Already cancelled: no message consumed.
		_, err = n.Send("n1", "n2", body(`"kept"`))
		require.NoError(t, err)
		_, err = n.Recv(ctx, "n2")
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, body(`"kept"`), recvAll(t, n, "n2", 1)[0].Body)
	})
}

func TestMaxQueued(t *testing.T) {
	n := newNet(t, Config{MaxQueued: 2}, "n1", "n2")
	for range 2 {
		_, err := n.Send("n1", "n2", body(`1`))
		require.NoError(t, err)
	}
	_, err := n.Send("n1", "n2", body(`1`))
	require.ErrorIs(t, err, ErrQueueFull)
	recvAll(t, n, "n2", 1)
	_, err = n.Send("n1", "n2", body(`1`))
	require.NoError(t, err)
}

// TestConcurrentConservation runs many senders and receivers with a
// changing partition and checks every message is accounted for exactly once.
// synctest.Test also fails if any goroutine outlives the test: the leak check.
func TestConcurrentConservation(t *testing.T) {
	const seed = 11
	synctest.Test(t, func(t *testing.T) {
		ids := []string{"n0", "n1", "n2", "n3", "c0", "c1", "lin-kv"}
		n := newNet(t, Config{Dist: DistExponential, LatencyMs: 5, Seed: seed}, ids...)
		ctx, cancel := context.WithCancel(t.Context())
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				for {
					m, err := n.Recv(ctx, id)
					if err != nil {
						assert.ErrorIs(t, err, context.Canceled)
						return
					}
					assert.Equal(t, id, m.Dest)
					mu.Lock()
					seen[m.ID]++
					mu.Unlock()
				}
			})
		}
		var senders sync.WaitGroup
		for i, src := range ids {
			senders.Go(func() {
				for k := range 200 {
					dest := ids[(i+k+1)%len(ids)]
					_, err := n.Send(src, dest, body(fmt.Sprint(k)))
					assert.NoError(t, err)
					if k%7 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		for k := range 10 {
			if k%2 == 0 {
				require.NoError(t, n.SetGrudge(Grudge{"n0": {"n1", "n2"}, "n3": {"n0"}}))
			} else {
				n.Heal()
			}
			time.Sleep(4 * time.Millisecond)
		}
		senders.Wait()
		n.Heal()
		time.Sleep(time.Second) // virtual: every queued message is now due and delivered
		synctest.Wait()
		cancel()
		wg.Wait()

		sent, delivered, dropped := n.Stats()
		require.Equal(t, int64(200*len(ids)), sent, "seed %d", seed)
		require.Equal(t, sent, delivered+dropped, "seed %d", seed)
		require.Len(t, seen, int(delivered))
		for id, c := range seen {
			require.Equal(t, 1, c, "message %d delivered %d times", id, c)
		}
		recvs := 0
		for _, e := range n.Journal() {
			if e.Kind == journal.Recv {
				recvs++
			}
		}
		require.Equal(t, int(delivered), recvs)
	})
}

func TestStatsAndErrorsAreTyped(t *testing.T) {
	n := newNet(t, Config{}, "n1")
	_, err := n.Send("n1", "n2", nil)
	require.True(t, errors.Is(err, ErrUnknownDest))
	require.False(t, errors.Is(err, ErrUnknownSrc))
}
