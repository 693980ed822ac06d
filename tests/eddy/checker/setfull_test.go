package checker

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

func TestSetFullKeyOrder(t *testing.T) {
	h := newHB().add("add", 0, int64(1), 0, 1).read(0, 2, 3, 1).h
	r := SetFull(h, "add")
	require.Equal(t, []string{"worst-stale", "duplicated-count", "valid?", "lost-count", "lost",
		"stable-count", "stale-count", "stale", "never-read-count", "stable-latencies",
		"attempt-count", "never-read", "duplicated"}, r.Keys())

	// With a lost element, :lost-latencies sits between :attempt-count and
	// :never-read (Clojure's hash order).
	h = newHB().add("add", 0, int64(1), 0, 1).read(0, 2, 3, 1).read(0, 4, 5).h
	r = SetFull(h, "add")
	require.Equal(t, []string{"worst-stale", "duplicated-count", "valid?", "lost-count", "lost",
		"stable-count", "stale-count", "stale", "never-read-count",
		"attempt-count", "lost-latencies", "never-read", "duplicated"}, r.Keys())
}

func TestSetFullRules(t *testing.T) {
	type want struct {
		valid      any
		stable     int64
		lost       history.List
		neverRead  history.List
		stale      history.List
		stableLat  *history.Map // nil: key absent
		lostLat    *history.Map
		worstStale []int64 // elements, in order
	}
	cases := []struct {
		name string
		h    history.History
		f    string
		want want
	}{
		{
			name: "stable",
			h:    newHB().add("add", 0, int64(1), 0, 1).read(1, 2, 3, 1).h,
			f:    "add",
			want: want{valid: true, stable: 1, stableLat: qmap(0, 0, 0, 0, 0)},
		},
		{
			name: "lost: known, then absent from the latest-invoked read",
			h:    newHB().add("add", 0, int64(1), 0, 1).read(1, 2, 3, 1).read(1, 10, 11).h,
			f:    "add",
			// lost latency: last-present invoke (2ms) + 1ns - known (1ms) -> 1ms.
			want: want{valid: false, lost: list(1), lostLat: qmap(1, 1, 1, 1, 1)},
		},
		{
			name: "never read: nothing stable gives unknown",
			h:    newHB().add("add", 0, int64(1), 0, 1).h,
			f:    "add",
			want: want{valid: history.Keyword("unknown"), neverRead: list(1)},
		},
		{
			name: "a read that fails to see an add it overlaps is not a loss",
			// The read is invoked before the add is known and completes after.
			h: newHB().inv(0, 0, "add", int64(1)).inv(1, 1, "read", nil).ok(2, 0, "add", int64(1)).
				ok(3, 1, "read", []any{}).h,
			f:    "add",
			want: want{valid: history.Keyword("unknown"), neverRead: list(1)},
		},
		{
			name: "latest-invoked read decides across nodes: present wins",
			// Final reads: p1 invoked at 100 lacks 1, p2 invoked at 101 has it.
			h: newHB().add("broadcast", 0, int64(1), 0, 10).
				inv(100, 1, "read", nil).inv(101, 2, "read", nil).
				ok(102, 2, "read", []any{int64(1)}).ok(103, 1, "read", []any{}).h,
			f: "broadcast",
			// stable latency: 100ms + 1ns - 10ms -> 90ms.
			want: want{valid: true, stable: 1, stale: list(1), stableLat: qmap(90, 90, 90, 90, 90), worstStale: []int64{1}},
		},
		{
			name: "latest-invoked read decides across nodes: absent wins",
			h: newHB().add("broadcast", 0, int64(1), 0, 10).
				inv(100, 2, "read", nil).inv(101, 1, "read", nil).
				ok(102, 2, "read", []any{int64(1)}).ok(103, 1, "read", []any{}).h,
			f: "broadcast",
			// lost latency: 100ms + 1ns - 10ms -> 90ms.
			want: want{valid: false, lost: list(1), lostLat: qmap(90, 90, 90, 90, 90)},
		},
		{
			name: "known time comes from a read completing before the add's ok",
			h: newHB().inv(0, 0, "add", int64(1)).
				read(1, 1, 2, 1). // known at 2ms
				read(1, 5, 6).    // absent, invoked at 5ms
				read(1, 8, 9, 1). // present again
				ok(20, 0, "add", int64(1)).h,
			f: "add",
			// stable latency: 5ms + 1ns - 2ms -> 3ms.
			want: want{valid: true, stable: 1, stale: list(1), stableLat: qmap(3, 3, 3, 3, 3), worstStale: []int64{1}},
		},
		{
			name: "stale latency truncates to whole ms, with Jepsen's +1ns",
			// known at 10ms; last absent read invoked at 10ms + 999999ns:
			// +1ns makes exactly 1ms, so the element is stale.
			h: newHB().add("add", 0, int64(1), 0, 10).
				inv(10, 1, "read", nil).ns(999_999).ok(11, 1, "read", []any{}).
				read(1, 12, 13, 1).
				add("add", 0, int64(2), 20, 30).
				inv(30, 1, "read", nil).ns(999_998).ok(31, 1, "read", []any{int64(1)}).
				read(1, 32, 33, 1, 2).h,
			f:    "add",
			want: want{valid: true, stable: 2, stale: list(1), stableLat: qmap(0, 1, 1, 1, 1), worstStale: []int64{1}},
		},
		{
			name: "values never added are ignored, duplicates are not flagged",
			h:    newHB().add("add", 0, int64(1), 0, 1).read(1, 2, 3, 1, 1, 99, 1).h,
			f:    "add",
			want: want{valid: true, stable: 1, stableLat: qmap(0, 0, 0, 0, 0)},
		},
		{
			name: "a read completing before the add was invoked does not count",
			h:    newHB().read(1, 0, 1).add("add", 0, int64(1), 2, 3).read(1, 4, 5, 1).h,
			f:    "add",
			want: want{valid: true, stable: 1, stableLat: qmap(0, 0, 0, 0, 0)},
		},
		{
			name: "failed and info reads are ignored; info adds can still be stable",
			h: newHB().inv(0, 0, "add", int64(1)).info(1, 0, "add", int64(1)).
				inv(2, 1, "read", nil).fail(3, 1, "read", nil).
				read(1, 4, 5, 1).h,
			f:    "add",
			want: want{valid: true, stable: 1, stableLat: qmap(0, 0, 0, 0, 0)},
		},
		{
			name: "JSON elements equal integer adds",
			h: newHB().add("add", 0, int64(7), 0, 1).
				inv(2, 1, "read", nil).ok(3, 1, "read", []any{history.JSON("7")}).h,
			f:    "add",
			want: want{valid: true, stable: 1, stableLat: qmap(0, 0, 0, 0, 0)},
		},
		{
			name: "nothing at all",
			h:    nil,
			f:    "add",
			want: want{valid: history.Keyword("unknown")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := SetFull(tc.h, tc.f)
			require.Equal(t, tc.want.valid, get(t, r, "valid?"))
			require.Equal(t, tc.want.stable, get(t, r, "stable-count"))
			requireSame(t, nonNilList(tc.want.lost), get(t, r, "lost"))
			require.Equal(t, int64(len(tc.want.lost)), get(t, r, "lost-count"))
			requireSame(t, nonNilList(tc.want.neverRead), get(t, r, "never-read"))
			require.Equal(t, int64(len(tc.want.neverRead)), get(t, r, "never-read-count"))
			requireSame(t, nonNilList(tc.want.stale), get(t, r, "stale"))
			require.Equal(t, int64(len(tc.want.stale)), get(t, r, "stale-count"))
			for key, w := range map[string]*history.Map{"stable-latencies": tc.want.stableLat, "lost-latencies": tc.want.lostLat} {
				got, ok := r.Get(key)
				if w == nil {
					require.False(t, ok, key)
					continue
				}
				require.True(t, ok, key)
				requireSame(t, w, got, key)
				require.True(t, got.(*history.Map).NumKeys)
			}
			ws := get(t, r, "worst-stale").(history.List)
			require.Len(t, ws, len(tc.want.worstStale))
			for i, e := range tc.want.worstStale {
				require.Equal(t, e, get(t, ws[i].(*history.Map), "element"))
			}
			require.Equal(t, int64(0), get(t, r, "duplicated-count"))
			require.Equal(t, 0, get(t, r, "duplicated").(*history.Map).Len())
		})
	}
}

