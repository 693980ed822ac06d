package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
)

// Log is an append-only log of records numbered by consecutive indexes,
// kept in one file. Records are written through on Append and become
// durable at the next Sync; Commit is Append followed by a Sync that it
// shares with every concurrent caller (group commit).
//
// Recovery (OpenLog) keeps every record up to the first one that is torn
// (short, or failing its chained checksum), truncates the rest and fsyncs:
// a record covered by a successful Sync is never lost, and the recovered
// log is always a prefix of what was appended (as TruncateAfter and Compact
// left it).
//
// Compact(i) drops the records below i by rewriting the suffix into a new
// file (write, fsync, rename, fsync the directory), so disk use is bounded
// by what the caller keeps, not by the length of the run.
//
// Errors: a failed write, fsync or truncate poisons the log, and every later
// call returns the same error. After a failed fsync the kernel may have
// dropped the dirty pages and cleared the error, so a retry could report
// success for lost data; the only safe recovery is to reopen (restart).
//
// A Log is safe for concurrent use.
type Log struct {
	fsys FS
	path string
	run  RunID

	mu sync.Mutex
	// syncing is true while one caller fsyncs outside mu; syncDone (on mu)
	// wakes the others when it ends. Operations that replace or cut the file
	// (TruncateAfter, Compact, Close) wait for it and then hold mu, so an
	// fsync never races them; appends go on during an fsync.
	syncing  bool
	syncDone *sync.Cond

	f       File
	first   uint64   // index of ends[0]
	base    uint32   // chain seed: the header's crc
	ends    []int64  // ends[i]: offset past record first+i
	crcs    []uint32 // crcs[i]: chain value after record first+i
	durable uint64   // every record <= durable is synced
	cut     bool     // truncated since the last fsync: the next Sync must fsync
	alloc   int64    // the file's allocated size; records are written below it
	err     error    // sticky
	closed  bool

	stats LogStats
}

// LogStats counts a log's work since it was opened.
type LogStats struct {
	Records      int64 // records appended
	BytesWritten int64 // bytes written to the log file, headers and rewrites included
	Syncs        int64 // fsyncs of the log file (directory fsyncs not included)
	Compactions  int64
}

// Space is allocated ahead of the records in steps of a quarter of the
// file (at least 4 KiB): a few steps per file, little space unused.
const (
	allocMinBytes = 4 << 10
	allocGrowDiv  = 4
)

// ErrClosed is returned by operations on a closed Log or Store.
var ErrClosed = errors.New("storage: closed")

// OpenLog opens the log at path, creating it (first index 1) if missing.
// A file written under another run identity is discarded and replaced by a
// new, empty log, since it belongs to an earlier run.
func OpenLog(fsys FS, path string, run RunID) (*Log, error) {
	l := &Log{fsys: fsys, path: path, run: run}
	l.syncDone = sync.NewCond(&l.mu)
	b, err := fsys.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := l.rewrite(1, nil); err != nil {
			return nil, err
		}
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := scanLog(b)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", path, err)
	}
	if s.hdr.run != run {
		if err := l.rewrite(1, nil); err != nil {
			return nil, err
		}
		return l, nil
	}
	f, err := fsys.OpenWrite(path)
	if err != nil {
		return nil, err
	}
	// Cutting at the first bad record also drops the unused allocated space;
	// the next Append allocates again.
	if s.valid < int64(len(b)) {
		if err := f.Truncate(s.valid); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	// The records read may sit in the page cache only (the previous process
	// died before its Sync): one fsync makes all of them durable.
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, err
	}
	l.f, l.first, l.base, l.alloc = f, s.hdr.first, s.hdr.crc, s.valid
	l.ends, l.crcs = s.ends, s.crcs
	l.durable = l.lastLocked()
	l.stats.Syncs++
	return l, nil
}

