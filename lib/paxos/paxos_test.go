package paxos

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBallotOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b Ballot
		want int
	}{
		{a: Ballot{}, b: Ballot{Counter: 1, Node: "n0"}, want: -1},
		{a: Ballot{Counter: 1, Node: "n1"}, b: Ballot{Counter: 1, Node: "n0"}, want: 1},
		{a: Ballot{Counter: 2, Node: "n0"}, b: Ballot{Counter: 1, Node: "n9"}, want: 1},
		{a: Ballot{Counter: 3, Node: "n2"}, b: Ballot{Counter: 3, Node: "n2"}, want: 0},
	} {
		require.Equal(t, tc.want, tc.a.Compare(tc.b), "%v vs %v", tc.a, tc.b)
		require.Equal(t, -tc.want, tc.b.Compare(tc.a), "%v vs %v", tc.b, tc.a)
	}
	require.Equal(t, "0", Ballot{}.String())
	require.Equal(t, "4.n1", Ballot{Counter: 4, Node: "n1"}.String())
}

func TestApply(t *testing.T) {
	absent := State{}
	three := State{Exists: true, Value: 3}
	for _, tc := range []struct {
		name string
		s    State
		op   Op
		want State
		res  Result
	}{
		{name: "read absent", s: absent, op: Op{F: OpRead}, want: absent, res: Result{Code: CodeKeyDoesNotExist}},
		{name: "read", s: three, op: Op{F: OpRead}, want: three, res: Result{Value: 3}},
		{name: "write absent", s: absent, op: Op{F: OpWrite, Value: 0}, want: State{Exists: true}},
		{name: "write", s: three, op: Op{F: OpWrite, Value: 1}, want: State{Exists: true, Value: 1}},
		{name: "cas absent", s: absent, op: Op{F: OpCas, From: 0, To: 1}, want: absent, res: Result{Code: CodeKeyDoesNotExist}},
		{name: "cas mismatch", s: three, op: Op{F: OpCas, From: 2, To: 1}, want: three, res: Result{Code: CodePreconditionFailed}},
		{name: "cas", s: three, op: Op{F: OpCas, From: 3, To: 4}, want: State{Exists: true, Value: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, res := apply(tc.s, tc.op)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.res, res)
		})
	}
}

func TestApplyBatchDoesNotMutate(t *testing.T) {
	base := State{Exists: true, Value: 1, Applied: map[string]int64{"n1": 4}}
	got, res := applyBatch(base, []Op{{F: OpCas, From: 1, To: 2}, {F: OpRead}, {F: OpCas, From: 1, To: 3}}, "n0", 9)
	require.Equal(t, State{Exists: true, Value: 2, Applied: map[string]int64{"n0": 9, "n1": 4},
		Results: map[string][]Result{"n0": {{}, {Value: 2}, {Code: CodePreconditionFailed}}}}, got)
	require.Equal(t, []Result{{}, {Value: 2}, {Code: CodePreconditionFailed}}, res)
	require.Equal(t, map[string]int64{"n1": 4}, base.Applied, "the base state is shared and must not change")
}

// newTestCore builds a core for hand-driven tests, where time passes only
// when a test ticks: it never yields to other proposers.
func newTestCore(t *testing.T, id string, nodes []string) *Core {
	t.Helper()
	c, err := New(Config{ID: id, Nodes: nodes, Rand: rand.New(rand.NewPCG(1, 2)), Rounds: RoundConfig{YieldTicks: -1}})
	require.NoError(t, err)
	return c
}