func TestSetFullWorstStaleEntry(t *testing.T) {
	h := newHB().add("broadcast", 0, int64(5), 0, 10).
		read(1, 50, 51).
		read(1, 60, 61, 5).h
	r := SetFull(h, "broadcast")
	ws := get(t, r, "worst-stale").(history.List)
	require.Len(t, ws, 1)
	e := ws[0].(*history.Map)
	require.Equal(t, []string{"element", "outcome", "stable-latency", "lost-latency", "known", "last-absent"}, e.Keys())
	require.Equal(t, int64(40), get(t, e, "stable-latency"))
	require.Equal(t, history.Keyword("stable"), get(t, e, "outcome"))
	require.Nil(t, get(t, e, "lost-latency"))
	known := get(t, e, "known").(*history.Map)
	require.Equal(t, []string{"index", "time", "type", "process", "f", "value"}, known.Keys())
	require.Equal(t, int64(1), get(t, known, "index"))
	require.Equal(t, history.Keyword("ok"), get(t, known, "type"))
	require.Equal(t, history.Keyword("broadcast"), get(t, known, "f"))
	la := get(t, e, "last-absent").(*history.Map)
	require.Equal(t, int64(2), get(t, la, "index"))
	require.Equal(t, history.Keyword("invoke"), get(t, la, "type"))
}

