package checker

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"sort"
	"strconv"

	"maelkit/tests/eddy/history"
)

// SetFull is Jepsen's set-full checker, used by broadcast (addF
// "broadcast") and g-set (addF "add"). Add invocations carry the element;
// :ok "read" completions carry the elements read ([]any, history.List, or
// a JSON array). Its rules (maelstrom-spec.md 6.3):
//
//   - only elements whose add was invoked are tracked, from that invocation
//     on; a read counts for an element if it completed after the add was
//     invoked. Values never added are ignored. Adding a value again starts
//     a fresh record for it, as in Jepsen.
//   - known: the earlier in history order of the add's :ok completion and
//     the completion of the first :ok read containing the element.
//   - last-present / last-absent: the counting read with the greatest
//     invocation index that contains / lacks the element.
//   - stable: last-present exists and was invoked after last-absent (or
//     there is none); lost: known, and last-absent was invoked after
//     last-present (or there is none) and after the known op; otherwise
//     never-read.
//   - stable latency = max(0, last-absent invoke time + 1ns (or 0) - known
//     time), lost latency = max(0, last-present invoke time + 1ns (or 0) -
//     known time), truncated to ms. Stale: stable with latency > 0.
//   - valid? false if anything is lost, else :unknown if nothing is
//     stable, else true. Duplicates are never flagged (Jepsen's duplicate
//     check is dead code): :duplicated-count 0, :duplicated {}.
//
// Keys print in Jepsen's (hash-map) order: :worst-stale :duplicated-count
// :valid? :lost-count :lost :stable-count :stale-count :stale
// :never-read-count :stable-latencies :attempt-count :lost-latencies
// :never-read :duplicated. Latency maps are omitted when empty.
//
// Cost: O(total size of reads + reads x elements / 64) time, O(elements +
// reads) memory. Jepsen's own fold touches every tracked element on every
// read; here each read is turned into a bitset over element ids (ids grow
// with add invocation order, so the elements a read counts for are a prefix)
// and the reads are swept once from the latest-invoked down, finding each
// element's last-present and last-absent read with word operations.
func SetFull(h history.History, addF string) *history.Map {
	res, err := setFull(h, addF)
	if err != nil {
		return errorResult(err.Error())
	}
	return res
}

// sfElem is one tracked element: one add invocation of a value.
type sfElem struct {
	value any
	prev  int32 // the earlier record of the same value, or -1
	dead  bool  // superseded by a later add of the same value
}

// sfRead is one :ok read.
type sfRead struct {
	inv, comp int // history positions
	value     any
}

// elemIndex maps element values to their records. Integers in [0, cap) use
// a slice (the generators add 0, 1, 2, ...); other values a map keyed by
// history.Key.
type elemIndex struct {
	elems  []sfElem
	addInv []int   // per record: history position of its add invocation
	dense  []int32 // value -> latest id + 1
	sparse map[string]int32
	cap    int64
}

// intValue returns v as an integer when history.Key would print it as one.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case history.JSON:
		t := string(x)
		if len(t) == 0 || len(t) > 20 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
			return 0, false
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != t {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

func (ix *elemIndex) latest(v any) int32 {
	if n, ok := intValue(v); ok && n >= 0 && n < ix.cap {
		if n < int64(len(ix.dense)) {
			return ix.dense[n] - 1
		}
		return -1
	}
	id, ok := ix.sparse[history.Key(v)]
	if !ok {
		return -1
	}
	return id
}

func (ix *elemIndex) add(v any, pos int) {
	id := int32(len(ix.elems))
	prev := ix.latest(v)
	if prev >= 0 {
		ix.elems[prev].dead = true
	}
	ix.elems = append(ix.elems, sfElem{value: v, prev: prev})
	ix.addInv = append(ix.addInv, pos)
	if n, ok := intValue(v); ok && n >= 0 && n < ix.cap {
		for int64(len(ix.dense)) <= n {
			ix.dense = append(ix.dense, 0)
		}
		ix.dense[n] = id + 1
		return
	}
	ix.sparse[history.Key(v)] = id
}

// at returns the record of v that a read completing at position pos counts
// for: the latest add of v invoked before pos, or -1.
func (ix *elemIndex) at(v any, pos int) int32 {
	id := ix.latest(v)
	for id >= 0 && ix.addInv[id] >= pos {
		id = ix.elems[id].prev
	}
	return id
}

// readElems returns the elements of a read's value.
func readElems(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case history.List:
		return x, nil
	case nil:
		return nil, nil
	case history.JSON:
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(x), &raw); err != nil {
			return nil, fmt.Errorf("read value %s is not a list", x)
		}
		out := make([]any, len(raw))
		for i, r := range raw {
			c, err := history.CanonicalJSON(r)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("read value %s is not a list", history.Key(v))
}

func setFull(h history.History, addF string) (*history.Map, error) {
	ix, known, reads := indexSetOps(h, addF)
	// Sweep reads from the latest-invoked down; rank k is the k-th.
	sort.Slice(reads, func(a, b int) bool { return reads[a].inv > reads[b].inv })
	sw := &sfSweep{h: h, ix: ix, known: known, reads: reads}
	if err := sw.sweep(); err != nil {
		return nil, err
	}
	out, err := sw.outcomes()
	if err != nil {
		return nil, err
	}
	return out.result(sw), nil
}

// indexSetOps indexes every add's element and returns, per element, the
// history position of the op that first knew it (its add's completion, -1
// until then), and the successful reads.
func indexSetOps(h history.History, addF string) (*elemIndex, []int, []sfRead) {
	adds := 0
	for i := range h {
		if h[i].IsClient() && h[i].Type == history.Invoke && h[i].F == addF {
			adds++
		}
	}
	ix := &elemIndex{sparse: map[string]int32{}, cap: min(4*int64(adds)+1024, 1<<24)}
	var known []int // history position of the known op per element, or -1
	var reads []sfRead
	open := map[int64]int{}
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = i
			if op.F == addF {
				ix.add(op.Value, i)
				known = append(known, -1)
			}
			continue
		}
		inv, ok := open[op.Process]
		if !ok {
			continue
		}
		delete(open, op.Process)
		if op.Type != history.OK || h[inv].F != op.F {
			continue
		}
		switch op.F {
		case addF:
			if id := ix.at(h[inv].Value, i); id >= 0 && known[id] < 0 {
				known[id] = i
			}
		case "read":
			reads = append(reads, sfRead{inv: inv, comp: i, value: op.Value})
		}
	}
	return ix, known, reads
}

