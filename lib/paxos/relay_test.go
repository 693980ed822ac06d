package paxos

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/linkhealth"
)

// TestFreshSuspicionStillGoesDirect: n0 of five nodes in a majorities
// ring reaches n1 and n4 only (n2 and n3 long suspected). One slow answer
// from n4 (past SilenceTicks) makes n0 suspect n4 too, and relay to it
// through n1, which may well not reach n4 either. For SilenceTicks after
// the suspicion the direct copy still goes, and requests still ask for a
// direct answer: a slow answer is the likelier cause, and a forward relayed
// only through a peer cut off from its target would be lost. Later, only
// the relay and the probes go.
func TestFreshSuspicionStillGoesDirect(t *testing.T) {
	ids := []string{"n0", "n1", "n2", "n3", "n4"}
	c, err := New(Config{ID: "n0", Nodes: ids, Rand: rand.New(rand.NewPCG(1, 2)), Relay: RelayConfig{On: true}})
	require.NoError(t, err)
	for _, q := range []string{"n2", "n3"} {
		c.links.Send(q, linkhealth.Request) // never answered: suspected at SilenceTicks
	}
	for range 300 {
		c.Tick() // past the first probe time
	}
	c.Step("n1", Msg{Type: MsgForwardReply, Key: 7, Tag: 1, Hear: true}) // n1 works both ways
	drain(c)
	c.send("n4", Msg{Type: MsgPrepare, Key: 0, Ballot: Ballot{Counter: 1, Node: "n0"}})
	drain(c)
	for range c.cfg.Relay.SilenceTicks {
		c.Tick()
	}
	require.True(t, c.links.Relaying("n4"), "n4 is suspected, and n0 lacks a quorum without it")

	dests := func(m Msg) (direct bool, via []string, probe bool) {
		c.send("n4", m)
		for _, e := range drain(c) {
			switch {
			case e.To == "n4":
				direct, probe = true, e.Msg.Probe
			case e.Msg.Type == MsgRelay:
				via = append(via, e.To)
			}
		}
		return direct, via, probe
	}
	fwd := Msg{Type: MsgForward, Key: 0, Tag: 5, Ops: []Op{{ID: 1, F: OpRead}}}
	direct, via, _ := dests(fwd) // the probe
	require.True(t, direct)
	require.Equal(t, []string{"n1"}, via)
	c.Tick()
	direct, via, _ = dests(fwd)
	require.True(t, direct, "a fresh suspicion: direct too")
	require.Equal(t, []string{"n1"}, via)
	direct, _, probe := dests(Msg{Type: MsgAccept, Key: 0, Ballot: Ballot{Counter: 2, Node: "n0"}})
	require.True(t, direct)
	require.True(t, probe, "asks for a direct answer too")

	for range c.cfg.Relay.SilenceTicks {
		c.Tick()
	}
	direct, via, _ = dests(fwd)
	require.False(t, direct, "an old suspicion: through the relay only, until the next probe")
	require.Equal(t, []string{"n1"}, via)
}

// TestFirstStartInOneWayRing: three blank nodes start inside the
// three-node one-way ring (n0 reaches n1, n1 n2, n2 n0; every other
// direction cut). Each must hear from every peer before it serves
// (amnesia.go), and every recover or its answer would be lost; with
// relaying, the recovers and their answers go around the broken
// directions and every node serves, and without it none does.
func TestFirstStartInOneWayRing(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	cut := map[[2]string]bool{{"n1", "n0"}: true, {"n2", "n1"}: true, {"n0", "n2"}: true}
	run := func(relay bool) map[string]bool {
		cores := map[string]*Core{}
		for _, id := range nodes {
			c, err := New(Config{ID: id, Nodes: nodes, Rand: rand.New(rand.NewPCG(1, 2)),
				Recovered: core.Recovered{Fresh: true}, Amnesia: true, Relay: RelayConfig{On: relay}})
			require.NoError(t, err)
			cores[id] = c
		}
		var inFlight []envelope // delivered one tick after they are sent
		for range 200 {
			var next []envelope
			for _, e := range inFlight {
				if c := cores[e.To]; c != nil && !cut[[2]string{e.From, e.To}] {
					c.Step(e.From, e.Msg)
					next = append(next, drain(c)...)
				}
			}
			for _, id := range nodes {
				cores[id].Tick()
				next = append(next, drain(cores[id])...)
			}
			inFlight = next
		}
		recovering := map[string]bool{}
		for _, id := range nodes {
			recovering[id] = cores[id].Recovering()
		}
		return recovering
	}
	require.Equal(t, map[string]bool{"n0": false, "n1": false, "n2": false}, run(true), "with relaying every node serves")
	require.Equal(t, map[string]bool{"n0": true, "n1": true, "n2": true}, run(false), "without, none does")
}