// rewrite replaces the file with a new one whose first index is first and
// whose records are recs, atomically: write a temporary file, fsync it,
// rename it over the log, fsync the directory. The caller holds mu with no
// fsync in flight (or owns l exclusively).
func (l *Log) rewrite(first uint64, recs [][]byte) error {
	tmp := l.path + ".tmp"
	h := header{kind: kindLog, run: l.run, first: first}
	buf := h.encode()
	ends := make([]int64, 0, len(recs))
	crcs := make([]uint32, 0, len(recs))
	prev := h.crc
	for _, r := range recs {
		buf, prev = appendRecord(buf, prev, r)
		ends = append(ends, int64(len(buf)))
		crcs = append(crcs, prev)
	}
	f, err := l.fsys.Create(tmp)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		_ = f.Close()
		_ = l.fsys.Remove(tmp)
		return err
	}
	if _, err := f.Write(buf); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := l.fsys.Rename(tmp, l.path); err != nil {
		return err
	}
	if err := l.fsys.SyncDir(dirOf(l.path)); err != nil {
		return err
	}
	nf, err := l.fsys.OpenWrite(l.path)
	if err != nil {
		return err
	}
	if l.f != nil {
		_ = l.f.Close()
	}
	l.f, l.first, l.base, l.ends, l.crcs = nf, first, h.crc, ends, crcs
	l.alloc = int64(len(buf))
	l.durable, l.cut = l.lastLocked(), false
	l.stats.BytesWritten += int64(len(buf))
	l.stats.Syncs++
	return nil
}

// FirstIndex is the index of the first record kept (LastIndex+1 when empty).
func (l *Log) FirstIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

// LastIndex is the index of the last record (FirstIndex-1 when empty).
func (l *Log) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastLocked()
}

func (l *Log) lastLocked() uint64 { return l.first + uint64(len(l.ends)) - 1 }

// DurableIndex is the last index covered by a successful Sync.
func (l *Log) DurableIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable
}

// Size is the length of the log file in bytes.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.endLocked()
}

// Stats returns the log's counters.
func (l *Log) Stats() LogStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

func (l *Log) endLocked() int64 {
	if len(l.ends) == 0 {
		return headerSize
	}
	return l.ends[len(l.ends)-1]
}

func (l *Log) prevLocked() uint32 {
	if len(l.crcs) == 0 {
		return l.base
	}
	return l.crcs[len(l.crcs)-1]
}

// Append writes records (in one write) and returns the index of the last
// one. They are durable only after a Sync (or Commit) that follows.
func (l *Log) Append(records ...[]byte) (last uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	size := 0
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return 0, fmt.Errorf("storage: record of %d bytes exceeds %d", len(r), MaxRecordBytes)
		}
		size += recHeaderSize + len(r)
	}
	if len(records) == 0 {
		return l.lastLocked(), nil
	}
	buf := make([]byte, 0, size)
	end, prev := l.endLocked(), l.prevLocked()
	ends := make([]int64, 0, len(records))
	crcs := make([]uint32, 0, len(records))
	for _, r := range records {
		buf, prev = appendRecord(buf, prev, r)
		ends = append(ends, end+int64(len(buf)))
		crcs = append(crcs, prev)
	}
	if need := end + int64(len(buf)); need > l.alloc {
		// Allocate ahead, so that most fsyncs find the file's size
		// unchanged and commit data only (about twice as many fsyncs per
		// second here; README, Storage).
		alloc := need + max(allocMinBytes, need/allocGrowDiv)
		if err := l.f.Allocate(alloc); err != nil {
			l.err = fmt.Errorf("storage: allocate %s: %w", l.path, err)
			return 0, l.err
		}
		l.alloc = alloc
	}
	if _, err := l.f.WriteAt(buf, end); err != nil {
		// Part of buf may be in the file: the in-memory offsets no longer
		// match it, so the log cannot go on.
		l.err = fmt.Errorf("storage: append to %s: %w", l.path, err)
		return 0, l.err
	}
	l.ends = append(l.ends, ends...)
	l.crcs = append(l.crcs, crcs...)
	l.stats.Records += int64(len(records))
	l.stats.BytesWritten += int64(len(buf))
	return l.lastLocked(), nil
}

// Sync makes every record appended before the call durable. It issues no
// fsync when there is nothing new to sync.
func (l *Log) Sync() error {
	l.mu.Lock()
	last := l.lastLocked()
	l.mu.Unlock()
	return l.SyncTo(last)
}