// sfSweep is the set-full checker's state: per element, the rank of the
// last read (in invocation order, latest first) that saw it present and
// that saw it absent.
type sfSweep struct {
	h                       history.History
	ix                      *elemIndex
	known                   []int
	reads                   []sfRead
	lastPresent, lastAbsent []int32 // rank, or -1
}

// sweep sets lastPresent and lastAbsent of every element from the reads,
// sorted latest-invoked first, with a bit set per read.
func (sw *sfSweep) sweep() error {
	h, ix, known, reads := sw.h, sw.ix, sw.known, sw.reads
	n := len(ix.elems)
	words := (n + 63) / 64
	buf := make([]uint64, words)
	lpUnset := make([]uint64, words)
	laUnset := make([]uint64, words)
	for w := range words {
		lpUnset[w], laUnset[w] = ^uint64(0), ^uint64(0)
	}
	lastPresent := make([]int32, n) // rank, or -1
	lastAbsent := make([]int32, n)
	for i := range n {
		lastPresent[i], lastAbsent[i] = -1, -1
	}
	sw.lastPresent, sw.lastAbsent = lastPresent, lastAbsent
	for k := range reads {
		r := &reads[k]
		elems, err := readElems(r.value)
		if err != nil {
			return fmt.Errorf("op %d: %w", h[r.comp].Index, err)
		}
		// Elements this read counts for: ids whose add was invoked before
		// the read completed, a prefix since ids follow invocation order.
		t := sort.Search(n, func(i int) bool { return ix.addInv[i] >= r.comp })
		for _, v := range elems {
			// Inline fast path for the generators' dense integer elements.
			var id int32
			if x, ok := v.(int64); ok && x >= 0 && x < int64(len(ix.dense)) {
				id = ix.dense[x] - 1
			} else {
				id = ix.latest(v)
			}
			for id >= 0 && ix.addInv[id] >= r.comp {
				id = ix.elems[id].prev
			}
			if id < 0 {
				continue
			}
			buf[id>>6] |= 1 << (uint(id) & 63)
			if known[id] < 0 || r.comp < known[id] {
				known[id] = r.comp
			}
		}
		sw.mark(buf, lpUnset, laUnset, t, int32(k))
	}
	return nil
}

// mark records read rank k: the elements set in buf (which it clears)
// were present, the others of the first t absent; each element keeps the
// first rank seen, the unset masks saying which have none yet.
func (sw *sfSweep) mark(buf, lpUnset, laUnset []uint64, t int, k int32) {
	nw := (t + 63) / 64
	for w := range nw {
		b := buf[w]
		buf[w] = 0
		if lp := lpUnset[w] & b; lp != 0 {
			lpUnset[w] &^= lp
			for ; lp != 0; lp &= lp - 1 {
				sw.lastPresent[w*64+bits.TrailingZeros64(lp)] = k
			}
		}
		la := laUnset[w] &^ b
		if w == nw-1 && t%64 != 0 {
			la &= 1<<(uint(t)%64) - 1
		}
		if la != 0 {
			laUnset[w] &^= la
			for ; la != 0; la &= la - 1 {
				sw.lastAbsent[w*64+bits.TrailingZeros64(la)] = k
			}
		}
	}
}

