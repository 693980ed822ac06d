package elle

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"maelkit/tests/eddy/history"
)

// Elle's list-append analysis (elle.list-append). Appended values are
// unique per key, so every read of a key is a prefix of the key's version
// order; the longest read gives that order, and the transactions that
// appended, read and overwrote each version give the ww, wr and rw edges.

// keyOrder is a key's version order: the distinct elements of its longest
// read, with each element's position.
type keyOrder struct {
	values []atom
	index  map[atom]int
}

type listAppend struct {
	txns   []*txn
	orders map[atom]*keyOrder
	writer map[atom]map[atom]*txn   // k -> element -> appending txn (any outcome)
	reader map[atom]map[atom][]*txn // k -> last element (nilAtom: empty) -> ok readers
	sorted map[atom][][]atom        // k -> distinct non-empty reads, by length
}

// initState marks the empty list in reader and as a previous element.
var initState = nilAtom

func analyseListAppend(txns []*txn, an *anomalies) (*listAppend, error) {
	la := &listAppend{txns: txns, orders: map[atom]*keyOrder{},
		writer: map[atom]map[atom]*txn{}, reader: map[atom]map[atom][]*txn{}}
	// Unique appends (Elle throws :duplicate-appends otherwise).
	for _, t := range txns {
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fAppend {
				continue
			}
			w := la.writer[m.k]
			if w == nil {
				w = map[atom]*txn{}
				la.writer[m.k] = w
			}
			if prev, dup := w[m.v]; dup && prev != t {
				return nil, fmt.Errorf("value %s appended to key %s multiple times (ops %d and %d)", m.v, m.k, prev.op.Index, t.op.Index)
			}
			w[m.v] = t
		}
	}
	la.sorted = sortedValues(txns)
	for k, vals := range la.sorted {
		longest := vals[len(vals)-1]
		o := &keyOrder{index: map[atom]int{}}
		for _, e := range longest {
			if _, dup := o.index[e]; !dup {
				o.index[e] = len(o.values)
				o.values = append(o.values, e)
			}
		}
		la.orders[k] = o
	}
	for _, t := range txns {
		if !t.ok() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fRead || !m.known {
				continue
			}
			last := initState
			if len(m.list) > 0 {
				last = m.list[len(m.list)-1]
			}
			r := la.reader[m.k]
			if r == nil {
				r = map[atom][]*txn{}
				la.reader[m.k] = r
			}
			r[last] = append(r[last], t)
		}
	}
	la.incompatibleOrders(an)
	la.duplicates(an)
	la.g1a(an)
	la.g1b(an)
	la.internal(an)
	la.dirtyUpdates(an)
	lostUpdates(txns, ListAppend, an)
	return la, nil
}

// sortedValues is Elle's sorted-values over ok and info transactions: the
// distinct non-empty reads of each key ordered by length, or, for a key
// never read, the single version a lone append implies.
func sortedValues(txns []*txn) map[atom][][]atom {
	seen := map[atom]map[string]bool{}
	out := map[atom][][]atom{}
	appends := map[atom]int{}
	single := map[atom]atom{}
	for _, t := range txns {
		if !t.possible() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			switch {
			case m.f == fAppend:
				appends[m.k]++
				single[m.k] = m.v
			case m.f == fRead && m.known && len(m.list) > 0:
				s := seen[m.k]
				if s == nil {
					s = map[string]bool{}
					seen[m.k] = s
				}
				lk := listKey(m.list)
				if !s[lk] {
					s[lk] = true
					out[m.k] = append(out[m.k], m.list)
				}
			}
		}
	}
	for k, n := range appends {
		if _, read := out[k]; !read && n == 1 {
			out[k] = [][]atom{{single[k]}}
		}
	}
	for _, vals := range out {
		slices.SortStableFunc(vals, func(a, b []atom) int { return len(a) - len(b) })
	}
	return out
}

func sortedAtoms[V any](m map[atom]V) []atom {
	keys := make([]atom, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return atomLess(keys[i], keys[j]) })
	return keys
}

func atomLess(a, b atom) bool {
	if (a.s == "") != (b.s == "") {
		return a.s == ""
	}
	if a.s == "" {
		return a.n < b.n
	}
	return a.s < b.s
}

