package node

import (
	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// diskStore is a node's storage.Store as the host uses it.
type diskStore struct{ s *storage.Store }

func (d diskStore) Recover() (core.Recovered, error) { return storage.Recover(d.s) }
func (d diskStore) Apply(ws []core.Write) error      { return storage.Apply(d.s, ws) }
func (d diskStore) Close() error                     { return d.s.Close() }
func (d diskStore) Stats() storeStats {
	return storeStats{log: d.s.Log.Stats(), state: d.s.State.Stats()}
}

// openStore opens node id's store in dir on the real file system, without
// fsync when noSync.
func openStore(dir, id string, noSync bool, n *Node) (hostStore, error) {
	var fsys storage.FS = storage.OSFS{}
	if noSync {
		fsys = storage.NoSyncFS{}
	}
	s, err := storage.OpenConfig(storage.Config{Dir: dir, NodeID: id, FS: fsys, Logger: n.Logger()})
	if err != nil {
		return nil, err
	}
	return diskStore{s}, nil
}
