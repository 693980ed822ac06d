package elle

import (
	"cmp"
	"fmt"
	"slices"

	"maelkit/tests/eddy/history"
)

// Elle's rw-register analysis (elle.rw-register). Written values are
// unique per key; a read names the transaction that wrote its value (wr).
// Unlike list-append, reads do not reveal the version order, so it is
// inferred: the initial nil comes first, a transaction's writes follow its
// reads (wfr, as Maelstrom configures Elle), and, when the checked models
// make every key linearizable (strict-serializable), a transaction that
// completed before another began saw or wrote an earlier version of every
// key both touched. That last source is what lets G0 show up at all.

// Version-order sources, as Elle names them.
const (
	srcInitial  = "initial-state"
	srcWFR      = "wfr-keys"
	srcRealtime = "linearizable-keys"
)

// versionGraph is one key's inferred version order (small: a key holds at
// most --max-writes-per-key versions plus nil).
type versionGraph struct {
	ids  map[atom]int
	vals []atom
	out  [][]int
	src  map[[2]int]string // why each edge is there
}

func newVersionGraph() *versionGraph {
	return &versionGraph{ids: map[atom]int{}, src: map[[2]int]string{}}
}

func (vg *versionGraph) node(v atom) int {
	if i, ok := vg.ids[v]; ok {
		return i
	}
	vg.ids[v] = len(vg.vals)
	vg.vals = append(vg.vals, v)
	vg.out = append(vg.out, nil)
	return len(vg.vals) - 1
}

func (vg *versionGraph) has(a, b int) bool { return slices.Contains(vg.out[a], b) }

func (vg *versionGraph) add(v1, v2 atom, source string) {
	a, b := vg.node(v1), vg.node(v2)
	if a == b || vg.has(a, b) {
		return
	}
	vg.out[a] = append(vg.out[a], b)
	vg.src[[2]int{a, b}] = source
}

func (vg *versionGraph) remove(a, b int) {
	vg.out[a] = slices.DeleteFunc(vg.out[a], func(x int) bool { return x == b })
	delete(vg.src, [2]int{a, b})
}

// reaches reports whether b is reachable from a.
func (vg *versionGraph) reaches(a, b int) bool {
	seen := make([]bool, len(vg.vals))
	stack := []int{a}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x == b {
			return true
		}
		if seen[x] {
			continue
		}
		seen[x] = true
		stack = append(stack, vg.out[x]...)
	}
	return false
}

// cycle returns the versions on some cycle (all those strongly connected
// with it), or nil when the graph is acyclic. One colouring depth-first
// search finds a back edge; the component around it follows.
func (vg *versionGraph) cycle() []atom {
	const (
		white = iota
		grey
		black
	)
	colour := make([]int8, len(vg.vals))
	type frame struct{ v, next int }
	for root := range vg.vals {
		if colour[root] != white {
			continue
		}
		stack := []frame{{v: root}}
		colour[root] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == len(vg.out[f.v]) {
				colour[f.v] = black
				stack = stack[:len(stack)-1]
				continue
			}
			w := vg.out[f.v][f.next]
			f.next++
			switch colour[w] {
			case grey: // back edge: w is on a cycle
				var scc []atom
				for x := range vg.vals {
					if vg.reaches(w, x) && vg.reaches(x, w) {
						scc = append(scc, vg.vals[x])
					}
				}
				return scc
			case white:
				colour[w] = grey
				stack = append(stack, frame{v: w})
			}
		}
	}
	return nil
}

type rwRegister struct {
	txns    []*txn
	reads   []map[atom]atom          // ext reads per txn id (ok txns only)
	writes  []map[atom]atom          // ext writes per txn id (ok and info)
	writer  map[atom]map[atom]*txn   // k -> v -> ext writer (ok or info)
	reader  map[atom]map[atom][]*txn // k -> v -> ok ext readers
	anyW    map[atom]map[atom]*txn   // k -> v -> any txn writing it, any outcome
	version map[atom]*versionGraph
}

