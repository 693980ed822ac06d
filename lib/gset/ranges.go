package gset

import (
	"fmt"
	"strings"
)

// Range is the closed interval [Lo, Hi] of sequence numbers.
type Range struct {
	Lo, Hi int64
}

// Ranges is a set of positive sequence numbers kept as sorted, disjoint,
// non-adjacent intervals. Dots from one origin are dense (1, 2, 3, ...), so
// a replica that has seen them all holds a single interval and a digest of
// it costs two numbers whatever the number of elements. The zero value is
// the empty set.
type Ranges struct {
	r []Range
}

// RangesOf builds a set from intervals in any order (overlaps allowed);
// intervals with Lo > Hi or Lo < 1 are an error.
func RangesOf(rs ...Range) (Ranges, error) {
	var out Ranges
	for _, x := range rs {
		if x.Lo < 1 || x.Lo > x.Hi {
			return Ranges{}, fmt.Errorf("gset: bad range [%d,%d]", x.Lo, x.Hi)
		}
		out.AddRange(x.Lo, x.Hi)
	}
	return out, nil
}

// Intervals returns the intervals, sorted; the caller must not modify them.
func (s Ranges) Intervals() []Range { return s.r }

// Len is the number of intervals (a fragmentation measure, not a count).
func (s Ranges) Len() int { return len(s.r) }

// Empty reports whether the set has no element.
func (s Ranges) Empty() bool { return len(s.r) == 0 }

// Count is the number of elements.
func (s Ranges) Count() int64 {
	var n int64
	for _, x := range s.r {
		n += x.Hi - x.Lo + 1
	}
	return n
}

// Max is the largest element, 0 when empty.
func (s Ranges) Max() int64 {
	if len(s.r) == 0 {
		return 0
	}
	return s.r[len(s.r)-1].Hi
}

// search returns the index of the first interval with Hi >= x-1, i.e. the
// first one that x could touch or precede.
func (s Ranges) search(x int64) int {
	lo, hi := 0, len(s.r)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.r[m].Hi < x-1 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Contains reports whether x is in the set.
func (s Ranges) Contains(x int64) bool {
	i := s.search(x + 1)
	return i < len(s.r) && s.r[i].Lo <= x && x <= s.r[i].Hi
}

// Add inserts x (x >= 1) and reports whether it was absent.
func (s *Ranges) Add(x int64) bool {
	if x < 1 || s.Contains(x) {
		return false
	}
	s.AddRange(x, x)
	return true
}

// AddRange inserts every element of [lo, hi]; it ignores empty or
// non-positive intervals.
func (s *Ranges) AddRange(lo, hi int64) {
	if lo < 1 || lo > hi {
		return
	}
	// Fast path: appending at the end, the common case for dense dots.
	if n := len(s.r); n == 0 || s.r[n-1].Hi < lo-1 {
		s.r = append(s.r, Range{Lo: lo, Hi: hi})
		return
	}
	i := s.search(lo) // first interval that touches or follows [lo, hi]
	j := i            // first interval strictly after [lo, hi] (not adjacent)
	for j < len(s.r) && s.r[j].Lo <= hi+1 {
		j++
	}
	if i == j {
		s.r = append(s.r, Range{})
		copy(s.r[i+1:], s.r[i:])
		s.r[i] = Range{Lo: lo, Hi: hi}
		return
	}
	merged := Range{Lo: min(lo, s.r[i].Lo), Hi: max(hi, s.r[j-1].Hi)}
	s.r[i] = merged
	s.r = append(s.r[:i+1], s.r[j:]...)
}

// Union adds every element of o.
func (s *Ranges) Union(o Ranges) {
	for _, x := range o.r {
		s.AddRange(x.Lo, x.Hi)
	}
}

// Minus returns s \ o as a new set.
func (s Ranges) Minus(o Ranges) Ranges {
	var out Ranges
	j := 0
	for _, x := range s.r {
		lo := x.Lo
		for j < len(o.r) && o.r[j].Hi < lo {
			j++
		}
		for k := j; k < len(o.r) && o.r[k].Lo <= x.Hi && lo <= x.Hi; k++ {
			if o.r[k].Lo > lo {
				out.r = append(out.r, Range{Lo: lo, Hi: o.r[k].Lo - 1})
			}
			lo = max(lo, o.r[k].Hi+1)
		}
		if lo <= x.Hi {
			out.r = append(out.r, Range{Lo: lo, Hi: x.Hi})
		}
	}
	return out
}

// Covers reports whether every element of o is in s.
func (s Ranges) Covers(o Ranges) bool { return o.Minus(s).Empty() }

// Clone returns an independent copy.
func (s Ranges) Clone() Ranges {
	if len(s.r) == 0 {
		return Ranges{}
	}
	return Ranges{r: append([]Range(nil), s.r...)}
}

// Take returns the smallest elements of s, at most n of them.
func (s Ranges) Take(n int64) Ranges {
	var out Ranges
	for _, x := range s.r {
		if n <= 0 {
			break
		}
		hi := x.Hi
		if hi-x.Lo+1 > n {
			hi = x.Lo + n - 1
		}
		out.r = append(out.r, Range{Lo: x.Lo, Hi: hi})
		n -= hi - x.Lo + 1
	}
	return out
}

// String is a compact form for traces: "1-57,60".
func (s Ranges) String() string {
	var b strings.Builder
	for i, x := range s.r {
		if i > 0 {
			b.WriteByte(',')
		}
		if x.Lo == x.Hi {
			fmt.Fprintf(&b, "%d", x.Lo)
		} else {
			fmt.Fprintf(&b, "%d-%d", x.Lo, x.Hi)
		}
	}
	return b.String()
}