func TestSetFullWorstStaleOrder(t *testing.T) {
	// Ten stale elements with latencies 10, 10, 20, 20, ...; Jepsen keeps the
	// 8 worst, most stale first, ties in reverse element order.
	b := newHB()
	for i := range int64(10) {
		b.add("add", 0, i, 0, 1)
	}
	// Element i is missing from a read invoked at 1 + 10*(i/2+1) ms.
	for k := int64(1); k <= 5; k++ {
		var present []int64
		for i := range int64(10) {
			if i/2+1 > k {
				present = append(present, i)
			}
		}
		b.read(1, 1+10*k, 2+10*k, present...)
	}
	b.read(1, 100, 101, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	r := SetFull(b.h, "add")
	ws := get(t, r, "worst-stale").(history.List)
	var got []int64
	for _, w := range ws {
		got = append(got, get(t, w.(*history.Map), "element").(int64))
	}
	require.Equal(t, []int64{9, 8, 7, 6, 5, 4, 3, 2}, got)
	require.Equal(t, int64(10), get(t, r, "stale-count"))
}

func TestSetFullReadd(t *testing.T) {
	// Adding a value again starts a fresh record: reads before the second
	// add no longer count for it.
	h := newHB().add("add", 0, int64(1), 0, 1).
		read(1, 2, 3).                 // absent: would be a loss for the first record
		add("add", 0, int64(1), 4, 5). // fresh record
		read(1, 6, 7, 1).h
	r := SetFull(h, "add")
	require.Equal(t, true, get(t, r, "valid?"))
	require.Equal(t, int64(1), get(t, r, "attempt-count"))
	requireSame(t, qmap(0, 0, 0, 0, 0), get(t, r, "stable-latencies"))
}

func TestSetFullBadInput(t *testing.T) {
	h := newHB().add("add", 0, int64(1), 0, 1).inv(2, 1, "read", nil).ok(3, 1, "read", "oops").h
	r := SetFull(h, "add")
	require.Equal(t, Unknown, get(t, r, "valid?"))
	require.Contains(t, get(t, r, "error"), "not a list")

	h = newHB().add("add", 0, int64(1), 0, 1).add("add", 0, "x", 0, 1).read(1, 2, 3, 1).h
	r = SetFull(h, "add")
	require.Equal(t, Unknown, get(t, r, "valid?"))
}

func TestSetFullJSONArrayRead(t *testing.T) {
	h := newHB().add("add", 0, int64(1), 0, 1).add("add", 0, int64(2), 0, 1).
		inv(2, 1, "read", nil).ok(3, 1, "read", history.JSON("[2,1,1]")).h
	r := SetFull(h, "add")
	require.Equal(t, true, get(t, r, "valid?"))
	require.Equal(t, int64(2), get(t, r, "stable-count"))
}

func TestQuantileIndexRule(t *testing.T) {
	seq := func(n int) []int64 {
		xs := make([]int64, n)
		for i := range xs {
			xs[i] = int64(n - 1 - i) // reversed: quantiles must sort
		}
		return xs
	}
	require.Nil(t, quantiles(nil))
	requireSame(t, qmap(0, 0, 0, 0, 0), quantiles(seq(1)))
	requireSame(t, qmap(0, 1, 1, 1, 1), quantiles(seq(2)))
	// n=10: floor(5)=5, floor(9.5)=9, floor(9.9)=9, min(9, 10)=9.
	requireSame(t, qmap(0, 5, 9, 9, 9), quantiles(seq(10)))
	// n=20: floor(20*0.95) is 19 in float64 arithmetic, as on the JVM.
	requireSame(t, qmap(0, 10, 19, 19, 19), quantiles(seq(20)))
	requireSame(t, qmap(0, 50, 95, 99, 99), quantiles(seq(100)))
	requireSame(t, qmap(0, 100, 190, 198, 199), quantiles(seq(200)))
}

// refSetFull is Jepsen's set-full fold written the obvious way (every read
// visits every tracked element), to check the bitset sweep against.
type refOutcome struct {
	outcome string
	latency int64
	known   int
	absent  int
}

func refSetFull(h history.History, addF string) map[string]refOutcome {
	type st struct {
		known, lp, la int
	}
	elems := map[string]*st{}
	open := map[int64]int{}
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = i
			if op.F == addF {
				elems[history.Key(op.Value)] = &st{known: -1, lp: -1, la: -1}
			}
			continue
		}
		inv, ok := open[op.Process]
		if !ok {
			continue
		}
		delete(open, op.Process)
		if op.Type != history.OK {
			continue
		}
		if op.F == addF {
			if e := elems[history.Key(h[inv].Value)]; e != nil && e.known < 0 {
				e.known = i
			}
		}
		if op.F == "read" {
			in := map[string]bool{}
			for _, v := range op.Value.([]any) {
				in[history.Key(v)] = true
			}
			for k, e := range elems {
				if in[k] {
					if e.known < 0 {
						e.known = i
					}
					e.lp = max(e.lp, inv)
				} else {
					e.la = max(e.la, inv)
				}
			}
		}
	}
	out := map[string]refOutcome{}
	for k, e := range elems {
		stable := e.lp >= 0 && e.la < e.lp
		lost := e.known >= 0 && e.la >= 0 && e.lp < e.la && e.known < e.la
		switch {
		case stable:
			var t int64
			if e.la >= 0 {
				t = h[e.la].Time + 1
			}
			out[k] = refOutcome{"stable", max(0, t-h[e.known].Time) / 1_000_000, e.known, e.la}
		case lost:
			var t int64
			if e.lp >= 0 {
				t = h[e.lp].Time + 1
			}
			out[k] = refOutcome{"lost", max(0, t-h[e.known].Time) / 1_000_000, e.known, e.la}
		default:
			out[k] = refOutcome{"never-read", 0, e.known, e.la}
		}
	}
	return out
}

