package elle

import (
	"testing"

	"maelkit/tests/eddy/history"
)

// tb builds transactional histories by hand: start invokes a transaction
// (reads carry nil, as Maelstrom's invocations do), end completes it.
type tb struct {
	h    history.History
	full map[int64][]any // process -> completed micro-ops of its open txn
}

func newTB() *tb { return &tb{full: map[int64][]any{}} }

func (b *tb) push(t history.Type, p int64, v any) {
	i := int64(len(b.h))
	b.h = append(b.h, history.Op{Index: i, Time: i * 1_000_000, Type: t, Process: p, F: "txn", Value: v})
}

// start invokes a transaction whose ok completion will hold mops.
func (b *tb) start(p int64, mops ...[]any) *tb {
	inv := make([]any, len(mops))
	full := make([]any, len(mops))
	for i, m := range mops {
		full[i] = m
		if m[0] == history.Keyword("r") {
			inv[i] = []any{m[0], m[1], nil}
		} else {
			inv[i] = m
		}
	}
	b.full[p] = full
	b.push(history.Invoke, p, inv)
	return b
}

// end completes process p's transaction with type t.
func (b *tb) end(p int64, t history.Type) *tb {
	full := b.full[p]
	delete(b.full, p)
	if t == history.OK {
		b.push(t, p, full)
		return b
	}
	for i := len(b.h) - 1; i >= 0; i-- {
		if b.h[i].Process == p && b.h[i].Type == history.Invoke {
			b.push(t, p, b.h[i].Value)
			return b
		}
	}
	panic("no invocation")
}

// txn runs a transaction to completion at once.
func (b *tb) txn(p int64, t history.Type, mops ...[]any) *tb { return b.start(p, mops...).end(p, t) }

// Micro-ops: r reads (value nil, an int64, or a list of int64), a appends,
// w writes.
func r(k int64, v any) []any { return []any{history.Keyword("r"), k, v} }
func a(k, v int64) []any     { return []any{history.Keyword("append"), k, v} }
func w(k, v int64) []any     { return []any{history.Keyword("w"), k, v} }

func l(xs ...int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func get(t *testing.T, m *history.Map, k string) any {
	t.Helper()
	v, ok := m.Get(k)
	if !ok {
		t.Fatalf("no key %q in %v", k, render(m))
	}
	return v
}

func anomalyTypes(m *history.Map) []string {
	raw, ok := m.Get("anomaly-types")
	if !ok {
		return nil
	}
	var out []string
	for _, x := range raw.([]any) {
		out = append(out, string(x.(history.Keyword)))
	}
	return out
}
