package kafka

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// Histories from Jepsen's own kafka tests (jepsen/test/jepsen/tests/
// kafka_test.clj), with keys as strings and messages as keywords, and the
// cases each must produce. Ops inside cases are shown by history index.

// jop is one event: process, type, f, value.
type jop struct {
	p int64
	t history.Type
	f string
	v any
}

const invoke = history.Invoke

func jh(ops ...jop) history.History {
	h := make(history.History, len(ops))
	for i, o := range ops {
		h[i] = history.Op{Index: int64(i), Time: int64(i), Process: o.p, Type: o.t, F: o.f, Value: o.v}
	}
	return h
}

// sends is a value of send micro-ops: pairs of key and message, a message
// being a bare value or an []any{offset, msg}.
func sends(kvs ...any) []any {
	var out []any
	for i := 0; i < len(kvs); i += 2 {
		out = append(out, []any{kw("send"), kvs[i], kvs[i+1]})
	}
	return out
}

func at(off int64, msg any) []any { return []any{off, msg} }

// polls is a poll value of one poll micro-op per map.
func polls(ms ...*history.Map) []any {
	var out []any
	for _, m := range ms {
		out = append(out, []any{kw("poll"), m})
	}
	return out
}

// pk is a poll map: key, then [offset msg] pairs built with at.
func pk(kvs ...any) *history.Map {
	m := history.NewMap()
	m.String = true
	for i := 0; i < len(kvs); i += 2 {
		m.Set(kvs[i].(string), kvs[i+1])
	}
	return m
}

func pairs(ps ...[]any) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// brief renders a value with every op map replaced by its index.
func brief(v any) any {
	switch x := v.(type) {
	case *history.Map:
		if i, ok := x.Get("index"); ok {
			if _, ok := x.Get("f"); ok {
				return i
			}
		}
		out := history.NewMap()
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			out.Set(k, brief(e))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = brief(e)
		}
		return out
	case history.List:
		out := make(history.List, len(x))
		for i, e := range x {
			out[i] = brief(e)
		}
		return out
	}
	return v
}

func casesOf(t *testing.T, h history.History, typ string) []string {
	t.Helper()
	var out []string
	for _, c := range Analyze(h).Cases(typ) {
		out = append(out, ednOf(t, brief(c.Map())))
	}
	return out
}

var (
	a, b, c, d, f, g = kw("a"), kw("b"), kw("c"), kw("d"), kw("f"), kw("g")
)

func TestJepsenVersionOrders(t *testing.T) {
	h := jh(
		jop{0, ok, FTxn, polls(pk("x", pairs(at(0, a), at(1, b))))},
		jop{1, info, FTxn, sends("x", at(1, c), "x", at(3, b), "x", at(4, d))},
	)
	an := Analyze(h)
	o := an.orders["x"]
	require.Equal(t, []string{`:a`, `:b`, `:b`, `:d`}, idsToText(an, o.byIndex)[:4])
	require.Equal(t, []string{`{:key "x", :offset 1, :index 1, :values (:b :c)}`},
		casesOf(t, h, "inconsistent-offsets"))

	// A real-world example: two sends acknowledged at one offset.
	h = jh(
		jop{379, invoke, FSend, sends("11", int64(641))},
		jop{379, ok, FSend, sends("11", at(537, int64(641)))},
		jop{363, invoke, FSend, sends("11", int64(645))},
		jop{363, ok, FSend, sends("11", at(537, int64(645)))},
	)
	require.Equal(t, []string{`{:key "11", :offset 537, :index 0, :values (641 645)}`},
		casesOf(t, h, "inconsistent-offsets"))
}

func idsToText(an *Analysis, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = render(an.values[id])
	}
	return out
}

