package checker

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

func TestMerge(t *testing.T) {
	cases := []struct {
		in   []any
		want any
	}{
		{nil, true},
		{[]any{true}, true},
		{[]any{true, true}, true},
		{[]any{true, Unknown}, Unknown},
		{[]any{Unknown, true}, Unknown},
		{[]any{Unknown, false}, false},
		{[]any{false, Unknown}, false},
		{[]any{true, false, true}, false},
		{[]any{true, nil}, Unknown},
		{[]any{"weird"}, Unknown},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, Merge(tc.in...), "%v", tc.in)
	}
}

func TestCompose(t *testing.T) {
	ok := history.NewMap().Set("valid?", true)
	r := Compose(
		Part{Key: "workload", Result: history.NewMap().Set("valid?", Unknown)},
		Part{Key: "net", Check: func() *history.Map { return ok }},
		Part{Key: "stats", Check: func() *history.Map { panic("boom") }},
		Part{Key: "perf", Result: ok},
		Part{Key: "exceptions", Check: func() *history.Map { return nil }},
		Part{Key: "availability", Result: ok},
	)
	require.Equal(t, []string{"perf", "timeline", "exceptions", "stats", "availability", "net", "workload", "valid?"}, r.Keys())
	require.Equal(t, true, get(t, r, "timeline", "valid?"))
	require.Equal(t, Unknown, get(t, r, "stats", "valid?"))
	require.Contains(t, get(t, r, "stats", "error"), "boom")
	require.Equal(t, Unknown, get(t, r, "exceptions", "valid?"))
	require.Equal(t, Unknown, get(t, r, "valid?"))

	r = Compose(
		Part{Key: "extra", Result: history.NewMap().Set("valid?", false)},
		Part{Key: "workload", Result: ok},
	)
	require.Equal(t, []string{"timeline", "workload", "extra", "valid?"}, r.Keys())
	require.Equal(t, false, get(t, r, "valid?"))
}

func TestStats(t *testing.T) {
	h := newHB().
		inv(0, 0, "add", int64(1)).ok(1, 0, "add", int64(1)).
		inv(2, 0, "add", int64(2)).info(3, 0, "add", int64(2)).
		inv(4, 1, "read", nil).fail(5, 1, "read", nil).
		nemesis(6, "start-partition").nemesis(7, "start-partition").
		inv(8, 2, "crash", nil).info(9, 2, "crash", nil).h
	r := Stats(h)
	require.Equal(t, []string{"valid?", "count", "ok-count", "fail-count", "info-count", "by-f"}, r.Keys())
	require.Equal(t, false, get(t, r, "valid?")) // read never succeeded
	require.Equal(t, int64(4), get(t, r, "count"))
	require.Equal(t, int64(1), get(t, r, "ok-count"))
	require.Equal(t, int64(1), get(t, r, "fail-count"))
	require.Equal(t, int64(2), get(t, r, "info-count"))
	byF := get(t, r, "by-f").(*history.Map)
	require.Equal(t, []string{"add", "crash", "read"}, byF.Keys())
	require.Equal(t, true, get(t, byF, "add", "valid?"))
	require.Equal(t, int64(2), get(t, byF, "add", "count"))
	require.Equal(t, false, get(t, byF, "read", "valid?"))

	r = Stats(h[:4])
	require.Equal(t, true, get(t, r, "valid?"))
	r = Stats(nil)
	require.Equal(t, true, get(t, r, "valid?"))
	require.Equal(t, false, get(t, byF, "crash", "valid?"))
	require.Equal(t, int64(1), get(t, byF, "crash", "info-count"))

	// Crashes never succeed and stay in :by-f, but, as in Maelstrom, only
	// the other fs decide the verdict.
	noRead := append(append(history.History{}, h[:4]...), h[8:]...)
	r = Stats(noRead)
	require.Equal(t, true, get(t, r, "valid?"))
	require.Equal(t, []string{"add", "crash"}, get(t, r, "by-f").(*history.Map).Keys())
	require.Equal(t, false, get(t, r, "by-f", "crash", "valid?"))
	require.Equal(t, int64(3), get(t, r, "count"))
}

