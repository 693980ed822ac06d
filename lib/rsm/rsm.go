// Package rsm is the replicated state machine layer between a Raft core
// and a service: it applies committed entries to a StateMachine in order,
// snapshots it past a size threshold (compacting the log), restores
// snapshots the leader installs, and holds ReadIndex answers until the
// state machine has applied far enough to serve them.
//
// Like the core it is sans-I/O: Step, Tick and the proposal calls feed it,
// Advance returns what to send and what completed.
package rsm

import (
	"errors"
	"fmt"

	"maelkit/lib/core"
	"maelkit/lib/raft"
)

// StateMachine is the service's deterministic state: every replica applies
// the same entries in the same order and must reach the same state.
type StateMachine interface {
	// Apply applies one committed entry's data and returns its result.
	// Empty data (a leader's no-op) is never passed.
	Apply(index int64, data []byte) any
	// Snapshot encodes the whole state.
	Snapshot() ([]byte, error)
	// Restore replaces the state by a decoded snapshot.
	Restore(data []byte) error
}

// Config configures an RSM.
type Config struct {
	Raft raft.Config
	// SnapshotEntries: snapshot and compact once this many entries were
	// applied since the last snapshot. Small values bound memory and make
	// lagging followers catch up by snapshot; large ones snapshot less
	// often. Default 1000.
	SnapshotEntries int64
	// MaxPendingReads bounds the reads waiting for apply. Default 4096.
	MaxPendingReads int
}

// Applied is one applied entry and its result.
type Applied struct {
	Index  int64
	Data   []byte
	Result any
}

// Output is what one Advance produced.
type Output struct {
	Messages []raft.Message
	Applied  []Applied
	// Reads are the contexts of reads that may be served now: the state
	// machine has applied past their read index.
	Reads []int64
	Lead  string
	State raft.StateType
	Term  int64
	// Writes must be durable before Messages are sent (and before any
	// reply to a command applied here: see raft.Raft.TakeWrites).
	Writes []core.Write
}

// RSM couples a Raft core and a StateMachine.
type RSM struct {
	r        *raft.Raft
	sm       StateMachine
	cfg      Config
	applied  int64
	lastSnap int64
	reads    []raft.ReadState // waiting for applied >= Index
}

// ErrTooManyReads is returned when MaxPendingReads reads are waiting.
var ErrTooManyReads = errors.New("rsm: too many pending reads")

// New builds an RSM; a restored Durable snapshot is restored into sm on the
// first Advance.
func New(cfg Config, sm StateMachine) (*RSM, error) {
	if sm == nil {
		return nil, errors.New("rsm: nil state machine")
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 1000
	}
	if cfg.MaxPendingReads == 0 {
		cfg.MaxPendingReads = 4096
	}
	if cfg.SnapshotEntries < 0 || cfg.MaxPendingReads < 0 {
		return nil, errors.New("rsm: negative bound")
	}
	r, err := raft.New(cfg.Raft)
	if err != nil {
		return nil, err
	}
	st := r.Status()
	return &RSM{r: r, sm: sm, cfg: cfg, applied: st.Applied, lastSnap: st.Applied}, nil
}

// Raft exposes the core (status, transfer, membership changes, tests).
func (s *RSM) Raft() *raft.Raft { return s.r }

// Step hands the core a message from a peer.
func (s *RSM) Step(m raft.Message) error { return s.r.Step(m) }

// Tick advances the core's clock.
func (s *RSM) Tick() { s.r.Tick() }

// Propose proposes a batch of commands in one log append;
// raft.ErrProposalDropped means none of them entered the log.
func (s *RSM) Propose(cmds [][]byte) error {
	if len(cmds) == 0 {
		return nil
	}
	ents := make([]raft.Entry, len(cmds))
	for i, c := range cmds {
		if len(c) == 0 {
			return errors.New("rsm: empty command")
		}
		ents[i] = raft.Entry{Type: raft.EntryNormal, Data: c}
	}
	return s.r.Step(raft.Message{Type: raft.MsgProp, Entries: ents})
}

// Read asks for a linearizable read; ctx comes back in Output.Reads.
func (s *RSM) Read(ctx int64) error {
	if len(s.reads) >= s.cfg.MaxPendingReads {
		return ErrTooManyReads
	}
	return s.r.ReadIndex(ctx)
}

// Advance takes the core's Ready, restores and applies, snapshots when due,
// and returns what to write, what to send and what completed.
func (s *RSM) Advance() (Output, error) {
	rd := s.r.Ready()
	out := Output{Messages: rd.Messages, Lead: rd.Lead, State: rd.State, Term: rd.HardState.Term}
	if rd.Snapshot != nil {
		if err := s.sm.Restore(rd.Snapshot.Data); err != nil {
			return out, fmt.Errorf("rsm: restore snapshot at %d: %w", rd.Snapshot.Index, err)
		}
		s.applied = rd.Snapshot.Index
		s.lastSnap = rd.Snapshot.Index
	}
	for _, e := range rd.Committed {
		if e.Index != s.applied+1 {
			panic(fmt.Sprintf("rsm: entry %d applied after %d", e.Index, s.applied))
		}
		s.applied = e.Index
		if e.Type != raft.EntryNormal || len(e.Data) == 0 {
			continue
		}
		out.Applied = append(out.Applied, Applied{Index: e.Index, Data: e.Data, Result: s.sm.Apply(e.Index, e.Data)})
	}
	s.reads = append(s.reads, rd.Reads...)
	n := 0
	for _, rs := range s.reads {
		if rs.Index <= s.applied {
			out.Reads = append(out.Reads, rs.Context)
			continue
		}
		s.reads[n] = rs
		n++
	}
	s.reads = s.reads[:n]
	if s.applied-s.lastSnap >= s.cfg.SnapshotEntries {
		data, err := s.sm.Snapshot()
		if err != nil {
			return out, fmt.Errorf("rsm: snapshot: %w", err)
		}
		if err := s.r.Compact(s.applied, data); err != nil {
			return out, err
		}
		s.lastSnap = s.applied
	}
	out.Writes = s.r.TakeWrites()
	return out, nil
}
