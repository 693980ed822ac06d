package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// records returns every record of l, by replay.
func records(t *testing.T, l *Log) [][]byte {
	t.Helper()
	var out [][]byte
	next := l.FirstIndex()
	require.NoError(t, l.Replay(func(i uint64, data []byte) error {
		require.Equal(t, next, i)
		next++
		out = append(out, bytes.Clone(data))
		return nil
	}))
	require.Equal(t, l.LastIndex()+1, next)
	return out
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestLogAppendReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "n1.wal")
	l, err := OpenLog(OSFS{}, path, testRun)
	require.NoError(t, err)
	require.Equal(t, uint64(1), l.FirstIndex())
	require.Equal(t, uint64(0), l.LastIndex())
	last, err := l.Append(bs("a", "bb")...)
	require.NoError(t, err)
	require.Equal(t, uint64(2), last)
	require.Equal(t, uint64(0), l.DurableIndex())
	require.NoError(t, l.Sync())
	require.Equal(t, uint64(2), l.DurableIndex())
	last, err = l.Commit([]byte("ccc"))
	require.NoError(t, err)
	require.Equal(t, uint64(3), last)
	require.Equal(t, bs("a", "bb", "ccc"), records(t, l))
	require.NoError(t, l.Close())
	_, err = l.Append([]byte("x"))
	require.ErrorIs(t, err, ErrClosed)

	l, err = OpenLog(OSFS{}, path, testRun)
	require.NoError(t, err)
	require.Equal(t, bs("a", "bb", "ccc"), records(t, l))
	require.Equal(t, uint64(3), l.DurableIndex())
	require.NoError(t, l.Close())

	// Another run's log is not loaded: the file is replaced by an empty one.
	other := testRun
	other.ParentStart++
	l, err = OpenLog(OSFS{}, path, other)
	require.NoError(t, err)
	require.Empty(t, records(t, l))
	require.NoError(t, l.Close())
}

// TestLogTornTailOnDisk appends garbage and half records to a real file:
// reopening keeps the whole records and cuts the file back to them.
func TestLogTornTailOnDisk(t *testing.T) {
	tails := map[string][]byte{
		"zeros":       make([]byte, 100),
		"half header": {3, 0, 0},
		"half record": {10, 0, 0, 0, 1, 2, 3, 4, 'a', 'b'},
		"garbage":     []byte("not a record at all, just noise"),
	}
	for name, tail := range tails {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "n1.wal")
			l, err := OpenLog(OSFS{}, path, testRun)
			require.NoError(t, err)
			_, err = l.Commit(bs("one", "two")...)
			require.NoError(t, err)
			end := l.Size()
			require.NoError(t, l.Close())
			// The tail right after the records, in the allocated space.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteAt(tail, end)
			require.NoError(t, err)
			require.NoError(t, f.Close())

			l, err = OpenLog(OSFS{}, path, testRun)
			require.NoError(t, err)
			require.Equal(t, bs("one", "two"), records(t, l))
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, end, st.Size(), "the torn tail is cut off")
			_, err = l.Commit([]byte("three"))
			require.NoError(t, err)
			require.NoError(t, l.Close())
			l, err = OpenLog(OSFS{}, path, testRun)
			require.NoError(t, err)
			require.Equal(t, bs("one", "two", "three"), records(t, l))
			require.NoError(t, l.Close())
		})
	}
}

