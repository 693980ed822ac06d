package elle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"maelkit/tests/eddy/history"
)

// atom is a key or a value, comparable and cheap: an integer when s is
// empty, otherwise the canonical text of any other value (nilAtom for nil).
// Maelstrom's txn workloads only ever carry integers; other values come
// from misbehaving nodes and must still compare correctly.
type atom struct {
	n int64
	s string
}

// nilAtom is the nil value: a register's initial state.
var nilAtom = atom{s: "nil"}

func (a atom) isNil() bool { return a == nilAtom }

// value turns the atom back into a history value for results.
func (a atom) value() any {
	switch {
	case a.s == "":
		return a.n
	case a.isNil():
		return nil
	}
	return history.JSON(a.s)
}

func (a atom) String() string {
	if a.s == "" {
		return strconv.FormatInt(a.n, 10)
	}
	return a.s
}

func atomOf(v any) (atom, error) {
	switch x := v.(type) {
	case nil:
		return nilAtom, nil
	case int64:
		return atom{n: x}, nil
	case int:
		return atom{n: int64(x)}, nil
	case history.JSON:
		if n, ok := history.Int(x); ok {
			return atom{n: n}, nil
		}
		if x == "null" {
			return nilAtom, nil
		}
		return atom{s: string(x)}, nil
	case string, bool, history.Keyword:
		return atom{s: history.Key(x)}, nil
	}
	return atom{}, fmt.Errorf("unsupported value %v (%T)", v, v)
}

// Micro-operation kinds.
const (
	fRead   byte = 'r'
	fAppend byte = 'a'
	fWrite  byte = 'w'
)

// mop is one micro-operation [f k v] of a transaction.
type mop struct {
	f byte
	k atom
	// v is an append's or write's value, or a register read's value
	// (nilAtom for nil).
	v atom
	// list is a list-append read's value; listNil marks a read of nil.
	list    []atom
	listNil bool
	// known is false for reads of transactions that did not complete ok:
	// their value is the invocation's nil, not an observation.
	known bool
	raw   any // the micro-op as the history holds it, for results
}

// txn is one transaction: a client invocation and its completion. The
// completion (or the invocation, when none was recorded) stands for the
// transaction in results, as in Elle.
type txn struct {
	id      int32 // position in analysis.txns
	typ     history.Type
	process int64
	inv     int64 // history index of the invocation
	invTime int64 // and its time
	comp    int64 // history index of the completion; -1 if none
	op      *history.Op
	mops    []mop
}

// ok and possible are Elle's h/ok? and h/possible (ok or info).
func (t *txn) ok() bool       { return t.typ == history.OK }
func (t *txn) possible() bool { return t.typ == history.OK || t.typ == history.Info }

// parseTxns pairs invocations with completions and decodes every :txn op.
// It fails on a history Elle could not read (unknown micro-op kinds,
// malformed values): the checker then answers :unknown.
func parseTxns(h history.History, kind Kind) ([]*txn, error) {
	open := map[int64]int{} // process -> position of its open invocation
	var txns []*txn
	add := func(inv, comp int) error {
		t := &txn{id: int32(len(txns)), inv: h[inv].Index, invTime: h[inv].Time, comp: -1,
			process: h[inv].Process, typ: history.Info, op: &h[inv]}
		value := h[inv].Value
		if comp >= 0 {
			t.comp, t.typ, t.op = h[comp].Index, h[comp].Type, &h[comp]
			value = h[comp].Value
		}
		mops, err := parseMops(value, kind, t.typ == history.OK)
		if err != nil {
			return fmt.Errorf("op %d: %w", t.op.Index, err)
		}
		t.mops = mops
		txns = append(txns, t)
		return nil
	}
	for i := range h {
		op := &h[i]
		if !op.IsClient() || op.F != "txn" {
			continue
		}
		if op.Type == history.Invoke {
			if j, dup := open[op.Process]; dup {
				if err := add(j, -1); err != nil {
					return nil, err
				}
			}
			open[op.Process] = i
			continue
		}
		j, ok := open[op.Process]
		if !ok {
			return nil, fmt.Errorf("op %d: completion without an invocation", op.Index)
		}
		delete(open, op.Process)
		if err := add(j, i); err != nil {
			return nil, err
		}
	}
	// Invocations that never completed are indeterminate, like :info.
	var rest []int
	for _, j := range open {
		rest = append(rest, j)
	}
	slices.Sort(rest)
	for _, j := range rest {
		if err := add(j, -1); err != nil {
			return nil, err
		}
	}
	return txns, nil
}

