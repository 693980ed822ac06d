package elle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

var fourModels = [4]string{"read-uncommitted", "read-committed", "serializable", "strict-serializable"}

const (
	ok   = history.OK
	fail = history.Fail
	info = history.Info
)

// anomalyCase is a hand-made history with one anomaly (bad) and a
// near-identical one without it (good). want is bad's verdict under
// read-uncommitted, read-committed, serializable and strict-serializable;
// good must be valid under all four. typ must be among bad's anomaly types
// under the strictest model.
type anomalyCase struct {
	name string
	kind Kind
	bad  func(b *tb)
	good func(b *tb)
	want [4]any
	typ  string
}

var (
	onlySSER = [4]any{true, true, true, false}
	fromSER  = [4]any{true, true, false, false}
	fromRC   = [4]any{true, false, false, false}
	all      = [4]any{false, false, false, false}
)

func TestAnomalies(t *testing.T) {
	cases := []anomalyCase{
		// --- list-append ---
		{name: "G0 append", kind: ListAppend, want: all, typ: "G0",
			bad: func(b *tb) {
				b.start(1, a(1, 1), a(2, 2)).start(2, a(1, 2), a(2, 1)).start(3, r(1, l(1, 2)), r(2, l(1, 2)))
				b.end(1, ok).end(2, ok).end(3, ok)
			},
			good: func(b *tb) {
				b.start(1, a(1, 1), a(2, 2)).start(2, a(1, 2), a(2, 1)).start(3, r(1, l(1, 2)), r(2, l(2, 1)))
				b.end(1, ok).end(2, ok).end(3, ok)
			}},
		{name: "G1a append", kind: ListAppend, want: fromRC, typ: "G1a",
			bad: func(b *tb) {
				b.start(1, a(1, 1)).start(2, r(1, l(1))).end(1, fail).end(2, ok)
			},
			good: func(b *tb) {
				b.start(1, a(1, 1)).start(2, r(1, l(1))).end(1, ok).end(2, ok)
			}},
		{name: "G1b append", kind: ListAppend, want: fromRC, typ: "G1b",
			bad: func(b *tb) {
				b.start(1, a(1, 1), a(1, 2)).start(2, r(1, l(1))).end(1, ok).end(2, ok)
			},
			good: func(b *tb) {
				b.start(1, a(1, 1), a(1, 2)).start(2, r(1, l(1, 2))).end(1, ok).end(2, ok)
			}},
		{name: "G1c append", kind: ListAppend, want: fromRC, typ: "G1c",
			bad: func(b *tb) {
				b.start(1, a(1, 1), r(2, l(1))).start(2, a(2, 1), r(1, l(1))).end(1, ok).end(2, ok)
			},
			good: func(b *tb) {
				b.start(1, a(1, 1), r(2, nil)).start(2, a(2, 1), r(1, l(1))).end(1, ok).end(2, ok)
			}},
		{name: "G-single append (read skew)", kind: ListAppend, want: fromSER, typ: "G-single",
			bad: func(b *tb) {
				b.start(1, r(1, nil), r(2, l(1))).start(2, a(1, 1), a(2, 1)).end(1, ok).end(2, ok)
			},
			good: func(b *tb) {
				b.start(1, r(1, l(1)), r(2, l(1))).start(2, a(1, 1), a(2, 1)).end(1, ok).end(2, ok)
			}},
		{name: "G2-item append (write skew)", kind: ListAppend, want: fromSER, typ: "G2-item",
			bad: func(b *tb) {
				b.start(1, r(1, nil), a(2, 1)).start(2, r(2, nil), a(1, 1)).end(1, ok).end(2, ok)
			},
			good: func(b *tb) {
				b.start(1, r(1, nil), a(2, 1)).start(2, r(2, l(1)), a(1, 1)).end(1, ok).end(2, ok)
			}},
		{name: "G-nonadjacent append", kind: ListAppend, want: fromSER, typ: "G-nonadjacent",
			bad: func(b *tb) {
				b.start(1, r(1, nil), r(4, l(1))).start(2, a(1, 1), a(2, 1)).
					start(3, r(2, l(1)), r(3, nil)).start(4, a(3, 1), a(4, 1))
				b.end(1, ok).end(2, ok).end(3, ok).end(4, ok)
			},
			good: func(b *tb) {
				b.start(1, r(1, nil), r(4, l(1))).start(2, a(1, 1), a(2, 1)).
					start(3, r(2, l(1)), r(3, l(1))).start(4, a(3, 1), a(4, 1))
				b.end(1, ok).end(2, ok).end(3, ok).end(4, ok)
			}},
		{name: "internal append", kind: ListAppend, want: fromSER, typ: "internal",
			bad:  func(b *tb) { b.txn(1, ok, a(1, 1), r(1, nil)) },
			good: func(b *tb) { b.txn(1, ok, a(1, 1), r(1, l(1))) }},
		{name: "future read append", kind: ListAppend, want: fromRC, typ: "future-read",
			bad:  func(b *tb) { b.txn(1, ok, r(1, l(1)), a(1, 1)) },
			good: func(b *tb) { b.txn(1, ok, a(1, 1), r(1, l(1))) }},
		{name: "dirty update", kind: ListAppend, want: fromRC, typ: "dirty-update",
			bad: func(b *tb) {
				b.start(1, a(1, 1)).start(2, a(1, 2)).start(3, r(1, l(1, 2))).end(1, fail).end(2, ok).end(3, ok)
			},
			good: func(b *tb) {
				b.start(1, a(1, 1)).start(2, a(1, 2)).start(3, r(1, l(1, 2))).end(1, ok).end(2, ok).end(3, ok)
			}},
		{name: "lost update append", kind: ListAppend, want: fromSER, typ: "lost-update",
			bad: func(b *tb) {
				b.start(1, r(1, nil), a(1, 1)).start(2, r(1, nil), a(1, 2)).start(3, r(1, l(1, 2)))
				b.end(1, ok).end(2, ok).end(3, ok)
			},
			good: func(b *tb) {
				b.start(1, r(1, nil), a(1, 1)).start(2, r(1, l(1)), a(1, 2)).start(3, r(1, l(1, 2)))
				b.end(1, ok).end(2, ok).end(3, ok)
			}},
		{name: "duplicate elements", kind: ListAppend, want: all, typ: "duplicate-elements",
			bad:  func(b *tb) { b.start(1, a(1, 1)).start(2, r(1, l(1, 1))).end(1, ok).end(2, ok) },
			good: func(b *tb) { b.start(1, a(1, 1)).start(2, r(1, l(1))).end(1, ok).end(2, ok) }},
		{name: "incompatible order", kind: ListAppend, want: fromRC, typ: "incompatible-order",
			bad: func(b *tb) {
				b.start(1, a(1, 1)).start(2, a(1, 2)).start(3, r(1, l(1, 2))).start(4, r(1, l(2, 1)))
				b.end(1, ok).end(2, ok).end(3, ok).end(4, ok)
			},
			good: func(b *tb) {
				b.start(1, a(1, 1)).start(2, a(1, 2)).start(3, r(1, l(1, 2))).start(4, r(1, l(1, 2)))
				b.end(1, ok).end(2, ok).end(3, ok).end(4, ok)
			}},
		{name: "G-single-realtime append (stale read)", kind: ListAppend, want: onlySSER, typ: "G-single-realtime",
			bad:  func(b *tb) { b.txn(1, ok, a(1, 1)).txn(2, ok, r(1, nil)) },
			good: func(b *tb) { b.start(1, a(1, 1)).start(2, r(1, nil)).end(1, ok).end(2, ok) }},
		{name: "G1c-realtime append (read from the future)", kind: ListAppend, want: onlySSER, typ: "G1c-realtime",
			bad:  func(b *tb) { b.txn(1, ok, r(1, l(1))).txn(2, ok, a(1, 1)) },
			good: func(b *tb) { b.start(2, a(1, 1)).start(1, r(1, l(1))).end(1, ok).end(2, ok) }},
		{name: "G0-realtime append", kind: ListAppend, want: onlySSER, typ: "G0-realtime",
			// 2 appended after 1 in the version order, yet the txn appending
			// 1 began after the one appending 2 completed.
			bad: func(b *tb) {
				b.txn(2, ok, a(1, 2)).txn(1, ok, a(1, 1)).start(3, r(1, l(1, 2))).end(3, ok)
			},
			good: func(b *tb) {
				b.txn(1, ok, a(1, 1)).txn(2, ok, a(1, 2)).start(3, r(1, l(1, 2))).end(3, ok)
			}},

		// --- rw-register ---
		{name: "G0 register (versions from writes-follow-reads)", kind: RWRegister, want: all, typ: "G0",
			bad: func(b *tb) {
				b.start(1, w(1, 1), r(2, 2), w(2, 1)).start(2, r(1, 1), w(1, 2), w(2, 2))
				b.end(1, ok).end(2, ok)
			},
			good: func(b *tb) {
				b.start(1, w(1, 1), r(2, nil), w(2, 1)).start(2, r(1, 1), w(1, 2), w(2, 2))
				b.end(1, ok).end(2, ok)
			}},
		{name: "G1a register", kind: RWRegister, want: fromRC, typ: "G1a",
			bad:  func(b *tb) { b.start(1, w(1, 1)).start(2, r(1, 1)).end(1, fail).end(2, ok) },
			good: func(b *tb) { b.start(1, w(1, 1)).start(2, r(1, 1)).end(1, ok).end(2, ok) }},
		{name: "G1b register", kind: RWRegister, want: fromRC, typ: "G1b",
			bad:  func(b *tb) { b.start(1, w(1, 1), w(1, 2)).start(2, r(1, 1)).end(1, ok).end(2, ok) },
			good: func(b *tb) { b.start(1, w(1, 1), w(1, 2)).start(2, r(1, 2)).end(1, ok).end(2, ok) }},
		{name: "G1c register", kind: RWRegister, want: fromRC, typ: "G1c",
			bad:  func(b *tb) { b.start(1, w(1, 1), r(2, 1)).start(2, w(2, 1), r(1, 1)).end(1, ok).end(2, ok) },
			good: func(b *tb) { b.start(1, w(1, 1), r(2, nil)).start(2, w(2, 1), r(1, 1)).end(1, ok).end(2, ok) }},
		{name: "G-single register (read skew)", kind: RWRegister, want: fromSER, typ: "G-single",
			bad:  func(b *tb) { b.start(1, w(1, 1), w(2, 1)).start(2, r(1, nil), r(2, 1)).end(1, ok).end(2, ok) },
			good: func(b *tb) { b.start(1, w(1, 1), w(2, 1)).start(2, r(1, 1), r(2, 1)).end(1, ok).end(2, ok) }},
		{name: "G2-item register (write skew)", kind: RWRegister, want: fromSER, typ: "G2-item",
			bad:  func(b *tb) { b.start(1, r(1, nil), w(2, 1)).start(2, r(2, nil), w(1, 1)).end(1, ok).end(2, ok) },
			good: func(b *tb) { b.start(1, r(1, nil), w(2, 1)).start(2, r(2, 1), w(1, 1)).end(1, ok).end(2, ok) }},
		{name: "internal register", kind: RWRegister, want: fromSER, typ: "internal",
			bad:  func(b *tb) { b.start(2, w(1, 2)).start(1, w(1, 1), r(1, 2)).end(2, ok).end(1, ok) },
			good: func(b *tb) { b.start(2, w(1, 2)).start(1, w(1, 1), r(1, 1)).end(2, ok).end(1, ok) }},
		{name: "lost update register", kind: RWRegister, want: fromSER, typ: "lost-update",
			bad:  func(b *tb) { b.start(1, r(1, nil), w(1, 1)).start(2, r(1, nil), w(1, 2)).end(1, ok).end(2, ok) },
			good: func(b *tb) { b.start(1, r(1, nil), w(1, 1)).start(2, r(1, 1), w(1, 2)).end(1, ok).end(2, ok) }},
		{name: "cyclic versions", kind: RWRegister, want: all, typ: "cyclic-versions",
			bad:  func(b *tb) { b.start(1, r(1, 1), w(1, 2)).start(2, r(1, 2), w(1, 1)) },
			good: func(b *tb) { b.start(3, w(1, 1)).start(1, r(1, 1), w(1, 2)).start(2, r(1, 2), w(1, 3)) }},
		{name: "G-single-realtime register (stale read)", kind: RWRegister, want: onlySSER, typ: "G-single-realtime",
			bad:  func(b *tb) { b.txn(1, ok, w(1, 1)).txn(2, ok, r(1, nil)) },
			good: func(b *tb) { b.start(1, w(1, 1)).start(2, r(1, nil)).end(1, ok).end(2, ok) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, variant := range []struct {
				name  string
				build func(b *tb)
				want  [4]any
			}{{"bad", tc.bad, tc.want}, {"good", tc.good, [4]any{true, true, true, true}}} {
				h := withBackground(tc.kind, variant.build)
				for i, m := range fourModels {
					res := Check(h, Options{Kind: tc.kind, Models: []string{m}})
					require.Equal(t, variant.want[i], get(t, res, "valid?"),
						"%s history under %s: %s\nhistory: %s", variant.name, m, render(res), renderHistory(h))
					if variant.name == "bad" && i == 3 {
						require.Contains(t, anomalyTypes(res), tc.typ, "%s", render(res))
					}
				}
			}
		})
	}
}