// SyncTo returns once every record up to index is durable. Concurrent
// callers share fsyncs (group commit): one caller at a time fsyncs
// everything appended so far while the others wait; when it ends, every
// waiter it covered returns at once and one of the rest fsyncs what was
// appended meanwhile. N appenders waiting together cost about two fsyncs,
// not N.
func (l *Log) SyncTo(index uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if err := l.usable(); err != nil {
			return err
		}
		if l.durable >= index && !l.cut {
			return nil
		}
		if !l.syncing {
			break
		}
		l.syncDone.Wait()
	}
	target, f := l.lastLocked(), l.f
	l.syncing, l.cut = true, false
	l.mu.Unlock()

	// Appends may go on during the fsync; they are not counted as durable
	// until a later one.
	err := f.Sync()

	l.mu.Lock()
	l.syncing = false
	l.syncDone.Broadcast()
	l.stats.Syncs++
	if err != nil {
		l.cut = true
		l.err = fmt.Errorf("storage: fsync %s: %w", l.path, err)
		return l.err
	}
	l.durable = max(l.durable, target)
	return nil
}

// waitSyncLocked waits, holding mu, until no fsync is in flight.
func (l *Log) waitSyncLocked() {
	for l.syncing {
		l.syncDone.Wait()
	}
}

// Commit appends records and returns once they are durable, sharing the
// fsync with concurrent committers.
func (l *Log) Commit(records ...[]byte) (last uint64, err error) {
	last, err = l.Append(records...)
	if err != nil {
		return 0, err
	}
	return last, l.SyncTo(last)
}

// Replay calls fn for every record from FirstIndex to LastIndex, reading
// the file; data is valid only during the call.
func (l *Log) Replay(fn func(index uint64, data []byte) error) error {
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return err
	}
	b, err := l.fsys.ReadFile(l.path)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	first, n := l.first, len(l.ends)
	l.mu.Unlock()

	s, err := scanLog(b)
	if err != nil {
		return err
	}
	if s.hdr.first != first || len(s.payload) < n {
		return fmt.Errorf("%w: %s holds %d records from %d, the log %d from %d",
			ErrCorrupt, l.path, len(s.payload), s.hdr.first, n, first)
	}
	for i := range n {
		if err := fn(first+uint64(i), s.payload[i]); err != nil {
			return err
		}
	}
	return nil
}

// TruncateAfter drops every record after index (FirstIndex-1 drops all),
// as a Raft follower does with a conflicting suffix. The cut becomes
// durable with the next Sync; before it, a crash may bring the dropped
// records back (never a mix of old and new records: the checksum chain
// stops recovery where the old ones no longer follow).
func (l *Log) TruncateAfter(index uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitSyncLocked()
	if err := l.usable(); err != nil {
		return err
	}
	last := l.lastLocked()
	if index >= last {
		return nil
	}
	if index+1 < l.first {
		return fmt.Errorf("storage: truncate after %d: the log starts at %d", index, l.first)
	}
	keep := int(index + 1 - l.first)
	l.ends, l.crcs = l.ends[:keep], l.crcs[:keep]
	if err := l.f.Truncate(l.endLocked()); err != nil {
		l.err = fmt.Errorf("storage: truncate %s: %w", l.path, err)
		return l.err
	}
	l.alloc = l.endLocked()
	l.durable = min(l.durable, index)
	l.cut = true
	return nil
}

// Compact drops every record below index, so that a snapshot covering them
// can replace them. The records kept are rewritten into a new file, which is
// durable when Compact returns (records appended but not yet synced
// included); an index at or below FirstIndex drops nothing and syncs
// nothing. An index past LastIndex+1 empties the log and makes index the
// next one to append (a snapshot installed from a leader that is ahead).
func (l *Log) Compact(index uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitSyncLocked()
	if err := l.usable(); err != nil {
		return err
	}
	if index <= l.first {
		return nil
	}
	var keep [][]byte
	last := l.lastLocked()
	if index <= last {
		b, err := l.fsys.ReadFile(l.path)
		if err != nil {
			return err
		}
		s, err := scanLog(b)
		if err != nil {
			return err
		}
		from, to := int(index-l.first), len(l.ends)
		if s.hdr.first != l.first || len(s.payload) < to {
			return fmt.Errorf("%w: %s holds %d records from %d, the log %d from %d",
				ErrCorrupt, l.path, len(s.payload), s.hdr.first, to, l.first)
		}
		keep = s.payload[from:to]
	}
	if err := l.rewrite(index, keep); err != nil {
		l.err = fmt.Errorf("storage: compact %s: %w", l.path, err)
		return l.err
	}
	l.stats.Compactions++
	return nil
}

// Close releases the file. It does not sync.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitSyncLocked()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
