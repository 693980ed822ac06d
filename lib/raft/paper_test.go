package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// One test per rule of the Raft paper (Ongaro & Ousterhout, "In Search of
// an Understandable Consensus Algorithm", extended version) or of Ongaro's
// dissertation, citing the section.

// §5.1: a server that sees a higher term updates its term and, if it was a
// candidate or leader, reverts to follower.
func TestHigherTermMakesFollower(t *testing.T) {
	for _, st := range []StateType{StateFollower, StateCandidate, StateLeader} {
		t.Run(st.String(), func(t *testing.T) {
			r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
			switch st {
			case StateCandidate:
				r.becomeCandidate()
			case StateLeader:
				r.becomeCandidate()
				r.becomeLeader()
			}
			require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 5}))
			require.Equal(t, StateFollower, r.state)
			require.Equal(t, int64(5), r.term)
			require.Equal(t, "b", r.lead)
			require.Equal(t, "", r.vote)
		})
	}
}

// §5.1: a request with a stale term is rejected (here: dropped, since
// without pre-vote or check-quorum there is nothing to tell the sender).
func TestStaleTermIgnored(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	r.becomeFollower(3, "")
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 2, Entries: []Entry{{Term: 2, Index: 1}}}))
	require.Empty(t, r.msgs)
	require.Equal(t, int64(0), r.log.lastIndex())
}

// §5.1 with check-quorum: a stale leader is told the current term.
func TestStaleLeaderToldTerm(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, func(c *Config) { c.CheckQuorum = true })
	r.becomeFollower(3, "")
	require.NoError(t, r.Step(Message{Type: MsgHeartbeat, From: "b", To: "a", Term: 2}))
	require.Len(t, r.msgs, 1)
	require.Equal(t, MsgAppResp, r.msgs[0].Type)
	require.Equal(t, int64(3), r.msgs[0].Term)
}

// §5.2: a follower that hears nothing for an election timeout becomes a
// candidate: increments its term, votes for itself, asks every peer.
func TestFollowerStartsElection(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	for range 2 * r.cfg.ElectionTick {
		r.Tick()
	}
	require.Equal(t, StateCandidate, r.state)
	require.Equal(t, int64(1), r.term)
	require.Equal(t, "a", r.vote)
	votes := msgsOf(r, MsgVote)
	require.Len(t, votes, 2)
	for _, m := range votes {
		require.Equal(t, int64(1), m.Term)
	}
}

// §5.2: election timeouts are randomized over [ElectionTick, 2*ElectionTick).
func TestRandomizedElectionTimeout(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	seen := map[int]bool{}
	for range 1000 {
		r.resetRandomizedTimeout()
		to := r.randomizedTimeout
		require.GreaterOrEqual(t, to, r.cfg.ElectionTick)
		require.Less(t, to, 2*r.cfg.ElectionTick)
		seen[to] = true
	}
	require.Len(t, seen, r.cfg.ElectionTick, "every timeout in the range is drawn")
}

// §5.2: a candidate wins with votes from a majority, loses with a majority
// of rejections, and waits otherwise.
func TestCandidateTallies(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		votes map[string]bool
		want  StateType
	}{
		{name: "3 nodes, one yes", n: 3, votes: map[string]bool{"b": true}, want: StateLeader},
		{name: "3 nodes, one no", n: 3, votes: map[string]bool{"b": false}, want: StateCandidate},
		{name: "3 nodes, two no", n: 3, votes: map[string]bool{"b": false, "c": false}, want: StateFollower},
		{name: "5 nodes, one yes", n: 5, votes: map[string]bool{"b": true}, want: StateCandidate},
		{name: "5 nodes, two yes", n: 5, votes: map[string]bool{"b": true, "c": true}, want: StateLeader},
		{name: "5 nodes, three no", n: 5, votes: map[string]bool{"b": false, "c": false, "d": false}, want: StateFollower},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := []string{"a", "b", "c", "d", "e"}[:tt.n]
			r := newTestRaft(t, "a", ids, nil)
			require.NoError(t, r.Campaign())
			for _, id := range ids[1:] {
				if g, ok := tt.votes[id]; ok {
					require.NoError(t, r.Step(Message{Type: MsgVoteResp, From: id, To: "a", Term: 1, Reject: !g}))
				}
			}
			require.Equal(t, tt.want, r.state)
		})
	}
}

