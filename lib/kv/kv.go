// Package kv is the lin-kv key-value state machine replicated through
// lib/rsm: read, write and compare-and-set on JSON keys and values, with
// client sessions so that a command delivered twice applies once.
//
// Keys and values are kept as compact raw JSON (Maelstrom sends integers;
// nothing goes through float64), and compared byte for byte.
package kv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"maelkit/lib/rsm"
)

// Op names a command.
type Op string

// Commands.
const (
	OpRead  Op = "read"
	OpWrite Op = "write"
	OpCas   Op = "cas"
)

// Command is one client request as it travels through the log.
type Command struct {
	// Client and ID identify the request: Maelstrom client ids and their
	// msg_ids, which grow for each client.
	Client string          `json:"c"`
	ID     int64           `json:"id"`
	Op     Op              `json:"op"`
	Key    json.RawMessage `json:"k"`
	Value  json.RawMessage `json:"v,omitempty"` // write
	From   json.RawMessage `json:"f,omitempty"` // cas
	To     json.RawMessage `json:"t,omitempty"` // cas
}

// Validate checks a command before it is proposed, so that bad input gets
// a definite error instead of entering the log.
func (c *Command) Validate() error {
	if c.Client == "" {
		return errors.New("kv: command without client")
	}
	if !json.Valid(c.Key) {
		return errors.New("kv: missing or invalid key")
	}
	switch c.Op {
	case OpRead:
	case OpWrite:
		if !json.Valid(c.Value) {
			return errors.New("kv: write without a valid value")
		}
	case OpCas:
		if !json.Valid(c.From) || !json.Valid(c.To) {
			return errors.New("kv: cas without valid from and to")
		}
	default:
		return fmt.Errorf("kv: unknown op %q", c.Op)
	}
	c.Key, c.Value, c.From, c.To = compact(c.Key), compact(c.Value), compact(c.From), compact(c.To)
	return nil
}

func compact(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// Code is a command's outcome, in Maelstrom error codes.
type Code int

// Outcomes.
const (
	OK                 Code = 0
	KeyNotFound        Code = 20
	PreconditionFailed Code = 22
	// Stale: the command is older than one already applied for its client;
	// it was skipped (its client has stopped waiting for it).
	Stale Code = -1
	// Invalid: the command did not decode; it was skipped.
	Invalid Code = -2
)

// Result is a command's outcome.
type Result struct {
	Code  Code            `json:"code,omitempty"`
	Value json.RawMessage `json:"value,omitempty"` // read
}

// Store is the state machine. Only Apply and Restore change it.
type Store struct {
	data     map[string]json.RawMessage
	sessions *rsm.Sessions[Result]
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{data: map[string]json.RawMessage{}, sessions: rsm.NewSessions[Result](0)}
}

// Get reads a key from the applied state (for linearizable reads served
// after a ReadIndex).
func (s *Store) Get(key json.RawMessage) (json.RawMessage, bool) {
	v, ok := s.data[string(compact(key))]
	return v, ok
}

// Encode encodes a command for the log.
func Encode(c Command) ([]byte, error) { return json.Marshal(c) }

// Apply implements rsm.StateMachine: it returns a Result.
func (s *Store) Apply(index int64, data []byte) any {
	var c Command
	if err := json.Unmarshal(data, &c); err != nil || c.Validate() != nil {
		return Result{Code: Invalid}
	}
	switch prev, dup, stale := s.sessions.Lookup(c.Client, c.ID); {
	case dup:
		return prev // a duplicate: the same answer, applied once
	case stale:
		return Result{Code: Stale}
	}
	res := s.exec(c)
	s.sessions.Record(c.Client, c.ID, index, res)
	return res
}

func (s *Store) exec(c Command) Result {
	k := string(c.Key)
	cur, ok := s.data[k]
	switch c.Op {
	case OpRead:
		if !ok {
			return Result{Code: KeyNotFound}
		}
		return Result{Value: cur}
	case OpWrite:
		s.data[k] = c.Value
		return Result{}
	default: // OpCas
		switch {
		case !ok:
			return Result{Code: KeyNotFound}
		case !bytes.Equal(cur, c.From):
			return Result{Code: PreconditionFailed}
		}
		s.data[k] = c.To
		return Result{}
	}
}

// snapshot is the encoded state, with keys sorted so that equal states
// encode equally.
type snapshot struct {
	Data     []kvPair              `json:"data"`
	Sessions *rsm.Sessions[Result] `json:"sessions"`
}

type kvPair struct {
	K json.RawMessage `json:"k"`
	V json.RawMessage `json:"v"`
}

// Snapshot implements rsm.StateMachine.
func (s *Store) Snapshot() ([]byte, error) {
	snap := snapshot{Sessions: s.sessions}
	for _, k := range slices.Sorted(maps.Keys(s.data)) {
		snap.Data = append(snap.Data, kvPair{K: json.RawMessage(k), V: s.data[k]})
	}
	return json.Marshal(snap)
}

// Restore implements rsm.StateMachine.
func (s *Store) Restore(data []byte) error {
	snap := snapshot{Sessions: rsm.NewSessions[Result](0)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &snap); err != nil {
			return fmt.Errorf("kv: decode snapshot: %w", err)
		}
	}
	s.data = make(map[string]json.RawMessage, len(snap.Data))
	for _, p := range snap.Data {
		s.data[string(compact(p.K))] = compact(p.V)
	}
	s.sessions = snap.Sessions
	return nil
}
