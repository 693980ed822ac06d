package storage

import (
	"bytes"
	"sync"
)

// Stable holds one small value that must survive crashes whole: a Raft
// node's term and vote, a Paxos acceptor's promises. Put replaces it
// atomically at the cost of one fsync: the value is appended as a record to
// a log of its own (so a crash leaves the old value or the new one, never a
// mix, by the log's checksums) and the log is rewritten to its last record
// once it holds stableCompactEvery values or more than stableCompactRatio
// times the value's size (plus stableSlackBytes), so the file stays within
// a small multiple of the value.
//
// Stable is safe for concurrent use.
type Stable struct {
	mu    sync.Mutex
	log   *Log
	value []byte
}

// A rewrite costs two fsyncs and a rename; these bound how often it comes
// (at most once per stableCompactEvery puts of small values) and how large
// the file grows between two (large values are rewritten sooner).
const (
	stableCompactEvery = 64
	stableCompactRatio = 4
	stableSlackBytes   = 64 << 10
)

// OpenStable opens (or creates, empty) the stable value at path.
func OpenStable(fsys FS, path string, run RunID) (*Stable, error) {
	l, err := OpenLog(fsys, path, run)
	if err != nil {
		return nil, err
	}
	s := &Stable{log: l}
	if l.LastIndex() >= l.FirstIndex() {
		last := l.LastIndex()
		err := l.Replay(func(index uint64, data []byte) error {
			if index == last {
				s.value = bytes.Clone(data)
			}
			return nil
		})
		if err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	return s, nil
}

// Get returns the value (nil if none was ever put). The caller must not
// modify it.
func (s *Stable) Get() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// Put replaces the value and returns once the new value is durable.
func (s *Stable) Put(value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, err := s.log.Commit(value)
	if err != nil {
		return err
	}
	s.value = bytes.Clone(value)
	if last-s.log.FirstIndex()+1 >= stableCompactEvery ||
		s.log.Size() > stableCompactRatio*int64(len(value))+stableSlackBytes {
		return s.log.Compact(last)
	}
	return nil
}

// Stats returns the underlying log's counters.
func (s *Stable) Stats() LogStats { return s.log.Stats() }

// Close releases the file.
func (s *Stable) Close() error { return s.log.Close() }
