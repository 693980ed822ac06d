package raft

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// QuietCommits: the append that only carries a new commit index to a
// follower in step is quiet and gets no answer; everything else is
// answered as before, and the followers apply what the leader committed.
func TestQuietCommits(t *testing.T) {
	nw := newNetwork(t, 3, func(c *Config) { c.QuietCommits = true })
	nw.campaign("a")
	nw.log = nil
	require.NoError(t, nw.propose("a", "x"))
	var quiet, answers int
	for _, l := range nw.log {
		switch {
		case strings.Contains(l, " app ") && strings.Contains(l, " quiet"):
			require.NotContains(t, l, "entries=", "a quiet append carries no entries: %s", l)
			quiet++
		case strings.Contains(l, " app-resp "):
			answers++
		}
	}
	require.Equal(t, 2, quiet, "one quiet append per follower: %q", nw.log)
	require.Equal(t, 2, answers, "the followers answer the append with the entry only: %q", nw.log)
	for _, id := range []string{"b", "c"} {
		require.Equal(t, []string{"x"}, appliedData(nw.applied[id]), "%s applies the commit it was told quietly", id)
	}
}

// A quiet append that does not match the follower's log is rejected, with
// an answer, as any other.
func TestQuietAppendRejected(t *testing.T) {
	r := newTestRaft(t, "b", []string{"a", "b", "c"}, nil)
	r.becomeFollower(2, "a")
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "a", To: "b", Term: 2, Index: 5, LogTerm: 2, Commit: 5, Quiet: true}))
	resps := msgsOf(r, MsgAppResp)
	require.Len(t, resps, 1)
	require.True(t, resps[0].Reject)
	r.msgs = nil
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "a", To: "b", Term: 2, Index: 0, LogTerm: 0, Commit: 0, Quiet: true}))
	require.Empty(t, msgsOf(r, MsgAppResp), "a matching quiet append gets no answer")
}