func isPrefix(a, b []atom) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (la *listAppend) incompatibleOrders(an *anomalies) {
	for _, k := range sortedAtoms(la.sorted) {
		vals := la.sorted[k]
		for i := 1; i < len(vals); i++ {
			if !isPrefix(vals[i-1], vals[i]) {
				an.add("incompatible-order", history.NewMap().
					Set("key", k.value()).
					Set("values", []any{listValue(vals[i-1]), listValue(vals[i])}),
					fmt.Sprintf("Key %s was read as %s and as %s: neither is a prefix of the other, so no single order of appends explains both.",
						k, render(listValue(vals[i-1])), render(listValue(vals[i]))))
				break
			}
		}
	}
}

func (la *listAppend) duplicates(an *anomalies) {
	for _, t := range la.txns {
		if !t.possible() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fRead || !m.known {
				continue
			}
			counts := map[atom]int{}
			for _, e := range m.list {
				counts[e]++
			}
			dups := history.NewMap()
			var names []string
			for _, e := range sortedAtoms(counts) {
				if counts[e] > 1 {
					dups.Set(e.String(), int64(counts[e]))
					names = append(names, fmt.Sprintf("%s (%d times)", e, counts[e]))
				}
			}
			if dups.Len() == 0 {
				continue
			}
			dups.NumKeys = true
			an.add("duplicate-elements", history.NewMap().
				Set("op", opMap(t)).Set("mop", m.raw).Set("duplicates", dups),
				fmt.Sprintf("%s read key %s as %s, which holds %s; every value is appended once.",
					txnName(t), m.k, render(listValue(m.list)), strings.Join(names, ", ")), t)
		}
	}
}

func (la *listAppend) g1a(an *anomalies) {
	for _, t := range la.txns {
		if !t.ok() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fRead || !m.known {
				continue
			}
			for _, e := range m.list {
				w := la.writer[m.k][e]
				if w == nil {
					an.add("garbage-read", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).
						Set("element", e.value()),
						fmt.Sprintf("%s read key %s = %s, which includes %s, a value no transaction appended to that key.",
							txnName(t), m.k, render(listValue(m.list)), e), t)
					continue
				}
				if w.typ != history.Fail {
					continue
				}
				an.add("G1a", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).
					Set("writer", opMap(w)).Set("element", e.value()),
					fmt.Sprintf("%s read key %s = %s, which includes %s, appended by %s, which failed (aborted read).",
						txnName(t), m.k, render(listValue(m.list)), e, txnName(w)), t, w)
			}
		}
	}
}

func (la *listAppend) g1b(an *anomalies) {
	inter := intermediateWrites(la.txns, fAppend)
	for _, t := range la.txns {
		if !t.ok() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != fRead || !m.known || len(m.list) == 0 {
				continue
			}
			last := m.list[len(m.list)-1]
			w := inter[m.k][last]
			if w == nil || w == t {
				continue
			}
			an.add("G1b", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).
				Set("writer", opMap(w)).Set("element", last.value()),
				fmt.Sprintf("%s read key %s = %s, ending in %s, which %s appended before appending again to the same key (intermediate read).",
					txnName(t), m.k, render(listValue(m.list)), last, txnName(w)), t, w)
		}
	}
}

