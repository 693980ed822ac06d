package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ErrCrashed is returned by a SimDisk operation on a handle opened before
// the last Crash, or by any operation once the fault budget set with
// FailAfter is spent (the simulated process died in the middle of its work).
var ErrCrashed = errors.New("storage: simulated disk crashed")

// SimDisk is an in-memory FS that models what a power loss keeps, for the
// deterministic simulator and for crash tests: one per simulated machine.
// One seed drives every choice a crash makes, so the same seed and the same
// operations give the same disk.
//
// The model (the FS durability contract, adversarially):
//   - Each file has a live content (what reads see) and a durable content
//     (as of its last Sync). A crash keeps the durable content plus a
//     seeded-random prefix of the bytes written since, and may tear the end
//     of that prefix (overwrite its last bytes with garbage). A file whose
//     live content no longer extends its durable one (it was cut, or
//     overwritten in place, as writes into allocated space are) comes back
//     as it was synced, or cut where the two part followed by part of the
//     new bytes, or uncut with part of the new bytes laid over the old.
//   - Each directory has live entries and durable entries (as of its last
//     SyncDir). A crash keeps, per directory with unsynced changes, either
//     its durable or its live entries (seeded). A created file whose
//     directory was never synced can vanish; a rename can be undone.
//   - Synced bytes and synced entries always survive.
//
// It is safe for concurrent use.
type SimDisk struct {
	mu      sync.Mutex
	rng     *rand.Rand
	live    map[string]*simInode // path -> inode, what operations see
	durable map[string]*simInode // path -> inode, as of the last SyncDir of its dir
	dirs    map[string]bool      // directories with unsynced entry changes
	locks   map[string]bool
	gen     int // bumped by Crash: handles of older generations are dead
	budget  int // mutating operations left before ErrCrashed; <0: unlimited
	stats   SimStats
}

// SimStats counts what the storage layer asked of the disk.
type SimStats struct {
	Writes       int64 // File.Write calls
	BytesWritten int64 // bytes passed to File.Write
	Syncs        int64 // File.Sync calls
	DirSyncs     int64 // SyncDir calls
	Renames      int64
}

type simInode struct {
	live, durable []byte
	// Since the last sync: the lowest offset changed (written, allocated
	// or cut; cleanFrom if none) and the end of the bytes written.
	dirtyFrom, writtenTo int
}

const cleanFrom = math.MaxInt

func (ino *simInode) dirty() bool { return ino.dirtyFrom != cleanFrom }

func (ino *simInode) synced() {
	// Only what changed is copied: the bytes before dirtyFrom are the same.
	from := min(ino.dirtyFrom, len(ino.durable), len(ino.live))
	ino.durable = append(ino.durable[:from], ino.live[from:]...)
	ino.dirtyFrom, ino.writtenTo = cleanFrom, 0
}

// NewSimDisk returns an empty simulated disk whose crashes are drawn from
// seed.
func NewSimDisk(seed uint64) *SimDisk {
	return &SimDisk{
		rng:     rand.New(rand.NewPCG(seed, 0xd15c)),
		live:    map[string]*simInode{},
		durable: map[string]*simInode{},
		dirs:    map[string]bool{},
		locks:   map[string]bool{},
		budget:  -1,
	}
}

var _ FS = (*SimDisk)(nil)

// Stats returns the operation counts so far.
func (d *SimDisk) Stats() SimStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// FailAfter lets n more mutating operations (Write, WriteAt, Allocate,
// Truncate, Sync, Create, Rename, Remove, SyncDir) succeed; every operation
// after them but Lock fails with ErrCrashed until the next Crash or Kill. A
// test walks n over 0, 1, 2, ... to crash a procedure at every step. A
// negative n removes the limit.
func (d *SimDisk) FailAfter(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.budget = n
}

// spend charges one mutating operation against the budget; the caller holds
// d.mu.
func (d *SimDisk) spend() error {
	if d.budget == 0 {
		return ErrCrashed
	}
	if d.budget > 0 {
		d.budget--
	}
	return nil
}

// mutate runs op, one mutating operation, under the disk's lock once the
// fault budget allows it.
func (d *SimDisk) mutate(op func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.spend(); err != nil {
		return err
	}
	return op()
}

// read runs op, an operation that changes nothing, under the disk's lock
// unless the fault budget is spent (the process is dying).
func (d *SimDisk) read(op func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.budget == 0 {
		return ErrCrashed
	}
	return op()
}

// Kill simulates the death of the process that uses the disk while the
// machine stays up (Maelstrom's kill): every write already made survives, in
// the page cache, synced or not; locks are released and every open handle
// becomes dead. The fault budget is removed.
func (d *SimDisk) Kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	d.budget = -1
	d.locks = map[string]bool{}
}

