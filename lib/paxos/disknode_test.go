package paxos

import (
	"fmt"
	"hash/fnv"

	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// diskNode runs a core on a simulated disk as a node process would: each
// Drain's writes are applied to the node's store (storage.Apply, one sync)
// before its messages and replies are handed out. A failed Apply (a fault
// injected with SimDisk.FailAfter: the process dies between a write and its
// fsync) kills the node: it sends nothing more, and the harness crashes it.
type diskNode struct {
	core  *Core
	store *storage.Store
	dead  bool
	// accepts holds the acceptances of the Output being drained: they
	// reach onAccept only once durable (an acceptance lost in a crash
	// before its sync was never heard of). Those of a failed drain may
	// still be on the disk (a power loss may keep unsynced bytes): the
	// harness checks them against what the restarted node recovers.
	accepts  []acceptance
	onAccept func(node string, key int64, a AcceptorState)
}

// acceptance is one acceptance by a node's acceptor.
type acceptance struct {
	node string
	key  int64
	a    AcceptorState
}

// survivors passes to onAccept the acceptances of a failed drain that the
// node recovered after its restart as next: a recovered acceptance at or
// above one's ballot means its record survived (the log keeps a prefix).
func (d *diskNode) survivors(next *Core) {
	for _, x := range d.accepts {
		if a := next.Storage().Acceptors[x.key]; a != nil && !a.Accepted.Less(x.a.Accepted) && d.onAccept != nil {
			d.onAccept(x.node, x.key, x.a)
		}
	}
	d.accepts = nil
}

var _ core.Core[Msg, Request, Outcome] = (*diskNode)(nil)

// diskSeed derives a node's disk seed from the run's.
func diskSeed(seed uint64, id string) uint64 {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%d/%s", seed, id)
	return h.Sum64()
}

// openDisk opens the store of node id on disk and recovers it.
func openDisk(disk *storage.SimDisk, id string) (*storage.Store, core.Recovered, error) {
	run := storage.RunID{DirIno: 1}
	st, err := storage.OpenConfig(storage.Config{Dir: "/data", NodeID: id, FS: disk, Run: &run})
	if err != nil {
		return nil, core.Recovered{}, err
	}
	rec, err := storage.Recover(st)
	return st, rec, err
}

func (d *diskNode) Step(from string, m Msg) {
	if !d.dead {
		d.core.Step(from, m)
	}
}

func (d *diskNode) Command(cmd core.Command[Request]) {
	if !d.dead {
		d.core.Command(cmd)
	}
}

func (d *diskNode) Tick() {
	if !d.dead {
		d.core.Tick()
	}
}

func (d *diskNode) Drain() core.Output[Msg, Outcome] {
	out := d.core.Drain()
	if d.dead {
		return core.Output[Msg, Outcome]{}
	}
	if err := storage.Apply(d.store, out.Writes); err != nil {
		d.dead = true // its acceptances wait for survivors
		return core.Output[Msg, Outcome]{}
	}
	for _, x := range d.accepts {
		if d.onAccept != nil {
			d.onAccept(x.node, x.key, x.a)
		}
	}
	d.accepts = d.accepts[:0]
	return out
}

// hook is the core's onAccept: it defers the check to the durable Drain.
func (d *diskNode) hook(node string, key int64, a AcceptorState) {
	d.accepts = append(d.accepts, acceptance{node: node, key: key, a: a})
}
