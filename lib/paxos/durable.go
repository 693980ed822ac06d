package paxos

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"maelkit/lib/core"
)

// Durability: what the core writes (core.Write in its Output, made durable
// before the Output's messages and replies go out) and rebuilds from after
// a restart (core.Recovered).
//
//   - Log records (WriteAppend): one per change of a key's acceptor, the
//     key's whole AcceptorState (promise, accepted ballot and state). The
//     last record of a key wins on replay.
//   - Snapshot (WriteSnapshot): every acceptor, taken once the log holds
//     more records than max(CompactMin, keys) since the last one, so the
//     disk holds at most about twice the live state, and a write costs
//     O(1) amortised.
//   - Stable value (WriteState): the ballot counter ceiling (counters are
//     reserved in blocks of counterBlock: a restarted node starts above
//     every counter it may have used, at one write per block) and, after
//     an amnesia recovery, the ballot floor (see amnesia.go).
//
// A promise or an acceptance is written in the Output that carries the
// promise or accepted message, and a ballot or tag is reserved in the
// Output that first carries it, so nothing a peer or client was told is
// forgotten by a restart.

// counterBlock is how many ballot counters one write of the ceiling
// reserves.
const counterBlock = 1024

// diskRecord is a log record: one key's acceptor after a change.
type diskRecord struct {
	Key      int64  `json:"k"`
	Promised Ballot `json:"p,omitzero"`
	Accepted Ballot `json:"a,omitzero"`
	From     Ballot `json:"f,omitzero"`
	State    State  `json:"s,omitzero"`
}

// diskSnapshot is every acceptor, by key.
type diskSnapshot struct {
	Acceptors []diskRecord `json:"acceptors"`
}

// diskStable is the stable value.
type diskStable struct {
	// Ceiling: every ballot counter this node used is at most Ceiling.
	Ceiling int64 `json:"ceiling"`
	// Floor: this node promised every key at least Floor (amnesia.go).
	Floor Ballot `json:"floor,omitzero"`
	// Self: the name this node's batches are applied under, when not its
	// ID (Core.self, after an amnesia start).
	Self string `json:"self,omitempty"`
}

// durableState is the bookkeeping of the durable writes.
type durableState struct {
	ceiling   int64  // counters up to here are reserved on disk
	floor     Ballot // every key's acceptor promised at least this
	lastIndex uint64 // the last log record written
	snapIndex uint64 // the log index the last snapshot covers
	// compactMin is the fewest records between snapshots.
	compactMin int
}

// recover rebuilds the acceptors, the counter ceiling and the floor from
// rec. A record or snapshot that does not decode is an error: a node must
// not run on a disk it cannot read (it could forget a promise).
func (c *Core) recover(rec core.Recovered) error {
	if rec.State != nil {
		var st diskStable
		if err := json.Unmarshal(rec.State, &st); err != nil {
			return fmt.Errorf("paxos: stable value: %w", err)
		}
		c.ceiling, c.floor = st.Ceiling, st.Floor
		if st.Self != "" && st.Self != c.cfg.ID {
			if !strings.HasPrefix(st.Self, c.cfg.ID+"#") {
				return fmt.Errorf("paxos: stable value names %q, not a name of %s", st.Self, c.cfg.ID)
			}
			c.self = st.Self
		}
		c.store.MaxCounter = max(c.store.MaxCounter, st.Ceiling)
	}
	put := func(r diskRecord) {
		c.store.Acceptors[r.Key] = &AcceptorState{Promised: r.Promised, Accepted: r.Accepted, From: r.From, State: r.State}
	}
	if rec.Snapshot != nil {
		var snap diskSnapshot
		if err := json.Unmarshal(rec.Snapshot.Data, &snap); err != nil {
			return fmt.Errorf("paxos: snapshot at %d: %w", rec.Snapshot.Index, err)
		}
		for _, r := range snap.Acceptors {
			put(r)
		}
		c.snapIndex, c.lastIndex = rec.Snapshot.Index, rec.Snapshot.Index
	}
	for i, data := range rec.Log {
		var r diskRecord
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("paxos: log record %d: %w", rec.First+uint64(i), err)
		}
		put(r)
	}
	if len(rec.Log) > 0 {
		c.lastIndex = rec.First + uint64(len(rec.Log)) - 1
	}
	return nil
}

// persistAcceptor writes key's acceptor as a log record, and a snapshot
// when enough records piled up since the last one.
func (c *Core) persistAcceptor(key int64, a *AcceptorState) {
	data, err := json.Marshal(diskRecord{Key: key, Promised: a.Promised, Accepted: a.Accepted, From: a.From, State: a.State})
	if err != nil {
		panic(fmt.Sprintf("paxos: encoding an acceptor: %v", err)) // typed structs always encode
	}
	c.lastIndex++
	c.out.Persist(core.Write{Kind: core.WriteAppend, Index: c.lastIndex, Data: data})
	if c.lastIndex-c.snapIndex >= uint64(max(c.compactMin, len(c.store.Acceptors))) {
		c.snapshot()
	}
}

// snapshot writes every acceptor as a snapshot covering the log so far.
func (c *Core) snapshot() {
	snap := diskSnapshot{Acceptors: make([]diskRecord, 0, len(c.store.Acceptors))}
	for _, key := range slices.Sorted(maps.Keys(c.store.Acceptors)) {
		a := c.store.Acceptors[key]
		snap.Acceptors = append(snap.Acceptors, diskRecord{Key: key, Promised: a.Promised, Accepted: a.Accepted, From: a.From, State: a.State})
	}
	data, err := json.Marshal(snap)
	if err != nil {
		panic(fmt.Sprintf("paxos: encoding a snapshot: %v", err))
	}
	c.out.Persist(core.Write{Kind: core.WriteSnapshot, Index: c.lastIndex, Data: data})
	c.snapIndex = c.lastIndex
}

// persistStable writes the counter ceiling, the floor and the name
// batches are applied under.
func (c *Core) persistStable() {
	st := diskStable{Ceiling: c.ceiling, Floor: c.floor}
	if c.self != c.cfg.ID {
		st.Self = c.self
	}
	data, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("paxos: encoding the stable value: %v", err))
	}
	c.out.Persist(core.Write{Kind: core.WriteState, Data: data})
}

// useCounter records that this node sends ballot counter (or tag) n,
// reserving a new block of counters on disk when n passes the ceiling.
func (c *Core) useCounter(n int64) {
	c.store.MaxCounter = max(c.store.MaxCounter, n)
	if n > c.ceiling {
		c.ceiling = n + counterBlock
		c.persistStable()
	}
}
