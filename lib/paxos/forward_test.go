package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// forwardingNet is three nodes with forwarding on, n0 having just written
// 3 to key 0: the others' acceptors hear n0 as the key's busy proposer.
func forwardingNet(t *testing.T) *net {
	t.Helper()
	n := newNet(t, "n0", "n1", "n2")
	for _, c := range n.cores {
		c.cfg.Forward = true
	}
	n.request("n0", Op{ID: 1, F: OpWrite, Value: 3})
	n.deliver(all)
	require.Equal(t, []Op{{ID: 1, F: OpWrite, Value: 3}}, n.replies())
	return n
}

// TestForwarding: a node whose acceptor just served n0's round hands a
// client operation to n0, which executes it once (a duplicated forward is
// dropped) and answers through the forwarding node.
func TestForwarding(t *testing.T) {
	n := forwardingNet(t)

	n.request("n1", Op{ID: 2, F: OpCas, From: 3, To: 4})
	var types []string
	n.deliver(func(e Envelope) bool {
		types = append(types, e.Msg.Type)
		if e.Msg.Type == MsgForward {
			n.cores[e.To].Step(e.From, e.Msg) // a duplicate, delivered first
		}
		return true
	})
	require.Equal(t, []Op{{ID: 2, F: OpCas, From: 3, To: 4}}, n.replies(), "executed once, answered by n1")
	require.Equal(t, []string{MsgForward, MsgAccept, MsgAccept, MsgAccepted, MsgAccepted, MsgForwardReply}, types,
		"n0 serves it on its one-round-trip path")
	require.Empty(t, n.cores["n1"].props[0].batch)
	st := n.cores["n0"].Storage().Acceptors[0].State
	require.Equal(t, State{Exists: true, Value: 4, Applied: map[string]int64{"n0": 1, "n1": st.Applied["n1"]},
		Results: map[string][]Result{"n0": {{}}, "n1": {{}}}}, st, "applied under n1's name")
}

// TestForwardToSilentHolder: a batch forwarded to a holder that never
// answers is run by the forwarder itself after FwdWaitTicks, and the
// holder, coming back with the batch, does not apply it again.
func TestForwardToSilentHolder(t *testing.T) {
	for _, holderApplies := range []bool{false, true} {
		n := forwardingNet(t)
		n.request("n1", Op{ID: 2, F: OpCas, From: 3, To: 4})
		var fwd []Envelope
		n.deliver(func(e Envelope) bool {
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
			n.deliver(func(e Envelope) bool { return e.Msg.Type != MsgForwardReply && e.To != "n1" })
		}
		var got []Op
		for range 200 {
			for _, id := range []string{"n1", "n2"} {
				n.cores[id].Tick()
			}
			n.deliver(func(e Envelope) bool { return e.To != "n0" })
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

// TestForwardedOpAnsweredDirectly: an operation that names its client
// (Op.Src, Op.Req) and is forwarded gets two answers, the carrier's
// MsgDirect to the client and the forwarder's MsgReply, with one outcome;
// operations without a client name get only the forwarder's reply.
func TestForwardedOpAnsweredDirectly(t *testing.T) {
	n := forwardingNet(t)

	n.request("n1", Op{ID: 2, F: OpRead, Src: "c5", Req: 41})
	n.deliver(all)
	n.collect()
	var kinds []string
	for _, e := range n.reply {
		kinds = append(kinds, e.From+" "+e.Msg.Type+" to "+e.To)
		require.Equal(t, Op{ID: 2, F: OpRead, Value: 3, Src: "c5", Req: 41}, e.Msg.Op)
	}
	n.reply = nil
	require.ElementsMatch(t, []string{"n0 direct to c5", "n1 reply to c1"}, kinds)

	n.request("n1", Op{ID: 3, F: OpRead})
	n.deliver(all)
	require.Equal(t, []Op{{ID: 3, F: OpRead, Value: 3}}, n.replies())
}