// randomSetHistory simulates a few processes adding and reading a set with
// overlapping ops, lost and late elements, junk values, duplicates in
// reads, re-adds, info and fail completions, and ops left open at the end.
func randomSetHistory(rng *rand.Rand, ops int) history.History {
	const procs = 4
	b := newHB()
	var ns int64
	next := int64(0)
	busy := [procs]bool{}
	var added []int64
	for len(b.h) < ops {
		ns += rng.Int64N(3_000_000)
		p := rng.IntN(procs)
		if !busy[p] {
			busy[p] = true
			if rng.IntN(2) == 0 {
				v := next
				next++
				if len(added) > 0 && rng.IntN(20) == 0 {
					v = added[rng.IntN(len(added))] // re-add
				}
				added = append(added, v)
				b.push(0, history.Invoke, int64(p), "add", v).ns(ns)
			} else {
				b.push(0, history.Invoke, int64(p), "read", nil).ns(ns)
			}
			continue
		}
		busy[p] = false
		var inv *history.Op
		for i := len(b.h) - 1; i >= 0; i-- {
			if b.h[i].Process == int64(p) {
				inv = &b.h[i]
				break
			}
		}
		typ := history.OK
		switch rng.IntN(10) {
		case 0:
			typ = history.Info
		case 1:
			typ = history.Fail
		}
		v := inv.Value
		if inv.F == "read" && typ == history.OK {
			var got []any
			for _, a := range added {
				if rng.IntN(5) != 0 {
					got = append(got, a)
				}
			}
			if rng.IntN(4) == 0 {
				got = append(got, int64(1000+rng.IntN(5))) // never added
			}
			if len(got) > 0 && rng.IntN(4) == 0 {
				got = append(got, got[0]) // duplicate
			}
			rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
			if got == nil {
				got = []any{}
			}
			v = got
		}
		b.push(0, typ, int64(p), inv.F, v).ns(ns)
	}
	return b.h
}