func TestConfigValidation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, cfg := range []Config{
		{ID: "n9", Nodes: []string{"n0"}, Rand: r},
		{ID: "n0", Nodes: []string{"n0"}},
		{ID: "n0", Nodes: []string{"n0"}, Rand: r, Rounds: RoundConfig{TimeoutTicks: -1}},
		{ID: "n0", Nodes: []string{"n0"}, Rand: r, Limits: LimitConfig{BatchMax: -1}},
	} {
		_, err := New(cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

// TestAcceptorRules walks one acceptor through the promise and accept
// rules, including the piggybacked promise of the next ballot.
func TestAcceptorRules(t *testing.T) {
	c := newTestCore(t, "n1", []string{"n0", "n1", "n2"})
	b := func(n int64, id string) Ballot { return Ballot{Counter: n, Node: id} }
	st := State{Exists: true, Value: 7}
	steps := []struct {
		in   Msg
		want Msg
	}{
		{in: Msg{Type: MsgPrepare, Ballot: b(2, "n0")},
			want: Msg{Type: MsgPromise, Ballot: b(2, "n0")}},
		{in: Msg{Type: MsgPrepare, Ballot: b(1, "n2")},
			want: Msg{Type: MsgReject, Ballot: b(1, "n2"), Promised: b(2, "n0"), Of: MsgPrepare}},
		{in: Msg{Type: MsgAccept, Ballot: b(1, "n2"), State: st},
			want: Msg{Type: MsgReject, Ballot: b(1, "n2"), Promised: b(2, "n0"), Of: MsgAccept}},
		{in: Msg{Type: MsgAccept, Ballot: b(2, "n0"), Next: b(3, "n0"), State: st},
			want: Msg{Type: MsgAccepted, Ballot: b(2, "n0")}},
		// A duplicate of the accept just taken is acknowledged again...
		{in: Msg{Type: MsgAccept, Ballot: b(2, "n0"), Next: b(3, "n0"), State: st},
			want: Msg{Type: MsgAccepted, Ballot: b(2, "n0")}},
		// ...but the piggybacked promise of 3.n0 holds against 3.n-less.
		{in: Msg{Type: MsgPrepare, Ballot: b(2, "n2")},
			want: Msg{Type: MsgReject, Ballot: b(2, "n2"), Promised: b(3, "n0"), Of: MsgPrepare}},
		{in: Msg{Type: MsgPrepare, Ballot: b(3, "n2")},
			want: Msg{Type: MsgPromise, Ballot: b(3, "n2"), Accepted: b(2, "n0"), State: st}},
		// The owner of the old lease is now refused.
		{in: Msg{Type: MsgAccept, Ballot: b(3, "n0"), State: st},
			want: Msg{Type: MsgReject, Ballot: b(3, "n0"), Promised: b(3, "n2"), Of: MsgAccept}},
	}
	for i, s := range steps {
		c.Step("n0", s.in)
		out := drain(c)
		require.Len(t, out, 1, "step %d", i)
		require.Equal(t, s.want, out[0].Msg, "step %d: %v", i, s.in)
	}
	a := c.Storage().Acceptors[0]
	require.Equal(t, b(3, "n2"), a.Promised)
	require.Equal(t, b(2, "n0"), a.Accepted)
}

// net is a hand-driven network of cores for targeted scenarios.
type net struct {
	cores map[string]*Core
	inbox []envelope
	reply []envelope // messages to clients
	// answered: the first answer each client request got (by client and
	// msg_id).
	answered map[string]Op
}

func newNet(t *testing.T, ids ...string) *net {
	n := &net{cores: map[string]*Core{}, answered: map[string]Op{}}
	for _, id := range ids {
		n.cores[id] = newTestCore(t, id, ids)
	}
	return n
}

func (n *net) collect() {
	for _, id := range slices.Sorted(maps.Keys(n.cores)) {
		for _, e := range drain(n.cores[id]) {
			if _, ok := n.cores[e.To]; ok {
				n.inbox = append(n.inbox, e)
			} else {
				n.reply = append(n.reply, e)
			}
		}
	}
}

// deliver delivers every queued message keep accepts, drops the others,
// until no message is left.
func (n *net) deliver(keep func(envelope) bool) {
	for range 1000 {
		n.collect()
		if len(n.inbox) == 0 {
			return
		}
		e := n.inbox[0]
		n.inbox = n.inbox[1:]
		if keep(e) {
			n.cores[e.To].Step(e.From, e.Msg)
		}
	}
	panic("deliver: no quiescence")
}

func all(envelope) bool { return true }

func (n *net) request(to string, op Op) {
	request(n.cores[to], "c1", 0, op)
}

func (n *net) replies() []Op {
	n.collect()
	var ops []Op
	// A forwarded operation is answered by its carrier and its forwarder:
	// the client keeps the first answer, and both must agree.
	first := n.answered
	for _, e := range n.reply {
		k := fmt.Sprintf("%s/%d", e.To, e.Op.Req)
		if prev, ok := first[k]; ok {
			if prev != e.Op {
				panic(fmt.Sprintf("two answers to %s: %v and %v", k, prev, e.Op))
			}
			continue
		}
		first[k] = e.Op
		op := e.Op
		op.Src, op.Req = "", 0 // the client and msg_id request set
		ops = append(ops, op)
	}
	n.reply = nil
	return ops
}

// TestRetryAfterLostAcceptIsApplied: an accept reaches an acceptor but its
// acknowledgement is lost; the retry finds the batch in the adopted state
// and proposes it unchanged, so a cas is applied once and answered ok.
func TestRetryAfterLostAcceptIsApplied(t *testing.T) {
	n := newNet(t, "n0", "n1", "n2")
	n.request("n0", Op{ID: 1, F: OpWrite, Value: 3})
	n.deliver(all)
	require.Equal(t, []Op{{ID: 1, F: OpWrite, Value: 3}}, n.replies())

	n.request("n0", Op{ID: 2, F: OpCas, From: 3, To: 4})
	// Accepts reach n1 only; its answer is lost.
	n.deliver(func(e envelope) bool { return e.Msg.Type == MsgAccept && e.To == "n1" })
	require.Empty(t, n.replies())
	for range 200 {
		n.cores["n0"].Tick()
		n.deliver(all)
	}
	require.Equal(t, []Op{{ID: 2, F: OpCas, From: 3, To: 4}}, n.replies(), "cas applied exactly once")
	n.request("n2", Op{ID: 3, F: OpRead})
	n.deliver(all)
	require.Equal(t, []Op{{ID: 3, F: OpRead, Value: 4}}, n.replies())
}

// TestFastPathCost: after the first round, a single proposer's operations
// cost one accept and one acknowledgement per peer, 2 × (nodes − 1).
func TestFastPathCost(t *testing.T) {
	for _, tc := range []struct {
		fastOff, thrifty bool
		perOp            int
	}{
		{perOp: 4},
		{fastOff: true, perOp: 8},
		{thrifty: true, perOp: 2},
		{thrifty: true, fastOff: true, perOp: 4},
	} {
		n := newNet(t, "n0", "n1", "n2")
		for _, c := range n.cores {
			c.cfg.Rounds.DisableFastPath = tc.fastOff
			c.cfg.Thrifty.On = tc.thrifty
		}
		n.request("n0", Op{ID: 1, F: OpWrite, Value: 1})
		n.deliver(all)
		n.replies()
		for i := int64(2); i < 12; i++ {
			sent := 0
			n.request("n0", Op{ID: i, F: OpCas, From: i - 1, To: i})
			n.deliver(func(envelope) bool { sent++; return true })
			require.Equal(t, tc.perOp, sent, "op %d fastOff=%v", i, tc.fastOff)
			require.Equal(t, []Op{{ID: i, F: OpCas, From: i - 1, To: i}}, n.replies())
		}
		// A competing proposer breaks the lease. Without thrifty sends the
		// owner's acceptor saw the higher ballot, so the owner skips the
		// doomed accept and prepares at once: one two-round-trip operation,
		// then the fast path again.
		if !tc.thrifty {
			n.request("n1", Op{ID: 100, F: OpRead})
			n.deliver(all)
			require.Equal(t, []Op{{ID: 100, F: OpRead, Value: 11}}, n.replies())
			prepareCost := 8
			for i, want := range []int{prepareCost, tc.perOp} {
				sent := 0
				n.request("n0", Op{ID: 101 + int64(i), F: OpRead})
				n.deliver(func(envelope) bool { sent++; return true })
				require.Equal(t, want, sent, "read %d after the steal, fastOff=%v", i, tc.fastOff)
				require.Equal(t, []Op{{ID: 101 + int64(i), F: OpRead, Value: 11}}, n.replies())
			}
			continue
		}
		// Thrifty: acceptors that heard nothing lag behind, so the thief
		// and then the owner may need a retry; both get through, and the
		// owner is back on the fast path afterwards.
		for i, at := range []string{"n1", "n0"} {
			n.request(at, Op{ID: 100 + int64(i), F: OpRead})
			var got []Op
			for range 100 {
				n.deliver(all)
				if got = n.replies(); len(got) > 0 {
					break
				}
				for _, c := range n.cores {
					c.Tick()
				}
			}
			require.Equal(t, []Op{{ID: 100 + int64(i), F: OpRead, Value: 11}}, got)
		}
		sent := 0
		n.request("n0", Op{ID: 200, F: OpRead})
		n.deliver(func(envelope) bool { sent++; return true })
		require.Equal(t, tc.perOp, sent)
		require.Equal(t, []Op{{ID: 200, F: OpRead, Value: 11}}, n.replies())
	}
}

// TestBatching: operations queued while a round is in flight go together
// in the next round, applied in arrival order.
func TestBatching(t *testing.T) {
	n := newNet(t, "n0", "n1", "n2")
	n.request("n0", Op{ID: 1, F: OpWrite, Value: 1})
	n.request("n0", Op{ID: 2, F: OpCas, From: 1, To: 2})
	n.request("n0", Op{ID: 3, F: OpRead})
	n.request("n0", Op{ID: 4, F: OpCas, From: 1, To: 3})
	sent := 0
	n.deliver(func(envelope) bool { sent++; return true })
	require.Equal(t, []Op{
		{ID: 1, F: OpWrite, Value: 1},
		{ID: 2, F: OpCas, From: 1, To: 2},
		{ID: 3, F: OpRead, Value: 2},
		{ID: 4, F: OpCas, From: 1, To: 3, Code: CodePreconditionFailed},
	}, n.replies())
	require.Equal(t, 4+4+4, sent, "two rounds: prepare+accept, then a batched fast accept")
}

func TestQueueBoundAndBadOps(t *testing.T) {
	c, err := New(Config{ID: "n0", Nodes: []string{"n0", "n1", "n2"}, Rand: rand.New(rand.NewPCG(1, 2)), Limits: LimitConfig{QueueMax: 2}})
	require.NoError(t, err)
	request(c, "c1", 0, Op{ID: 9, F: "bogus"})
	c.Step("c1", Msg{Type: "nonsense"})
	require.Empty(t, drain(c))
	for i := range int64(4) {
		request(c, "c1", 0, Op{ID: i, F: OpRead})
	}
	var refused []int64
	for _, e := range drain(c) {
		if e.To == "c1" {
			require.Equal(t, CodeUnavailable, e.Op.Code)
			refused = append(refused, e.Op.ID)
		}
	}
	// Op 0 went into a round; 1 and 2 fill the queue; 3 is refused.
	require.Equal(t, []int64{3}, refused)
}

// TestUnavailableOnlyForOldOps: n0 is cut off; op 1 waits in a round, ops
// 2 and 3 queue behind it, 3 much later. When op 1 is answered 11 (no
// quorum within UnavailableTicks), 2 and 3 form the next batch; when 2's
// time is up too, only 2 is answered 11: 3, young, stays and succeeds once
// the network heals rather than share batch 2's fate.
func TestUnavailableOnlyForOldOps(t *testing.T) {
	n := newNet(t, "n0", "n1", "n2")
	c := n.cores["n0"]
	unavailable := func() []int64 {
		var ids []int64
		for _, op := range n.replies() {
			if op.Code == CodeUnavailable {
				ids = append(ids, op.ID)
			}
		}
		return ids
	}
	var got []int64
	for tick := range int64(200) {
		if id, ok := map[int64]int64{0: 1, 10: 2, 150: 3}[tick]; ok {
			n.request("n0", Op{ID: id, F: OpWrite, Value: tick})
		}
		c.Tick()
		n.deliver(func(envelope) bool { return false })
		got = append(got, unavailable()...)
	}
	require.Equal(t, []int64{1, 2}, got)
	for range 50 {
		n.deliver(all)
		if ops := n.replies(); len(ops) > 0 {
			require.Equal(t, []Op{{ID: 3, F: OpWrite, Value: 150}}, ops)
			return
		}
		c.Tick()
	}
	t.Fatal("op 3 never answered")
}

// TestYieldToRoundInFlight: a proposer whose acceptor just served another
// proposer waits before preparing, then goes ahead.
func TestYieldToRoundInFlight(t *testing.T) {
	ids := []string{"n0", "n1", "n2"}
	c, err := New(Config{ID: "n1", Nodes: ids, Rand: rand.New(rand.NewPCG(1, 2)), Rounds: RoundConfig{YieldTicks: 3}})
	require.NoError(t, err)
	c.Step("n0", Msg{Type: MsgPrepare, Ballot: Ballot{Counter: 1, Node: "n0"}})
	require.Len(t, drain(c), 1)
	request(c, "c1", 0, Op{ID: 1, F: OpRead})
	require.Empty(t, drain(c), "yields to n0's round")
	prepared := false
	for range 10 {
		c.Tick()
		for _, e := range drain(c) {
			prepared = prepared || e.Msg.Type == MsgPrepare
		}
	}
	require.True(t, prepared, "prepares once the neighbour is quiet")
}

// BenchmarkFastPathOp measures one operation on the one-round-trip path
// through three in-memory cores (all messages delivered in process).
func BenchmarkFastPathOp(b *testing.B) {
	t := &testing.T{}
	n := newNet(t, "n0", "n1", "n2")
	n.request("n0", Op{ID: 1, F: OpWrite, Value: 1})
	n.deliver(all)
	n.replies()
	for i := int64(0); b.Loop(); i++ {
		n.request("n0", Op{ID: i + 2, F: OpWrite, Value: i})
		n.deliver(all)
		n.reply = n.reply[:0]
	}
}
