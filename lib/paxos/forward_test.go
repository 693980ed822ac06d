package paxos

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// forwardingNet is nodes (three if none are named) with forwarding on, n0
// having just written 3 to key 0: the others' acceptors hear n0 as the
// key's busy proposer.
func forwardingNet(t *testing.T, nodes ...string) *net {
	t.Helper()
	if len(nodes) == 0 {
		nodes = []string{"n0", "n1", "n2"}
	}
	n := newNet(t, nodes...)
	for _, c := range n.cores {
		c.cfg.Forward.On = true
	}
	n.request("n0", Op{ID: 1, F: OpWrite, Value: 3})
	n.deliver(all)
	require.Equal(t, []Op{{ID: 1, F: OpWrite, Value: 3}}, n.replies())
	return n
}

// TestForwarding: a node whose acceptor just served n0's round hands a
// client operation to n0, which executes it once (a duplicated forward is
// dropped); the forwarder answers it. On three nodes it learns the outcome
// from n0's accept itself (Msg.Self: n0 accepted first, so two of three
// hold it), and n0 sends no forward reply.
func TestForwarding(t *testing.T) {
	n := forwardingNet(t)

	n.request("n1", Op{ID: 2, F: OpCas, From: 3, To: 4})
	var types []string
	n.deliver(func(e envelope) bool {
		types = append(types, e.Msg.Type)
		if e.Msg.Type == MsgForward {
			n.cores[e.To].Step(e.From, e.Msg) // a duplicate, delivered first
		}
		return true
	})
	require.Equal(t, []Op{{ID: 2, F: OpCas, From: 3, To: 4}}, n.replies(), "executed once, answered by n1")
	require.Equal(t, []string{MsgForward, MsgAccept, MsgAccept, MsgAccepted, MsgAccepted}, types,
		"n0 serves it on its one-round-trip path")
	require.Empty(t, n.cores["n1"].props[0].batch)
	st := n.cores["n0"].Storage().Acceptors[0].State
	require.Equal(t, State{Exists: true, Value: 4, Applied: map[string]int64{"n0": 1, "n1": st.Applied["n1"]},
		Results: map[string][]Result{"n0": {{}}, "n1": {{}}}}, st, "applied under n1's name")
}

// TestForwardToSilentHolder: a batch forwarded to a holder that never
// answers is run by the forwarder itself after Forward.WaitTicks, and the
// holder, coming back with the batch, does not apply it again.
func TestForwardToSilentHolder(t *testing.T) {
	for _, holderApplies := range []bool{false, true} {
		n := forwardingNet(t)
		n.request("n1", Op{ID: 2, F: OpCas, From: 3, To: 4})
		var fwd []envelope
		n.deliver(func(e envelope) bool {
			if e.Msg.Type == MsgForward {
				fwd = append(fwd, e)
			}
			return e.To != "n0"
		})
		require.Len(t, fwd, 1)
		if holderApplies {
			// The holder got it and got it chosen (n2 hears), but its
			// answer to n1 is lost.
			n.cores["n0"].Step(fwd[0].From, fwd[0].Msg)
			n.deliver(func(e envelope) bool { return e.Msg.Type != MsgForwardReply && e.To != "n1" })
		}
		var got []Op
		for range 200 {
			for _, id := range []string{"n1", "n2"} {
				n.cores[id].Tick()
			}
			n.deliver(func(e envelope) bool { return e.To != "n0" })
			if got = n.replies(); len(got) > 0 {
				break
			}
		}
		require.Equal(t, []Op{{ID: 2, F: OpCas, From: 3, To: 4}}, got, "holderApplies=%v: n1 answers, cas applied once", holderApplies)
		if !holderApplies {
			// The holder wakes up with the stale batch: it must not apply it.
			n.cores["n0"].Step(fwd[0].From, fwd[0].Msg)
			for range 50 {
				for _, c := range n.cores {
					c.Tick()
				}
				n.deliver(all)
			}
		}
		n.request("n2", Op{ID: 3, F: OpRead})
		for range 50 {
			n.deliver(all)
			if got = n.replies(); len(got) > 0 {
				break
			}
			for _, c := range n.cores {
				c.Tick()
			}
		}
		require.Equal(t, []Op{{ID: 3, F: OpRead, Value: 4}}, got)
	}
}