// §5.2: each server votes for at most one candidate per term, first come
// first served (it may repeat its vote to the same candidate).
func TestVoteOncePerTerm(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	vote := func(from string) bool {
		r.msgs = nil
		require.NoError(t, r.Step(Message{Type: MsgVote, From: from, To: "a", Term: 1}))
		require.Len(t, r.msgs, 1)
		return !r.msgs[0].Reject
	}
	require.True(t, vote("b"))
	require.False(t, vote("c"))
	require.True(t, vote("b"))
}

// §5.4.1: a vote is denied to a candidate whose log is less up to date.
func TestVoteRequiresUpToDateLog(t *testing.T) {
	tests := []struct {
		lastTerm, lastIndex int64
		grant               bool
	}{
		{lastTerm: 2, lastIndex: 3, grant: true},  // same
		{lastTerm: 2, lastIndex: 4, grant: true},  // longer
		{lastTerm: 3, lastIndex: 1, grant: true},  // higher last term
		{lastTerm: 2, lastIndex: 2, grant: false}, // shorter, same term
		{lastTerm: 1, lastIndex: 9, grant: false}, // lower last term, however long
	}
	for _, tt := range tests {
		r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
		r.log.append(Entry{Term: 1, Index: 1}, Entry{Term: 2, Index: 2}, Entry{Term: 2, Index: 3})
		r.becomeFollower(2, "")
		require.NoError(t, r.Step(Message{Type: MsgVote, From: "b", To: "a", Term: 3, LogTerm: tt.lastTerm, Index: tt.lastIndex}))
		require.Len(t, r.msgs, 1)
		require.Equal(t, tt.grant, !r.msgs[0].Reject, "candidate log (%d,%d)", tt.lastTerm, tt.lastIndex)
	}
}

// §5.2: a leader sends heartbeats every HeartbeatTick to keep its
// authority.
func TestLeaderHeartbeats(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, func(c *Config) { c.HeartbeatTick = 2 })
	r.becomeCandidate()
	r.becomeLeader()
	r.msgs = nil
	r.Tick()
	require.Empty(t, msgsOf(r, MsgHeartbeat))
	r.Tick()
	require.Len(t, msgsOf(r, MsgHeartbeat), 2)
}

// §8: a new leader appends a no-op of its term and replicates it.
func TestLeaderAppendsNoop(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	require.Equal(t, StateLeader, nw.peers["a"].state)
	for _, id := range nw.ids {
		r := nw.peers[id]
		require.Equal(t, int64(1), r.log.committed, id)
		require.Equal(t, []int64{1}, logTerms(r), id)
		require.Empty(t, r.log.ents[0].Data)
	}
}

// §5.3: a follower rejects an append whose previous entry it lacks and
// hints where its log diverges (first index of the conflicting term).
func TestAppendConsistencyCheck(t *testing.T) {
	tests := []struct {
		name                string
		prevIndex, prevTerm int64
		reject              bool
		hintTerm, hint      int64
	}{
		{name: "matches", prevIndex: 3, prevTerm: 2, reject: false, hintTerm: 0, hint: 0},
		{name: "too short", prevIndex: 6, prevTerm: 3, reject: true, hintTerm: 0, hint: 5},
		{name: "term differs", prevIndex: 4, prevTerm: 3, reject: true, hintTerm: 2, hint: 3},
		{name: "term differs early", prevIndex: 2, prevTerm: 2, reject: true, hintTerm: 1, hint: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
			r.log.append(Entry{Term: 1, Index: 1}, Entry{Term: 1, Index: 2}, Entry{Term: 2, Index: 3}, Entry{Term: 2, Index: 4})
			r.becomeFollower(3, "b")
			require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 3, Index: tt.prevIndex, LogTerm: tt.prevTerm}))
			resp := msgsOf(r, MsgAppResp)
			require.Len(t, resp, 1)
			require.Equal(t, tt.reject, resp[0].Reject)
			if tt.reject {
				require.Equal(t, tt.hintTerm, resp[0].LogTerm)
				require.Equal(t, tt.hint, resp[0].Hint)
			}
		})
	}
}