func TestLogCorruptHeader(t *testing.T) {
	d := NewSimDisk(1)
	f, err := d.Create("/d/n1.wal")
	require.NoError(t, err)
	_, err = f.Write([]byte("this is no log header, it is too short and wrong............................."))
	require.NoError(t, err)
	_, err = OpenLog(d, "/d/n1.wal", testRun)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestLogTruncateAndCompact(t *testing.T) {
	d := NewSimDisk(1)
	l, err := OpenLog(d, "/d/l", testRun)
	require.NoError(t, err)
	_, err = l.Commit(bs("1", "2", "3", "4", "5")...)
	require.NoError(t, err)

	require.NoError(t, l.TruncateAfter(3))
	require.Equal(t, uint64(3), l.LastIndex())
	require.Equal(t, uint64(3), l.DurableIndex())
	syncs := d.Stats().Syncs
	require.NoError(t, l.Sync())
	require.Equal(t, syncs+1, d.Stats().Syncs, "Sync after a cut is a barrier even with nothing appended")
	require.NoError(t, l.TruncateAfter(7), "past the end: nothing to do")
	_, err = l.Append(bs("4'", "5'")...)
	require.NoError(t, err)
	require.Equal(t, bs("1", "2", "3", "4'", "5'"), records(t, l))

	require.NoError(t, l.Compact(1), "at the first index: nothing to do")
	require.NoError(t, l.Compact(3))
	require.Equal(t, uint64(3), l.FirstIndex())
	require.Equal(t, uint64(5), l.DurableIndex(), "compaction syncs what it rewrites")
	require.Equal(t, bs("3", "4'", "5'"), records(t, l))
	require.Error(t, l.TruncateAfter(1), "below the first index")
	require.NoError(t, l.TruncateAfter(2), "drops everything")
	require.Equal(t, uint64(2), l.LastIndex())
	last, err := l.Commit([]byte("3''"))
	require.NoError(t, err)
	require.Equal(t, uint64(3), last)

	// A snapshot from ahead: the log empties and continues after it.
	require.NoError(t, l.Compact(10))
	require.Equal(t, uint64(10), l.FirstIndex())
	require.Equal(t, uint64(9), l.LastIndex())
	last, err = l.Commit([]byte("ten"))
	require.NoError(t, err)
	require.Equal(t, uint64(10), last)
	require.NoError(t, l.Close())
	d.Crash()
	l, err = OpenLog(d, "/d/l", testRun)
	require.NoError(t, err)
	require.Equal(t, uint64(10), l.FirstIndex())
	require.Equal(t, bs("ten"), records(t, l))
	require.Equal(t, int64(1), l.Stats().Syncs, "open syncs once")
}

// TestLogPoisoned: after a failed write or fsync every call fails, since the
// file's state is no longer known.
func TestLogPoisoned(t *testing.T) {
	for budget := range 3 {
		d := NewSimDisk(1)
		l, err := OpenLog(d, "/d/l", testRun)
		require.NoError(t, err)
		d.FailAfter(budget)
		var failed error
		for i := 0; i < 3 && failed == nil; i++ {
			_, failed = l.Commit([]byte("r"))
		}
		require.ErrorIs(t, failed, ErrCrashed, "budget %d", budget)
		d.FailAfter(-1)
		_, err = l.Append([]byte("after"))
		require.ErrorIs(t, err, ErrCrashed)
		require.ErrorIs(t, l.Sync(), ErrCrashed)
		require.ErrorIs(t, l.Compact(l.LastIndex()), ErrCrashed)
	}
}

// TestLogGroupCommit: concurrent committers each get their own index and
// return only when their record is durable; a crash right after keeps every
// committed record. (How many fsyncs they shared depends on scheduling; the
// benchmarks report it.)
func TestLogGroupCommit(t *testing.T) {
	d := NewSimDisk(7)
	l, err := OpenLog(d, "/d/l", testRun)
	require.NoError(t, err)
	const writers, each = 20, 25
	got := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				idx, err := l.Commit([]byte(fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if l.DurableIndex() < idx {
					t.Errorf("Commit returned %d before it was durable (%d)", idx, l.DurableIndex())
				}
				got[w] = append(got[w], idx)
			}
		})
	}
	wg.Wait()
	d.Crash()
	l, err = OpenLog(d, "/d/l", testRun)
	require.NoError(t, err)
	recs := records(t, l)
	seen := map[uint64]bool{}
	for w := range writers {
		for i, idx := range got[w] {
			require.False(t, seen[idx], "index %d handed out twice", idx)
			seen[idx] = true
			require.Equal(t, fmt.Sprintf("w%d-%d", w, i), string(recs[idx-1]))
		}
	}
	require.Len(t, seen, writers*each)
	require.LessOrEqual(t, d.Stats().Syncs, int64(writers*each+2))
}

// logModel is what a Log must hold: its live records, and what a crash may
// leave of them: any prefix of a state the log passed through since the
// last sync (history), no shorter than floor records.
type logModel struct {
	first   uint64
	recs    [][]byte
	history [][][]byte
	floor   int
}

func (m *logModel) changed() {
	m.history = append(m.history, append([][]byte(nil), m.recs...))
}

func (m *logModel) synced() {
	m.history = [][][]byte{append([][]byte(nil), m.recs...)}
	m.floor = len(m.recs)
}

