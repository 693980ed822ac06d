package checker

import (
	"fmt"
	"math"
	"sort"

	"maelkit/tests/eddy/history"
)

// maxAcceptableIntervals bounds the acceptable set. Each :info add can
// double the number of intervals (when its delta is larger than the set's
// spread); with Maelstrom's small deltas (-5..4) they merge into one or two
// intervals at once, so the cap is only reached by pathological histories
// (thousands of distinct large deltas). Past it the set is over-approximated
// by filling its smallest gaps, which can only accept more reads; reads
// outside the approximation are still certain errors, and if every read
// lies inside it the verdict is :unknown rather than true.
const maxAcceptableIntervals = 4096

// interval is a closed range of integers.
type interval struct{ lo, hi int64 }

// Counter is Maelstrom's pn-counter / g-counter checker (maelstrom-spec.md
// 6.5). The definite sum is the sum of the deltas of :ok adds; the
// acceptable set starts as {definite sum} and each :info add (or add that
// never completed) with delta d turns it into itself ∪ (itself + d); :fail
// adds are excluded. Only :ok reads flagged final (on the completion or its
// invocation) are checked; each must lie in the acceptable set. No final
// reads is trivially valid. Deltas are the add invocations' values; read
// values must be integers.
//
// Result: {:valid? :errors (the bad read ops, or nil) :final-reads (read
// values) :acceptable ([lo hi] ...)}.
func Counter(h history.History) *history.Map {
	res, err := counter(h)
	if err != nil {
		return errorResult(err.Error())
	}
	return res
}

func counter(h history.History) (*history.Map, error) {
	var definite int64
	var maybe []int64
	var reads []*history.Op
	for _, p := range pairOps(h) {
		inv := &h[p.inv]
		var comp *history.Op
		if p.comp >= 0 {
			comp = &h[p.comp]
		}
		switch inv.F {
		case "add":
			d, ok := history.Int(inv.Value)
			if !ok && comp != nil {
				d, ok = history.Int(comp.Value)
			}
			if !ok {
				return nil, fmt.Errorf("add op %d has a non-integer delta %s", inv.Index, history.Key(inv.Value))
			}
			switch {
			case comp == nil || comp.Type == history.Info:
				maybe = append(maybe, d)
			case comp.Type == history.OK:
				s, ok := addInt(definite, d)
				if !ok {
					return nil, fmt.Errorf("counter sum overflows int64 at op %d", comp.Index)
				}
				definite = s
			}
		case "read":
			if comp != nil && comp.Type == history.OK && (comp.Final || inv.Final) {
				reads = append(reads, comp)
			}
		}
	}

	set := []interval{{definite, definite}}
	approximate := false
	for _, d := range maybe {
		var err error
		set, err = unionShift(set, d)
		if err != nil {
			return nil, err
		}
		if len(set) > maxAcceptableIntervals {
			set = coarsen(set, maxAcceptableIntervals/2)
			approximate = true
		}
	}

	var errs history.List
	finals := history.List{}
	for _, r := range reads {
		v, ok := history.Int(r.Value)
		if !ok {
			return nil, fmt.Errorf("final read op %d has a non-integer value %s", r.Index, history.Key(r.Value))
		}
		finals = append(finals, v)
		if !contains(set, v) {
			errs = append(errs, OpMap(r))
		}
	}
	acceptable := history.List{}
	for _, iv := range set {
		acceptable = append(acceptable, []any{iv.lo, iv.hi})
	}
	var valid any = len(errs) == 0
	m := history.NewMap().Set("valid?", valid)
	if errs == nil {
		m.Set("errors", nil)
	} else {
		m.Set("errors", errs)
	}
	m.Set("final-reads", finals).Set("acceptable", acceptable)
	if approximate && len(errs) == 0 && len(reads) > 0 {
		m.Set("valid?", Unknown)
		m.Set("error", fmt.Sprintf("acceptable set exceeded %d intervals and was over-approximated", maxAcceptableIntervals))
	}
	return m, nil
}

func addInt(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// unionShift returns set ∪ (set + d) as sorted, disjoint, non-adjacent
// intervals. set must be sorted, disjoint and non-adjacent.
func unionShift(set []interval, d int64) ([]interval, error) {
	if d == 0 {
		return set, nil
	}
	shifted := make([]interval, len(set))
	for i, iv := range set {
		lo, ok1 := addInt(iv.lo, d)
		hi, ok2 := addInt(iv.hi, d)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("counter acceptable set overflows int64")
		}
		shifted[i] = interval{lo, hi}
	}
	out := make([]interval, 0, 2*len(set))
	i, j := 0, 0
	for i < len(set) || j < len(shifted) {
		var next interval
		if j >= len(shifted) || (i < len(set) && set[i].lo <= shifted[j].lo) {
			next = set[i]
			i++
		} else {
			next = shifted[j]
			j++
		}
		// Merge overlapping or adjacent integer ranges, as Maelstrom's
		// open-range TreeRangeSet does.
		if n := len(out); n > 0 && (out[n-1].hi == math.MaxInt64 || next.lo <= out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, next.hi)
			continue
		}
		out = append(out, next)
	}
	return out, nil
}

// coarsen fills the smallest gaps of set until at most target intervals
// remain. The result contains set.
func coarsen(set []interval, target int) []interval {
	if len(set) <= target {
		return set
	}
	gaps := make([]uint64, len(set)-1)
	for i := range gaps {
		gaps[i] = uint64(set[i+1].lo) - uint64(set[i].hi)
	}
	sorted := append([]uint64(nil), gaps...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	limit := sorted[len(set)-target-1] // fill every gap up to this size
	out := []interval{set[0]}
	for i := 1; i < len(set); i++ {
		if gaps[i-1] <= limit {
			out[len(out)-1].hi = set[i].hi
			continue
		}
		out = append(out, set[i])
	}
	return out
}

func contains(set []interval, v int64) bool {
	i := sort.Search(len(set), func(i int) bool { return set[i].hi >= v })
	return i < len(set) && set[i].lo <= v
}