// Crash simulates a power loss: every unsynced byte and entry is dropped,
// kept or torn as the model above says, locks are released, and every open
// handle becomes dead. The fault budget is removed.
func (d *SimDisk) Crash() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	d.budget = -1
	d.locks = map[string]bool{}

	dirs := make([]string, 0, len(d.dirs))
	for dir := range d.dirs {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		if d.rng.IntN(2) == 0 {
			continue // the directory's live entries happened to reach the disk
		}
		for _, name := range sortedKeys(d.live) {
			if filepath.Dir(name) == dir {
				delete(d.live, name)
			}
		}
		for _, name := range sortedKeys(d.durable) {
			if filepath.Dir(name) == dir {
				d.live[name] = d.durable[name]
			}
		}
	}
	d.dirs = map[string]bool{}

	seen := map[*simInode]bool{}
	for _, name := range sortedKeys(d.live) {
		ino := d.live[name]
		if seen[ino] {
			continue
		}
		seen[ino] = true
		ino.live = d.afterCrash(ino)
		ino.synced()
	}
	d.durable = map[string]*simInode{}
	for name, ino := range d.live {
		d.durable[name] = ino
	}
}

// afterCrash draws what a crash leaves of one file.
func (d *SimDisk) afterCrash(ino *simInode) []byte {
	if !ino.dirty() {
		return bytes.Clone(ino.durable)
	}
	// Nothing before p changed since the sync; the writes since end at q.
	p := min(ino.dirtyFrom, len(ino.live), len(ino.durable))
	q := min(max(ino.writtenTo, p), len(ino.live))
	if p == len(ino.durable) { // appended only
		return d.tornPrefix(ino.durable, ino.live[p:], q-p)
	}
	switch d.rng.IntN(3) {
	case 0: // nothing since the sync reached the disk
		return bytes.Clone(ino.durable)
	case 1: // a cut did, and part of what followed
		return d.tornPrefix(ino.live[:p], ino.live[p:q], q-p)
	default: // no cut did, but some later writes did, over the old bytes
		out := bytes.Clone(ino.durable)
		tail := d.tornPrefix(nil, ino.live[p:q], q-p)
		if over := p + len(tail) - len(out); over > 0 {
			out = append(out, make([]byte, over)...)
		}
		copy(out[p:], tail)
		return out
	}
}

// tornPrefix returns kept followed by a random prefix of unsynced whose last
// bytes may be garbage. Cut points are drawn over the first written bytes
// of unsynced (what writes put there), not over the zeros of allocated
// space after them, which would make nearly every draw keep every write.
func (d *SimDisk) tornPrefix(kept, unsynced []byte, written int) []byte {
	out := bytes.Clone(kept)
	if len(unsynced) == 0 {
		return out
	}
	written = min(max(written, 0), len(unsynced))
	n := d.rng.IntN(written + 1)
	if n == written && d.rng.IntN(2) == 0 {
		n = len(unsynced) // the allocation made it too
	}
	out = append(out, unsynced[:n]...)
	if n > 0 && d.rng.IntN(3) == 0 {
		tear := 1 + d.rng.IntN(min(n, 16))
		for i := len(out) - tear; i < len(out); i++ {
			out[i] = byte(d.rng.UintN(256))
		}
	}
	return out
}

func sortedKeys(m map[string]*simInode) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// ReadFile implements FS.
func (d *SimDisk) ReadFile(name string) (data []byte, err error) {
	err = d.read(func() error {
		ino, ok := d.live[name]
		if !ok {
			return notExist("read", name)
		}
		data = bytes.Clone(ino.live)
		return nil
	})
	return data, err
}