func TestJepsenInconsistentOffsetsInfo(t *testing.T) {
	base := []jop{
		{0, invoke, FSend, sends("x", int64(1), "y", int64(1))},
		{0, info, FSend, sends("x", at(0, int64(1)), "y", int64(1))},
		{1, invoke, FSend, sends("x", int64(2))},
		{1, ok, FSend, sends("x", at(0, int64(2)))},
	}
	// The :info send may not have happened: no conflict.
	require.Empty(t, casesOf(t, jh(base...), "inconsistent-offsets"))
	// A poll of its other message proves it did.
	h := jh(append(base, jop{2, invoke, FPoll, pollInv()}, jop{2, ok, FPoll, polls(pk("y", pairs(at(5, int64(1)))))})...)
	require.Equal(t, []string{`{:key "x", :offset 0, :index 0, :values (1 2)}`}, casesOf(t, h, "inconsistent-offsets"))
}

func TestJepsenG1a(t *testing.T) {
	h := jh(
		jop{0, invoke, FSend, sends("x", int64(2), "y", int64(3))},
		jop{0, fail, FSend, sends("x", int64(2), "y", int64(3))},
		jop{1, invoke, FPoll, pollInv()},
		jop{1, ok, FPoll, polls(pk("x", pairs(at(0, int64(2)))))},
	)
	require.Equal(t, []string{`{:key "x", :value 2, :writer 1, :reader 3}`}, casesOf(t, h, "G1a"))
}

func TestJepsenLostWrite(t *testing.T) {
	// a at 0, b at 1 and d at 3 are sent; a poll sees c at 2, so a and b
	// should have been seen.
	h := jh(
		jop{0, invoke, FSend, sends("x", a)},
		jop{0, ok, FSend, sends("x", at(0, a))},
		jop{0, invoke, FSend, sends("x", b, "x", d)},
		jop{0, ok, FSend, sends("x", at(1, b), "x", at(3, d))},
		jop{1, invoke, FSend, sends("x", c)},
		jop{1, info, FSend, sends("x", c)},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(2, c))))},
	)
	require.Equal(t, []string{
		`{:key "x", :value :a, :index 0, :max-read-index 2, :writer 1, :max-read 7}`,
		`{:key "x", :value :b, :index 1, :max-read-index 2, :writer 3, :max-read 7}`,
	}, casesOf(t, h, "lost-write"))

	// Inconsistent offsets: b overwrites a at 0; reading c at 2 means a
	// should have been read too.
	h = jh(
		jop{0, invoke, FSend, sends("x", a)},
		jop{0, ok, FSend, sends("x", at(0, a))},
		jop{0, invoke, FSend, sends("x", b, "x", c)},
		jop{0, ok, FSend, sends("x", at(0, b), "x", at(2, c))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(0, b), at(2, c))))},
	)
	require.Equal(t, []string{`{:key "x", :value :a, :index 0, :max-read-index 1, :writer 1, :max-read 5}`},
		casesOf(t, h, "lost-write"))

	// An :info send is provably committed once a poll reads any of its
	// messages, and then its other messages can be lost.
	ab := []jop{
		{0, invoke, FSend, sends("x", a, "y", b)},
		{0, info, FSend, sends("x", a, "y", at(0, b))},
		{1, invoke, FSend, sends("y", c)},
		{1, info, FSend, sends("y", c)},
	}
	pollC := []jop{{3, invoke, FPoll, pollInv()}, {3, ok, FPoll, polls(pk("y", pairs(at(1, c))))}}
	pollA := []jop{{2, invoke, FPoll, pollInv()}, {2, ok, FPoll, polls(pk("x", pairs(at(0, a))))}}
	require.Empty(t, casesOf(t, jh(append(append([]jop{}, ab...), pollC...)...), "lost-write"))
	h = jh(append(append(append([]jop{}, ab...), pollA...), pollC...)...)
	require.Equal(t, []string{`{:key "y", :value :b, :index 0, :max-read-index 1, :writer 1, :max-read 7}`},
		casesOf(t, h, "lost-write"))
}

