package raft

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/sim"
)

// note adds a state line to the trace.
func (nw *network) note(format string, args ...any) {
	nw.log = append(nw.log, "# "+fmt.Sprintf(format, args...))
}

func (nw *network) states() {
	var parts []string
	for _, id := range nw.ids {
		r := nw.peers[id]
		parts = append(parts, fmt.Sprintf("%s=%s/t%d/c%d", id, r.state, r.term, r.log.committed))
	}
	nw.note("%s", strings.Join(parts, " "))
}

// Dueling candidates (§5.2): two nodes campaign in the same instant; the
// third votes for the first request it sees, one of them wins, the other
// steps down on the winner's append.
func TestGoldenDuelingCandidates(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	_ = nw.peers["a"].Campaign()
	_ = nw.peers["b"].Campaign()
	nw.states()
	nw.stabilize()
	nw.states()
	require.Equal(t, StateLeader, nw.peers["a"].state)
	require.Equal(t, StateFollower, nw.peers["b"].state)
	sim.Golden(t, "dueling_candidates", nw.log)
}

// A stale leader's late append (§5.1, with check-quorum): a append from the
// deposed leader reaches a follower of the new term; the follower answers
// with its term and the old leader steps down without touching any log.
func TestGoldenStaleLeaderLateAppend(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.CheckQuorum = true; c.PreVote = true })
	nw.campaign("a")
	nw.isolate("a")
	_ = nw.peers["a"].Propose([]byte("lost"))
	late := nw.drain() // a's appends of "lost", held back
	nw.note("held %d messages from a", len(late))
	nw.heal()
	nw.isolate("a")
	// b and c stop hearing from a and elect b.
	nw.tick([]string{"b", "c"}, 2*nw.peers["b"].cfg.ElectionTick)
	nw.states()
	require.Equal(t, int64(2), nw.peers["b"].term)
	nw.heal()
	for _, m := range late {
		if m.To == "c" {
			nw.deliver(m)
		}
	}
	nw.stabilize()
	nw.states()
	require.Equal(t, StateFollower, nw.peers["a"].state)
	require.Equal(t, int64(2), nw.peers["a"].term)
	require.Equal(t, int64(2), nw.peers["c"].log.lastIndex(), "the stale entry never reached c's log")
	sim.Golden(t, "stale_leader_late_append", nw.log)
}

// A partitioned node rejoining with a higher term under pre-vote: c ran
// without pre-vote while cut off and bumped its term; on return its answer
// to the leader's heartbeat carries that term, the leader steps down, and
// since c's log is behind, a pre-vote among the up-to-date nodes elects a
// leader at a term above c's.
func TestGoldenRejoinHigherTerm(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.CheckQuorum = true; c.PreVote = c.ID != "c" })
	nw.campaign("a")
	nw.isolate("c")
	require.NoError(t, nw.propose("a", "x"))
	nw.tick([]string{"c"}, 25)
	nw.states()
	require.Greater(t, nw.peers["c"].term, int64(1))
	nw.heal()
	nw.tick([]string{"a"}, 1)
	nw.states()
	require.Equal(t, StateFollower, nw.peers["a"].state)
	nw.tick([]string{"a", "b"}, 2*nw.peers["a"].cfg.ElectionTick)
	nw.states()
	lead := ""
	for _, id := range nw.ids {
		if nw.peers[id].state == StateLeader {
			lead = id
		}
	}
	require.Contains(t, []string{"a", "b"}, lead)
	require.Greater(t, nw.peers[lead].term, nw.peers["c"].term-1)
	sim.Golden(t, "rejoin_higher_term", nw.log)
}