// withBackground adds an independent committed write and its read, so
// that no history has an empty dependency graph, then completes every
// transaction the case left open, in invocation order.
func withBackground(kind Kind, build func(b *tb)) history.History {
	b := newTB()
	if kind == ListAppend {
		b.start(100, a(99, 1)).start(101, r(99, l(1)))
	} else {
		b.start(100, w(99, 1)).start(101, r(99, 1))
	}
	build(b)
	var open []int64
	for p := range b.full {
		open = append(open, p)
	}
	slices.Sort(open)
	for _, p := range open {
		b.end(p, ok)
	}
	return b.h
}

func renderHistory(h history.History) string {
	var s strings.Builder
	for _, op := range h {
		fmt.Fprintf(&s, "\n  %d %s p%d %s", op.Index, op.Type, op.Process, render(op.Value))
	}
	return s.String()
}

// TestResultShape checks Elle's result keys and a readable explanation.
func TestResultShape(t *testing.T) {
	b := newTB()
	b.start(1, r(1, nil), a(2, 1)).start(2, r(2, nil), a(1, 1)).end(1, ok).end(2, ok)
	var files = map[string]string{}
	res := Check(b.h, Options{Kind: ListAppend, Models: []string{"serializable"},
		WriteFile: func(name string, data []byte) error { files[name] = string(data); return nil }})
	require.Equal(t, []string{"valid?", "anomaly-types", "anomalies", "not", "also-not", "anomaly-counts"}, res.Keys())
	require.Equal(t, false, get(t, res, "valid?"))
	require.Equal(t, []any{history.Keyword("G2-item")}, get(t, res, "anomaly-types"))
	require.Equal(t, []any{history.Keyword("repeatable-read")}, get(t, res, "not"))
	also := get(t, res, "also-not").([]any)
	require.Contains(t, also, history.Keyword("serializable"))
	require.Contains(t, also, history.Keyword("strict-serializable"))
	cases := get(t, get(t, res, "anomalies").(*history.Map), "G2-item").([]any)
	require.Len(t, cases, 1)
	text, _ := cases[0].(*history.Map).Get("explanation")
	require.Contains(t, text, "T2 < T3, because T2 observed the initial (nil) state of 1, which T3 created by appending 1")
	require.Contains(t, text, "However, T3 < T2")
	require.Contains(t, files["elle/G2-item.txt"], "Let:\n  T2 = {:index 2")
	require.Contains(t, files["elle/G2-item.txt"], ": a contradiction!")

	valid := Check(withBackground(ListAppend, func(*tb) {}), Options{Kind: ListAppend})
	require.Equal(t, []string{"valid?"}, valid.Keys())
}

