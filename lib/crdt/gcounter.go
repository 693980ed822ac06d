package crdt

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// GCounter is a grow-only counter: one non-negative count per replica,
// merged entry-wise by max. An entry's count is its version. The zero value
// is an empty counter ready to use.
//
// JSON form: an object from replica id to count, {"n0":3,"n1":5}.
type GCounter struct {
	// counts holds only positive counts: a zero entry is the same as an
	// absent one, and leaving it out keeps deltas and equality simple.
	counts map[string]int64
}

var _ Counter[*GCounter] = (*GCounter)(nil)

// NewGCounter returns an empty counter.
func NewGCounter() *GCounter { return &GCounter{} }

// Inc raises id's count by n >= 0.
func (g *GCounter) Inc(id string, n int64) error {
	switch {
	case id == "":
		return ErrEmptyID
	case n < 0:
		return ErrNegative
	case n == 0:
		return nil
	}
	cur := g.counts[id]
	if cur > math.MaxInt64-n {
		return ErrOverflow
	}
	if g.counts == nil {
		g.counts = map[string]int64{}
	}
	g.counts[id] = cur + n
	return nil
}

// Add is Inc: a grow-only counter refuses negative deltas with ErrNegative.
func (g *GCounter) Add(id string, delta int64) error { return g.Inc(id, delta) }

// Get is id's count (0 when absent).
func (g *GCounter) Get(id string) int64 {
	if g == nil {
		return 0
	}
	return g.counts[id]
}

// Version is id's count: counts only grow.
func (g *GCounter) Version(id string) int64 { return g.Get(id) }

// Value is the sum of all counts, saturated at math.MaxInt64.
func (g *GCounter) Value() int64 {
	if g == nil {
		return 0
	}
	var sum int64
	for _, id := range g.IDs() { // sorted only for a deterministic saturation point
		sum = addSat(sum, g.counts[id])
	}
	return sum
}

// Len is the number of replicas with a positive count.
func (g *GCounter) Len() int {
	if g == nil {
		return 0
	}
	return len(g.counts)
}

// IDs lists the replicas with a positive count, sorted.
func (g *GCounter) IDs() []string {
	if g == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(g.counts))
}

// Merge takes the entry-wise max of g and o and reports whether g changed.
func (g *GCounter) Merge(o *GCounter) bool {
	if o == nil {
		return false
	}
	changed := false
	for id, v := range o.counts {
		if v > g.counts[id] {
			if g.counts == nil {
				g.counts = map[string]int64{}
			}
			g.counts[id] = v
			changed = true
		}
	}
	return changed
}

// Restrict returns a new counter with only the listed entries of g.
func (g *GCounter) Restrict(ids []string) *GCounter {
	out := &GCounter{}
	for _, id := range ids {
		if v := g.Get(id); v > 0 {
			if out.counts == nil {
				out.counts = make(map[string]int64, len(ids))
			}
			out.counts[id] = v
		}
	}
	return out
}

// Clone returns a deep copy of g.
func (g *GCounter) Clone() *GCounter {
	if g == nil || len(g.counts) == 0 {
		return &GCounter{}
	}
	return &GCounter{counts: maps.Clone(g.counts)}
}

// Equal reports whether g and o hold the same entries.
func (g *GCounter) Equal(o *GCounter) bool {
	if g.Len() != o.Len() {
		return false
	}
	for _, id := range g.IDs() {
		if g.Get(id) != o.Get(id) {
			return false
		}
	}
	return true
}

// String is a compact form for traces: {n0:3 n1:5}.
func (g *GCounter) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range g.IDs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(id)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(g.counts[id], 10))
	}
	b.WriteByte('}')
	return b.String()
}

// MarshalJSON encodes g as {"id":count,...} with ids sorted.
func (g GCounter) MarshalJSON() ([]byte, error) {
	if len(g.counts) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(g.counts) // encoding/json sorts map keys
}

// UnmarshalJSON decodes {"id":count,...}, refusing empty ids, negative
// counts and non-integers. Zero counts are dropped.
func (g *GCounter) UnmarshalJSON(data []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("crdt: g-counter: %w", err)
	}
	if m == nil {
		return fmt.Errorf("crdt: g-counter: want an object, got %s", data)
	}
	for id, v := range m {
		switch {
		case id == "":
			return ErrEmptyID
		case v < 0:
			return fmt.Errorf("crdt: g-counter entry %q: %w", id, ErrNegative)
		case v == 0:
			delete(m, id)
		}
	}
	if len(m) == 0 {
		m = nil
	}
	g.counts = m
	return nil
}
