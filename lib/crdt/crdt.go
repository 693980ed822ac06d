// Package crdt holds state-based counter CRDTs: a grow-only counter
// (GCounter, one count per replica merged entry-wise by max) and a
// positive-negative counter (PNCounter, two GCounters: increments and
// decrements).
//
// Contract. A counter is a set of entries keyed by replica id. Only the
// replica that owns an entry changes it, and every change raises the entry's
// Version, so the states an entry goes through form a chain and any two
// copies of it are ordered: merging keeps the later one. That makes Merge
// commutative, associative and idempotent (a join), so replicas may exchange
// states in any order, any number of times, and still agree. It also lets a
// replica send only the entries a peer lacks (Restrict) instead of its whole
// state: a delta is just a smaller counter, merged like any other.
//
// State is O(replicas): one or two int64 per replica that ever counted.
// Bad input (negative counts, overflow, malformed JSON) is an error, never a
// panic. Counters are not safe for concurrent use: one event loop owns them.
package crdt

import (
	"errors"
	"math"
)

// Counter is what a dissemination core needs from a counter CRDT. C is the
// implementing type itself (*GCounter, *PNCounter). Methods that only read
// treat a nil receiver as the empty counter, so that an absent "entries"
// field decodes to something usable.
type Counter[C any] interface {
	// Add changes the entry of replica id by delta.
	Add(id string, delta int64) error
	// Value is the counter's value: the sum over all entries.
	Value() int64
	// Version of id's entry: 0 when absent, raised by every change.
	Version(id string) int64
	// IDs lists the replicas that have an entry, sorted.
	IDs() []string
	// Len is the number of entries.
	Len() int
	// Restrict returns a new counter holding only the listed entries: a
	// delta to send. Merging it gives the same result as merging the whole
	// counter, as far as those entries go.
	Restrict(ids []string) C
	// Merge joins other into the receiver and reports whether anything
	// changed.
	Merge(other C) bool
	// Clone returns a deep copy.
	Clone() C
}

// Errors returned by counter operations.
var (
	// ErrNegative: a grow-only count cannot go down.
	ErrNegative = errors.New("crdt: negative increment of a grow-only count")
	// ErrOverflow: the count would pass math.MaxInt64.
	ErrOverflow = errors.New("crdt: count overflows int64")
	// ErrEmptyID: every entry belongs to a named replica.
	ErrEmptyID = errors.New("crdt: empty replica id")
)

// addSat is a+b for non-negative a and b, stuck at math.MaxInt64: sums of
// entries are reported, never wrapped.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