// sfOutcome is one element's fate.
type sfOutcome struct {
	id            int32
	stable, lost  bool
	stableLatency int64
	lostLatency   int64
}

// sfOutcomes are the elements sorted by fate, in element order.
type sfOutcomes struct {
	live                                       int
	stableVals, lostVals, neverVals, staleVals history.List
	stale                                      []sfOutcome
	stableLat, lostLat                         []int64
}

// outcomes decides every live element's fate, in element order.
func (sw *sfSweep) outcomes() (*sfOutcomes, error) {
	h, ix, known, reads := sw.h, sw.ix, sw.known, sw.reads
	var live []int32
	var vals []any
	for id := range ix.elems {
		if !ix.elems[id].dead {
			live = append(live, int32(id))
			vals = append(vals, ix.elems[id].value)
		}
	}
	keys, err := prepareSort(vals)
	if err != nil {
		return nil, fmt.Errorf("set-full: %w", err)
	}
	order := make([]int, len(live))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return compareSortable(keys[order[a]], keys[order[b]]) < 0 })
	out := &sfOutcomes{live: len(live)}
	for _, o := range order {
		id := live[o]
		kn, lp, la := known[id], sw.lastPresent[id], sw.lastAbsent[id]
		res := sfOutcome{id: id}
		res.stable = lp >= 0 && (la < 0 || la > lp)
		res.lost = !res.stable && kn >= 0 && la >= 0 && (lp < 0 || la < lp) && kn < reads[la].inv
		v := ix.elems[id].value
		switch {
		case res.stable:
			var t int64
			if la >= 0 {
				t = h[reads[la].inv].Time + 1
			}
			res.stableLatency = nanosToMs(max(0, t-h[kn].Time))
			out.stableLat = append(out.stableLat, res.stableLatency)
			out.stableVals = append(out.stableVals, v)
			if res.stableLatency > 0 {
				out.stale = append(out.stale, res)
				out.staleVals = append(out.staleVals, v)
			}
		case res.lost:
			var t int64
			if lp >= 0 {
				t = h[reads[lp].inv].Time + 1
			}
			res.lostLatency = nanosToMs(max(0, t-h[kn].Time))
			out.lostLat = append(out.lostLat, res.lostLatency)
			out.lostVals = append(out.lostVals, v)
		default:
			out.neverVals = append(out.neverVals, v)
		}
	}
	return out, nil
}

// worstStale is Jepsen's (take 8 (reverse (sort-by :stable-latency stale))).
func (out *sfOutcomes) worstStale(sw *sfSweep) history.List {
	stale := out.stale
	sort.SliceStable(stale, func(a, b int) bool { return stale[a].stableLatency < stale[b].stableLatency })
	worst := history.List{}
	for i := len(stale) - 1; i >= 0 && len(worst) < 8; i-- {
		s := stale[i]
		la := sw.lastAbsent[s.id]
		worst = append(worst, history.NewMap().
			Set("element", sw.ix.elems[s.id].value).
			Set("outcome", history.Keyword("stable")).
			Set("stable-latency", s.stableLatency).
			Set("lost-latency", nil).
			Set("known", OpMap(&sw.h[sw.known[s.id]])).
			Set("last-absent", OpMap(&sw.h[sw.reads[la].inv])))
	}
	return worst
}

// result is the checker's map, in Jepsen's key order.
func (out *sfOutcomes) result(sw *sfSweep) *history.Map {
	var valid any = true
	switch {
	case len(out.lostVals) > 0:
		valid = false
	case len(out.stableVals) == 0:
		valid = Unknown
	}
	m := history.NewMap().
		Set("worst-stale", out.worstStale(sw)).
		Set("duplicated-count", int64(0)).
		Set("valid?", valid).
		Set("lost-count", int64(len(out.lostVals))).
		Set("lost", nonNilList(out.lostVals)).
		Set("stable-count", int64(len(out.stableVals))).
		Set("stale-count", int64(len(out.staleVals))).
		Set("stale", nonNilList(out.staleVals)).
		Set("never-read-count", int64(len(out.neverVals)))
	if q := quantiles(out.stableLat); q != nil {
		m.Set("stable-latencies", q)
	}
	m.Set("attempt-count", int64(out.live))
	if q := quantiles(out.lostLat); q != nil {
		m.Set("lost-latencies", q)
	}
	return m.
		Set("never-read", nonNilList(out.neverVals)).
		Set("duplicated", history.NewMap())
}

// nonNilList makes an empty list print as () rather than nil.
func nonNilList(l history.List) history.List {
	if l == nil {
		return history.List{}
	}
	return l
}
