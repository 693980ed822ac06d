package storage

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustWrite(t *testing.T, f File, s string) {
	t.Helper()
	_, err := f.Write([]byte(s))
	require.NoError(t, err)
}

// newSyncedEntry returns a disk drawn from seed holding the empty file
// /d/a, open, whose directory entry is synced.
func newSyncedEntry(t *testing.T, seed uint64) (*SimDisk, File) {
	t.Helper()
	d := NewSimDisk(seed)
	f, err := d.Create("/d/a")
	require.NoError(t, err)
	require.NoError(t, d.SyncDir("/d"))
	return d, f
}

func TestSimDiskSyncedSurvives(t *testing.T) {
	for seed := range uint64(200) {
		d := NewSimDisk(seed)
		f, err := d.Create("/d/a")
		require.NoError(t, err)
		mustWrite(t, f, "synced")
		require.NoError(t, f.Sync())
		require.NoError(t, d.SyncDir("/d"))
		mustWrite(t, f, "-unsynced")
		d.Crash()
		b, err := d.ReadFile("/d/a")
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(b, []byte("synced")), "seed %d: %q", seed, b)
		require.LessOrEqual(t, len(b), len("synced-unsynced"))
		_, err = f.Write([]byte("x"))
		require.ErrorIs(t, err, ErrCrashed, "a handle from before the crash is dead")
	}
}

// TestSimDiskCrashOutcomes: over many seeds a crash shows every outcome the
// model allows (unsynced bytes lost, kept, torn; an unsynced entry lost or
// kept) and never one it forbids.
func TestSimDiskCrashOutcomes(t *testing.T) {
	var lost, kept, torn, partial, vanished, stayed int
	for seed := range uint64(400) {
		d, f := newSyncedEntry(t, seed)
		mustWrite(t, f, "0123456789")
		g, err := d.Create("/d/new")
		require.NoError(t, err)
		mustWrite(t, g, "n")
		require.NoError(t, g.Sync()) // synced data, unsynced entry
		d.Crash()

		b, err := d.ReadFile("/d/a")
		require.NoError(t, err, "a synced entry survives")
		full := []byte("0123456789")
		switch {
		case len(b) == 0:
			lost++
		case bytes.Equal(b, full):
			kept++
		case bytes.HasPrefix(full, b):
			partial++
		default:
			require.LessOrEqual(t, len(b), len(full))
			torn++
		}
		if _, err := d.ReadFile("/d/new"); err != nil {
			require.ErrorIs(t, err, fs.ErrNotExist)
			vanished++
		} else {
			stayed++
		}
	}
	for name, n := range map[string]int{"lost": lost, "kept": kept, "torn": torn, "partial": partial, "vanished": vanished, "stayed": stayed} {
		require.Positive(t, n, "outcome %s never drawn", name)
	}
}

func TestSimDiskRenameNeedsDirSync(t *testing.T) {
	undone := 0
	for seed := range uint64(100) {
		d := NewSimDisk(seed)
		for _, n := range []string{"/d/x", "/d/x.tmp"} {
			f, err := d.Create(n)
			require.NoError(t, err)
			mustWrite(t, f, n)
			require.NoError(t, f.Sync())
		}
		require.NoError(t, d.SyncDir("/d"))
		require.NoError(t, d.Rename("/d/x.tmp", "/d/x"))
		d.Crash()
		b, err := d.ReadFile("/d/x")
		require.NoError(t, err)
		require.Contains(t, []string{"/d/x", "/d/x.tmp"}, string(b), "old or new, never a mix")
		if string(b) == "/d/x" {
			undone++
		}

		require.NoError(t, d.Rename("/d/x", "/d/y"))
		require.NoError(t, d.SyncDir("/d"))
		d.Crash()
		_, err = d.ReadFile("/d/y")
		require.NoError(t, err, "a synced rename survives")
	}
	require.Positive(t, undone)
}

func TestSimDiskDeterministic(t *testing.T) {
	run := func(seed uint64) string {
		d := NewSimDisk(seed)
		for i, n := range []string{"/d/a", "/d/b", "/e/c"} {
			f, err := d.Create(n)
			require.NoError(t, err)
			mustWrite(t, f, "head")
			if i%2 == 0 {
				require.NoError(t, f.Sync())
			}
			mustWrite(t, f, "tail-of-some-length")
		}
		require.NoError(t, d.SyncDir("/d"))
		d.Crash()
		return d.String()
	}
	for seed := range uint64(20) {
		require.Equal(t, run(seed), run(seed))
	}
}