// admits reports whether recs may be what a crash left.
func (m *logModel) admits(recs [][]byte) bool {
	if len(recs) < m.floor {
		return false
	}
	for _, h := range m.history {
		if len(recs) > len(h) {
			continue
		}
		ok := true
		for i := range recs {
			if !bytes.Equal(recs[i], h[i]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestLogCrashProperty drives a log through random appends, syncs, cuts,
// compactions, restarts and crashes on a SimDisk, and after every crash
// checks the recovered log against the model: exactly a prefix of what was
// appended (as cuts left it), holding everything synced.
func TestLogCrashProperty(t *testing.T) {
	var total crashOutcomes
	for seed := range uint64(300) {
		o, _ := crashModelRun(t, seed, 120)
		total.shorter += o.shorter
		total.cutUndone += o.cutUndone
		total.kept += o.kept
	}
	t.Logf("crashes: %d lost unsynced records, %d undid a cut, %d kept every unsynced record",
		total.shorter, total.cutUndone, total.kept)
	require.Positive(t, total.shorter)
	require.Positive(t, total.cutUndone)
	require.Positive(t, total.kept)
}

// TestLogCrashDeterministic: one seed, one run: the simulator can replay a
// failing seed exactly.
func TestLogCrashDeterministic(t *testing.T) {
	for _, seed := range []uint64{3, 29} {
		_, a := crashModelRun(t, seed, 120)
		_, b := crashModelRun(t, seed, 120)
		require.Equal(t, a, b)
	}
}

// crashOutcomes counts what crashes did, to show the test is not vacuous.
type crashOutcomes struct{ shorter, cutUndone, kept int }

// crashModelRun is one seeded run of the crash property; it returns the
// crash outcomes and a trace of the final disk and log.
func crashModelRun(t *testing.T, seed uint64, steps int) (crashOutcomes, string) {
	t.Helper()
	c := &logCrashRun{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 1)), d: NewSimDisk(seed), m: &logModel{first: 1}}
	var err error
	c.l, err = OpenLog(c.d, "/d/n1.wal", testRun)
	require.NoError(t, err)
	c.m.synced()
	for step := range steps {
		c.step = step
		switch p := c.rng.IntN(100); {
		case p < 40:
			c.append()
		case p < 55:
			require.NoError(t, c.l.Sync())
			c.m.synced()
		case p < 62:
			r := c.rec()
			_, err := c.l.Commit(r)
			require.NoError(t, err)
			c.m.recs = append(c.m.recs, r)
			c.m.synced()
		case p < 72:
			c.truncate()
		case p < 78:
			c.compact()
		case p < 84:
			c.restart()
		case p < 96:
			c.powerLoss()
		default:
			if !equalRecs(records(t, c.l), c.m.recs) {
				c.fail("replay differs from the model")
			}
		}
	}
	trace := fmt.Sprintf("%s first=%d %x", c.d, c.l.FirstIndex(), records(t, c.l))
	require.NoError(t, c.l.Close())
	return c.o, trace
}

// logCrashRun is one run of crashModelRun: a log on a simulated disk and
// the model it must match.
type logCrashRun struct {
	t    *testing.T
	seed uint64
	step int
	rng  *rand.Rand
	d    *SimDisk
	l    *Log
	m    *logModel
	o    crashOutcomes
}

func (c *logCrashRun) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("seed %d: step %d: %s", c.seed, c.step, fmt.Sprintf(format, args...))
}

// rec draws a record of 0 to 63 random bytes.
func (c *logCrashRun) rec() []byte {
	b := make([]byte, c.rng.IntN(64))
	for i := range b {
		b[i] = byte(c.rng.UintN(256))
	}
	return b
}

// append appends a batch of one to three records, unsynced.
func (c *logCrashRun) append() {
	n := 1 + c.rng.IntN(3)
	var batch [][]byte
	for range n {
		batch = append(batch, c.rec())
	}
	last, err := c.l.Append(batch...)
	require.NoError(c.t, err)
	c.m.recs = append(c.m.recs, batch...)
	if last != c.m.first+uint64(len(c.m.recs))-1 {
		c.fail("append returned %d", last)
	}
	c.m.changed()
}

// truncate drops the records after a random index, unsynced.
func (c *logCrashRun) truncate() {
	at := c.m.first - 1 + uint64(c.rng.IntN(len(c.m.recs)+1))
	require.NoError(c.t, c.l.TruncateAfter(at))
	c.m.recs = c.m.recs[:at+1-c.m.first]
	c.m.floor = min(c.m.floor, len(c.m.recs))
	c.m.changed()
}

// compact drops the records before a random index (which may be past the
// end).
func (c *logCrashRun) compact() {
	at := c.m.first + uint64(c.rng.IntN(len(c.m.recs)+3))
	require.NoError(c.t, c.l.Compact(at))
	if at > c.m.first { // otherwise a no-op, which syncs nothing
		drop := min(int(at-c.m.first), len(c.m.recs))
		c.m.recs, c.m.first = c.m.recs[drop:], at
		c.m.synced()
	}
}

// restart closes and reopens the log cleanly: the page cache survives,
// and so does every record.
func (c *logCrashRun) restart() {
	require.NoError(c.t, c.l.Close())
	var err error
	c.l, err = OpenLog(c.d, "/d/n1.wal", testRun)
	require.NoError(c.t, err)
	if c.l.FirstIndex() != c.m.first || !equalRecs(records(c.t, c.l), c.m.recs) {
		c.fail("restart changed the log")
	}
	c.m.synced()
}

// powerLoss crashes the disk and reopens the log: it must hold a state the
// model went through since its last sync.
func (c *logCrashRun) powerLoss() {
	c.d.Crash()
	var err error
	c.l, err = OpenLog(c.d, "/d/n1.wal", testRun)
	if err != nil {
		c.fail("reopen after crash: %v", err)
	}
	got := records(c.t, c.l)
	if c.l.FirstIndex() != c.m.first {
		c.fail("first index %d after crash, want %d", c.l.FirstIndex(), c.m.first)
	}
	if !c.m.admits(got) {
		c.fail("%d records after crash, floor %d, live %d: not a prefix of any state since the last sync",
			len(got), c.m.floor, len(c.m.recs))
	}
	switch {
	case len(got) < len(c.m.recs):
		c.o.shorter++
	case len(got) > len(c.m.recs):
		c.o.cutUndone++
	case len(c.m.history) > 1:
		c.o.kept++
	}
	c.m.recs = got
	c.m.synced()
}

func equalRecs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
