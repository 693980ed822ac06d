package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func simStore(t *testing.T, d *SimDisk, node string, run RunID) *Store {
	t.Helper()
	s, err := OpenConfig(Config{Dir: "/run", NodeID: node, FS: d, Run: &run})
	require.NoError(t, err)
	return s
}

func TestStoreRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "n1")
	require.NoError(t, err)
	_, err = s.Log.Commit(bs("put x 1", "put y 2")...)
	require.NoError(t, err)
	require.NoError(t, s.State.Put([]byte(`{"term":3,"vote":"n2"}`)))
	require.NoError(t, s.SaveSnapshot(1, []byte("x=1")))
	_, err = s.Log.Commit([]byte("put z 3"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// The same process restarting the store is the same run (same parent,
	// same directory): everything comes back.
	s, err = Open(dir, "n1")
	require.NoError(t, err)
	defer s.Close()
	snap, found, err := s.LoadSnapshot()
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, Snapshot{Index: 1, Data: []byte("x=1")}, snap)
	require.Equal(t, uint64(2), s.Log.FirstIndex())
	require.Equal(t, bs("put y 2", "put z 3"), records(t, s.Log))
	require.Equal(t, `{"term":3,"vote":"n2"}`, string(s.State.Get()))

	names, err := OSFS{}.ReadDir(dir)
	require.NoError(t, err)
	tag := s.Run().Tag()
	require.Equal(t, []string{"n1." + tag + ".lock", "n1." + tag + ".snap", "n1." + tag + ".state", "n1." + tag + ".wal"}, names)
}

func TestStoreLockedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "n1")
	require.NoError(t, err)
	_, err = Open(dir, "n1")
	require.ErrorIs(t, err, ErrLocked)
	s2, err := Open(dir, "n2")
	require.NoError(t, err, "another node in the same directory")
	require.NoError(t, s2.Close())
	require.NoError(t, s.Close())
	s, err = Open(dir, "n1")
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

func TestStoreNodeIDs(t *testing.T) {
	for _, id := range []string{"", "../n1", "n1/x", "n.1", ".n1", "n 1", strings.Repeat("n", 65), "n1\x00"} {
		_, err := Open(t.TempDir(), id)
		require.Error(t, err, "%q", id)
	}
	for _, id := range []string{"n1", "n10", "c3", "node_A-7"} {
		require.True(t, ValidNodeID(id), id)
	}
}

// TestStoreSharedDirectory is Maelstrom's case: one directory for every node
// and every run. A node finds its own run's files; a new run starts empty
// and removes the files of runs that are over; a concurrent run's files are
// left alone; n1 never touches n10's files.
func TestStoreSharedDirectory(t *testing.T) {
	d := NewSimDisk(1)
	runA := testRun
	runB := testRun
	runB.ParentPID, runB.ParentStart = 77, 7777
	runC := testRun
	runC.ParentPID, runC.ParentStart = 88, 8888

	for _, node := range []string{"n1", "n10"} {
		s := simStore(t, d, node, runA)
		_, err := s.Log.Commit([]byte(node + " in A"))
		require.NoError(t, err)
		require.NoError(t, s.State.Put([]byte("vote of "+node)))
		require.NoError(t, s.Close())
	}
	// Run C is still going on: its files must survive run B's start.
	sC := simStore(t, d, "n1", runC)
	_, err := sC.Log.Commit([]byte("n1 in C"))
	require.NoError(t, err)
	require.NoError(t, sC.Close())

	over := func(r RunID) bool { return r == runA }
	sB, err := OpenConfig(Config{Dir: "/run", NodeID: "n1", FS: d, Run: &runB, RunOver: over})
	require.NoError(t, err)
	require.Empty(t, records(t, sB.Log), "a new run starts empty")
	require.Nil(t, sB.State.Get())
	_, found, err := sB.LoadSnapshot()
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, sB.Close())

	// Each run's files: .wal and .state (SimDisk's locks are not files).
	var n1A, n10A, n1C int
	for _, f := range d.Files() {
		switch {
		case strings.HasPrefix(f, "/run/n1."+runA.Tag()):
			n1A++
		case strings.HasPrefix(f, "/run/n10."+runA.Tag()):
			n10A++
		case strings.HasPrefix(f, "/run/n1."+runC.Tag()):
			n1C++
		}
	}
	require.Zero(t, n1A, "the files of n1's run A, which is over, are removed: %v", d.Files())
	require.Equal(t, 2, n10A, "n10's files are not n1's to remove")
	require.Equal(t, 2, n1C, "run C may still be going on")

	sC = simStore(t, d, "n1", runC)
	require.Equal(t, bs("n1 in C"), records(t, sC.Log))
	require.NoError(t, sC.Close())
}