// TestForwardedOpAnsweredDirectly: a forwarded operation gets two
// answers to its client (Op.Src, Op.Req), with one outcome: the carrier's,
// as soon as it is chosen, and the forwarder's. (Five nodes: on three the
// forwarder learns the outcome as soon as the carrier.)
func TestForwardedOpAnsweredDirectly(t *testing.T) {
	n := forwardingNet(t, "n0", "n1", "n2", "n3", "n4")

	request(n.cores["n1"], "c5", 0, Op{ID: 41, F: OpRead})
	n.deliver(all)
	n.collect()
	var kinds []string
	for _, e := range n.reply {
		kinds = append(kinds, e.From+" "+e.Msg.Type+" to "+e.To)
		require.Equal(t, Op{ID: 41, F: OpRead, Value: 3, Src: "c5", Req: 41}, e.Op)
	}
	n.reply = nil
	require.ElementsMatch(t, []string{"n0 reply to c5", "n1 reply to c5"}, kinds)
}

// TestForwarderLearnsOnlyFromSelfAccept: the forwarder takes an accept as
// chosen only when the carrier's own acceptor took it first. Here n2's
// higher prepare reaches n0's acceptor while n0 prepares for n1's batch,
// so n0's own acceptor refuses n0's accept, which goes out without
// Msg.Self; n1 accepts it, but only one acceptor holds it, and n1 must not
// answer from it.
func TestForwarderLearnsOnlyFromSelfAccept(t *testing.T) {
	n := forwardingNet(t)
	// A stale lease: n0 will prepare (at 101) for the forwarded batch.
	// (Past StickyTicks, so that n0's acceptor promises n2.)
	for range 25 {
		n.cores["n0"].Tick()
	}
	n.cores["n0"].Step("n2", Msg{Type: MsgPrepare, Key: 0, Ballot: Ballot{Counter: 100, Node: "n2"}})
	n.collect()
	n.inbox = nil
	n.request("n1", Op{ID: 2, F: OpWrite, Value: 4})
	var accepts []Msg
	n.deliver(func(e envelope) bool {
		switch e.Msg.Type {
		case MsgPrepare:
			n.cores["n0"].Step("n2", Msg{Type: MsgPrepare, Key: 0, Ballot: Ballot{Counter: 200, Node: "n2"}})
		case MsgAccept:
			accepts = append(accepts, e.Msg)
		}
		// n2 is away: only n0 and n1 talk, and nothing reaches n2.
		return e.To != "n2" && e.From != "n2"
	})
	require.NotEmpty(t, accepts)
	for _, m := range accepts {
		require.Equal(t, Ballot{Counter: 101, Node: "n0"}, m.Ballot)
		require.False(t, m.Self, "n0's acceptor refused its own accept")
	}
	require.Empty(t, n.replies(), "n1 learned nothing chosen")
	require.Equal(t, Ballot{Counter: 101, Node: "n0"}, n.cores["n1"].Storage().Acceptors[0].Accepted, "n1 did accept it")
}

// TestForwardFromOwnRouteIsCarried: n1 learned n2 as its way to the key's
// busy proposer, and n2 forwards a batch to n1, taking n1 for the way. The
// two routes point at each other, so neither leads anywhere: n1 drops its
// route and carries the batch instead of handing it back (in a five-node
// ring under load the ping-pong cost ops their 800 ms budget: see
// TestRingUnderLoad).
func TestForwardFromOwnRouteIsCarried(t *testing.T) {
	n := newNet(t, "n0", "n1", "n2")
	for _, c := range n.cores {
		c.cfg.Forward.On = true
	}
	c := n.cores["n1"]
	for range c.cfg.Forward.HolderTicks {
		c.Tick() // n0, never heard, is no longer presumed reachable (preferred)
	}
	c.routes[0] = route{via: "n2", at: c.now, ballot: Ballot{Counter: 5, Node: "n0"}}
	c.Step("n2", Msg{Type: MsgForward, Key: 0, Tag: 7, Ops: []Op{{ID: 9, F: OpWrite, Value: 2}}})
	out := drain(c)
	require.NotEmpty(t, out)
	for _, e := range out {
		require.NotEqual(t, MsgForward, e.Msg.Type, "handed back to %s", e.To)
	}
	require.Equal(t, MsgPrepare, out[0].Msg.Type, "n1 runs the batch itself")
	require.NotContains(t, c.routes, int64(0))
}

