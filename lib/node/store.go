package node

import (
	"sync/atomic"

	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// diskStore is a node's storage.Store as the host uses it.
type diskStore struct {
	s  *storage.Store
	fs *countingFS // nil: no file counters
}

func (d diskStore) Recover() (core.Recovered, error) { return storage.Recover(d.s) }
func (d diskStore) Apply(ws []core.Write) error      { return storage.Apply(d.s, ws) }
func (d diskStore) Close() error                     { return d.s.Close() }
func (d diskStore) Stats() storeStats {
	return storeStats{log: d.s.Log.Stats(), state: d.s.State.Stats(), files: d.fs.stats()}
}

// openStore opens node id's store in dir on the real file system, without
// fsync when noSync.
func openStore(dir, id string, noSync bool, n *Node) (hostStore, error) {
	var fsys storage.FS = storage.OSFS{}
	if noSync {
		fsys = storage.NoSyncFS{}
	}
	cfs := &countingFS{FS: fsys, noSync: noSync}
	s, err := storage.OpenConfig(storage.Config{Dir: dir, NodeID: id, FS: cfs, Logger: n.Logger()})
	if err != nil {
		return nil, err
	}
	return diskStore{s, cfs}, nil
}

// fileStats is every call the store made to the file system since it was
// opened: what a syscall trace of the node's files would count.
type fileStats struct {
	Fsyncs    int64 // fsyncs of files done (none when noSync)
	DirFsyncs int64 // fsyncs of directories done (none when noSync)
	Bytes     int64 // bytes written to files, snapshots and rewrites included
}

// countingFS counts the fsyncs and bytes a store asks of fs, those of its
// snapshots and directories included, which the log's own counters leave
// out. With noSync the fsyncs are no-ops and count as none.
type countingFS struct {
	storage.FS
	noSync                   bool
	fsyncs, dirFsyncs, bytes atomic.Int64
}

func (c *countingFS) stats() fileStats {
	if c == nil {
		return fileStats{} // a store opened without counting (tests)
	}
	return fileStats{Fsyncs: c.fsyncs.Load(), DirFsyncs: c.dirFsyncs.Load(), Bytes: c.bytes.Load()}
}

func (c *countingFS) Create(name string) (storage.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c}, nil
}

func (c *countingFS) OpenWrite(name string) (storage.File, error) {
	f, err := c.FS.OpenWrite(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c}, nil
}

func (c *countingFS) SyncDir(dir string) error {
	if !c.noSync {
		c.dirFsyncs.Add(1)
	}
	return c.FS.SyncDir(dir)
}

// countingFile counts a file's writes and fsyncs into its countingFS.
type countingFile struct {
	storage.File
	c *countingFS
}

func (f countingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.c.bytes.Add(int64(n))
	return n, err
}

func (f countingFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.c.bytes.Add(int64(n))
	return n, err
}

func (f countingFile) Sync() error {
	if !f.c.noSync {
		f.c.fsyncs.Add(1)
	}
	return f.File.Sync()
}
