package raft

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

// TestFromRecoveredRejectsBadState: state this package did not write is an
// error, never a panic nor a core built from nonsense.
func TestFromRecoveredRejectsBadState(t *testing.T) {
	entry := encodeEntry(Entry{Term: 2, Data: []byte("x")})
	state := []byte(`{"term":2,"vote":"n1"}`)
	bad := map[string]core.Recovered{
		"state not json":        {State: []byte("{")},
		"negative term":         {State: []byte(`{"term":-1}`)},
		"snapshot not json":     {State: state, Snapshot: &core.Snapshot{Index: 3, Data: []byte("x")}},
		"snapshot index lies":   {State: state, Snapshot: &core.Snapshot{Index: 3, Data: []byte(`{"i":4,"t":1}`)}},
		"log after a gap":       {State: state, First: 2, Log: [][]byte{entry}},
		"empty record":          {State: state, First: 1, Log: [][]byte{{}}},
		"record without type":   {State: state, First: 1, Log: [][]byte{{2}}},
		"unknown entry type":    {State: state, First: 1, Log: [][]byte{{2, 9}}},
		"terms go down":         {State: state, First: 1, Log: [][]byte{entry, encodeEntry(Entry{Term: 1})}},
		"log past the term":     {State: []byte(`{"term":1}`), First: 1, Log: [][]byte{entry}},
		"commit past the log":   {State: []byte(`{"term":2,"commit":5}`), First: 1, Log: [][]byte{entry}},
		"term past int64 range": {State: state, First: 1, Log: [][]byte{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}}},
	}
	for name, rec := range bad {
		_, err := FromRecovered(rec)
		require.Error(t, err, name)
	}
	d, err := FromRecovered(core.Recovered{Fresh: true})
	require.NoError(t, err)
	require.Nil(t, d)
	d, err = FromRecovered(core.Recovered{State: state, First: 1, Log: [][]byte{entry}})
	require.NoError(t, err)
	require.Equal(t, HardState{Term: 2, Vote: "n1"}, d.HardState)
	require.Equal(t, []Entry{{Term: 2, Index: 1, Data: []byte("x")}}, d.Entries)
}

// TestUnsureNode: a node started unsure ignores every message until it
// knows its peers' largest term, then any below it; it grants no vote
// before its log caught up, nor ever one in a term up to that floor.
func TestUnsureNode(t *testing.T) {
	r, err := New(Config{ID: "n1", Voters: []string{"n1", "n2", "n3"}, Unsure: true, PreVote: true,
		Rand: rand.New(rand.NewPCG(1, 1))})
	require.NoError(t, err)
	ws := r.TakeWrites()
	require.Len(t, ws, 1, "the guard is written first")
	require.Equal(t, core.WriteState, ws[0].Kind)

	// Before Rejoin: a heartbeat of any term is ignored, no campaign.
	require.NoError(t, r.Step(Message{Type: MsgHeartbeat, From: "n2", To: "n1", Term: 3, Commit: 4}))
	require.EqualValues(t, 0, r.Status().Term)
	for range 100 {
		r.Tick()
	}
	require.Empty(t, r.Ready().Messages, "an unsure node neither campaigns nor answers")

	// The peers hold term 5 and a log ending at 2/5.
	r.Rejoin(5, 2, 5)
	require.True(t, r.Unsure())
	require.NoError(t, r.Step(Message{Type: MsgHeartbeat, From: "n2", To: "n1", Term: 4, Commit: 2}))
	require.EqualValues(t, 0, r.Status().Term, "a term below the floor is ignored")
	// A vote request of term 6 with a good log: refused, the log is behind.
	require.NoError(t, r.Step(Message{Type: MsgVote, From: "n3", To: "n1", Term: 6, Index: 2, LogTerm: 5}))
	rd := r.Ready()
	require.Len(t, rd.Messages, 1)
	require.True(t, rd.Messages[0].Reject)

	// The leader of term 6 catches it up; then it votes in a later term.
	require.NoError(t, r.Step(Message{Type: MsgApp, From: "n2", To: "n1", Term: 6, Index: 0, LogTerm: 0,
		Entries: []Entry{{Term: 5, Index: 1}, {Term: 5, Index: 2}}, Commit: 2}))
	r.Ready()
	require.False(t, r.Unsure())
	require.NoError(t, r.Step(Message{Type: MsgVote, From: "n3", To: "n1", Term: 7, Index: 2, LogTerm: 5}))
	rd = r.Ready()
	require.Len(t, rd.Messages, 1)
	require.False(t, rd.Messages[0].Reject, "caught up: it votes again")
	require.Equal(t, "n3", r.Status().Vote)
}