// internal is Elle's op-int-case and op-future-read-case over ok
// transactions.
func (la *listAppend) internal(an *anomalies) {
	for _, t := range la.txns {
		if !t.ok() {
			continue
		}
		type expect struct {
			known  bool   // the full state is known (a read happened)
			suffix []atom // when !known: what the state must end with
			state  []atom
		}
		state := map[atom]*expect{}
		for i := range t.mops {
			m := &t.mops[i]
			switch m.f {
			case fAppend:
				e := state[m.k]
				if e == nil {
					e = &expect{}
					state[m.k] = e
				}
				if e.known {
					e.state = append(slices.Clone(e.state), m.v)
				} else {
					e.suffix = append(e.suffix, m.v)
				}
			case fRead:
				e := state[m.k]
				if e != nil {
					var bad bool
					var expected []any
					if e.known {
						bad = !slices.Equal(e.state, m.list)
						expected = listValue(e.state)
					} else {
						j := len(m.list) - len(e.suffix)
						bad = j < 0 || !slices.Equal(m.list[j:], e.suffix)
						expected = append([]any{"..."}, listValue(e.suffix)...)
					}
					if bad {
						an.add("internal", history.NewMap().Set("op", opMap(t)).Set("mop", m.raw).
							Set("expected", expected),
							fmt.Sprintf("%s read key %s = %s, but its own earlier micro-ops imply %s.",
								txnName(t), m.k, render(listValue(m.list)), render(expected)), t)
						break
					}
				}
				state[m.k] = &expect{known: true, state: m.list}
			}
		}
		// future read: a read that holds a value this txn appends later
		readBy := map[atom]map[atom]*mop{}
		for i := range t.mops {
			m := &t.mops[i]
			switch m.f {
			case fRead:
				if readBy[m.k] == nil {
					readBy[m.k] = map[atom]*mop{}
				}
				for _, e := range m.list {
					if _, ok := readBy[m.k][e]; !ok {
						readBy[m.k][e] = m
					}
				}
			case fAppend:
				if r := readBy[m.k][m.v]; r != nil {
					an.add("future-read", history.NewMap().Set("op", opMap(t)).Set("mop", r.raw).
						Set("element", m.v.value()),
						fmt.Sprintf("%s read key %s = %s, which holds %s, a value it appends only later.",
							txnName(t), m.k, render(listValue(r.list)), m.v), t)
				}
			}
		}
	}
}

// dirtyUpdates is Elle's dirty-update-cases: in a key's version order, a
// committed append that follows a failed one.
func (la *listAppend) dirtyUpdates(an *anomalies) {
	for _, k := range sortedAtoms(la.orders) {
		o := la.orders[k]
		prevType := history.OK // the initial state is committed
		var prev *txn
		var vs []atom
		for _, v := range o.values {
			w := la.writer[k][v]
			if w == nil {
				continue // read but never appended: a garbage read
			}
			switch {
			case prevType == history.Fail && w.typ == history.OK:
				vals := append(slices.Clone(vs), v)
				an.add("dirty-update", history.NewMap().Set("key", k.value()).
					Set("values", listValue(vals)).
					Set("txns", []any{opMap(prev), "...", opMap(w)}),
					fmt.Sprintf("Key %s: %s appended %s on top of %s, written by %s, which failed (dirty update).",
						k, txnName(w), v, render(listValue(vs)), txnName(prev)), prev, w)
				prevType, prev, vs = w.typ, w, []atom{v}
			case w.typ == history.Info:
				vs = append(vs, v)
			case prevType == history.Fail && w.typ == history.Fail:
				vs = append(vs, v)
			default:
				prevType, prev, vs = w.typ, w, []atom{v}
			}
		}
	}
}

// lostUpdates is Elle's lost-update-cases, for both workloads: two
// committed transactions that read the same version of a key and both
// wrote it.
func lostUpdates(txns []*txn, kind Kind, an *anomalies) {
	type group struct {
		k    atom
		read string
		val  any
		txns []*txn
	}
	groups := map[string]*group{}
	var order []string
	for _, t := range txns {
		if !t.ok() {
			continue
		}
		reads := map[atom]*mop{}
		wrote := map[atom]bool{}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f == fRead {
				if _, ok := reads[m.k]; !ok {
					reads[m.k] = m
				}
				continue
			}
			if wrote[m.k] {
				continue
			}
			wrote[m.k] = true
			r := reads[m.k]
			if r == nil {
				continue
			}
			var rk string
			var val any
			switch {
			case kind == RWRegister:
				rk, val = "v"+r.v.String(), r.v.value()
			case r.listNil:
				rk, val = "nil", nil
			default:
				rk, val = "l"+listKey(r.list), listValue(r.list)
			}
			id := m.k.String() + "\x00" + rk
			g := groups[id]
			if g == nil {
				g = &group{k: m.k, read: rk, val: val}
				groups[id] = g
				order = append(order, id)
			}
			g.txns = append(g.txns, t)
		}
	}
	for _, id := range order {
		g := groups[id]
		if len(g.txns) < 2 {
			continue
		}
		ops := make([]any, len(g.txns))
		names := make([]string, len(g.txns))
		for i, t := range g.txns {
			ops[i] = opMap(t)
			names[i] = txnName(t)
		}
		an.add("lost-update", history.NewMap().Set("key", g.k.value()).Set("value", g.val).Set("txns", ops),
			fmt.Sprintf("%s all read key %s = %s and then wrote it, and all committed: all but one update was lost.",
				strings.Join(names, ", "), g.k, render(g.val)), g.txns...)
	}
}