func TestSetFullMatchesReference(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	for iter := range 300 {
		h := randomSetHistory(rng, 10+rng.IntN(200))
		ref := refSetFull(h, "add")
		r := SetFull(h, "add")

		var lost, never, stale []int64
		var stableLat, lostLat []int64
		stable := 0
		for k, o := range ref {
			v := mustInt(t, k)
			switch o.outcome {
			case "stable":
				stable++
				stableLat = append(stableLat, o.latency)
				if o.latency > 0 {
					stale = append(stale, v)
				}
			case "lost":
				lost = append(lost, v)
				lostLat = append(lostLat, o.latency)
			default:
				never = append(never, v)
			}
		}
		for _, s := range [][]int64{lost, never, stale} {
			sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		}
		msg := []any{"seed %d iteration %d", seed, iter}
		requireSame(t, list(lost...), get(t, r, "lost"), msg...)
		requireSame(t, list(never...), get(t, r, "never-read"), msg...)
		requireSame(t, list(stale...), get(t, r, "stale"), msg...)
		require.Equal(t, int64(stable), get(t, r, "stable-count"), msg...)
		require.Equal(t, int64(len(ref)), get(t, r, "attempt-count"), msg...)
		if q := quantiles(stableLat); q != nil {
			requireSame(t, q, get(t, r, "stable-latencies"), msg...)
		}
		if q := quantiles(lostLat); q != nil {
			requireSame(t, q, get(t, r, "lost-latencies"), msg...)
		}
		for _, w := range get(t, r, "worst-stale").(history.List) {
			wm := w.(*history.Map)
			o := ref[history.Key(get(t, wm, "element"))]
			require.Equal(t, int64(o.known), get(t, wm, "known", "index"), msg...)
			require.Equal(t, int64(o.absent), get(t, wm, "last-absent", "index"), msg...)
			require.Equal(t, o.latency, get(t, wm, "stable-latency"), msg...)
		}
		want := any(true)
		switch {
		case len(lost) > 0:
			want = false
		case stable == 0:
			want = Unknown
		}
		require.Equal(t, want, get(t, r, "valid?"), msg...)
	}
}

func mustInt(t *testing.T, key string) int64 {
	t.Helper()
	n, ok := history.Int(history.JSON(key))
	require.True(t, ok, key)
	return n
}

// syntheticBroadcast builds a broadcast-like history: procs processes
// bound to 25 nodes, half broadcasts of 0, 1, 2, ... and half reads. A
// read returns the elements its node has received: those broadcast more
// than lag ops earlier, within the most recent window values (a node that
// keeps its whole set would make reads, and the history, quadratic).
func syntheticBroadcast(ops, procs, window, lag int) history.History {
	rng := rand.New(rand.NewPCG(1, 2))
	h := make(history.History, 0, ops)
	var all []any
	var ns int64
	pending := make([]int, procs) // process -> invoke position + 1
	for len(h) < ops {
		ns += 100_000 + rng.Int64N(200_000)
		p := rng.IntN(procs)
		if pending[p] == 0 {
			op := history.Op{Index: int64(len(h)), Time: ns, Type: history.Invoke, Process: int64(p), F: "read"}
			if rng.IntN(2) == 0 {
				op.F, op.Value = "broadcast", int64(len(all))
				all = append(all, int64(len(all)))
			}
			h = append(h, op)
			pending[p] = len(h)
			continue
		}
		inv := h[pending[p]-1]
		pending[p] = 0
		op := history.Op{Index: int64(len(h)), Time: ns, Type: history.OK, Process: int64(p), F: inv.F, Value: inv.Value}
		if inv.F == "read" {
			hi := max(0, len(all)-lag)
			lo := max(0, hi-window)
			op.Value = all[lo:hi]
		}
		h = append(h, op)
	}
	return h
}

func BenchmarkSetFull(b *testing.B) {
	for _, bc := range []struct {
		name             string
		ops, window, lag int
	}{
		{name: "ops=200k/window=1000", ops: 200_000, window: 1000, lag: 50},
		{name: "ops=20k/full", ops: 20_000, window: 20_000, lag: 50},
		{name: "ops=60k/full", ops: 60_000, window: 60_000, lag: 50},
	} {
		h := syntheticBroadcast(bc.ops, 25, bc.window, bc.lag)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := SetFull(h, "broadcast")
				if v, _ := r.Get("valid?"); v == nil {
					b.Fatal("no verdict")
				}
			}
		})
	}
}
