package storage

import (
	"fmt"

	"maelkit/lib/core"
)

// Apply makes a core's writes durable in s, in order, with one sync at the
// end (group commit: every write of one Output shares it). A driver sends
// the Output's messages and replies only after Apply returns nil; an error
// means the disk failed and the node must stop rather than answer.
func Apply(s *Store, ws []core.Write) error {
	if len(ws) == 0 {
		return nil
	}
	logDirty := false
	for _, w := range ws {
		switch w.Kind {
		case core.WriteState:
			if err := s.State.Put(w.Data); err != nil {
				return err
			}
		case core.WriteAppend:
			if want := s.Log.LastIndex() + 1; w.Index != want {
				return fmt.Errorf("storage: append of record %d, but the next is %d", w.Index, want)
			}
			if _, err := s.Log.Append(w.Data); err != nil {
				return err
			}
			logDirty = true
		case core.WriteTruncate:
			if err := s.Log.TruncateAfter(max(w.Index, s.Log.FirstIndex()-1)); err != nil {
				return err
			}
			logDirty = true
		case core.WriteSnapshot:
			if logDirty {
				if err := s.Log.Sync(); err != nil {
					return err
				}
				logDirty = false
			}
			if err := s.SaveSnapshot(w.Index, w.Data); err != nil {
				return err
			}
		default:
			return fmt.Errorf("storage: unknown write kind %d", w.Kind)
		}
	}
	if logDirty {
		return s.Log.Sync()
	}
	return nil
}

// Recover reads what a core built on s recovers from: the stable value, the
// snapshot and the log records after it. Fresh is true when there is none
// of them.
func Recover(s *Store) (core.Recovered, error) {
	var r core.Recovered
	if st := s.State.Get(); st != nil {
		r.State = append([]byte(nil), st...)
	}
	snap, found, err := s.LoadSnapshot()
	if err != nil {
		return r, err
	}
	after := uint64(0)
	if found {
		r.Snapshot = &core.Snapshot{Index: snap.Index, Data: snap.Data}
		after = snap.Index
		// SaveSnapshot saves, then compacts the log: a crash between the
		// two leaves records the snapshot covers, and a log that would
		// take its next record after them rather than after the
		// snapshot. Finish the compaction (a no-op when it was done).
		if err := s.Log.Compact(after + 1); err != nil {
			return r, err
		}
	}
	r.First = after + 1
	err = s.Log.Replay(func(index uint64, data []byte) error {
		if index <= after {
			return nil
		}
		if index != r.First+uint64(len(r.Log)) {
			return fmt.Errorf("storage: log record %d does not follow the snapshot at %d", index, after)
		}
		r.Log = append(r.Log, append([]byte(nil), data...))
		return nil
	})
	if err != nil {
		return r, err
	}
	r.Fresh = r.State == nil && r.Snapshot == nil && len(r.Log) == 0
	return r, nil
}
