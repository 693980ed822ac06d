package rsm

import "encoding/json"

// DefaultSessionsMax bounds client sessions; Maelstrom runs a few dozen
// clients, so eviction (which drops deduplication for the evicted client)
// is a safety net, not a regime.
const DefaultSessionsMax = 100_000

// Session is a client's last applied command: its id, the log index it
// applied at (eviction order) and the result it returned.
type Session[T any] struct {
	ID     int64 `json:"id"`
	Index  int64 `json:"i"`
	Result T     `json:"r"`
}

// Sessions lets a state machine apply each (client, command id) at most
// once: a command delivered twice (a retried forward, a relayed copy) gets
// the first answer again, an older one is refused. Every replica applies
// the same entries, so every replica holds the same sessions; it encodes
// as a JSON object, whose keys encoding/json sorts, so equal tables encode
// equally in snapshots.
type Sessions[T any] struct {
	m   map[string]Session[T]
	max int
}

// NewSessions returns an empty table holding at most max clients (0:
// DefaultSessionsMax); past it, the session applied longest ago goes.
func NewSessions[T any](max int) *Sessions[T] {
	if max <= 0 {
		max = DefaultSessionsMax
	}
	return &Sessions[T]{m: map[string]Session[T]{}, max: max}
}

// Lookup says whether command id of client was applied already (dup, with
// its result) or is older than the client's last one (stale).
func (s *Sessions[T]) Lookup(client string, id int64) (prev T, dup, stale bool) {
	ses, ok := s.m[client]
	switch {
	case !ok || id > ses.ID:
		return prev, false, false
	case id == ses.ID:
		return ses.Result, true, false
	}
	return prev, false, true
}

// Record notes that command id of client applied at index with result.
func (s *Sessions[T]) Record(client string, id, index int64, result T) {
	s.m[client] = Session[T]{ID: id, Index: index, Result: result}
	if len(s.m) > s.max {
		s.evict()
	}
}

// Len is the number of clients held.
func (s *Sessions[T]) Len() int { return len(s.m) }

// Has says whether client has a session.
func (s *Sessions[T]) Has(client string) bool {
	_, ok := s.m[client]
	return ok
}

// evict drops the session applied longest ago; deterministic, since every
// replica holds the same sessions with distinct indexes.
func (s *Sessions[T]) evict() {
	var oldest string
	var at int64 = -1
	for c, ses := range s.m {
		if at < 0 || ses.Index < at {
			oldest, at = c, ses.Index
		}
	}
	delete(s.m, oldest)
}

// MarshalJSON encodes the table as {client: session}.
func (s *Sessions[T]) MarshalJSON() ([]byte, error) { return json.Marshal(s.m) }

// UnmarshalJSON replaces the table's sessions (null: none), keeping its
// bound.
func (s *Sessions[T]) UnmarshalJSON(data []byte) error {
	m := map[string]Session[T]{}
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if m == nil {
		m = map[string]Session[T]{}
	}
	s.m = m
	if s.max <= 0 {
		s.max = DefaultSessionsMax
	}
	return nil
}