func TestJepsenPollSkip(t *testing.T) {
	poll12 := []jop{{0, invoke, FPoll, pollInv()}, {0, ok, FPoll, polls(pk("x", pairs(at(1, a), at(2, b))))}}
	poll3 := []jop{{1, invoke, FPoll, pollInv()}, {1, ok, FPoll, polls(pk("x", pairs(at(3, c))))}}
	poll4 := []jop{{0, invoke, FPoll, pollInv()}, {0, ok, FPoll, polls(pk("x", pairs(at(4, d))))}}
	write6 := []jop{{2, invoke, FSend, sends("x", f)}, {2, ok, FSend, sends("x", at(6, f))}}
	poll7 := []jop{{0, invoke, FPoll, pollInv()}, {0, ok, FPoll, polls(pk("x", pairs(at(7, g))))}}
	writeAll := []jop{{3, invoke, FSend, sends("x", a, "x", b, "x", c, "x", d, "x", g)},
		{3, info, FSend, sends("x", a, "x", b, "x", c, "x", d, "x", g)}}
	assign := func(p int64, t history.Type, keys ...any) []jop {
		return []jop{{p, invoke, FAssign, keys}, {p, t, FAssign, keys}}
	}
	cat := func(parts ...[]jop) history.History {
		var all []jop
		for _, p := range parts {
			all = append(all, p...)
		}
		return jh(all...)
	}
	// Process 0 polls offsets 1-2, 4, 7 while 3 and 6 are known to exist.
	h := cat(poll12, poll3, poll4, write6, poll7, writeAll)
	require.Equal(t, []string{
		`{:key "x", :delta 2, :skipped (:c), :ops [1 5]}`,
		`{:key "x", :delta 2, :skipped (:f), :ops [5 9]}`,
	}, casesOf(t, h, "poll-skip"))
	// Assigns that drop x forget the position (an :info assign too).
	h = cat(poll12, poll3, assign(0, ok, "y"), poll4, assign(0, info, "y"), write6, poll7, writeAll)
	require.Empty(t, casesOf(t, h, "poll-skip"))
	h = cat(poll12, poll3, assign(0, ok, "x", "y"), poll4, assign(0, ok, "x", "y"), write6, poll7, writeAll)
	require.Len(t, casesOf(t, h, "poll-skip"), 2)
	// A subscribe that drops x forgets it too.
	h = cat(poll12, poll3, []jop{{0, invoke, FSubscribe, []any{"y"}}, {0, ok, FSubscribe, []any{"y"}}}, poll4, write6, poll7, writeAll)
	require.Len(t, casesOf(t, h, "poll-skip"), 1)
}

func TestJepsenPollSkipAbortedTxns(t *testing.T) {
	send := func(n int64) []jop {
		var inv, done []any
		for i := int64(0); i < n; i++ {
			inv = append(inv, []any{kw("send"), "x", i})
			done = append(done, []any{kw("send"), "x", at(i, i)})
		}
		return []jop{{0, invoke, FSend, inv}, {0, ok, FSend, done}}
	}
	poll := func(t history.Type, ps ...[]any) []jop {
		return []jop{{1, invoke, FTxn, []any{[]any{kw("poll")}}}, {1, t, FTxn, polls(pk("x", pairs(ps...)))}}
	}
	cat := func(parts ...[]jop) history.History {
		var all []jop
		for _, p := range parts {
			all = append(all, p...)
		}
		return jh(all...)
	}
	// Aborted polls leave the position where the last :ok poll left it.
	h := cat(send(3), poll(ok, at(0, int64(0))), poll(fail, at(1, int64(1)), at(2, int64(2))),
		poll(info, at(1, int64(1)), at(2, int64(2))), poll(ok, at(1, int64(1)), at(2, int64(2))))
	require.Empty(t, Analyze(h).Types())

	h = cat(send(6), poll(ok, at(0, int64(0))), poll(fail, at(1, int64(1)), at(2, int64(2))),
		poll(fail, at(3, int64(3)), at(4, int64(4))), poll(ok, at(5, int64(5))))
	require.Equal(t, []string{
		`{:key "x", :delta 3, :skipped (1 2), :ops [3 7]}`,
		`{:key "x", :delta 5, :skipped (1 2 3 4), :ops [3 9]}`,
	}, casesOf(t, h, "poll-skip"))
}