// analyseRWRegister finds the single-transaction and single-key anomalies
// and infers the version order. With Maelstrom's options (both flags
// false) it is Elle's rw-register with wfr-keys: only committed
// transactions take part in wr, ww and rw edges. linearizableKeys adds
// the realtime version order, infoEdges the edges through indeterminate
// writes (eddy's extended inference).
func analyseRWRegister(txns []*txn, linearizableKeys, infoEdges bool, an *anomalies) (*rwRegister, error) {
	rr := &rwRegister{txns: txns, reads: make([]map[atom]atom, len(txns)), writes: make([]map[atom]atom, len(txns)),
		writer: map[atom]map[atom]*txn{}, reader: map[atom]map[atom][]*txn{}, anyW: map[atom]map[atom]*txn{},
		version: map[atom]*versionGraph{}}
	for _, t := range txns {
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fWrite {
				continue
			}
			w := rr.anyW[m.k]
			if w == nil {
				w = map[atom]*txn{}
				rr.anyW[m.k] = w
			}
			if prev, dup := w[m.v]; dup && prev != t {
				return nil, fmt.Errorf("key %s had value %s written by more than one op (ops %d and %d)", m.k, m.v, prev.op.Index, t.op.Index)
			}
			w[m.v] = t
		}
		if !t.possible() {
			continue
		}
		rr.writes[t.id] = extWrites(t)
		if !t.ok() && !infoEdges {
			continue // Elle indexes the writes of ok transactions only
		}
		for k, v := range rr.writes[t.id] {
			if rr.writer[k] == nil {
				rr.writer[k] = map[atom]*txn{}
			}
			rr.writer[k][v] = t
		}
		if t.ok() {
			rr.reads[t.id] = extReads(t)
			for k, v := range rr.reads[t.id] {
				if rr.reader[k] == nil {
					rr.reader[k] = map[atom][]*txn{}
				}
				rr.reader[k][v] = append(rr.reader[k][v], t)
			}
		}
	}
	rr.internal(an)
	rr.g1(an)
	lostUpdates(txns, RWRegister, an)
	rr.versionOrders(linearizableKeys, an)
	return rr, nil
}

func (rr *rwRegister) vg(k atom) *versionGraph {
	g := rr.version[k]
	if g == nil {
		g = newVersionGraph()
		rr.version[k] = g
	}
	return g
}

// internal finds reads inconsistent with the transaction's own earlier
// reads and writes of the key (Elle's op-internal-case: a read of nil is a
// state too, since Elle's (get state k ::unknown) finds the nil it stored,
// so nil then 5 in one transaction is internal there as well), and reads
// of a value the transaction only writes later (future reads).
func (rr *rwRegister) internal(an *anomalies) {
	for _, t := range rr.txns {
		if !t.ok() {
			continue
		}
		state := map[atom]atom{}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f == fWrite {
				state[m.k] = m.v
				continue
			}
			if s, ok := state[m.k]; ok && s != m.v {
				an.add("internal", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).Set("expected", s.value()),
					fmt.Sprintf("%s read key %s = %s, but its own earlier micro-ops left it at %s.", txnName(t), m.k, m.v, s), t)
				break
			}
			state[m.k] = m.v
		}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fRead || m.v.isNil() {
				continue
			}
			if slices.ContainsFunc(t.mops[i+1:], func(w mop) bool { return w.f == fWrite && w.k == m.k && w.v == m.v }) &&
				!slices.ContainsFunc(t.mops[:i], func(w mop) bool { return w.f == fWrite && w.k == m.k && w.v == m.v }) {
				an.add("future-read", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).Set("element", m.v.value()),
					fmt.Sprintf("%s read key %s = %s, a value it writes only later.", txnName(t), m.k, m.v), t)
			}
		}
	}
}