func TestUnknownVerdicts(t *testing.T) {
	// No dependency at all: Elle's :empty-transaction-graph makes the
	// list-append result unknown, and Maelstrom's rw-register wrapper false.
	la := newTB().txn(1, ok, r(1, nil)).h
	require.Equal(t, checker.Unknown, get(t, Check(la, Options{Kind: ListAppend, Models: []string{"serializable"}}), "valid?"))
	rw := newTB().txn(1, ok, r(1, nil)).h
	require.Equal(t, false, get(t, Check(rw, Options{Kind: RWRegister, Models: []string{"serializable"}}), "valid?"))

	bad := history.History{{Index: 0, Type: history.Invoke, Process: 0, F: "txn", Value: []any{[]any{history.Keyword("x"), int64(1), nil}}}}
	res := Check(bad, Options{Kind: ListAppend})
	require.Equal(t, checker.Unknown, get(t, res, "valid?"))
	require.Contains(t, get(t, res, "error"), "unexpected kind")

	dup := newTB().txn(1, ok, a(1, 1)).txn(2, ok, a(1, 1)).h
	require.Contains(t, get(t, Check(dup, Options{Kind: ListAppend}), "error"), "appended to key 1 multiple times")
}

func TestParseModels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "strict-serializable", want: []string{"strict-serializable"}},
		{in: "serializable , read-committed", want: []string{"serializable", "read-committed"}},
		{in: "serializable,read-committed", want: []string{"serializable", "read-committed"}},
		{in: ":serializable", want: []string{"serializable"}},
		{in: "serializible", err: `unknown consistency model "serializible"`},
		{in: " , ", err: "no consistency model"},
	} {
		got, err := ParseModels(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
}

// TestProhibitedSets pins the spec's prohibited sets for the four models.
func TestProhibitedSets(t *testing.T) {
	ru := Prohibited([]string{"read-uncommitted"})
	require.Subset(t, ru, []string{"G0", "duplicate-elements", "cyclic-versions"})
	require.NotContains(t, ru, "G1a")
	rc := Prohibited([]string{"read-committed"})
	require.Subset(t, rc, []string{"G0", "G1a", "G1b", "G1c", "incompatible-order", "dirty-update", "future-read"})
	require.NotContains(t, rc, "G-single")
	require.NotContains(t, rc, "internal")
	ser := Prohibited([]string{"serializable"})
	require.Subset(t, ser, []string{"internal", "G-single", "G-nonadjacent", "G2-item", "lost-update", "G1c"})
	require.NotContains(t, ser, "G-single-realtime")
	require.NotContains(t, ser, "G0-realtime")
	sser := Prohibited([]string{"strict-serializable"})
	require.Subset(t, sser, []string{"G0-realtime", "G1c-realtime", "G-single-realtime", "G2-item-realtime", "G-nonadjacent-realtime"})
}

// TestProcessVariant: session models add process edges; a process that
// cannot read its own earlier append shows G-single-process.
func TestProcessVariant(t *testing.T) {
	h := withBackground(ListAppend, func(b *tb) { b.txn(1, ok, a(1, 1)).txn(1, ok, r(1, nil)) })
	res := Check(h, Options{Kind: ListAppend, Models: []string{"strong-session-serializable"}})
	require.Equal(t, false, get(t, res, "valid?"), "%s", render(res))
	require.Contains(t, anomalyTypes(res), "G-single-process")
	res = Check(h, Options{Kind: ListAppend, Models: []string{"serializable"}})
	require.Equal(t, true, get(t, res, "valid?"), "%s", render(res))
}

// TestCycleSearchTimeout: a component whose search runs out of time
// reports :cycle-search-timeout and still some cycle; Maelstrom's
// rw-register wrapper drops the timeout from the anomaly types.
func TestCycleSearchTimeout(t *testing.T) {
	for _, kind := range []Kind{ListAppend, RWRegister} {
		h := synthTxns(5, 3000, 10, kind, false)
		res := Check(h, Options{Kind: kind, CycleSearchTimeout: time.Nanosecond})
		require.Equal(t, false, get(t, res, "valid?"), "%s", kind)
		anoms := get(t, res, "anomalies").(*history.Map)
		_, timedOut := anoms.Get("cycle-search-timeout")
		require.True(t, timedOut, "%s: %v", kind, anoms.Keys())
		if kind == RWRegister {
			require.NotContains(t, anomalyTypes(res), "cycle-search-timeout")
		} else {
			require.Contains(t, anomalyTypes(res), "cycle-search-timeout")
		}
	}
}