// Create implements FS.
func (d *SimDisk) Create(name string) (File, error) {
	var f *simFile
	err := d.mutate(func() error {
		ino, ok := d.live[name]
		if ok {
			ino.live = nil
			ino.dirtyFrom = 0
		} else {
			ino = &simInode{dirtyFrom: cleanFrom}
			d.live[name] = ino
			d.dirs[filepath.Dir(name)] = true
		}
		f = &simFile{d: d, ino: ino, gen: d.gen, name: name}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenWrite implements FS.
func (d *SimDisk) OpenWrite(name string) (File, error) {
	var f *simFile
	err := d.read(func() error {
		ino, ok := d.live[name]
		if !ok {
			return notExist("open", name)
		}
		f = &simFile{d: d, ino: ino, gen: d.gen, name: name}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Rename implements FS.
func (d *SimDisk) Rename(oldname, newname string) error {
	return d.mutate(func() error {
		ino, ok := d.live[oldname]
		if !ok {
			return notExist("rename", oldname)
		}
		delete(d.live, oldname)
		d.live[newname] = ino
		d.dirs[filepath.Dir(oldname)] = true
		d.dirs[filepath.Dir(newname)] = true
		d.stats.Renames++
		return nil
	})
}

// Remove implements FS.
func (d *SimDisk) Remove(name string) error {
	return d.mutate(func() error {
		if _, ok := d.live[name]; ok {
			delete(d.live, name)
			d.dirs[filepath.Dir(name)] = true
		}
		return nil
	})
}

// SyncDir implements FS.
func (d *SimDisk) SyncDir(dir string) error {
	return d.mutate(func() error {
		for name := range d.durable {
			if filepath.Dir(name) == dir {
				delete(d.durable, name)
			}
		}
		for name, ino := range d.live {
			if filepath.Dir(name) == dir {
				d.durable[name] = ino
			}
		}
		delete(d.dirs, dir)
		d.stats.DirSyncs++
		return nil
	})
}

// ReadDir implements FS.
func (d *SimDisk) ReadDir(dir string) (names []string, err error) {
	err = d.read(func() error {
		for _, name := range sortedKeys(d.live) {
			if filepath.Dir(name) == dir {
				names = append(names, filepath.Base(name))
			}
		}
		return nil
	})
	return names, err
}

// Lock implements FS; Crash releases every lock, as process death does.
func (d *SimDisk) Lock(name string) (io.Closer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.locks[name] {
		return nil, fmt.Errorf("%w: %s", ErrLocked, filepath.Base(name))
	}
	d.locks[name] = true
	return &simLock{d: d, name: name, gen: d.gen}, nil
}

// Files returns the names on the disk, sorted, for tests and traces.
func (d *SimDisk) Files() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sortedKeys(d.live)
}

// String describes the disk in one line (names and live sizes).
func (d *SimDisk) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for i, name := range sortedKeys(d.live) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", name, len(d.live[name].live))
	}
	return b.String()
}

type simLock struct {
	d    *SimDisk
	name string
	gen  int
}

func (l *simLock) Close() error {
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	if l.gen == l.d.gen {
		delete(l.d.locks, l.name)
	}
	return nil
}

type simFile struct {
	d      *SimDisk
	ino    *simInode
	gen    int
	name   string
	pos    int64 // where Write writes next
	closed bool
}

// check rejects a handle from before a crash or after Close; the caller
// holds d.mu.
func (f *simFile) check() error {
	if f.gen != f.d.gen {
		return ErrCrashed
	}
	if f.closed {
		return fs.ErrClosed
	}
	return nil
}

// mutate runs op, one mutating operation on f, under the disk's lock if f
// is a live handle and the fault budget allows it.
func (f *simFile) mutate(op func() error) error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	if err := f.d.spend(); err != nil {
		return err
	}
	return op()
}

func (f *simFile) Write(p []byte) (int, error) {
	f.d.mu.Lock()
	off := f.pos
	f.d.mu.Unlock()
	n, err := f.WriteAt(p, off)
	f.d.mu.Lock()
	f.pos += int64(n)
	f.d.mu.Unlock()
	return n, err
}

func (f *simFile) WriteAt(p []byte, off int64) (int, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, err
	}
	if off < 0 || off > int64(len(f.ino.live)) {
		return 0, fmt.Errorf("simdisk: write at %d of %s, %d bytes long", off, f.name, len(f.ino.live))
	}
	if err := f.d.spend(); err != nil {
		return 0, err
	}
	end := off + int64(len(p))
	if end > int64(len(f.ino.live)) {
		f.ino.live = append(f.ino.live, make([]byte, end-int64(len(f.ino.live)))...)
	}
	copy(f.ino.live[off:], p)
	if len(p) > 0 {
		f.ino.dirtyFrom = min(f.ino.dirtyFrom, int(off))
		f.ino.writtenTo = max(f.ino.writtenTo, int(end))
	}
	f.d.stats.Writes++
	f.d.stats.BytesWritten += int64(len(p))
	return len(p), nil
}

func (f *simFile) Allocate(size int64) error {
	return f.mutate(func() error {
		if size > int64(len(f.ino.live)) {
			f.ino.dirtyFrom = min(f.ino.dirtyFrom, len(f.ino.live))
			f.ino.live = append(f.ino.live, make([]byte, size-int64(len(f.ino.live)))...)
		}
		return nil
	})
}

func (f *simFile) Truncate(size int64) error {
	return f.mutate(func() error { return f.truncate(size) })
}

// truncate cuts f's live content to size; the caller holds d.mu.
func (f *simFile) truncate(size int64) error {
	if size < 0 || size > int64(len(f.ino.live)) {
		return fmt.Errorf("simdisk: truncate %s to %d of %d bytes", f.name, size, len(f.ino.live))
	}
	f.ino.live = f.ino.live[:size:size]
	f.ino.dirtyFrom = min(f.ino.dirtyFrom, int(size))
	f.ino.writtenTo = min(f.ino.writtenTo, int(size))
	return nil
}

func (f *simFile) Sync() error {
	return f.mutate(func() error {
		f.ino.synced()
		f.d.stats.Syncs++
		return nil
	})
}

func (f *simFile) Close() error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.closed = true
	return nil
}
