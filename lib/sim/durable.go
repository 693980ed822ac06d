package sim

import (
	"errors"
	"fmt"
	"hash/fnv"

	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// Fault is how a durable node dies (Fail, FailAfter).
type Fault uint8

const (
	// ProcessDeath kills the process while the machine stays up
	// (Maelstrom's kill): every write made survives in the page cache,
	// synced or not (SimDisk.Kill).
	ProcessDeath Fault = iota + 1
	// PowerLoss cuts the machine's power: unsynced writes are dropped or
	// torn (SimDisk.Crash).
	PowerLoss
	// DiskWipe kills the process and empties its disk (eddy's
	// --kill-wipes-disk): the node restarts Fresh.
	DiskWipe
)

func (f Fault) String() string {
	switch f {
	case ProcessDeath:
		return "process-death"
	case PowerLoss:
		return "power-loss"
	case DiskWipe:
		return "disk-wipe"
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// Rebuild builds a node's core from what its disk kept: Fresh at the start
// of a run and after a DiskWipe.
type Rebuild[P, C, R any] func(id string, rec core.Recovered) core.Core[P, C, R]

// durable is the per-node disk state of a simulator built with NewDurable.
type durable[P, C, R any] struct {
	rebuild Rebuild[P, C, R]
	disks   map[string]*storage.SimDisk
	stores  map[string]*storage.Store // nil while the node is down
	fault   map[string]Fault          // the fault a spent FailAfter budget ends in
	gen     map[string]uint64         // disk generation, bumped by DiskWipe
}

// simDir is the node's working directory on its own disk.
const simDir = "/node"

// NewDurable builds a simulator whose nodes keep durable state: each node
// has its own SimDisk and storage.Store, the Writes of every drained Output
// are applied (storage.Apply, one sync) before its messages and replies
// leave, and a node dies (Fail, FailAfter) and comes back (Recover) with a
// core rebuild makes from what its disk kept. Every node starts Fresh.
//
// A simulator built with New has none of this: its traces are unchanged.
func NewDurable[P, C, R any](cfg Config, rebuild Rebuild[P, C, R]) *Sim[P, C, R] {
	d := &durable[P, C, R]{
		rebuild: rebuild,
		disks:   map[string]*storage.SimDisk{},
		stores:  map[string]*storage.Store{},
		fault:   map[string]Fault{},
		gen:     map[string]uint64{},
	}
	s := New(cfg, func(id string) core.Core[P, C, R] {
		d.disks[id] = storage.NewSimDisk(diskSeed(cfg.Seed, id, 0))
		st, rec, err := d.open(id)
		if err != nil {
			panic(fmt.Sprintf("sim: node %s: opening its store: %v", id, err))
		}
		d.stores[id] = st
		return rebuild(id, rec)
	})
	s.dur = d
	return s
}

func diskSeed(seed uint64, id string, gen uint64) uint64 {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%d/%s/%d", seed, id, gen)
	return h.Sum64()
}

// open opens the node's store on its disk and reads what it kept.
func (d *durable[P, C, R]) open(id string) (*storage.Store, core.Recovered, error) {
	run := storage.RunID{ParentPID: 1}
	st, err := storage.OpenConfig(storage.Config{Dir: simDir, NodeID: id, FS: d.disks[id], Run: &run})
	if err != nil {
		return nil, core.Recovered{}, err
	}
	rec, err := storage.Recover(st)
	if err != nil {
		_ = st.Close()
		return nil, core.Recovered{}, err
	}
	return st, rec, nil
}

// Durable says whether the simulator was built with NewDurable.
func (s *Sim[P, C, R]) Durable() bool { return s.dur != nil }

// Disk returns a durable node's disk (nil without NewDurable).
func (s *Sim[P, C, R]) Disk(id string) *storage.SimDisk {
	if s.dur == nil {
		return nil
	}
	return s.dur.disks[id]
}

func (s *Sim[P, C, R]) mustDurable(op string) {
	if s.dur == nil {
		panic("sim: " + op + " needs a simulator built with NewDurable")
	}
}

// Fail kills a durable node now with fault f: it receives nothing and does
// not tick until Recover, its memory is gone, and its disk keeps what f
// lets it keep. Failing a node that is down applies f to its disk too (a
// power loss after a process death loses the page cache).
func (s *Sim[P, C, R]) Fail(id string, f Fault) {
	s.mustDurable("Fail")
	if _, ok := s.cores[id]; !ok {
		panic(fmt.Sprintf("sim: Fail of unknown node %q", id))
	}
	if !s.down[id] {
		s.faults.Deaths++
	}
	s.down[id] = true
	s.record("fail %s %s", id, f)
	s.fail(id, f)
}

func (s *Sim[P, C, R]) fail(id string, f Fault) {
	d := s.dur
	if st := d.stores[id]; st != nil {
		_ = st.Close() // the process is gone: nothing more is written
		d.stores[id] = nil
	}
	delete(d.fault, id)
	disk := d.disks[id]
	switch f {
	case ProcessDeath:
		disk.Kill()
	case PowerLoss:
		disk.Crash()
	case DiskWipe:
		s.faults.Wipes++
		disk.Kill()
		d.gen[id]++
		d.disks[id] = storage.NewSimDisk(diskSeed(s.cfg.Seed, id, d.gen[id]))
	default:
		panic(fmt.Sprintf("sim: unknown fault %d", f))
	}
}

// FailAfter arms a fault inside a durable node's next writes: its disk lets
// n more mutating operations (writes, syncs, renames) succeed, and the one
// after them kills the node with fault f, in the middle of applying an
// Output's Writes (between a write and its sync when n counts the writes):
// none of that Output's messages or replies leaves. A negative n disarms it.
func (s *Sim[P, C, R]) FailAfter(id string, n int, f Fault) {
	s.mustDurable("FailAfter")
	if n < 0 {
		delete(s.dur.fault, id)
		s.dur.disks[id].FailAfter(-1)
		return
	}
	s.dur.fault[id] = f
	s.dur.disks[id].FailAfter(n)
}

// Recover brings a failed durable node back: it reopens the node's store,
// reads what survived and builds its core with the Rebuild given to
// NewDurable. It returns what the core was built from. An error (a store
// that cannot be opened or read) leaves the node down.
func (s *Sim[P, C, R]) Recover(id string) (core.Recovered, error) {
	s.mustDurable("Recover")
	if !s.down[id] {
		return core.Recovered{}, fmt.Errorf("sim: Recover of node %s, which is up", id)
	}
	if s.dur.stores[id] != nil {
		// Crashed with Crash, not Fail: the process died with its
		// page cache intact.
		s.fail(id, ProcessDeath)
	}
	st, rec, err := s.dur.open(id)
	if err != nil {
		s.record("recover %s failed: %v", id, err)
		return rec, err
	}
	s.dur.stores[id] = st
	s.cores[id] = s.dur.rebuild(id, rec)
	delete(s.down, id)
	s.record("recover %s fresh=%t state=%d log=%d..%d", id, rec.Fresh, len(rec.State), rec.First, rec.First+uint64(len(rec.Log)))
	s.collect(id)
	return rec, nil
}

// persist applies a drained Output's writes on a durable node; false when
// the node died doing it (an armed FailAfter), in which case the Output is
// dropped whole.
func (s *Sim[P, C, R]) persist(id string, ws []core.Write) bool {
	if s.dur == nil || len(ws) == 0 {
		return true
	}
	st := s.dur.stores[id]
	if st == nil {
		panic(fmt.Sprintf("sim: node %s wrote while down", id))
	}
	err := storage.Apply(st, ws)
	if err == nil {
		s.record("persist %s %d writes", id, len(ws))
		return true
	}
	if !errors.Is(err, storage.ErrCrashed) {
		panic(fmt.Sprintf("sim: node %s: applying its writes: %v", id, err))
	}
	f, ok := s.dur.fault[id]
	if !ok {
		f = ProcessDeath // a budget set on the disk directly
	}
	s.faults.Deaths++
	s.faults.MidWrite++
	s.down[id] = true
	s.record("fail %s %s mid-write", id, f)
	s.fail(id, f)
	return false
}
