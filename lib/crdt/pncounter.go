package crdt

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// PNCounter is a counter that goes both ways: P counts each replica's
// increments and N its decrements, both grow-only, so the value is
// P.Value() - N.Value() and merging is two GCounter merges. An entry's
// version is its increments plus its decrements, which every non-zero Add
// raises. The zero value is an empty counter ready to use.
//
// JSON form: {"p":{"n0":5},"n":{"n0":2}}.
type PNCounter struct {
	P GCounter `json:"p"`
	N GCounter `json:"n"`
}

var _ Counter[*PNCounter] = (*PNCounter)(nil)

// NewPNCounter returns an empty counter.
func NewPNCounter() *PNCounter { return &PNCounter{} }

// Add adds delta (of either sign) to id's entry.
func (c *PNCounter) Add(id string, delta int64) error {
	if id == "" {
		return ErrEmptyID
	}
	if delta == math.MinInt64 {
		return ErrOverflow
	}
	half, n := &c.P, delta
	if delta < 0 {
		half, n = &c.N, -delta
	}
	// The version P+N must not overflow either, or it would stop rising.
	if c.P.Get(id) > math.MaxInt64-c.N.Get(id)-n {
		return ErrOverflow
	}
	return half.Inc(id, n)
}

// Value is increments minus decrements, saturated to the int64 range.
func (c *PNCounter) Value() int64 {
	if c == nil {
		return 0
	}
	p, n := c.P.Value(), c.N.Value()
	if n > 0 && p < math.MinInt64+n {
		return math.MinInt64
	}
	return p - n
}

// Get returns id's increments and decrements.
func (c *PNCounter) Get(id string) (inc, dec int64) {
	if c == nil {
		return 0, 0
	}
	return c.P.Get(id), c.N.Get(id)
}

// Version is id's increments plus decrements (saturated, which only a
// forged entry could reach: Add refuses to overflow it).
func (c *PNCounter) Version(id string) int64 {
	inc, dec := c.Get(id)
	return addSat(inc, dec)
}

// IDs lists the replicas with an entry in either half, sorted.
func (c *PNCounter) IDs() []string {
	if c == nil {
		return nil
	}
	ids := append(c.P.IDs(), c.N.IDs()...)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Len is the number of replicas with an entry.
func (c *PNCounter) Len() int { return len(c.IDs()) }

// Merge merges both halves and reports whether c changed.
func (c *PNCounter) Merge(o *PNCounter) bool {
	if o == nil {
		return false
	}
	p := c.P.Merge(&o.P)
	n := c.N.Merge(&o.N)
	return p || n
}

// Restrict returns a new counter with only the listed entries of c.
func (c *PNCounter) Restrict(ids []string) *PNCounter {
	if c == nil {
		return &PNCounter{}
	}
	return &PNCounter{P: *c.P.Restrict(ids), N: *c.N.Restrict(ids)}
}

// Clone returns a deep copy of c.
func (c *PNCounter) Clone() *PNCounter {
	if c == nil {
		return &PNCounter{}
	}
	return &PNCounter{P: *c.P.Clone(), N: *c.N.Clone()}
}

// Equal reports whether c and o hold the same entries.
func (c *PNCounter) Equal(o *PNCounter) bool {
	if c == nil || o == nil {
		return c.Len() == 0 && o.Len() == 0
	}
	return c.P.Equal(&o.P) && c.N.Equal(&o.N)
}

// String is a compact form for traces: {p:{n0:5} n:{n0:2}}.
func (c *PNCounter) String() string {
	if c == nil {
		return "{p:{} n:{}}"
	}
	return fmt.Sprintf("{p:%s n:%s}", c.P.String(), c.N.String())
}

// UnmarshalJSON decodes {"p":{...},"n":{...}} (either half may be absent)
// and refuses unknown fields, so that a misaddressed message is not read
// as an empty counter.
func (c *PNCounter) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("crdt: pn-counter: %w", err)
	}
	if fields == nil {
		return fmt.Errorf("crdt: pn-counter: want an object, got %.64s", data)
	}
	var out PNCounter
	for k, raw := range fields {
		var dst *GCounter
		switch k {
		case "p":
			dst = &out.P
		case "n":
			dst = &out.N
		default:
			return fmt.Errorf("crdt: pn-counter: unknown field %q", k)
		}
		if err := dst.UnmarshalJSON(raw); err != nil {
			return err
		}
	}
	for _, id := range out.IDs() {
		if out.P.Get(id) > math.MaxInt64-out.N.Get(id) {
			return fmt.Errorf("crdt: pn-counter entry %q: %w", id, ErrOverflow)
		}
	}
	*c = out
	return nil
}