// TestRetriedBatchFoundUnderItsTag: n1's forward of a cas to busy n0 is
// lost, so n1 runs the batch itself; its accept reaches n2 only, and n3,
// preparing, adopts it from n2 and gets it chosen. n1, whose round times
// out, now hears n3 and forwards the batch there. Every application of a
// batch goes under one tag (that of its first forward or round), so n3
// finds it in the chosen state under the forward's tag: it applies nothing
// again and answers with the outcome. (Were it applied under the later
// round's counter, n3 would take its forwarder for gone and leave it
// unanswered.)
func TestRetriedBatchFoundUnderItsTag(t *testing.T) {
	n := forwardingNet(t, "n0", "n1", "n2", "n3", "n4")
	n.request("n1", Op{ID: 2, F: OpCas, From: 3, To: 4})
	n.deliver(func(e envelope) bool { return e.Msg.Type != MsgForward })
	var tag int64
	for range 100 {
		for _, id := range []string{"n1", "n2", "n3", "n4"} {
			n.cores[id].Tick()
		}
		n.deliver(func(e envelope) bool {
			switch {
			case e.To == "n0" || e.From == "n0":
				return false
			case e.Msg.Type == MsgAccept:
				tag = e.Msg.State.Applied["n1"]
				return e.To == "n2"
			}
			return e.Msg.Type != MsgAccepted
		})
		if tag > 0 {
			break
		}
	}
	require.Positive(t, tag, "n1 ran its batch")
	require.Empty(t, n.replies())

	// n3 prepares, adopts n1's state from n2, gets it chosen; n1's
	// acceptor takes n3's accept too.
	// (n1 is not ticked meanwhile: its round stays open.)
	n.request("n3", Op{ID: 3, F: OpRead})
	var got []Op
	for range 100 {
		n.deliver(func(e envelope) bool {
			return e.To != "n0" && e.From != "n0" && e.From != "n1" && (e.To != "n1" || e.Msg.Type == MsgAccept)
		})
		if got = n.replies(); len(got) > 0 {
			break
		}
		for _, id := range []string{"n2", "n3", "n4"} {
			n.cores[id].Tick()
		}
	}
	require.Equal(t, []Op{{ID: 3, F: OpRead, Value: 4}}, got)

	var fwd []Msg
	for range 200 {
		for _, id := range []string{"n1", "n2", "n3", "n4"} {
			n.cores[id].Tick()
		}
		n.deliver(func(e envelope) bool {
			if e.Msg.Type == MsgForward || e.Msg.Type == MsgForwardReply {
				fwd = append(fwd, e.Msg)
			}
			return e.To != "n0" && e.From != "n0"
		})
		if got = n.replies(); len(got) > 0 {
			break
		}
	}
	require.Equal(t, []Op{{ID: 2, F: OpCas, From: 3, To: 4}}, got, "applied once, answered ok")
	require.Len(t, fwd, 2, "%v", fwd)
	require.Equal(t, Msg{Type: MsgForward, Key: 0, Tag: tag, Ops: []Op{{ID: 2, F: OpCas, From: 3, To: 4, Src: "c1", Req: 2}}}, fwd[0])
	require.Equal(t, MsgForwardReply, fwd[1].Type)
	require.Equal(t, []Result{{}}, fwd[1].Results)
}

// TestForwardRetriedToBusyHolder: n1's forward to n0 is lost, and n0 goes
// on running rounds that n1's acceptor takes. When n1's wait ends it
// forwards the batch to n0 again (same tag: applied at most once) rather
// than start a rival round that would break n0's; once the holder is
// silent too, n1 runs the batch itself (TestForwardToSilentHolder).
func TestForwardRetriedToBusyHolder(t *testing.T) {
	n := forwardingNet(t, "n0", "n1", "n2", "n3", "n4")
	n.request("n1", Op{ID: 2, F: OpWrite, Value: 5})
	var fwd []Msg
	var got []Op
	for i := range 200 {
		if i%10 == 0 {
			request(n.cores["n0"], "c2", 0, Op{ID: int64(100 + i), F: OpRead})
		}
		n.deliver(func(e envelope) bool {
			require.NotEqual(t, MsgPrepare, e.Msg.Type, "%s prepared: a rival round", e.From)
			if e.Msg.Type != MsgForward {
				return true
			}
			fwd = append(fwd, e.Msg)
			return len(fwd) > 1 // the first is lost
		})
		for _, op := range n.replies() {
			if op.ID == 2 {
				got = append(got, op)
			}
		}
		if len(got) > 0 {
			break
		}
		for _, c := range n.cores {
			c.Tick()
		}
	}
	require.Equal(t, []Op{{ID: 2, F: OpWrite, Value: 5}}, got)
	require.Len(t, fwd, 2)
	require.Equal(t, fwd[0], fwd[1], "the same batch under the same tag")
}