// §5.3: conflicting entries (same index, other term) and all that follow
// are deleted; entries already present are kept, even if an older append
// arrives late.
func TestAppendTruncatesConflicts(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	r.log.append(Entry{Term: 1, Index: 1}, Entry{Term: 1, Index: 2}, Entry{Term: 1, Index: 3})
	r.becomeFollower(2, "b")
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 2, Index: 1, LogTerm: 1,
		Entries: []Entry{{Term: 2, Index: 2}, {Term: 2, Index: 3}, {Term: 2, Index: 4}}}))
	require.Equal(t, []int64{1, 2, 2, 2}, logTerms(r))
	// A late duplicate of a shorter append must not cut index 4.
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 2, Index: 1, LogTerm: 1,
		Entries: []Entry{{Term: 2, Index: 2}}}))
	require.Equal(t, []int64{1, 2, 2, 2}, logTerms(r))
}

// §5.3 (optimization): the leader backs up a whole conflicting term per
// round trip, not one entry.
func TestFastBacktracking(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	// c holds 50 entries of term 1 nobody else has; a then leads term 2
	// with a different history.
	c := nw.peers["c"]
	c.term = 1
	for i := int64(1); i <= 50; i++ {
		c.log.append(Entry{Term: 1, Index: i, Data: []byte("stale")})
	}
	a := nw.peers["a"]
	a.term = 2
	a.log.append(Entry{Term: 2, Index: 1, Data: []byte("x")})
	nw.peers["b"].term = 2
	nw.peers["b"].log.append(Entry{Term: 2, Index: 1, Data: []byte("x")})
	nw.campaign("a")
	rejects := 0
	for _, l := range nw.log {
		if len(l) > 0 && containsAll(l, "c->a app-resp", "reject") {
			rejects++
		}
	}
	require.LessOrEqual(t, rejects, 2, "trace:\n%v", nw.log)
	require.Equal(t, a.log.lastIndex(), c.log.lastIndex())
	require.Equal(t, logTerms(a), logTerms(c))
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		found := false
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// §5.4.2 (Figure 8): a leader never commits an entry of an earlier term by
// counting replicas; it commits once an entry of its own term is stored on
// a majority, and the earlier entries with it.
func TestNoCommitOfPriorTermByCounting(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	r.log.append(Entry{Term: 1, Index: 1}, Entry{Term: 2, Index: 2})
	r.term = 2
	r.becomeCandidate() // term 3
	r.becomeLeader()    // appends the term-3 no-op at 3
	require.Equal(t, int64(3), r.log.lastIndex())
	// b acknowledges index 2 (term 2): a majority holds it, not committed.
	require.NoError(t, r.Step(Message{Type: MsgAppResp, From: "b", To: "a", Term: 3, Index: 2}))
	require.Equal(t, int64(0), r.log.committed)
	// b acknowledges the no-op: index 3 and everything before commit.
	require.NoError(t, r.Step(Message{Type: MsgAppResp, From: "b", To: "a", Term: 3, Index: 3}))
	require.Equal(t, int64(3), r.log.committed)
}

// §5.3: a committed entry is applied by every node, in order.
func TestReplicationAndApply(t *testing.T) {
	nw := newNetwork(t, 5, nil)
	nw.campaign("a")
	for _, d := range []string{"x", "y", "z"} {
		require.NoError(t, nw.propose("a", d))
	}
	// Followers learn the last commit with the next heartbeat.
	nw.tick([]string{"a"}, 1)
	for _, id := range nw.ids {
		require.Equal(t, []string{"x", "y", "z"}, appliedData(nw.applied[id]), id)
	}
}

// §5.3: a proposal to a follower is forwarded to the leader; with no
// leader it is dropped, definitely.
func TestProposalForwarding(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	require.ErrorIs(t, nw.peers["b"].Propose([]byte("x")), ErrProposalDropped)
	nw.campaign("a")
	require.NoError(t, nw.propose("b", "y"))
	nw.tick([]string{"a"}, 1)
	require.Equal(t, []string{"y"}, appliedData(nw.applied["c"]))
}

// Diss. §9.6: with pre-vote, a node cut off from the cluster does not bump
// its term, so it does not depose the leader when it comes back.
func TestPreVoteKeepsTerm(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.PreVote = true; c.CheckQuorum = true })
	nw.campaign("a")
	nw.isolate("c")
	nw.tick([]string{"c"}, 100)
	require.Equal(t, int64(1), nw.peers["c"].term)
	require.Equal(t, StatePreCandidate, nw.peers["c"].state)
	nw.heal()
	nw.tick([]string{"a", "b", "c"}, 3)
	require.Equal(t, StateLeader, nw.peers["a"].state)
	require.Equal(t, int64(1), nw.peers["a"].term)
	require.Equal(t, "a", nw.peers["c"].lead)
}

