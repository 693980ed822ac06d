package gset

import (
	"fmt"
	"slices"
	"strings"
)

// Dot names one element instance: the replica that added it and that
// replica's sequence number for it (1, 2, 3, ...).
type Dot struct {
	Origin string
	Seq    int64
}

func (d Dot) String() string { return fmt.Sprintf("%s:%d", d.Origin, d.Seq) }

// Context is a set of dots kept per origin as Ranges: a version vector that
// also tolerates holes (dots that arrived out of order). It is the digest
// replicas exchange to learn what the other lacks. The zero value is empty
// and ready to use.
type Context struct {
	m map[string]*Ranges
}

// Contains reports whether d is in the context.
func (c *Context) Contains(d Dot) bool {
	r := c.m[d.Origin]
	return r != nil && r.Contains(d.Seq)
}

// Add inserts d and reports whether it was absent.
func (c *Context) Add(d Dot) bool {
	if d.Seq < 1 {
		return false
	}
	return c.ranges(d.Origin).Add(d.Seq)
}

// AddRanges inserts the dots of origin whose sequence numbers are in r.
func (c *Context) AddRanges(origin string, r Ranges) {
	if r.Empty() {
		return
	}
	c.ranges(origin).Union(r)
}

func (c *Context) ranges(origin string) *Ranges {
	if c.m == nil {
		c.m = map[string]*Ranges{}
	}
	r := c.m[origin]
	if r == nil {
		r = &Ranges{}
		c.m[origin] = r
	}
	return r
}

// Of returns the sequence numbers held for origin (the caller must not
// modify them).
func (c *Context) Of(origin string) Ranges {
	if r := c.m[origin]; r != nil {
		return *r
	}
	return Ranges{}
}

// Origins returns the origins with at least one dot, sorted, so that
// anything built by iterating them is deterministic.
func (c *Context) Origins() []string {
	out := make([]string, 0, len(c.m))
	for o, r := range c.m {
		if !r.Empty() {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// Union adds every dot of o.
func (c *Context) Union(o *Context) {
	for origin, r := range o.m {
		c.AddRanges(origin, *r)
	}
}

// Minus returns c \ o as a new context.
func (c *Context) Minus(o *Context) Context {
	var out Context
	for origin, r := range c.m {
		d := r.Minus(o.Of(origin))
		if !d.Empty() {
			if out.m == nil {
				out.m = map[string]*Ranges{}
			}
			out.m[origin] = &d
		}
	}
	return out
}

// Subtract removes every dot of o from c.
func (c *Context) Subtract(o *Context) {
	for origin, r := range c.m {
		if or := o.m[origin]; or != nil {
			*r = r.Minus(*or)
		}
		if r.Empty() {
			delete(c.m, origin)
		}
	}
}

// Covers reports whether every dot of o is in c.
func (c *Context) Covers(o *Context) bool {
	for origin, r := range o.m {
		if !c.Of(origin).Covers(*r) {
			return false
		}
	}
	return true
}

// Empty reports whether the context has no dot.
func (c *Context) Empty() bool {
	for _, r := range c.m {
		if !r.Empty() {
			return false
		}
	}
	return true
}

// Count is the number of dots.
func (c *Context) Count() int64 {
	var n int64
	for _, r := range c.m {
		n += r.Count()
	}
	return n
}

// Clone returns an independent copy.
func (c *Context) Clone() Context {
	var out Context
	for origin, r := range c.m {
		if !r.Empty() {
			out.AddRanges(origin, *r)
		}
	}
	return out
}

// Take returns at most n dots of c: origins in sorted order, smallest
// sequence numbers first.
func (c *Context) Take(n int64) Context {
	var out Context
	for _, origin := range c.Origins() {
		if n <= 0 {
			break
		}
		t := c.m[origin].Take(n)
		n -= t.Count()
		out.AddRanges(origin, t)
	}
	return out
}

// Each calls fn for every dot in order (origins sorted, then sequence
// numbers ascending) until fn returns false.
func (c *Context) Each(fn func(Dot) bool) {
	for _, origin := range c.Origins() {
		for _, x := range c.m[origin].Intervals() {
			for s := x.Lo; s <= x.Hi; s++ {
				if !fn(Dot{Origin: origin, Seq: s}) {
					return
				}
			}
		}
	}
}

// String is a compact form for traces: "n1:1-5 n2:3".
func (c *Context) String() string {
	var b strings.Builder
	for i, origin := range c.Origins() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%s", origin, c.m[origin])
	}
	return b.String()
}

// Digest is a Context on the wire: one entry per origin, with the ranges
// flattened as [lo1, hi1, lo2, hi2, ...].
type Digest []DigestEntry

// DigestEntry is one origin's sequence numbers in a Digest.
type DigestEntry struct {
	Origin string  `json:"o"`
	Ranges []int64 `json:"r"`
}

// Digest encodes c, origins sorted. At most rangesMax intervals per origin
// are kept (the lowest ones): a truncated digest under-reports what the
// replica has, which costs resends but never loses anything.
func (c *Context) Digest(rangesMax int) Digest {
	origins := c.Origins()
	out := make(Digest, 0, len(origins))
	for _, origin := range origins {
		iv := c.m[origin].Intervals()
		if rangesMax > 0 && len(iv) > rangesMax {
			iv = iv[:rangesMax]
		}
		flat := make([]int64, 0, 2*len(iv))
		for _, x := range iv {
			flat = append(flat, x.Lo, x.Hi)
		}
		out = append(out, DigestEntry{Origin: origin, Ranges: flat})
	}
	return out
}

// Context decodes a digest; malformed entries (odd length, empty origin,
// bad intervals) are an error and nothing is returned.
func (d Digest) Context() (Context, error) {
	var out Context
	for _, e := range d {
		if e.Origin == "" || len(e.Ranges)%2 != 0 {
			return Context{}, fmt.Errorf("gset: malformed digest entry for %q", e.Origin)
		}
		for i := 0; i < len(e.Ranges); i += 2 {
			lo, hi := e.Ranges[i], e.Ranges[i+1]
			if lo < 1 || lo > hi {
				return Context{}, fmt.Errorf("gset: bad range [%d,%d] for %q", lo, hi, e.Origin)
			}
			out.ranges(e.Origin).AddRange(lo, hi)
		}
	}
	return out, nil
}
