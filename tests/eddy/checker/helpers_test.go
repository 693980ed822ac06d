package checker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// hb builds a history one event at a time; times are in milliseconds and
// Index is assigned in order:
//
//	h := newHB().inv(0, 0, "add", 1).ok(5, 0, "add", 1).h
type hb struct{ h history.History }

func newHB() *hb { return &hb{} }

func (b *hb) push(ms int64, t history.Type, p int64, f string, v any) *hb {
	b.h = append(b.h, history.Op{
		Index:   int64(len(b.h)),
		Time:    ms * 1_000_000,
		Type:    t,
		Process: p,
		F:       f,
		Value:   v,
	})
	return b
}

func (b *hb) inv(ms, p int64, f string, v any) *hb  { return b.push(ms, history.Invoke, p, f, v) }
func (b *hb) ok(ms, p int64, f string, v any) *hb   { return b.push(ms, history.OK, p, f, v) }
func (b *hb) fail(ms, p int64, f string, v any) *hb { return b.push(ms, history.Fail, p, f, v) }
func (b *hb) info(ms, p int64, f string, v any) *hb { return b.push(ms, history.Info, p, f, v) }

// ns shifts the last event's time by d nanoseconds, for sub-ms cases.
func (b *hb) ns(d int64) *hb { b.h[len(b.h)-1].Time += d; return b }

// final marks the last event :final? true.
func (b *hb) final() *hb { b.h[len(b.h)-1].Final = true; return b }

// exc sets the last event's exception.
func (b *hb) exc(msg string) *hb { b.h[len(b.h)-1].Exception = msg; return b }

// add records a complete add (or broadcast) of v by process p.
func (b *hb) add(f string, p int64, v any, invMs, okMs int64) *hb {
	return b.inv(invMs, p, f, v).ok(okMs, p, f, v)
}

// read records a complete ok read by process p returning elems.
func (b *hb) read(p int64, invMs, okMs int64, elems ...int64) *hb {
	vals := make([]any, len(elems))
	for i, e := range elems {
		vals[i] = e
	}
	return b.inv(invMs, p, "read", nil).ok(okMs, p, "read", vals)
}

// nemesis records a nemesis event (both halves are :info in Jepsen).
func (b *hb) nemesis(ms int64, f string) *hb {
	return b.push(ms, history.Info, history.Nemesis, f, nil)
}

// get follows a path of keys through nested maps.
func get(t *testing.T, m *history.Map, path ...string) any {
	t.Helper()
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(*history.Map)
		require.Truef(t, ok, "at %q: %T is not a map", k, cur)
		v, ok := mm.Get(k)
		require.Truef(t, ok, "missing key %q (have %v)", k, mm.Keys())
		cur = v
	}
	return cur
}

// list turns int64 elements into a history.List.
func list(xs ...int64) history.List {
	out := history.List{}
	for _, x := range xs {
		out = append(out, x)
	}
	return out
}

// qmap builds a quantile map from the five values at 0, 0.5, 0.95, 0.99, 1.
func qmap(q0, q50, q95, q99, q100 int64) *history.Map {
	m := history.NewMap()
	m.NumKeys = true
	return m.Set("0", q0).Set("0.5", q50).Set("0.95", q95).Set("0.99", q99).Set("1", q100)
}

// requireSame compares two history values by history.Key.
func requireSame(t *testing.T, want, got any, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, history.Key(want), history.Key(got), msgAndArgs...)
}