// TestSnapshotCrashAtEveryStep crashes SaveSnapshot after each of its disk
// operations (and a power loss right after, under several seeds): the store
// always reopens with the old snapshot or the new one, whole, and a log that
// continues it with every synced record.
func TestSnapshotCrashAtEveryStep(t *testing.T) {
	var sawOld, sawNewUnacked int
	for seed := range uint64(8) {
		completed := false
		for budget := 0; !completed; budget++ {
			if budget > 50 {
				t.Fatalf("SaveSnapshot never completed")
			}
			d := NewSimDisk(seed)
			s := simStore(t, d, "n1", testRun)
			var all [][]byte
			for i := range 6 {
				all = append(all, []byte(fmt.Sprintf("r%d", i+1)))
			}
			_, err := s.Log.Commit(all...)
			require.NoError(t, err)
			require.NoError(t, s.SaveSnapshot(2, []byte("image@2")))
			_, err = s.Log.Append([]byte("unsynced r7"))
			require.NoError(t, err)

			d.FailAfter(budget)
			err = s.SaveSnapshot(4, []byte("image@4"))
			completed = err == nil
			if err != nil {
				require.ErrorIs(t, err, ErrCrashed)
			}
			d.Crash()

			s = simStore(t, d, "n1", testRun)
			snap, found, err := s.LoadSnapshot()
			require.NoError(t, err, "seed %d budget %d", seed, budget)
			require.True(t, found)
			switch snap.Index {
			case 2:
				require.False(t, completed, "a completed save survives")
				require.Equal(t, "image@2", string(snap.Data))
				sawOld++
			case 4:
				require.Equal(t, "image@4", string(snap.Data))
				if !completed {
					sawNewUnacked++
				}
			default:
				t.Fatalf("seed %d budget %d: snapshot at %d", seed, budget, snap.Index)
			}
			first, last := s.Log.FirstIndex(), s.Log.LastIndex()
			require.LessOrEqual(t, first, snap.Index+1, "the log continues the snapshot")
			require.GreaterOrEqual(t, last, uint64(6), "synced records survive")
			recs := records(t, s.Log)
			for i, r := range recs {
				idx := first + uint64(i)
				if idx <= 6 {
					require.Equal(t, all[idx-1], r)
				} else {
					require.Equal(t, "unsynced r7", string(r))
				}
			}
			for _, f := range d.Files() {
				require.False(t, strings.HasSuffix(f, ".tmp"), "Open removes leftovers: %s", f)
			}
			require.NoError(t, s.Close())
		}
	}
	// A crash before the rename keeps the old snapshot; one after it (before
	// the directory sync) may keep either.
	require.Positive(t, sawOld)
	require.Positive(t, sawNewUnacked)
}

// TestStableCrash: a Stable value after a crash is the last one put, or (if
// the crash hit the Put) the one before, whole, over many puts (which
// compacts the file) and seeds.
func TestStableCrash(t *testing.T) {
	for seed := range uint64(40) {
		d := NewSimDisk(seed)
		st, err := OpenStable(d, "/d/n1.state", testRun)
		require.NoError(t, err)
		require.Nil(t, st.Get())
		n := 1 + int(seed)*5
		for i := range n {
			require.NoError(t, st.Put([]byte(fmt.Sprintf("term=%d", i))))
		}
		d.FailAfter(int(seed % 4))
		err = st.Put([]byte("term=next"))
		d.Crash()
		st, err2 := OpenStable(d, "/d/n1.state", testRun)
		require.NoError(t, err2)
		got := string(st.Get())
		if err == nil {
			require.Equal(t, "term=next", got, "seed %d", seed)
		} else {
			require.Contains(t, []string{fmt.Sprintf("term=%d", n-1), "term=next"}, got, "seed %d", seed)
		}
		require.LessOrEqual(t, st.log.LastIndex()-st.log.FirstIndex()+1, uint64(stableCompactEvery))
	}
}

// TestStableLargeValues: a large value (many Paxos promises) keeps the file
// within a few times its size.
func TestStableLargeValues(t *testing.T) {
	d := NewSimDisk(1)
	st, err := OpenStable(d, "/d/n1.state", testRun)
	require.NoError(t, err)
	v := bytes.Repeat([]byte("p"), 200<<10)
	for i := range 30 {
		v[0] = byte(i)
		require.NoError(t, st.Put(v))
		require.LessOrEqual(t, st.log.Size(), int64(stableCompactRatio*len(v)+stableSlackBytes+len(v)+headerSize+2*recHeaderSize))
	}
	d.Crash()
	st, err = OpenStable(d, "/d/n1.state", testRun)
	require.NoError(t, err)
	require.Equal(t, v, st.Get())
}

// TestStoreBoundedDisk: with a snapshot now and then, the files stay as
// large as what is kept, however long the run.
func TestStoreBoundedDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "n1")
	require.NoError(t, err)
	defer s.Close()
	rec := bytes.Repeat([]byte("x"), 100)
	var maxBytes, maxFileBytes int64
	for i := range 5000 {
		last, err := s.Log.Append(rec)
		require.NoError(t, err)
		if i%10 == 9 {
			require.NoError(t, s.Log.Sync())
		}
		if i%500 == 499 {
			require.NoError(t, s.SaveSnapshot(last-10, []byte("state")))
		}
		st, err := os.Stat(filepath.Join(dir, "n1."+s.Run().Tag()+".wal"))
		require.NoError(t, err)
		maxBytes = max(maxBytes, s.Log.Size())
		maxFileBytes = max(maxFileBytes, st.Size())
	}
	bound := int64(520*(100+recHeaderSize) + headerSize)
	require.Less(t, maxBytes, bound, "the log never holds more than one snapshot interval and the kept tail")
	require.Less(t, maxFileBytes, bound+max(allocMinBytes, bound/allocGrowDiv), "nor much space allocated ahead")
}

// TestStoreKilled is Maelstrom's kill on a SimDisk: the process dies without
// closing anything; the restarted node takes the lock and finds every
// record, even the unsynced ones the page cache kept.
func TestStoreKilled(t *testing.T) {
	d := NewSimDisk(1)
	s := simStore(t, d, "n1", testRun)
	_, err := s.Log.Commit([]byte("synced"))
	require.NoError(t, err)
	_, err = s.Log.Append([]byte("written"))
	require.NoError(t, err)
	d.Kill()
	s = simStore(t, d, "n1", testRun)
	require.Equal(t, bs("synced", "written"), records(t, s.Log))
	require.Equal(t, uint64(2), s.Log.DurableIndex(), "open synced what it found")
}