func TestAvailability(t *testing.T) {
	// 9 ok of 10 client invocations, plus nemesis events that do not count.
	b := newHB().nemesis(0, "start-partition")
	for i := range int64(10) {
		b.inv(i, 0, "read", nil)
		if i == 3 {
			b.fail(i, 0, "read", nil)
		} else {
			b.ok(i, 0, "read", nil)
		}
	}
	b.nemesis(20, "stop-partition")
	h := b.h
	parse := func(s string) AvailabilityTarget {
		a, err := ParseAvailability(s)
		require.NoError(t, err)
		return a
	}
	cases := []struct {
		target string
		h      history.History
		valid  bool
	}{
		{"", h, true},
		{"total", h, false},
		{"0.89", h, true},
		// 0.9f is 0.899999976 as a double: Maelstrom says 9/10 misses 0.9.
		{"0.9", h, false},
		{"0.5", h, true},
		{"0", h, true},
		{"total", h[:3], true},
		{"1", h[:3], true},
	}
	for _, tc := range cases {
		r := Availability(tc.h, parse(tc.target))
		require.Equal(t, []string{"valid?", "ok-fraction"}, r.Keys())
		require.Equal(t, tc.valid, get(t, r, "valid?"), "target %q", tc.target)
	}
	require.Equal(t, history.Float(0.9), get(t, Availability(h, AvailabilityTarget{}), "ok-fraction"))
	require.Equal(t, history.Float(1), get(t, Availability(h[:3], AvailabilityTarget{}), "ok-fraction"))
	require.Equal(t, int64(1), get(t, Availability(nil, AvailabilityTarget{}), "ok-fraction"))

	for _, bad := range []string{"x", "1.5", "-0.1", "NaN"} {
		_, err := ParseAvailability(bad)
		require.Error(t, err, bad)
	}
}

func TestJavaFloat(t *testing.T) {
	// Printed like Maelstrom's (float x): the shortest single-precision
	// digits. The first two are the figures on fly.io/dist-sys/3d (msg-count
	// 129592 and 125512 over 1990 ops).
	cases := map[float64]string{
		129592.0 / 1990.0: "65.121605",
		125512.0 / 1990.0: "63.071358",
		37551.0 / 2027.0:  "18.525408",
		1.0 / 3.0:         "0.33333334",
		0.9:               "0.9",
		17.065:            "17.065",
	}
	for x, want := range cases {
		require.Equal(t, want, strconv.FormatFloat(float64(javaFloat(x)), 'g', -1, 64), "%v", x)
	}
}

func TestPerf(t *testing.T) {
	h := newHB().
		inv(0, 0, "read", nil).ok(10, 0, "read", nil).
		inv(10, 0, "read", nil).fail(40, 0, "read", nil).
		inv(40, 0, "add", int64(1)).info(45, 0, "add", int64(1)).
		inv(50, 1, "add", int64(2)).h // never completes: no latency
	r := Perf(h)
	require.Equal(t, []string{"latency-graph", "rate-graph", "valid?", "latency-quantiles"}, r.Keys())
	require.Equal(t, true, get(t, r, "valid?"))
	q := get(t, r, "latency-quantiles").(*history.Map)
	require.Equal(t, []string{"add", "read"}, q.Keys())
	requireSame(t, qmap(5, 5, 5, 5, 5), get(t, q, "add"))
	requireSame(t, qmap(10, 30, 30, 30, 30), get(t, q, "read"))
}

func TestExceptions(t *testing.T) {
	require.Equal(t, []string{"valid?"}, Exceptions(nil).Keys())
	h := newHB().
		inv(0, 0, "echo", "x").info(1, 0, "echo", "x").exc("malformed-rpc-response: bad field").
		inv(2, 1, "echo", "y").info(3, 1, "echo", "y").exc("node-crashed: gone").
		inv(4, 2, "echo", "z").info(5, 2, "echo", "z").exc("malformed-rpc-response: other").
		inv(6, 3, "echo", "w").info(7, 3, "echo", "w").h // no exception
	r := Exceptions(h)
	require.Equal(t, []string{"valid?", "exceptions"}, r.Keys())
	ex := get(t, r, "exceptions").(history.List)
	require.Len(t, ex, 2)
	first := ex[0].(*history.Map)
	require.Equal(t, []string{"count", "class", "example"}, first.Keys())
	require.Equal(t, int64(2), get(t, first, "count"))
	require.Equal(t, "malformed-rpc-response", get(t, first, "class"))
	require.Equal(t, int64(1), get(t, first, "example", "index"))
	require.Equal(t, "malformed-rpc-response: bad field", get(t, first, "example", "exception"))
	require.Equal(t, "node-crashed", get(t, ex[1].(*history.Map), "class"))
}

func TestOpMap(t *testing.T) {
	op := history.Op{Index: 3, Time: 5, Type: history.Info, Process: history.Nemesis, F: "start-partition",
		Value: "x", Error: history.Keyword("net-timeout"), Final: true}
	m := OpMap(&op)
	require.Equal(t, []string{"index", "time", "type", "process", "f", "value", "final?", "error"}, m.Keys())
	require.Equal(t, history.Keyword("nemesis"), get(t, m, "process"))
	require.Equal(t, history.Keyword("info"), get(t, m, "type"))
}

// ev builds a journal event.
func ev(kind journal.Kind, id int64, src, dest string) journal.Event {
	return journal.Event{Kind: kind, ID: id, Src: src, Dest: dest, Body: json.RawMessage(`{}`)}
}