// g1 finds aborted reads (G1a), intermediate reads (G1b) and reads of
// values nobody wrote.
func (rr *rwRegister) g1(an *anomalies) {
	inter := intermediateWrites(rr.txns, fWrite)
	for _, t := range rr.txns {
		if !t.ok() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fRead || m.v.isNil() {
				continue
			}
			w := rr.anyW[m.k][m.v]
			switch {
			case w == nil:
				an.add("garbage-read", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw),
					fmt.Sprintf("%s read key %s = %s, a value no transaction wrote to that key.", txnName(t), m.k, m.v), t)
			case w.typ == history.Fail:
				an.add("G1a", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).Set("writer", opMap(w)),
					fmt.Sprintf("%s read key %s = %s, written by %s, which failed (aborted read).", txnName(t), m.k, m.v, txnName(w)), t, w)
			case inter[m.k][m.v] != nil && inter[m.k][m.v] != t:
				w := inter[m.k][m.v]
				an.add("G1b", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).Set("writer", opMap(w)),
					fmt.Sprintf("%s read key %s = %s, which %s wrote and then overwrote within the same transaction (intermediate read).",
						txnName(t), m.k, m.v, txnName(w)), t, w)
			}
		}
	}
}

// versionOrders infers each key's version graph from its sources, in
// Elle's order; a data source whose edges would make some key's versions
// cyclic is left out for every key, as Elle's version-graphs does, and
// each such key is reported as cyclic-versions.
func (rr *rwRegister) versionOrders(linearizableKeys bool, an *anomalies) {
	// initial state: nil precedes every version
	for _, t := range rr.txns {
		if !t.possible() {
			continue
		}
		for k, v := range rr.writes[t.id] {
			rr.vg(k).add(nilAtom, v, srcInitial)
		}
		for k, v := range rr.reads[t.id] {
			if !v.isNil() {
				rr.vg(k).add(nilAtom, v, srcInitial)
			}
		}
	}
	// writes follow reads, per key as one batch
	wfr := map[atom][][2]atom{}
	for _, t := range rr.txns {
		if !t.ok() {
			continue
		}
		for k, v := range rr.reads[t.id] {
			if w, ok := rr.writes[t.id][k]; ok && !v.isNil() && w != v {
				wfr[k] = append(wfr[k], [2]atom{v, w})
			}
		}
	}
	// Elle adds a source's edges for every key at once and, when any key's
	// versions then form a cycle, leaves the source out for all keys,
	// reporting each cyclic key.
	added := map[atom][][2]int{}
	for _, k := range sortedAtoms(wfr) {
		g := rr.vg(k)
		for _, e := range wfr[k] {
			a, b := g.node(e[0]), g.node(e[1])
			if a != b && !g.has(a, b) {
				g.add(e[0], e[1], srcWFR)
				added[k] = append(added[k], [2]int{a, b})
			}
		}
	}
	cyclic := false
	for _, k := range sortedAtoms(added) {
		scc := rr.vg(k).cycle()
		if scc == nil {
			continue
		}
		cyclic = true
		vals := make([]any, len(scc))
		for i, v := range scc {
			vals[i] = v.value()
		}
		an.add("cyclic-versions", history.NewMap().Set("key", k.value()).Set("scc", vals).
			Set("sources", []any{history.Keyword(srcInitial), history.Keyword(srcWFR)}),
			fmt.Sprintf("Key %s: the versions %s must each precede the next (initial state first, writes after the reads of the same transaction), which is a cycle.",
				k, render(vals)))
	}
	if cyclic {
		for k, es := range added {
			for _, e := range es {
				rr.vg(k).remove(e[0], e[1])
			}
		}
	}
	if linearizableKeys {
		rr.realtimeVersions()
	}
}