// Without pre-vote the same isolated node disrupts the leader on return
// (the behaviour pre-vote exists to prevent).
func TestWithoutPreVoteRejoinDisrupts(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	nw.isolate("c")
	nw.tick([]string{"c"}, 100)
	require.Greater(t, nw.peers["c"].term, int64(1))
	nw.heal()
	nw.tick([]string{"a", "b", "c"}, 2*nw.peers["c"].cfg.ElectionTick)
	require.Greater(t, nw.peers["a"].term, int64(1), "a was deposed")
}

// Diss. §6.2: with check-quorum a leader that hears from no majority for
// an election timeout steps down.
func TestCheckQuorumStepsDown(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.CheckQuorum = true })
	nw.campaign("a")
	nw.isolate("a")
	a := nw.peers["a"]
	for range 2 * a.cfg.ElectionTick {
		a.Tick()
		nw.stabilize()
	}
	require.Equal(t, StateFollower, a.state)
}

// Diss. §4.2.3/§9.6 (leader stickiness): a follower that heard from its
// leader within the election timeout ignores vote requests.
func TestStickinessIgnoresVotes(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.CheckQuorum = true })
	nw.campaign("a")
	b := nw.peers["b"]
	b.msgs = nil
	require.NoError(t, b.Step(Message{Type: MsgVote, From: "c", To: "b", Term: 5, Index: 9, LogTerm: 5}))
	require.Empty(t, b.msgs)
	require.Equal(t, int64(1), b.term)
}

// Diss. §6.4: ReadIndex answers only after a quorum confirms leadership in
// a heartbeat round, and with the commit index taken when asked.
func TestReadIndexNeedsQuorum(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	require.NoError(t, nw.propose("a", "x"))
	a := nw.peers["a"]
	nw.isolate("a")
	require.NoError(t, a.ReadIndex(7))
	nw.stabilize()
	require.Empty(t, nw.reads["a"], "no quorum, no read")
	nw.heal()
	nw.tick([]string{"a"}, 1)
	require.Equal(t, []ReadState{{Index: 2, Context: 7}}, nw.reads["a"])
}

// Diss. §6.4: a new leader serves reads only after committing an entry of
// its term (its commit index may lag before that).
func TestReadIndexWaitsForFirstCommit(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, nil)
	r.becomeCandidate()
	r.becomeLeader()
	require.NoError(t, r.ReadIndex(1))
	require.Equal(t, int64(0), r.readSeq, "no read round before the first commit")
	require.NoError(t, r.Step(Message{Type: MsgHeartbeatResp, From: "b", To: "a", Term: 1}))
	require.Empty(t, r.reads)
	require.NoError(t, r.Step(Message{Type: MsgAppResp, From: "b", To: "a", Term: 1, Index: 1}))
	require.Empty(t, r.reads, "the round started at the commit: it needs its own acks")
	require.NoError(t, r.Step(Message{Type: MsgHeartbeatResp, From: "b", To: "a", Term: 1, Context: r.readSeq}))
	require.Equal(t, []ReadState{{Index: 1, Context: 1}}, r.reads)
}

// A follower's read goes to the leader and comes back as a ReadState.
func TestReadIndexFromFollower(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	b := nw.peers["b"]
	require.NoError(t, b.ReadIndex(3))
	nw.stabilize()
	require.Equal(t, []ReadState{{Index: 1, Context: 3}}, nw.reads["b"])
}

