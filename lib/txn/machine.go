package txn

import (
	"encoding/json"
	"errors"
	"fmt"
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

// session is a client's last applied command and its completed txn.
type session struct {
	ID    int64 `json:"id"`
	Index int64 `json:"i"` // log index applied at (eviction order)
	Txn   Txn   `json:"t"`
}

// DefaultSessionsMax bounds client sessions: Maelstrom runs a few dozen
// clients, so eviction (which drops dedup for the evicted client) is a
// safety net, not a regime.
const DefaultSessionsMax = 100_000

// Machine is the deterministic state machine of a replicated log of
// transactions (it has the method set of lib/rsm's StateMachine): each
// entry is a Command, applied serially by a Store, with one session per
// client so that a command applies at most once. Every replica that applies
// the same entries in the same order holds the same state and returns the
// same results. Not safe for concurrent use.
type Machine struct {
	store       *Store
	sessions    map[string]session
	sessionsMax int
}

// NewMachine returns an empty machine.
func NewMachine() *Machine {
	return &Machine{store: NewStore(), sessions: map[string]session{}, sessionsMax: DefaultSessionsMax}
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
	if ses, ok := m.sessions[c.Client]; ok {
		switch {
		case c.ID == ses.ID:
			res.Txn = ses.Txn.Clone()
			return res
		case c.ID < ses.ID:
			res.Outcome = Stale
			return res
		}
	}
	done := m.store.Apply(c.Txn)
	m.sessions[c.Client] = session{ID: c.ID, Index: index, Txn: done}
	if len(m.sessions) > m.sessionsMax {
		m.evict()
	}
	res.Txn = done.Clone()
	return res
}

// evict drops the session applied longest ago; deterministic, since every
// replica holds the same sessions with distinct indexes.
func (m *Machine) evict() {
	var oldest string
	var at int64 = -1
	for c, ses := range m.sessions {
		if at < 0 || ses.Index < at {
			oldest, at = c, ses.Index
		}
	}
	delete(m.sessions, oldest)
}

// machineSnapshot is the encoded machine; encoding/json sorts map keys, so
// equal machines encode equally.
type machineSnapshot struct {
	Store    json.RawMessage    `json:"store"`
	Sessions map[string]session `json:"sessions"`
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
	sessions := map[string]session{}
	if len(data) > 0 {
		var snap machineSnapshot
		if err := json.Unmarshal(data, &snap); err != nil {
			return fmt.Errorf("txn: restore machine: %w", err)
		}
		if err := store.Restore(snap.Store); err != nil {
			return err
		}
		if snap.Sessions != nil {
			sessions = snap.Sessions
		}
	}
	m.store, m.sessions = store, sessions
	return nil
}