// realtimeVersions adds, for every key, that the last version a committed
// transaction saw or wrote precedes the first version seen or written by
// any transaction invoked after it completed. Edges that would close a
// cycle are skipped: the realtime edges of the transaction graph then show
// the violation as a cycle with a clearer explanation.
func (rr *rwRegister) realtimeVersions() {
	type event struct {
		pos      int64
		t        *txn
		complete bool
	}
	byKey := map[atom][]event{}
	for _, t := range rr.txns {
		if !t.possible() {
			continue
		}
		keys := map[atom]bool{}
		for k := range rr.writes[t.id] {
			keys[k] = true
		}
		for k := range rr.reads[t.id] {
			keys[k] = true
		}
		for k := range keys {
			byKey[k] = append(byKey[k], event{pos: t.inv, t: t})
			if t.ok() {
				byKey[k] = append(byKey[k], event{pos: t.comp, t: t, complete: true})
			}
		}
	}
	for _, k := range sortedAtoms(byKey) {
		evs := byKey[k]
		slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.pos, b.pos) })
		g := rr.vg(k)
		var frontier []*txn
		preds := map[*txn][]*txn{}
		for _, e := range evs {
			t := e.t
			if !e.complete {
				first, ok := rr.reads[t.id][k]
				if !ok {
					first = rr.writes[t.id][k]
				}
				for _, p := range frontier {
					last, ok := rr.writes[p.id][k]
					if !ok {
						last = rr.reads[p.id][k]
					}
					a, b := g.node(last), g.node(first)
					if a == b || g.has(a, b) || g.reaches(b, a) {
						continue
					}
					g.add(last, first, srcRealtime)
				}
				if t.ok() {
					preds[t] = slices.Clone(frontier)
				}
				continue
			}
			implied := preds[t]
			delete(preds, t)
			kept := frontier[:0]
			for _, f := range frontier {
				if !slices.Contains(implied, f) {
					kept = append(kept, f)
				}
			}
			frontier = append(kept, t)
		}
	}
}

// edges adds wr edges from reads, and ww and rw edges from the version
// graphs, between ok and info transactions.
func (rr *rwRegister) edges(b *graphBuilder) {
	for _, t := range rr.txns {
		if !t.ok() {
			continue
		}
		for k, v := range rr.reads[t.id] {
			if v.isNil() {
				continue
			}
			if w := rr.writer[k][v]; w != nil {
				b.link(w.id, t.id, relWR)
			}
		}
	}
	for k, g := range rr.version {
		for a := range g.vals {
			for _, c := range g.out[a] {
				v1, v2 := g.vals[a], g.vals[c]
				w2 := rr.writer[k][v2]
				if w2 == nil {
					continue
				}
				if w1 := rr.writer[k][v1]; w1 != nil {
					b.link(w1.id, w2.id, relWW)
				}
				for _, r := range rr.reader[k][v1] {
					b.link(r.id, w2.id, relRW)
				}
			}
		}
	}
}

// explain says why b depends on a through relation r.
func (rr *rwRegister) explain(a, b *txn, r rel) (*history.Map, func(an, bn string) string) {
	if r == relWR {
		for k, v := range rr.writes[a.id] {
			if rv, ok := rr.reads[b.id][k]; ok && rv == v {
				return stepMap(r, k, v.value(), nil, false), func(an, bn string) string {
					return fmt.Sprintf("%s wrote %s = %s, which was read by %s", an, k, v, bn)
				}
			}
		}
		return nil, nil
	}
	from := rr.writes[a.id]
	if r == relRW {
		from = rr.reads[a.id]
	}
	for _, k := range sortedAtoms(from) {
		v1 := from[k]
		v2, ok := rr.writes[b.id][k]
		g := rr.version[k]
		if !ok || g == nil {
			continue
		}
		i, ok1 := g.ids[v1]
		j, ok2 := g.ids[v2]
		if !ok1 || !ok2 || !g.has(i, j) {
			continue
		}
		why := ""
		switch g.src[[2]int{i, j}] {
		case srcInitial:
			why = " (every version follows the initial nil)"
		case srcWFR:
			why = " (a transaction read the first and then wrote the second)"
		case srcRealtime:
			why = " (inferred from real-time order, as each key must be linearizable)"
		}
		if r == relWW {
			return stepMap(r, k, v1.value(), v2.value(), true), func(an, bn string) string {
				return fmt.Sprintf("%s set key %s to %s, and %s set it to %s, which came later in the version order%s", an, k, v1, bn, v2, why)
			}
		}
		return stepMap(r, k, v1.value(), v2.value(), true), func(an, bn string) string {
			return fmt.Sprintf("%s read key %s = %s, and %s set it to %s, which came later in the version order%s", an, k, v1, bn, v2, why)
		}
	}
	return nil, nil
}
