package main

import (
	"fmt"
	"log/slog"
	"time"

	"maelkit/lib/core"
	"maelkit/lib/paxos"
	"maelkit/lib/storage"
)

// durableCore runs the paxos core on the node's store: each Drain makes
// the Output's writes durable (storage.Apply: one sync for all of them)
// before it hands the messages and replies to the host, which sends them
// after Drain returns. So no promise, acceptance or reserved ballot is
// announced before it is on disk, and no reply precedes its state.
//
// A disk error stops the node (fail): a node that cannot persist must not
// answer, since what it would say could be forgotten by a restart.
type durableCore struct {
	*paxos.Core
	store *storage.Store
	// figures, if set (-stats-every), gets the measurement lines below
	// whatever the node's log level.
	figures *slog.Logger
	fail    func(error)

	// Timing for the figures: the node's start, and whether it has
	// answered a client yet (the first answer is logged with its delay).
	start    time.Time
	answered bool
	serving  bool // logged that the core serves (after a blank start's recovery)
	blank    bool // the store was blank at start (core.Recovered.Fresh)
	// Counters for the figures, logged every statsEvery.
	statsEvery time.Duration
	statsAt    time.Time
	ops        int64 // client replies sent
}

var _ core.Core[paxos.Msg, paxos.Request, paxos.Outcome] = (*durableCore)(nil)

// Drain applies the writes, then returns the Output to send.
func (d *durableCore) Drain() core.Output[paxos.Msg, paxos.Outcome] {
	out := d.Core.Drain()
	if err := storage.Apply(d.store, out.Writes); err != nil {
		d.fail(fmt.Errorf("persisting: %w", err))
		return core.Output[paxos.Msg, paxos.Outcome]{}
	}
	out.Writes = nil
	for _, r := range out.Replies {
		if !r.Body.Unknown {
			d.ops++
		}
	}
	if !d.serving && !d.Recovering() && d.figures != nil {
		d.serving = true
		d.figures.Info("serving", "after_ms", time.Since(d.start).Milliseconds(), "blank", d.blank)
	}
	if !d.answered && len(out.Replies) > 0 && d.figures != nil {
		d.answered = true
		d.figures.Info("first client answer", "after_ms", time.Since(d.start).Milliseconds())
	}
	if d.figures != nil && time.Since(d.statsAt) >= d.statsEvery {
		d.statsAt = time.Now()
		d.logStats()
	}
	return out
}

// logStats logs the disk work so far: syncs, bytes and records, against the
// client operations answered.
func (d *durableCore) logStats() {
	l, s := d.store.Log.Stats(), d.store.State.Stats()
	d.figures.Info("disk stats", "ops", d.ops, "log_syncs", l.Syncs, "state_syncs", s.Syncs,
		"log_bytes", l.BytesWritten, "state_bytes", s.BytesWritten, "records", l.Records, "compactions", l.Compactions)
}

// storeOpener opens the node's store once per process (a failed init may
// run the builder again) and recovers what it holds.
type storeOpener struct {
	store *storage.Store
	id    string
}

func (o *storeOpener) open(dir, id string, sync bool, logger *slog.Logger) (*storage.Store, core.Recovered, error) {
	if o.store != nil && o.id != id {
		return nil, core.Recovered{}, fmt.Errorf("store already open for node %s", o.id)
	}
	if o.store == nil {
		cfg := storage.Config{Dir: dir, NodeID: id, Logger: logger}
		if !sync {
			cfg.FS = storage.NoSyncFS{}
		}
		st, err := storage.OpenConfig(cfg)
		if err != nil {
			return nil, core.Recovered{}, err
		}
		o.store, o.id = st, id
	}
	rec, err := storage.Recover(o.store)
	return o.store, rec, err
}

// close closes the store, if open.
func (o *storeOpener) close() error {
	if o.store == nil {
		return nil
	}
	err := o.store.Close()
	o.store = nil
	return err
}
