package storage

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

func TestApplyRecover(t *testing.T) {
	d := NewSimDisk(1)
	s := simStore(t, d, "n1", testRun)
	r, err := Recover(s)
	require.NoError(t, err)
	require.True(t, r.Fresh)
	require.Equal(t, uint64(1), r.First)

	rec := func(b string) core.Write { return core.Write{Kind: core.WriteAppend, Data: []byte(b)} }
	at := func(w core.Write, i uint64) core.Write { w.Index = i; return w }
	require.NoError(t, Apply(s, []core.Write{
		{Kind: core.WriteState, Data: []byte("term 1")},
		at(rec("a"), 1), at(rec("b"), 2), at(rec("c"), 3),
		{Kind: core.WriteTruncate, Index: 1},
		at(rec("B"), 2),
	}))
	require.Error(t, Apply(s, []core.Write{at(rec("x"), 5)}), "an append must follow the last record")

	d.Kill()
	s = simStore(t, d, "n1", testRun)
	r, err = Recover(s)
	require.NoError(t, err)
	require.False(t, r.Fresh)
	require.Equal(t, "term 1", string(r.State))
	require.Nil(t, r.Snapshot)
	require.Equal(t, uint64(1), r.First)
	require.Equal(t, [][]byte{[]byte("a"), []byte("B")}, r.Log)

	// A snapshot covering the log up to 2, then records after it.
	require.NoError(t, Apply(s, []core.Write{
		{Kind: core.WriteSnapshot, Index: 2, Data: []byte("image")},
		at(rec("c"), 3),
	}))
	d.Crash()
	s = simStore(t, d, "n1", testRun)
	r, err = Recover(s)
	require.NoError(t, err)
	require.Equal(t, &core.Snapshot{Index: 2, Data: []byte("image")}, r.Snapshot)
	require.Equal(t, uint64(3), r.First)
	require.Equal(t, [][]byte{[]byte("c")}, r.Log)

	// A snapshot past the end of the log (a follower installing a
	// leader's) leaves an empty log that continues it.
	require.NoError(t, Apply(s, []core.Write{
		{Kind: core.WriteSnapshot, Index: 10, Data: []byte("leader's")},
		at(rec("k"), 11),
	}))
	d.Crash()
	s = simStore(t, d, "n1", testRun)
	r, err = Recover(s)
	require.NoError(t, err)
	require.Equal(t, uint64(10), r.Snapshot.Index)
	require.Equal(t, uint64(11), r.First)
	require.Equal(t, [][]byte{[]byte("k")}, r.Log)
}

// A crash at any step of installing a snapshot past the log's end (the
// snapshot's save, then the log's compaction) recovers a state whose next
// record can be appended: a snapshot saved whole with the old records
// still there finishes their compaction at recovery.
func TestRecoverAfterSnapshotCrash(t *testing.T) {
	rec := func(b string, i uint64) core.Write {
		return core.Write{Kind: core.WriteAppend, Index: i, Data: []byte(b)}
	}
	for budget := 0; budget < 12; budget++ {
		d := NewSimDisk(uint64(budget))
		s := simStore(t, d, "n1", testRun)
		require.NoError(t, Apply(s, []core.Write{rec("a", 1), rec("b", 2), rec("c", 3)}))
		d.FailAfter(budget)
		err := Apply(s, []core.Write{{Kind: core.WriteSnapshot, Index: 10, Data: []byte("leader's")}, rec("k", 11)})
		d.FailAfter(-1)
		if err != nil {
			require.ErrorIs(t, err, ErrCrashed, "budget %d", budget)
		}
		d.Kill()
		s = simStore(t, d, "n1", testRun)
		r, err := Recover(s)
		require.NoError(t, err, "budget %d", budget)
		next := r.First + uint64(len(r.Log))
		require.NoError(t, Apply(s, []core.Write{rec("z", next)}), "budget %d: the record after what was recovered", budget)
		require.NoError(t, s.Close())
	}
}