// Flow control: in replicate state at most MaxInflight appends are out; in
// probe state one.
func TestInflightWindow(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b"}, func(c *Config) { c.MaxInflight = 3; c.MaxEntriesPerMsg = 1 })
	r.becomeCandidate()
	r.becomeLeader()
	require.NoError(t, r.Step(Message{Type: MsgAppResp, From: "b", To: "a", Term: 1, Index: 1}))
	require.Equal(t, progressReplicate, r.prs["b"].State)
	r.msgs = nil
	for range 10 {
		require.NoError(t, r.Propose([]byte("x")))
	}
	require.Len(t, msgsOf(r, MsgApp), 3)
	// An ack frees the window.
	r.msgs = nil
	require.NoError(t, r.Step(Message{Type: MsgAppResp, From: "b", To: "a", Term: 1, Index: 3}))
	require.Len(t, msgsOf(r, MsgApp), 2)

	// Probe: one append until an answer.
	p := newTestRaft(t, "a", []string{"a", "b"}, nil)
	p.becomeCandidate()
	p.becomeLeader()
	p.msgs = nil
	for range 5 {
		require.NoError(t, p.Propose([]byte("x")))
	}
	require.Empty(t, msgsOf(p, MsgApp), "the election's probe is still unanswered")
}

// §7: a follower behind the leader's snapshot gets InstallSnapshot and
// resumes normal replication after it.
func TestInstallSnapshot(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	nw.isolate("c")
	for _, d := range []string{"x", "y", "z"} {
		require.NoError(t, nw.propose("a", d))
	}
	a := nw.peers["a"]
	nw.drain()
	require.NoError(t, a.Compact(a.log.applied, []byte("state@4")))
	require.Equal(t, int64(5), a.log.firstIndex())
	nw.heal()
	nw.tick([]string{"a"}, 2)
	c := nw.peers["c"]
	require.Equal(t, int64(4), c.log.snap.Index)
	require.Equal(t, "state@4", string(c.log.snap.Data))
	require.NoError(t, nw.propose("a", "w"))
	nw.tick([]string{"a"}, 1)
	require.Equal(t, []string{"w"}, appliedData(nw.applied["c"]))
}

// Diss. §3.10: leadership transfer: the leader brings the target up to date
// and tells it to campaign; it wins without waiting for a timeout, even
// under check-quorum stickiness.
func TestLeaderTransfer(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.PreVote = true; c.CheckQuorum = true })
	nw.campaign("a")
	nw.isolate("c")
	require.NoError(t, nw.propose("a", "x"))
	nw.heal()
	require.NoError(t, nw.peers["a"].TransferLeader("c"))
	nw.stabilize()
	nw.tick([]string{"a"}, 1)
	require.Equal(t, StateLeader, nw.peers["c"].state)
	require.Equal(t, "c", nw.peers["a"].lead)
	// Proposals are refused while a transfer runs; after it, they work.
	require.NoError(t, nw.propose("c", "y"))
}

// Diss. §4.1: single-server membership changes, one at a time; the new
// configuration's quorum governs commits once applied.
func TestMembershipChange(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	a := nw.peers["a"]
	// Add d: it starts with an empty log and the old membership unknown;
	// the leader brings it up to date.
	nw.ids = append(nw.ids, "d")
	nw.peers["d"] = newTestRaft(t, "d", []string{"a", "b", "c", "d"}, nil)
	require.NoError(t, a.ProposeConfChange(ConfChange{Type: ConfAddNode, Node: "d"}))
	nw.stabilize()
	nw.drain()
	require.Equal(t, []string{"a", "b", "c", "d"}, a.voters)
	// A second change waits for the first to apply: it is applied now.
	require.NoError(t, a.ProposeConfChange(ConfChange{Type: ConfRemoveNode, Node: "b"}))
	require.ErrorIs(t, a.ProposeConfChange(ConfChange{Type: ConfRemoveNode, Node: "c"}), ErrProposalDropped)
	nw.stabilize()
	nw.drain()
	require.Equal(t, []string{"a", "c", "d"}, a.voters)
	// With b gone, a and d make a quorum of {a, c, d} without c.
	nw.isolate("b")
	nw.isolate("c")
	require.NoError(t, nw.propose("a", "x"))
	nw.tick([]string{"a"}, 1)
	got := appliedData(nw.applied["d"])
	require.Equal(t, "x", got[len(got)-1])
	require.Equal(t, int64(4), a.log.committed) // no-op, two changes, x

}

