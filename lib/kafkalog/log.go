// Package kafkalog is Maelstrom's kafka workload as a Raft-replicated
// service: Log, the state machine (an append-only log per key and the
// committed offset per key, applied from the Raft log by lib/rsm), and
// Core, the node core that serves it on top of lib/raftnode.
//
// Offsets are assigned by the replicated log's order: every replica
// applies the same sends in the same order, and a send's offset is the
// length of its key's log when it applies, so offsets are unique and dense
// per key on every replica, and no replica ever holds a gap. Sends and
// commits go through Raft (a follower forwards them to the leader, which
// batches them into appends); polls and list_committed_offsets are served
// from the node's own applied state, which is always a prefix of the
// leader's, so a stale follower only answers with less, never with
// something else.
package kafkalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"maelkit/lib/rsm"
)

// Op names a command that travels through the Raft log.
type Op string

// Commands.
const (
	OpSend   Op = "send"
	OpCommit Op = "commit"
)

// Command is one client request as it travels through the log.
type Command struct {
	// Client and ID identify the request: a Maelstrom client id and its
	// msg_id, which grows for each client.
	Client string          `json:"c"`
	ID     int64           `json:"id"`
	Op     Op              `json:"op"`
	Key    string          `json:"k,omitempty"` // send
	Msg    json.RawMessage `json:"m,omitempty"` // send
	// Offsets are a commit's offsets per key.
	Offsets map[string]int64 `json:"o,omitempty"`
}

// Validate checks a command before it is proposed, so that bad input gets
// a definite error instead of entering the log.
func (c *Command) Validate() error {
	if c.Client == "" || c.ID <= 0 {
		return errors.New("kafkalog: command without client or msg_id")
	}
	switch c.Op {
	case OpSend:
		if len(c.Msg) == 0 || !json.Valid(c.Msg) {
			return errors.New("kafkalog: send without a valid msg")
		}
	case OpCommit:
		for k, o := range c.Offsets {
			if o < 0 {
				return fmt.Errorf("kafkalog: negative offset %d for key %q", o, k)
			}
		}
	default:
		return fmt.Errorf("kafkalog: unknown op %q", c.Op)
	}
	return nil
}

// Encode encodes a command for the log.
func Encode(c Command) ([]byte, error) { return json.Marshal(c) }

// Code is how a command applied.
type Code uint8

// Codes.
const (
	// OK: applied now or earlier (a duplicate gets the first result).
	OK Code = iota + 1
	// Stale: an older request of a client whose later one already
	// applied; it took no effect.
	Stale
	// Invalid: the entry did not decode or validate; it took no effect.
	Invalid
)

// Result is what Apply returns: the code and, for a send, its offset.
type Result struct {
	Code   Code  `json:"c"`
	Offset int64 `json:"o,omitempty"`
}

// Entry is one message of a key's log at its offset; it encodes as
// Maelstrom's [offset, msg] pair.
type Entry struct {
	Offset int64
	Msg    json.RawMessage
}

// MarshalJSON encodes the pair [offset, msg].
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]any{e.Offset, e.Msg})
}

// UnmarshalJSON decodes the pair [offset, msg].
func (e *Entry) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("kafkalog: an entry is [offset, msg], got %d elements", len(pair))
	}
	if err := json.Unmarshal(pair[0], &e.Offset); err != nil {
		return err
	}
	e.Msg = pair[1]
	return nil
}

// Log is the kafka state machine: the messages of each key in offset
// order (offset i at index i), the committed offset of each key, and the
// client sessions that make a command delivered twice apply once.
type Log struct {
	logs      map[string][]json.RawMessage
	committed map[string]int64
	sessions  *rsm.Sessions[Result]
}

// NewLog returns an empty log.
func NewLog() *Log {
	return &Log{logs: map[string][]json.RawMessage{}, committed: map[string]int64{}, sessions: rsm.NewSessions[Result](0)}
}

// Apply implements rsm.StateMachine: a send appends its message at the
// key's next offset, a commit raises the committed offsets (never lowers
// them). Invalid data is refused, not a crash.
func (l *Log) Apply(index int64, data []byte) any {
	var c Command
	if json.Unmarshal(data, &c) != nil || c.Validate() != nil {
		return Result{Code: Invalid}
	}
	prev, dup, stale := l.sessions.Lookup(c.Client, c.ID)
	switch {
	case dup:
		return prev
	case stale:
		return Result{Code: Stale}
	}
	res := Result{Code: OK}
	switch c.Op {
	case OpSend:
		res.Offset = int64(len(l.logs[c.Key]))
		l.logs[c.Key] = append(l.logs[c.Key], c.Msg)
	case OpCommit:
		for k, o := range c.Offsets {
			if cur, ok := l.committed[k]; !ok || o > cur {
				l.committed[k] = o
			}
		}
	}
	l.sessions.Record(c.Client, c.ID, index, res)
	return res
}

// Poll returns, for each key asked, its messages from the given offset on,
// at most limit of them per key (limit <= 0: all). Keys with no message at or
// past the offset are left out (a poll reply stays small when a consumer
// holds many keys); a negative offset reads from 0.
func (l *Log) Poll(from map[string]int64, limit int) map[string][]Entry {
	out := make(map[string][]Entry, len(from))
	for k, o := range from {
		msgs := l.logs[k]
		o = min(int64(len(msgs)), max(o, 0))
		end := int64(len(msgs))
		if limit > 0 && end-o > int64(limit) {
			end = o + int64(limit)
		}
		if o >= end {
			continue
		}
		es := make([]Entry, 0, end-o)
		for i := o; i < end; i++ {
			es = append(es, Entry{Offset: i, Msg: msgs[i]})
		}
		out[k] = es
	}
	return out
}

// Committed returns the committed offset of each key asked that has one.
func (l *Log) Committed(keys []string) map[string]int64 {
	out := make(map[string]int64, len(keys))
	for _, k := range keys {
		if o, ok := l.committed[k]; ok {
			out[k] = o
		}
	}
	return out
}

// Len is the number of messages of key.
func (l *Log) Len(key string) int { return len(l.logs[key]) }

// Keys lists the keys with messages, sorted.
func (l *Log) Keys() []string { return slices.Sorted(maps.Keys(l.logs)) }

// snapshot is the encoded state; encoding/json sorts map keys, so equal
// logs encode equally.
type snapshot struct {
	Logs      map[string][]json.RawMessage `json:"logs"`
	Committed map[string]int64             `json:"committed"`
	Sessions  *rsm.Sessions[Result]        `json:"sessions"`
}

// Snapshot implements rsm.StateMachine.
func (l *Log) Snapshot() ([]byte, error) {
	return json.Marshal(snapshot{Logs: l.logs, Committed: l.committed, Sessions: l.sessions})
}

// Restore implements rsm.StateMachine.
func (l *Log) Restore(data []byte) error {
	s := snapshot{Sessions: rsm.NewSessions[Result](0)}
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("kafkalog: restore: %w", err)
	}
	if s.Logs == nil {
		s.Logs = map[string][]json.RawMessage{}
	}
	if s.Committed == nil {
		s.Committed = map[string]int64{}
	}
	if s.Sessions == nil {
		// "sessions": null sets the pointer to nil without calling
		// UnmarshalJSON.
		s.Sessions = rsm.NewSessions[Result](0)
	}
	l.logs, l.committed, l.sessions = s.Logs, s.Committed, s.Sessions
	return nil
}