func TestJepsenNonmonotonicPoll(t *testing.T) {
	send := []jop{{0, invoke, FSend, sends("x", a, "x", b, "x", c, "x", d)},
		{0, ok, FSend, sends("x", a, "x", b, "x", c, "x", d)}}
	p123 := []jop{{0, invoke, FPoll, pollInv()}, {0, ok, FPoll, polls(pk("x", pairs(at(1, a), at(2, b), at(3, c))))}}
	p234 := []jop{{0, invoke, FPoll, pollInv()}, {0, ok, FPoll, polls(pk("x", pairs(at(2, b), at(3, c), at(4, d))))}}
	cat := func(parts ...[]jop) history.History {
		var all []jop
		for _, p := range parts {
			all = append(all, p...)
		}
		return jh(all...)
	}
	want := []string{`{:key "x", :values [:c :b], :delta -1, :ops [3 5]}`}
	require.Equal(t, want, casesOf(t, cat(send, p123, p234), "nonmonotonic-poll"))
	asg := func(keys ...any) []jop { return []jop{{0, invoke, FAssign, keys}, {0, ok, FAssign, keys}} }
	require.Empty(t, casesOf(t, cat(send, p123, asg("y"), p234), "nonmonotonic-poll"))
	require.Equal(t, []string{`{:key "x", :values [:c :b], :delta -1, :ops [3 7]}`},
		casesOf(t, cat(send, p123, asg("x", "y"), p234), "nonmonotonic-poll"))
}

func TestJepsenNonmonotonicSend(t *testing.T) {
	s34 := []jop{{0, invoke, FSend, sends("x", c, "x", d)}, {0, ok, FSend, sends("x", at(3, c), "x", at(4, d))}}
	s12 := []jop{{0, invoke, FSend, sends("x", int64(1), "x", int64(2))}, {0, ok, FSend, sends("x", at(1, a), "x", at(2, b))}}
	cat := func(parts ...[]jop) history.History {
		var all []jop
		for _, p := range parts {
			all = append(all, p...)
		}
		return jh(all...)
	}
	require.Equal(t, []string{`{:key "x", :values [:d :a], :delta -3, :ops [1 3]}`},
		casesOf(t, cat(s34, s12), "nonmonotonic-send"))
	asg := func(t history.Type, keys ...any) []jop {
		return []jop{{0, invoke, FAssign, keys}, {0, t, FAssign, keys}}
	}
	require.Empty(t, casesOf(t, cat(s34, asg(info, "y"), s12), "nonmonotonic-send"))
	require.Len(t, casesOf(t, cat(s34, asg(ok, "x", "y"), s12), "nonmonotonic-send"), 1)
}

func TestJepsenIntPollSkip(t *testing.T) {
	h := jh(
		jop{1, invoke, FSend, sends("x", a, "x", b, "x", d)},
		jop{1, info, FSend, sends("x", a, "x", b, "x", d)},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(1, a), at(4, d))))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(1, a))), pk("x", pairs(at(4, d))))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(2, b))))},
	)
	require.Equal(t, []string{
		`{:key "x", :values [:a :d], :delta 2, :skipped (:b), :op 3}`,
		`{:key "x", :values [:a :d], :delta 2, :skipped (:b), :op 5}`,
	}, casesOf(t, h, "int-poll-skip"))
}

func TestJepsenIntSendSkip(t *testing.T) {
	h := jh(
		jop{0, invoke, FSend, sends("x", a, "x", c)},
		jop{0, ok, FSend, sends("x", at(1, a), "x", c)},
		jop{1, invoke, FSend, sends("x", b)},
		jop{1, info, FSend, sends("x", b)},
		jop{2, invoke, FPoll, pollInv()},
		jop{2, ok, FPoll, polls(pk("x", pairs(at(2, b), at(3, c))))},
	)
	require.Equal(t, []string{`{:key "x", :values [:a :c], :delta 2, :skipped (:b), :op 1}`},
		casesOf(t, h, "int-send-skip"))
}

