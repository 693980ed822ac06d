package storage

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
)

// Config says where a node's store lives and what it runs on.
type Config struct {
	// Dir is the node's working directory (the harness's choice: a directory
	// per node under eddy, the JVM's shared temp directory under Maelstrom).
	Dir string
	// NodeID names the files: letters, digits, '-' and '_', at most 64.
	NodeID string
	// FS is the file system (nil: OSFS).
	FS FS
	// Run identifies the run; nil detects it from /proc (DetectRun). A
	// simulation passes its own.
	Run *RunID
	// RunOver reports whether another run, whose files share Dir, has ended
	// so that its files can be removed. Nil: from /proc when Run is
	// detected; with an explicit Run, every other run is over.
	RunOver func(RunID) bool
	// Logger receives what recovery did (nil: discarded).
	Logger *slog.Logger
}

// Store is one node's durable state in Dir, made of files named
// <NodeID>.<run tag>.<kind>:
//
//	.wal    the record log (Log)
//	.state  the small stable value (Stable)
//	.snap   the last snapshot
//	.lock   held (flock) while the store is open
//
// The run tag (RunID.Tag) keeps runs apart: a restarted node finds the files
// of its own run and loads them; a node of a new run finds none (the files
// of runs that are over are removed at Open); concurrent runs sharing Dir
// never touch each other's files.
//
// Recovery for a node: LoadSnapshot (index s, or none), then Log.Replay of
// the records after s; State.Get for the stable value. SaveSnapshot writes
// the snapshot before it compacts the log, so the log always continues the
// snapshot: FirstIndex <= s+1.
type Store struct {
	Log   *Log
	State *Stable

	fsys     FS
	run      RunID
	snapPath string
	lock     io.Closer
	logger   *slog.Logger

	mu     sync.Mutex // serializes SaveSnapshot
	closed bool
}

// Open opens the store of node nodeID in dir, detecting the run from /proc.
func Open(dir, nodeID string) (*Store, error) {
	return OpenConfig(Config{Dir: dir, NodeID: nodeID})
}

// ValidNodeID reports whether id can name files: 1 to 64 letters, digits,
// '-' or '_' (Maelstrom's ids are n1, n2, ...).
func ValidNodeID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// OpenConfig opens a store as cfg says.
func OpenConfig(cfg Config) (*Store, error) {
	if !ValidNodeID(cfg.NodeID) {
		return nil, fmt.Errorf("storage: node id %q cannot name files", cfg.NodeID)
	}
	if cfg.Dir == "" {
		return nil, errors.New("storage: no directory")
	}
	fsys := cfg.FS
	if fsys == nil {
		fsys = OSFS{}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var run RunID
	over := cfg.RunOver
	if cfg.Run != nil {
		run = *cfg.Run
		if over == nil {
			over = func(RunID) bool { return true }
		}
	} else {
		var notes []string
		var err error
		if run, notes, err = (procFS{root: "/proc"}).detect(cfg.Dir); err != nil {
			return nil, err
		}
		for _, n := range notes {
			logger.Warn(n)
		}
		if over == nil {
			over = procFS{root: "/proc"}.over
		}
	}
	base := filepath.Join(cfg.Dir, cfg.NodeID+"."+run.Tag())
	lock, err := fsys.Lock(base + ".lock")
	if err != nil {
		return nil, fmt.Errorf("storage: node %s: %w", cfg.NodeID, err)
	}
	s := &Store{fsys: fsys, run: run, snapPath: base + ".snap", lock: lock, logger: logger}
	if err := s.sweep(cfg.Dir, cfg.NodeID, run.Tag(), over); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if s.Log, err = OpenLog(fsys, base+".wal", run); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if s.State, err = OpenStable(fsys, base+".state", run); err != nil {
		_ = s.Log.Close()
		_ = lock.Close()
		return nil, err
	}
	logger.Info("storage opened", "node", cfg.NodeID, "run", run.String(),
		"first", s.Log.FirstIndex(), "last", s.Log.LastIndex())
	return s, nil
}

// sweep removes this run's leftover temporary files and the files of this
// node's earlier runs that are over. Files of a run that may still be going
// on (a concurrent test in the same directory) are left alone.
func (s *Store) sweep(dir, nodeID, tag string, over func(RunID) bool) error {
	names, err := s.fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	byTag := map[string][]string{}
	var tags []string
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, nodeID+".")
		if !ok {
			continue
		}
		t, kind, ok := strings.Cut(rest, ".")
		if !ok || len(t) != 16 || strings.Trim(t, "0123456789abcdef") != "" {
			continue
		}
		if t == tag {
			if strings.HasSuffix(kind, ".tmp") {
				if err := s.fsys.Remove(filepath.Join(dir, name)); err != nil {
					return err
				}
			}
			continue
		}
		if _, seen := byTag[t]; !seen {
			tags = append(tags, t)
		}
		byTag[t] = append(byTag[t], name)
	}
	for _, t := range tags {
		b, err := s.fsys.ReadFile(filepath.Join(dir, nodeID+"."+t+".wal"))
		if err != nil {
			continue // no readable log: cannot tell whose it is
		}
		h, err := decodeHeader(b)
		if err != nil || !over(h.run) {
			continue
		}
		for _, name := range byTag[t] {
			if err := s.fsys.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		s.logger.Info("storage: removed the files of an earlier run", "node", nodeID, "run", h.run.String(), "files", len(byTag[t]))
	}
	return s.fsys.SyncDir(dir)
}

// Run is the identity the store's files carry.
func (s *Store) Run() RunID { return s.run }

// SaveSnapshot durably replaces the snapshot with one covering every record
// up to index, then drops those records from the log. A crash at any point
// leaves the previous snapshot or the new one, and a log that continues
// whichever it is.
func (s *Store) SaveSnapshot(index uint64, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := saveSnapshot(s.fsys, s.snapPath, s.run, Snapshot{Index: index, Data: data}); err != nil {
		return err
	}
	return s.Log.Compact(index + 1)
}

// LoadSnapshot returns the last saved snapshot, or found=false if none was.
func (s *Store) LoadSnapshot() (snap Snapshot, found bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Snapshot{}, false, ErrClosed
	}
	return loadSnapshot(s.fsys, s.snapPath, s.run)
}

// Close releases the files and the lock. It does not sync.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return errors.Join(s.Log.Close(), s.State.Close(), s.lock.Close())
}