// LeaseRead: a leader holding a fresh quorum acknowledgment answers a read
// at once; once the lease has run out (cut off from its followers) it
// falls back to a heartbeat round, which cannot complete.
func TestLeaseRead(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.CheckQuorum = true; c.LeaseRead = true })
	nw.campaign("a")
	nw.tick([]string{"a"}, 1) // a heartbeat round, acknowledged
	a := nw.peers["a"]
	require.NoError(t, a.ReadIndex(1))
	require.Equal(t, []ReadState{{Index: 1, Context: 1}}, a.reads, "served from the lease")
	require.Empty(t, msgsOf(a, MsgHeartbeat), "without a round")
	nw.drain()
	nw.isolate("a")
	for range a.cfg.ElectionTick - a.cfg.LeaseMarginTicks {
		a.Tick()
		nw.stabilize()
	}
	require.Equal(t, StateLeader, a.state, "check-quorum has not fired yet")
	require.NoError(t, a.ReadIndex(2))
	nw.stabilize()
	require.Empty(t, nw.reads["a"][1:], "lease expired: no read without a quorum")

	_, err := New(Config{ID: "a", Voters: []string{"a"}, LeaseRead: true, Rand: a.cfg.Rand})
	require.Error(t, err, "LeaseRead needs CheckQuorum")
}

// Beyond the paper (Config.ReorderTicks): an append that arrives ahead of
// the one it follows is held, not rejected, and applied once the gap fills;
// the leader never sees a rejection and stays in replicate state.
func TestReorderedAppendIsHeld(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, func(c *Config) { c.ReorderTicks = 3 })
	r.log.append(Entry{Term: 1, Index: 1})
	r.becomeFollower(1, "b")
	first := Message{Type: MsgApp, From: "b", To: "a", Term: 1, Index: 1, LogTerm: 1, Entries: []Entry{{Term: 1, Index: 2}}}
	second := Message{Type: MsgApp, From: "b", To: "a", Term: 1, Index: 2, LogTerm: 1, Entries: []Entry{{Term: 1, Index: 3}}, Commit: 2}
	require.NoError(t, r.Step(second))
	require.Empty(t, msgsOf(r, MsgAppResp), "held, not rejected")
	r.Tick()
	require.NoError(t, r.Step(first))
	resp := msgsOf(r, MsgAppResp)
	require.Len(t, resp, 2)
	for _, m := range resp {
		require.False(t, m.Reject)
	}
	require.Equal(t, []int64{2, 3}, []int64{resp[0].Index, resp[1].Index})
	require.Equal(t, int64(3), r.log.lastIndex())
	require.Equal(t, int64(2), r.log.committed)
	require.Empty(t, r.early)
	r.msgs = nil
	for range 5 {
		r.Tick()
	}
	require.Empty(t, msgsOf(r, MsgAppResp), "nothing left to reject")
}

// A gap that stays open for ReorderTicks (the append that fills it was
// lost) is rejected with the follower's log end as the hint, and a term
// change drops what was held.
func TestLostAppendRejectedAfterReorderTicks(t *testing.T) {
	r := newTestRaft(t, "a", []string{"a", "b", "c"}, func(c *Config) { c.ReorderTicks = 3 })
	r.log.append(Entry{Term: 1, Index: 1})
	r.becomeFollower(1, "b")
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 1, Index: 4, LogTerm: 1, Entries: []Entry{{Term: 1, Index: 5}}}))
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 1, Index: 2, LogTerm: 1, Entries: []Entry{{Term: 1, Index: 3}}}))
	r.Tick()
	r.Tick()
	require.Empty(t, msgsOf(r, MsgAppResp))
	r.Tick()
	resp := msgsOf(r, MsgAppResp)
	require.Len(t, resp, 1)
	require.True(t, resp[0].Reject)
	require.Equal(t, int64(2), resp[0].Index, "the held append nearest the log")
	require.Equal(t, int64(2), resp[0].Hint)
	require.Empty(t, r.early)
	r.msgs = nil

	require.NoError(t, r.Step(Message{Type: MsgApp, From: "b", To: "a", Term: 1, Index: 3, LogTerm: 1}))
	require.Len(t, r.early, 1)
	require.NoError(t, r.Step(Message{Type: MsgHeartbeat, From: "c", To: "a", Term: 2}))
	require.Empty(t, r.early, "a new term forgets the old leader's appends")
}