func TestJepsenIntNonmonotonicPoll(t *testing.T) {
	h := jh(
		jop{0, invoke, FSend, sends("x", a, "x", b, "x", c)},
		jop{0, info, FSend, sends("x", a, "x", b, "x", c)},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(3, c), at(1, a))))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(2, b), at(3, c))), pk("x", pairs(at(3, c))))},
	)
	require.Equal(t, []string{
		`{:key "x", :values [:c :a], :delta -2, :op 3}`,
		`{:key "x", :values [:c :c], :delta 0, :op 5}`,
	}, casesOf(t, h, "int-nonmonotonic-poll"))
}

func TestJepsenIntNonmonotonicSend(t *testing.T) {
	h := jh(
		jop{0, invoke, FSend, sends("x", int64(3), "x", int64(1))},
		jop{0, ok, FSend, sends("x", at(3, c), "x", at(1, a))},
		jop{0, invoke, FSend, sends("y", d, "y", b)},
		jop{0, info, FSend, sends("y", d, "y", b)},
		jop{1, invoke, FSend, sends("y", c)},
		jop{1, info, FSend, sends("y", c)},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("y", pairs(at(2, b), at(3, c), at(4, d))))},
	)
	require.Equal(t, []string{
		`{:key "x", :values [:c :a], :delta -1, :op 1}`,
		`{:key "y", :values [:d :b], :delta -2, :op 3}`,
	}, casesOf(t, h, "int-nonmonotonic-send"))
}

func TestJepsenDuplicate(t *testing.T) {
	h := jh(
		jop{0, invoke, FSend, sends("x", a)},
		jop{0, ok, FSend, sends("x", at(1, a))},
		jop{1, invoke, FSend, sends("x", b)},
		jop{1, info, FSend, sends("x", b)},
		jop{2, invoke, FPoll, pollInv()},
		jop{2, ok, FPoll, polls(pk("x", pairs(at(2, b), at(3, a))))},
	)
	require.Equal(t, []string{`{:key "x", :value :a, :count 2, :offsets [1 3]}`}, casesOf(t, h, "duplicate"))

	// Many values at the same two offsets: every one is a duplicate, and
	// both offsets are inconsistent.
	var ops []jop
	for v := int64(0); v < 10; v++ {
		ops = append(ops, jop{0, invoke, FSend, sends("x", v)}, jop{0, ok, FSend, sends("x", at(0, v))},
			jop{1, invoke, FPoll, pollInv()}, jop{1, ok, FPoll, polls(pk("x", pairs(at(1, v))))})
	}
	h = jh(ops...)
	require.Len(t, casesOf(t, h, "duplicate"), 10)
	require.Equal(t, []string{
		`{:key "x", :offset 0, :index 0, :values (0 1 2 3 4 5 6 7 8 9)}`,
		`{:key "x", :offset 1, :index 1, :values (0 1 2 3 4 5 6 7 8 9)}`,
	}, casesOf(t, h, "inconsistent-offsets"))

	// Aborted polls count; a failed send's own offset does not.
	h = jh(
		jop{0, invoke, FSend, sends("x", int64(0))},
		jop{0, ok, FSend, sends("x", at(1, int64(0)))},
		jop{0, invoke, FSend, sends("x", int64(1))},
		jop{0, fail, FSend, sends("x", at(2, int64(1)))},
		jop{1, invoke, FPoll, pollInv()},
		jop{1, fail, FPoll, polls(pk("x", pairs(at(11, int64(0)), at(12, int64(1)))))},
	)
	require.Equal(t, []string{`{:key "x", :value 0, :count 2, :offsets [1 11]}`}, casesOf(t, h, "duplicate"))
}

