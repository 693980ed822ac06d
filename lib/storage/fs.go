package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// FS is the file system the storage layer runs on: OSFS in production, a
// SimDisk in the deterministic simulator and in tests. Names are paths; the
// directory of a name is filepath.Dir(name).
//
// Durability contract (what a crash keeps), which SimDisk models and every
// implementation must offer: bytes written to a File survive a crash only
// after File.Sync returns nil; a created, renamed or removed name survives
// only after SyncDir of its directory returns nil; Rename replaces the
// target atomically (after a crash the name holds the old or the new file,
// never a mix). A missing file is reported with an error matching
// fs.ErrNotExist.
type FS interface {
	// ReadFile returns the whole content of name.
	ReadFile(name string) ([]byte, error)
	// Create creates name, or truncates it to zero if it exists, for writing.
	Create(name string) (File, error)
	// OpenWrite opens an existing name for writing (File.WriteAt).
	OpenWrite(name string) (File, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove deletes name; a missing name is not an error.
	Remove(name string) error
	// SyncDir makes the directory's entries durable.
	SyncDir(dir string) error
	// ReadDir lists the names (base names, sorted) in dir.
	ReadDir(dir string) ([]string, error)
	// Lock takes an exclusive lock named name, held until the returned
	// Closer is closed or the process dies. It fails at once if another
	// holder has it.
	Lock(name string) (io.Closer, error)
}

// File is an open file for writing. Writes never leave holes: Write goes to
// the end of what this handle wrote (a new file's start), WriteAt to an
// offset no further than the file's size.
type File interface {
	// Write writes p at the handle's position and advances it.
	Write(p []byte) (int, error)
	// WriteAt writes p at offset off.
	WriteAt(p []byte, off int64) (int, error)
	// Allocate grows the file to at least size bytes of zeros, reserving
	// the blocks (fallocate), so that later writes inside it change no
	// file size: their fsync then has no size to commit, which is what
	// makes it cheap.
	Allocate(size int64) error
	// Truncate cuts the file to size bytes.
	Truncate(size int64) error
	// Sync makes everything written so far durable.
	Sync() error
	Close() error
}

// ErrLocked is returned by FS.Lock when another process (or another open
// store in this process) holds the lock.
var ErrLocked = errors.New("storage: locked by another holder")

// OSFS is the real file system.
type OSFS struct{}

var _ FS = OSFS{}

// ReadFile implements FS.
func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Create implements FS.
func (OSFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// OpenWrite implements FS.
func (OSFS) OpenWrite(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// osFile adds Allocate to *os.File.
type osFile struct{ *os.File }

// Allocate implements File with fallocate(2), or by extending the size
// (a sparse file) where the file system has no fallocate.
func (f osFile) Allocate(size int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if size <= st.Size() {
		return nil
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return f.File.Truncate(size)
	}
	return err
}

// Rename implements FS.
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// Remove implements FS.
func (OSFS) Remove(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// SyncDir implements FS: fsync on the directory makes its entries durable.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return serr
	}
	return cerr
}

// ReadDir implements FS.
func (OSFS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Lock implements FS with flock(2) on name (created if missing). The kernel
// drops the lock when the process dies, so a killed node never leaves a
// stale lock behind. flock locks belong to the open file description, so two
// stores in one process also exclude each other.
func (OSFS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, filepath.Base(name))
		}
		return nil, err
	}
	return f, nil
}

// NoSyncFS is the real file system with fsync turned into a no-op (the
// binaries' -sync=false): what is written reaches the page cache and
// survives the process, not a power loss, acknowledged or not.
type NoSyncFS struct{ OSFS }

// Create is OSFS.Create with a file whose Sync does nothing.
func (f NoSyncFS) Create(name string) (File, error) {
	file, err := f.OSFS.Create(name)
	if err != nil {
		return nil, err
	}
	return noSyncFile{file}, nil
}

// OpenWrite is OSFS.OpenWrite with a file whose Sync does nothing.
func (f NoSyncFS) OpenWrite(name string) (File, error) {
	file, err := f.OSFS.OpenWrite(name)
	if err != nil {
		return nil, err
	}
	return noSyncFile{file}, nil
}

// SyncDir does nothing.
func (NoSyncFS) SyncDir(string) error { return nil }

type noSyncFile struct{ File }

func (noSyncFile) Sync() error { return nil }