func mopName(v any) (string, bool) {
	switch x := v.(type) {
	case history.Keyword:
		return string(x), true
	case string:
		return x, true
	}
	return "", false
}

func parseMops(v any, kind Kind, ok bool) ([]mop, error) {
	items, isList := v.([]any)
	if !isList {
		return nil, fmt.Errorf("transaction value %s is not a list of micro-ops", render(v))
	}
	out := make([]mop, 0, len(items))
	for _, it := range items {
		m, err := parseMop(it, kind, ok)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseMop(it any, kind Kind, ok bool) (mop, error) {
	t, isList := it.([]any)
	if !isList || len(t) != 3 {
		return mop{}, fmt.Errorf("micro-op %s is not [f k v]", render(it))
	}
	name, _ := mopName(t[0])
	k, err := atomOf(t[1])
	if err != nil {
		return mop{}, fmt.Errorf("micro-op %s: key: %w", render(it), err)
	}
	m := mop{k: k, raw: it}
	switch {
	case name == "r":
		m.f, m.known = fRead, ok
		if kind == ListAppend {
			if t[2] == nil {
				m.listNil = true
				break
			}
			elems, isList := t[2].([]any)
			if !isList {
				return mop{}, fmt.Errorf("micro-op %s: a list-append read must return a list or nil", render(it))
			}
			m.list = make([]atom, len(elems))
			for i, e := range elems {
				if m.list[i], err = atomOf(e); err != nil {
					return mop{}, fmt.Errorf("micro-op %s: %w", render(it), err)
				}
			}
			break
		}
		if m.v, err = atomOf(t[2]); err != nil {
			return mop{}, fmt.Errorf("micro-op %s: %w", render(it), err)
		}
	case name == "append" && kind == ListAppend, name == "w" && kind == RWRegister:
		m.f = fAppend
		if kind == RWRegister {
			m.f = fWrite
		}
		if m.v, err = atomOf(t[2]); err != nil {
			return mop{}, fmt.Errorf("micro-op %s: %w", render(it), err)
		}
		if m.v.isNil() {
			return mop{}, fmt.Errorf("micro-op %s writes nil", render(it))
		}
	default:
		return mop{}, fmt.Errorf("micro-op %s: unexpected kind %v for %s", render(it), t[0], kind)
	}
	return m, nil
}

// listKey is a list's identity as a map key.
func listKey(l []atom) string {
	var b strings.Builder
	for i, a := range l {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a.s == "" {
			b.WriteString(strconv.FormatInt(a.n, 10))
		} else {
			b.WriteString(strconv.Quote(a.s))
		}
	}
	return b.String()
}

func listValue(l []atom) []any {
	out := make([]any, len(l))
	for i, a := range l {
		out[i] = a.value()
	}
	return out
}

// extReads and extWrites are Jepsen's txn/ext-reads and ext-writes for a
// register transaction: the first read of each key that precedes any write
// of it, and the last write of each key.
func extReads(t *txn) map[atom]atom {
	var reads map[atom]atom
	written := map[atom]bool{}
	for i := range t.mops {
		m := &t.mops[i]
		switch m.f {
		case fWrite:
			written[m.k] = true
		case fRead:
			if written[m.k] {
				continue
			}
			if _, seen := reads[m.k]; seen {
				continue
			}
			if reads == nil {
				reads = map[atom]atom{}
			}
			reads[m.k] = m.v
		}
	}
	return reads
}

func extWrites(t *txn) map[atom]atom {
	var writes map[atom]atom
	for i := range t.mops {
		if m := &t.mops[i]; m.f == fWrite {
			if writes == nil {
				writes = map[atom]atom{}
			}
			writes[m.k] = m.v
		}
	}
	return writes
}

// intermediateWrites maps key -> value -> txn for the writes (micro-ops of
// function f) that their transaction followed with another write to the
// same key: reading one is an intermediate read (G1b).
func intermediateWrites(txns []*txn, f byte) map[atom]map[atom]*txn {
	inter := map[atom]map[atom]*txn{}
	for _, t := range txns {
		final := map[atom]atom{}
		for i := range t.mops {
			m := &t.mops[i]
			if m.f != f {
				continue
			}
			if prev, ok := final[m.k]; ok {
				if inter[m.k] == nil {
					inter[m.k] = map[atom]*txn{}
				}
				inter[m.k][prev] = t
			}
			final[m.k] = m.v
		}
	}
	return inter
}