// TestUnitFromBusyHolderIsDropped: n1 carries a batch that n0 relayed to
// it, and now hears n0 as the key's busy proposer. The batch cannot go
// back to n0 (its path holds n0), and a round of n1's would break n0's:
// n1 drops it (its forwarder n2 sends it again when its wait ends).
func TestUnitFromBusyHolderIsDropped(t *testing.T) {
	n := forwardingNet(t, "n0", "n1", "n2", "n3", "n4")
	c := n.cores["n1"]
	c.Step("n0", Msg{Type: MsgForward, Key: 0, Tag: 7, Ops: []Op{{ID: 9, F: OpWrite, Value: 2}}, Origin: "n2", Path: []string{"n0"}})
	require.Empty(t, drain(c), "no round, no forward")
	require.Empty(t, c.props[0].units)
	require.Empty(t, c.props[0].unitQueue)
}

// TestForwardRetriedAlongLiveRoute: n1 hears no busy proposer itself; its
// route to key 0's goes through n0 (a five-node ring: the busy n2 is two
// hops away). The forward is lost, n1 prepares, and n0 rejects naming a
// fresh ballot of n2's: the route is live, so once the round fails n1
// forwards through n0 again (same tag) rather than prepare again, which
// n0, sticking with n2, would refuse for as long as n2 stays busy.
func TestForwardRetriedAlongLiveRoute(t *testing.T) {
	n := newNet(t, "n0", "n1", "n2", "n3", "n4")
	for _, c := range n.cores {
		c.cfg.Forward.On = true
	}
	c := n.cores["n1"]
	c.routes[0] = route{via: "n0", at: c.now, ballot: Ballot{Counter: 5, Node: "n2"}}
	n.request("n1", Op{ID: 2, F: OpWrite, Value: 5})
	var fwd []envelope
	rounds := map[Ballot]bool{}
	for range 200 {
		c.Tick()
		for _, e := range drain(c) {
			switch e.Msg.Type {
			case MsgForward:
				fwd = append(fwd, e)
			case MsgPrepare:
				rounds[e.Msg.Ballot] = true
				if e.To == "n0" {
					c.Step("n0", Msg{Type: MsgReject, Key: 0, Ballot: e.Msg.Ballot, Promised: Ballot{Counter: 200, Node: "n2"}, Of: MsgPrepare})
				}
			}
		}
		if len(fwd) == 2 {
			break
		}
	}
	require.Len(t, fwd, 2)
	require.Len(t, rounds, 1, "one round, then the route again")
	require.Equal(t, fwd[0], fwd[1], "to n0 again, same batch and tag")
	require.Equal(t, "n0", fwd[1].To)
}

// TestColdKeyGoesToPreferred: on a key no proposer is busy on, a node
// hands its batch to the key's preferred node (rank order: the nodes
// sorted, from key mod 5, so n3 for key 3) instead of starting a round
// that the other nodes' rounds would duel with; n3 runs it. If n3 does not
// answer, the next preferred node it hears is tried (n4), and with none
// left, the node proposes itself.
func TestColdKeyGoesToPreferred(t *testing.T) {
	ids := []string{"n0", "n1", "n2", "n3", "n4"}
	newForwarding := func() *net {
		n := newNet(t, ids...)
		for _, c := range n.cores {
			c.cfg.Forward.On = true
		}
		return n
	}
	req := Request{Key: 3, Op: Op{ID: 1, F: OpWrite, Value: 7}}
	kinds := func(out []envelope) []string {
		var ks []string
		for _, e := range out {
			ks = append(ks, e.Msg.Type+" to "+e.To)
		}
		return ks
	}

	n := newForwarding()
	request(n.cores["n1"], "c1", req.Key, req.Op)
	n.collect()
	require.Equal(t, []string{"forward to n3"}, kinds(n.inbox))
	var proposers []string
	n.deliver(func(e envelope) bool {
		if e.Msg.Type == MsgAccept && !slices.Contains(proposers, e.From) {
			proposers = append(proposers, e.From)
		}
		return true
	})
	require.Equal(t, []Op{{ID: 1, F: OpWrite, Value: 7}}, n.replies())
	require.Equal(t, []string{"n3"}, proposers, "n3 ran it")

	// n3 is away; n1 hears n4 but not n0 or n2.
	n = newForwarding()
	c := n.cores["n1"]
	request(c, "c1", req.Key, req.Op)
	require.Equal(t, []string{"forward to n3"}, kinds(drain(c)))
	var out []string
	for range c.cfg.Forward.WaitTicks {
		c.Step("n4", Msg{Type: MsgForwardReply, Key: 9, Tag: 1}) // any message: n1 hears n4
		c.Tick()
		out = append(out, kinds(drain(c))...)
	}
	require.Equal(t, []string{"forward to n4"}, out, "the next preferred node n1 hears")
	out = nil
	for range c.cfg.Forward.WaitTicks {
		c.Tick()
		out = append(out, kinds(drain(c))...)
	}
	require.Contains(t, out, "prepare to n0", "no one left: n1 proposes")
}