func TestNet(t *testing.T) {
	events := []journal.Event{
		// init and init_ok: client traffic.
		ev(journal.Send, 0, "c0", "n0"), ev(journal.Recv, 0, "c0", "n0"),
		ev(journal.Send, 1, "n0", "c0"), ev(journal.Recv, 1, "n0", "c0"),
		// gossip delivered, and one dropped by a partition (sent, never received).
		ev(journal.Send, 2, "n0", "n1"), ev(journal.Recv, 2, "n0", "n1"),
		ev(journal.Send, 3, "n1", "n0"),
		// a service call and its reply count as server traffic.
		ev(journal.Send, 4, "n1", "lin-kv"), ev(journal.Recv, 4, "n1", "lin-kv"),
		ev(journal.Send, 5, "lin-kv", "n1"), ev(journal.Recv, 5, "lin-kv", "n1"),
	}
	h := newHB().nemesis(0, "start-partition").
		inv(0, 0, "read", nil).ok(1, 0, "read", nil).
		inv(2, 1, "read", nil).final().ok(3, 1, "read", nil).h
	r := Net(events, h)
	require.Equal(t, []string{"all", "clients", "servers", "valid?"}, r.Keys())
	require.Equal(t, true, get(t, r, "valid?"))
	all := get(t, r, "all").(*history.Map)
	require.Equal(t, []string{"send-count", "recv-count", "msg-count", "msgs-per-op"}, all.Keys())
	require.Equal(t, int64(6), get(t, all, "send-count"))
	require.Equal(t, int64(5), get(t, all, "recv-count"))
	require.Equal(t, int64(6), get(t, all, "msg-count"))
	require.Equal(t, history.Float(3), get(t, all, "msgs-per-op")) // 6 messages / 2 ops
	clients := get(t, r, "clients").(*history.Map)
	require.Equal(t, []string{"send-count", "recv-count", "msg-count"}, clients.Keys())
	require.Equal(t, int64(2), get(t, clients, "msg-count"))
	servers := get(t, r, "servers").(*history.Map)
	require.Equal(t, int64(4), get(t, servers, "send-count"))
	require.Equal(t, int64(3), get(t, servers, "recv-count"))
	require.Equal(t, int64(4), get(t, servers, "msg-count"))
	require.Equal(t, history.Float(2), get(t, servers, "msgs-per-op"))

	// No client ops: no msgs-per-op. Sparse ids use the map path.
	r = Net([]journal.Event{ev(journal.Send, 1<<40, "n0", "n1"), ev(journal.Send, 1<<40, "n0", "n1")}, nil)
	require.Equal(t, []string{"send-count", "recv-count", "msg-count"}, get(t, r, "all").(*history.Map).Keys())
	require.Equal(t, int64(1), get(t, r, "servers", "msg-count"))
	require.Equal(t, int64(2), get(t, r, "servers", "send-count"))
}

func BenchmarkNet(b *testing.B) {
	// 1M messages, each sent and delivered: 2M events, 200k client ops.
	const msgs = 1_000_000
	events := make([]journal.Event, 0, 2*msgs)
	nodes := []string{"n0", "n1", "n2", "n3", "n4", "c7", "lin-kv"}
	for i := range int64(msgs) {
		src, dest := nodes[i%7], nodes[(i*3+1)%7]
		events = append(events, journal.Event{Kind: journal.Send, ID: i, Src: src, Dest: dest})
		events = append(events, journal.Event{Kind: journal.Recv, ID: i, Src: src, Dest: dest})
	}
	h := make(history.History, 0, 200_000)
	for i := range int64(100_000) {
		h = append(h, history.Op{Index: 2 * i, Type: history.Invoke, Process: i % 25, F: "read"},
			history.Op{Index: 2*i + 1, Type: history.OK, Process: i % 25, F: "read"})
	}
	b.ReportAllocs()
	for b.Loop() {
		r := Net(events, h)
		if v, _ := r.Get("valid?"); v != true {
			b.Fatal("not valid")
		}
	}
}

// TestApplyStrict: eddy-only findings fail their checker only under
// --strict; maps without :valid? (run-level notes) do not vote.
func TestApplyStrict(t *testing.T) {
	wl := history.NewMap().Set("valid?", true)
	AddEddyOnly(wl, "garbage-read", "a value nobody wrote")
	res := Compose(Part{Key: "workload", Result: wl}, Part{Key: "stats", Result: history.NewMap().Set("valid?", true)})
	res.Set("eddy", history.NewMap().Set("warnings", []any{"a note"}))
	v, _ := res.Get("valid?")
	require.Equal(t, true, v)
	require.Len(t, EddyOnly(wl), 1)
	require.True(t, ApplyStrict(res))
	v, _ = res.Get("valid?")
	require.Equal(t, false, v)
	v, _ = wl.Get("valid?")
	require.Equal(t, false, v)

	clean := Compose(Part{Key: "workload", Result: history.NewMap().Set("valid?", true)})
	clean.Set("eddy", history.NewMap())
	require.False(t, ApplyStrict(clean))
	v, _ = clean.Get("valid?")
	require.Equal(t, true, v)
}
