package txn

import (
	"encoding/json"
	"errors"
	"fmt"

	"maelkit/lib/rsm"
)

// Command is one client transaction as it travels through a replicated log:
// Client and ID (the Maelstrom client id and its msg_id, which grows for
// each client) identify the request, so that a copy proposed twice (a
// retried forward, a relay to several peers) applies once.
type Command struct {
	Client string `json:"c"`
	ID     int64  `json:"id"`
	Txn    Txn    `json:"t"`
}

// Validate checks a command before it is proposed, so that bad input gets
// a definite error instead of entering the log.
func (c Command) Validate() error {
	if c.Client == "" {
		return errors.New("txn: command without client")
	}
	if c.Txn == nil {
		return errors.New("txn: command without a transaction")
	}
	return c.Txn.Validate()
}

// EncodeCommand encodes a command for the log.
func EncodeCommand(c Command) ([]byte, error) { return json.Marshal(c) }

// Outcome of a command applied by a Machine.
type Outcome int8

// Outcomes.
const (
	Applied Outcome = iota // applied now, or a duplicate of the last applied: Txn is its result
	Stale                  // older than its client's last applied command: skipped, not applied
	Invalid                // did not decode or validate: skipped
)

// Result is what Machine.Apply returns for one entry.
type Result struct {
	Client  string
	ID      int64
	Outcome Outcome
	Txn     Txn // the completed transaction when Applied
}

// Machine is the deterministic state machine of a replicated log of
// transactions (it has the method set of lib/rsm's StateMachine): each
// entry is a Command, applied serially by a Store, with one session per
// client so that a command applies at most once. Every replica that applies
// the same entries in the same order holds the same state and returns the
// same results. Not safe for concurrent use.
type Machine struct {
	store    *Store
	sessions *rsm.Sessions[Txn]
}

// NewMachine returns an empty machine.
func NewMachine() *Machine {
	return &Machine{store: NewStore(), sessions: rsm.NewSessions[Txn](0)}
}

// Store is the applied state (tests, convergence checks).
func (m *Machine) Store() *Store { return m.store }

// Query runs a read-only transaction on the applied state and returns it
// completed; writes in t are executed against a private overlay and never
// installed. It serves reads after a ReadIndex.
func (m *Machine) Query(t Txn) Txn {
	done, _ := m.store.Execute(t)
	return done
}

// Apply decodes a Command and applies it once per (client, id): a duplicate
// of the client's last applied command returns the same completed txn
// without running it again; an older one is Stale.
func (m *Machine) Apply(index int64, data []byte) any {
	var c Command
	if err := json.Unmarshal(data, &c); err != nil {
		return Result{Outcome: Invalid}
	}
	if err := c.Validate(); err != nil {
		return Result{Client: c.Client, ID: c.ID, Outcome: Invalid}
	}
	res := Result{Client: c.Client, ID: c.ID}
	switch prev, dup, stale := m.sessions.Lookup(c.Client, c.ID); {
	case dup:
		res.Txn = prev.Clone()
		return res
	case stale:
		res.Outcome = Stale
		return res
	}
	done := m.store.Apply(c.Txn)
	m.sessions.Record(c.Client, c.ID, index, done)
	res.Txn = done.Clone()
	return res
}

// machineSnapshot is the encoded machine; encoding/json sorts map keys, so
// equal machines encode equally.
type machineSnapshot struct {
	Store    json.RawMessage    `json:"store"`
	Sessions *rsm.Sessions[Txn] `json:"sessions"`
}

// Snapshot encodes the whole state.
func (m *Machine) Snapshot() ([]byte, error) {
	st, err := m.store.Snapshot()
	if err != nil {
		return nil, err
	}
	return json.Marshal(machineSnapshot{Store: st, Sessions: m.sessions})
}

// Restore replaces the state by a decoded snapshot; empty data is the
// empty state.
func (m *Machine) Restore(data []byte) error {
	store := NewStore()
	sessions := rsm.NewSessions[Txn](0)
	if len(data) > 0 {
		snap := machineSnapshot{Sessions: sessions}
		if err := json.Unmarshal(data, &snap); err != nil {
			return fmt.Errorf("txn: restore machine: %w", err)
		}
		if err := store.Restore(snap.Store); err != nil {
			return err
		}
	}
	m.store, m.sessions = store, sessions
	return nil
}