// prevElement is Elle's previously-appended-element: the element appended
// just before v to k, initState when v was first; an append never read
// comes after every element read.
func (la *listAppend) prevElement(k, v atom) atom {
	o := la.orders[k]
	if o == nil {
		return initState
	}
	if i, ok := o.index[v]; ok {
		if i == 0 {
			return initState
		}
		return o.values[i-1]
	}
	if len(o.values) == 0 {
		return initState
	}
	return o.values[len(o.values)-1]
}

// edges adds the ww, wr and rw dependencies between ok and info
// transactions.
func (la *listAppend) edges(b *graphBuilder) {
	for _, t := range la.txns {
		if !t.possible() {
			continue
		}
		for i := range t.mops {
			m := &t.mops[i]
			switch {
			case m.f == fAppend:
				prev := la.prevElement(m.k, m.v)
				if prev != initState {
					if w := la.writer[m.k][prev]; w != nil && w.possible() {
						b.link(w.id, t.id, relWW)
					}
				}
				for _, r := range la.reader[m.k][prev] {
					b.link(r.id, t.id, relRW)
				}
			case m.f == fRead && m.known && len(m.list) > 0:
				if w := la.writer[m.k][m.list[len(m.list)-1]]; w != nil && w.possible() {
					b.link(w.id, t.id, relWR)
				}
			}
		}
	}
}

// explain says why b depends on a through relation r: the step's data and
// its sentence, given the names of a and b.
func (la *listAppend) explain(a, b *txn, r rel) (*history.Map, func(an, bn string) string) {
	for i := range b.mops {
		m := &b.mops[i]
		switch {
		case r == relWW && m.f == fAppend:
			prev := la.prevElement(m.k, m.v)
			if prev != initState && la.writer[m.k][prev] == a {
				return stepMap(r, m.k, prev.value(), m.v.value(), true), func(an, bn string) string {
					return fmt.Sprintf("%s appended %s after %s appended %s to %s", bn, m.v, an, prev, m.k)
				}
			}
		case r == relWR && m.f == fRead && m.known && len(m.list) > 0:
			last := m.list[len(m.list)-1]
			if la.writer[m.k][last] == a {
				return stepMap(r, m.k, last.value(), nil, false), func(an, bn string) string {
					return fmt.Sprintf("%s observed %s's append of %s to key %s", bn, an, last, m.k)
				}
			}
		case r == relRW && m.f == fAppend:
			prev := la.prevElement(m.k, m.v)
			if !slices.Contains(la.reader[m.k][prev], a) {
				continue
			}
			if prev == initState {
				return stepMap(r, m.k, nil, m.v.value(), true), func(an, bn string) string {
					return fmt.Sprintf("%s observed the initial (nil) state of %s, which %s created by appending %s", an, m.k, bn, m.v)
				}
			}
			return stepMap(r, m.k, prev.value(), m.v.value(), true), func(an, bn string) string {
				return fmt.Sprintf("%s did not observe %s's append of %s to %s", an, bn, m.v, m.k)
			}
		}
	}
	return nil, nil
}

// unwrittenInOrder is the message of the assertion Elle's
// dirty-update-cases fails on when a key's version order (its longest
// read) holds an element no transaction appended, or "" when none does.
func (la *listAppend) unwrittenInOrder() string {
	for _, k := range sortedAtoms(la.orders) {
		for _, v := range la.orders[k].values {
			if la.writer[k][v] == nil {
				return fmt.Sprintf("Assert failed: No transaction wrote %s = %s", k, v)
			}
		}
	}
	return ""
}