func TestSimDiskFailAfter(t *testing.T) {
	d := NewSimDisk(1)
	d.FailAfter(2)
	f, err := d.Create("/d/a") // 1
	require.NoError(t, err)
	mustWrite(t, f, "x") // 2
	_, err = f.Write([]byte("y"))
	require.ErrorIs(t, err, ErrCrashed)
	require.ErrorIs(t, f.Sync(), ErrCrashed)
	_, err = d.ReadFile("/d/a")
	require.ErrorIs(t, err, ErrCrashed, "the process is dead: it reads nothing either")
	d.Crash()
	_, err = d.Create("/d/b")
	require.NoError(t, err, "Crash removes the limit")
}

func TestSimDiskLock(t *testing.T) {
	d := NewSimDisk(1)
	l, err := d.Lock("/d/x.lock")
	require.NoError(t, err)
	_, err = d.Lock("/d/x.lock")
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())
	_, err = d.Lock("/d/x.lock")
	require.NoError(t, err)
	d.Crash()
	_, err = d.Lock("/d/x.lock")
	require.NoError(t, err, "a crash releases locks")
}

func TestSimDiskTruncateThenCrash(t *testing.T) {
	sawOld, sawCut, sawOverlay := false, false, false
	for seed := range uint64(100) {
		d, f := newSyncedEntry(t, seed)
		mustWrite(t, f, "abcdef")
		require.NoError(t, f.Sync())
		require.NoError(t, f.Truncate(3))
		_, err := f.WriteAt([]byte("XY"), 3)
		require.NoError(t, err)
		d.Crash()
		b, err := d.ReadFile("/d/a")
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(b, []byte("abc")), "seed %d: %q lost synced bytes before the cut", seed, b)
		require.LessOrEqual(t, len(b), 6)
		switch {
		case string(b) == "abcdef":
			sawOld = true
		case len(b) <= 5:
			sawCut = true
		case string(b[3:5]) == "XY":
			sawOverlay = true
		}
	}
	require.True(t, sawOld && sawCut && sawOverlay)
}

// TestSimDiskKill: a process death keeps every write, synced or not, and
// frees the dead process's lock and handles.
func TestSimDiskKill(t *testing.T) {
	d := NewSimDisk(1)
	l, err := d.Lock("/d/x.lock")
	require.NoError(t, err)
	f, err := d.Create("/d/a")
	require.NoError(t, err)
	mustWrite(t, f, "never synced")
	d.Kill()
	b, err := d.ReadFile("/d/a")
	require.NoError(t, err)
	require.Equal(t, "never synced", string(b))
	_, err = f.Write([]byte("x"))
	require.ErrorIs(t, err, ErrCrashed)
	_, err = d.Lock("/d/x.lock")
	require.NoError(t, err, "the dead process's lock is free")
	require.NoError(t, l.Close(), "closing a dead handle is harmless")
	_, err = d.Lock("/d/x.lock")
	require.ErrorIs(t, err, ErrLocked, "and does not free the new holder's lock")
}

// TestSimDiskOverwriteInPlace: writes into allocated (synced) space that
// were not synced may be lost or partial, never touch the bytes before them.
func TestSimDiskOverwriteInPlace(t *testing.T) {
	sawLost, sawSome := false, false
	for seed := range uint64(100) {
		d, f := newSyncedEntry(t, seed)
		mustWrite(t, f, "head")
		require.NoError(t, f.Allocate(16))
		require.NoError(t, f.Sync())
		_, err := f.WriteAt([]byte("newdata"), 4)
		require.NoError(t, err)
		d.Crash()
		b, err := d.ReadFile("/d/a")
		require.NoError(t, err)
		require.Equal(t, "head", string(b[:4]), "seed %d", seed)
		if bytes.Equal(b, append([]byte("head"), make([]byte, 12)...)) {
			sawLost = true
		} else {
			sawSome = true
		}
	}
	require.True(t, sawLost && sawSome)
}
