// Package gset is a grow-only set of JSON values as a state-based CRDT,
// shaped for delta dissemination.
//
// Every added element gets a Dot (origin replica, per-origin sequence
// number); the set's state is the map dot → value plus the Context of the
// dots it holds. Merge is the union of both, so it is commutative,
// associative and idempotent, and replicas that have merged the same states
// hold the same values whatever the order. Because dots of one origin are
// dense, a Context is a version vector (with holes while messages are
// reordered) of O(replicas) size: two replicas find what one lacks by
// comparing digests, and ship only those dots (a delta), never the whole
// state.
//
// Values are compared by their canonical JSON (see Canonical), so elements
// of any JSON type work and equal elements added at different replicas read
// back once.
package gset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Set is one replica's state. The zero value is not ready: use New.
type Set struct {
	ctx  Context
	dots map[string]map[int64]int32 // origin → seq → index in vals
	vals []string                   // distinct canonical values, in arrival order
	idx  map[string]int32           // canonical value → index in vals
	// arr caches the JSON array of vals without its closing bracket, so a
	// read costs one copy rather than an encoding of every value.
	arr []byte
}

// New returns an empty set.
func New() *Set {
	return &Set{
		dots: map[string]map[int64]int32{},
		idx:  map[string]int32{},
		arr:  []byte{'['},
	}
}

// Add adds value as a new element of origin (the local replica) and
// returns its dot. When value is already in the set it adds nothing and
// reports false: the element is already replicated under another dot.
func (s *Set) Add(origin string, value json.RawMessage) (Dot, bool, error) {
	canon, err := Canonical(value)
	if err != nil {
		return Dot{}, false, err
	}
	if origin == "" {
		return Dot{}, false, fmt.Errorf("gset: empty origin")
	}
	if _, ok := s.idx[canon]; ok {
		return Dot{}, false, nil
	}
	d := Dot{Origin: origin, Seq: s.ctx.Of(origin).Max() + 1}
	s.put(d, canon)
	return d, true, nil
}

// Insert merges one element received from another replica and reports
// whether the dot was new. The value is canonicalized again: a peer's bytes
// are input like any other.
func (s *Set) Insert(d Dot, value json.RawMessage) (bool, error) {
	if d.Origin == "" || d.Seq < 1 {
		return false, fmt.Errorf("gset: bad dot %v", d)
	}
	if s.ctx.Contains(d) {
		return false, nil
	}
	canon, err := Canonical(value)
	if err != nil {
		return false, err
	}
	s.put(d, canon)
	return true, nil
}

func (s *Set) put(d Dot, canon string) {
	i, ok := s.idx[canon]
	if !ok {
		i = int32(len(s.vals))
		s.vals = append(s.vals, canon)
		s.idx[canon] = i
		if len(s.arr) > 1 {
			s.arr = append(s.arr, ',')
		}
		s.arr = append(s.arr, canon...)
	}
	m := s.dots[d.Origin]
	if m == nil {
		m = map[int64]int32{}
		s.dots[d.Origin] = m
	}
	m[d.Seq] = i
	s.ctx.Add(d)
}

// Value returns the canonical JSON of the element at d.
func (s *Set) Value(d Dot) (json.RawMessage, bool) {
	i, ok := s.dots[d.Origin][d.Seq]
	if !ok {
		return nil, false
	}
	return json.RawMessage(s.vals[i]), true
}

// Contains reports whether value (any JSON) is in the set.
func (s *Set) Contains(value json.RawMessage) bool {
	canon, err := Canonical(value)
	if err != nil {
		return false
	}
	_, ok := s.idx[canon]
	return ok
}

// Context is the set of dots held: the digest to send to other replicas.
// The caller must not modify it.
func (s *Set) Context() *Context { return &s.ctx }

// Len is the number of distinct values.
func (s *Set) Len() int { return len(s.vals) }

// Values returns the distinct values, in the order this replica learned them.
func (s *Set) Values() []json.RawMessage {
	out := make([]json.RawMessage, len(s.vals))
	for i, v := range s.vals {
		out[i] = json.RawMessage(v)
	}
	return out
}

// AppendJSON appends the values as a JSON array to buf.
func (s *Set) AppendJSON(buf []byte) []byte {
	buf = append(buf, s.arr...)
	return append(buf, ']')
}

// Merge adds every element of o (state-based merge: the union).
func (s *Set) Merge(o *Set) {
	for _, origin := range o.ctx.Origins() {
		seqs := make([]int64, 0, len(o.dots[origin]))
		for seq := range o.dots[origin] {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		for _, seq := range seqs {
			d := Dot{Origin: origin, Seq: seq}
			if !s.ctx.Contains(d) {
				s.put(d, o.vals[o.dots[origin][seq]])
			}
		}
	}
}

// Equal reports whether s and o hold the same dots and the same values.
func (s *Set) Equal(o *Set) bool {
	if len(s.vals) != len(o.vals) || !s.ctx.Covers(&o.ctx) || !o.ctx.Covers(&s.ctx) {
		return false
	}
	for _, v := range s.vals {
		if _, ok := o.idx[v]; !ok {
			return false
		}
	}
	return true
}

// Canonical returns the canonical text of a JSON value: compact, object
// keys sorted, numbers as written (so 1 and 1.0 stay distinct, as they are
// for Jepsen). A plain integer, the common case, is returned as is.
func Canonical(raw json.RawMessage) (string, error) {
	if isPlainInt(raw) {
		return string(raw), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("gset: bad JSON value: %w", err)
	}
	if dec.More() {
		return "", fmt.Errorf("gset: trailing data after JSON value")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return "", fmt.Errorf("gset: encoding value: %w", err)
	}
	return string(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// isPlainInt reports whether raw is -?[1-9][0-9]* or 0, at most 20 bytes.
func isPlainInt(raw []byte) bool {
	b := raw
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