func TestJepsenRealtimeLag(t *testing.T) {
	h := jh(
		jop{0, invoke, FAssign, []any{"x"}},
		jop{0, ok, FAssign, []any{"x"}},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", []any{}))},
		jop{0, invoke, FSend, sends("x", a)},
		jop{0, ok, FSend, sends("x", at(0, a))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", []any{}))},
		jop{1, invoke, FSend, sends("x", c, "x", d)},
		jop{1, ok, FSend, sends("x", at(2, c), "x", at(3, d))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, pollInv()},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(0, a), at(1, b))))},
		jop{0, invoke, FAssign, []any{"x", "y"}},
		jop{0, ok, FAssign, []any{"x", "y"}},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk())},
		jop{0, invoke, FAssign, []any{"y"}},
		jop{0, ok, FAssign, []any{"y"}},
		jop{0, invoke, FAssign, []any{"x"}},
		jop{0, ok, FAssign, []any{"x"}},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk())},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(0, a), at(1, b))), pk("x", pairs(at(2, c), at(3, d))))},
		jop{1, invoke, FSend, sends("x", b)},
		jop{1, info, FSend, sends("x", b)},
	)
	an := Analyze(h)
	require.Equal(t, []lag{
		{2, 0, "x", 0}, {6, 0, "x", 1}, {10, 0, "x", 5}, {12, 0, "x", 3},
		{16, 0, "x", 7}, {16, 0, "y", 0}, {22, 0, "x", 17}, {24, 0, "x", 0},
	}, jepsenLags(an))
	require.Equal(t, `{:time 2.2E-8, :process 0, :key "x", :lag 1.7E-8}`, ednOf(t, an.worstLag()))
}

func TestJepsenUnseen(t *testing.T) {
	h := jh(
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk())},
		jop{0, invoke, FSend, sends("x", a, "x", b)},
		jop{0, ok, FSend, sends("x", at(0, a), "x", at(1, b))},
		jop{0, invoke, FPoll, pollInv()},
		jop{0, ok, FPoll, polls(pk("x", pairs(at(0, a))))},
	)
	an := Analyze(h)
	require.Equal(t, `{:time 5, :unseen {"x" 1}, :messages {"x" (:b)}}`, ednOf(t, an.unseenMap()))
	h = append(h, history.Op{Index: 6, Time: 6, Type: invoke, F: FPoll, Value: pollInv()},
		history.Op{Index: 7, Time: 7, Type: ok, F: FPoll, Value: polls(pk("x", pairs(at(1, b))))})
	an = Analyze(h)
	require.NotContains(t, an.Types(), "unseen")
	require.Equal(t, `{:time 7, :unseen {}, :messages {}}`, ednOf(t, an.unseenMap()))
}

func TestJepsenPrecommittedRead(t *testing.T) {
	h := jh(
		jop{0, invoke, FTxn, []any{[]any{kw("send"), "x", a}, []any{kw("poll")}}},
		jop{0, ok, FTxn, []any{[]any{kw("send"), "x", at(0, a)}, []any{kw("poll"), pk("x", pairs(at(0, a)))}}},
	)
	require.Equal(t, []string{`{:op 1, :key "x", :value :a}`}, casesOf(t, h, "precommitted-read"))
}

func TestJepsenG1cPureWR(t *testing.T) {
	h := jh(
		jop{0, invoke, FTxn, []any{[]any{kw("send"), "x", a}, []any{kw("poll")}}},
		jop{1, invoke, FTxn, []any{[]any{kw("send"), "y", b}, []any{kw("poll")}}},
		jop{0, ok, FTxn, []any{[]any{kw("send"), "x", at(0, a)}, []any{kw("poll"), pk("y", pairs(at(0, b)))}}},
		jop{1, ok, FTxn, []any{[]any{kw("send"), "y", at(0, b)}, []any{kw("poll"), pk("x", pairs(at(0, a)))}}},
	)
	got := casesOf(t, h, "G1c")
	require.Len(t, got, 1)
	require.Contains(t, []string{
		`{:type :G1c, :cycle [2 3 2], :steps [{:type :wr, :key "x", :value :a, :a-mop-index 0, :b-mop-index 1} {:type :wr, :key "y", :value :b, :a-mop-index 0, :b-mop-index 1}]}`,
		`{:type :G1c, :cycle [3 2 3], :steps [{:type :wr, :key "y", :value :b, :a-mop-index 0, :b-mop-index 1} {:type :wr, :key "x", :value :a, :a-mop-index 0, :b-mop-index 1}]}`,
	}, got[0])
}
