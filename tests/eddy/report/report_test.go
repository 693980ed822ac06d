package report

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
	"maelkit/tests/eddy/nemesis"
)

// synth builds a run of nodes nodes and ops client operations, with one
// partition in the middle, from seed.
func synth(seed uint64, nodes, ops int, valid bool) Input {
	r := rand.New(rand.NewPCG(seed, 7))
	ids := make([]string, nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i)
	}
	var h history.History
	var j []journal.Event
	add := func(op history.Op) {
		op.Index = int64(len(h))
		h = append(h, op)
	}
	span := int64(20 * time.Second)
	var msgID int64
	send := func(t int64, src, dest, typ string, deliver bool) {
		body, _ := json.Marshal(struct {
			Type  string `json:"type"`
			MsgID int64  `json:"msg_id"`
		}{Type: typ, MsgID: msgID})
		j = append(j, journal.Event{Time: t, Kind: journal.Send, ID: msgID, Src: src, Dest: dest, Body: body})
		if deliver {
			j = append(j, journal.Event{Time: t + int64(r.IntN(5e6)), Kind: journal.Recv, ID: msgID, Src: src, Dest: dest, Body: body})
		}
		msgID++
	}
	for i := range ops {
		t := span * int64(i) / int64(ops)
		if i == ops/3 {
			add(nemesis.StartInvoke("majority"))
			h[len(h)-1].Time = t
			add(history.Op{Type: history.Info, Process: history.Nemesis, F: nemesis.FStart, Time: t,
				Value: []any{history.Keyword("isolated"), history.NewMap().Set("n0", []any{"n1"})}})
		}
		if i == 2*ops/3 {
			add(history.Op{Type: history.Info, Process: history.Nemesis, F: nemesis.FStop, Time: t})
			add(history.Op{Type: history.Info, Process: history.Nemesis, F: nemesis.FStop, Time: t, Value: history.Keyword("network-healed")})
		}
		p := int64(i % 10)
		add(history.Op{Type: history.Invoke, Process: p, F: "read", Time: t})
		typ := history.OK
		switch r.IntN(20) {
		case 0:
			typ = history.Fail
		case 1:
			typ = history.Info
		}
		add(history.Op{Type: typ, Process: p, F: "read", Time: t + int64(r.ExpFloat64()*5e6)})
		c := fmt.Sprintf("c%d", p)
		n := ids[int(p)%nodes]
		send(t, c, n, "read", true)
		send(t+1000, n, ids[r.IntN(nodes)], "gossip", r.IntN(10) > 0)
		send(t+2000, n, c, "read_ok", true)
	}
	res := history.NewMap()
	res.Set("stats", history.NewMap().Set("valid?", true).Set("count", int64(ops)).Set("ok-count", int64(ops)).Set("fail-count", int64(0)).Set("info-count", int64(0)))
	res.Set("availability", history.NewMap().Set("valid?", true).Set("ok-fraction", history.Float(0.9)))
	res.Set("net", history.NewMap().Set("all", history.NewMap().Set("send-count", int64(3*ops)).Set("msgs-per-op", history.Float(3))).Set("valid?", true))
	w := history.NewMap().Set("valid?", valid)
	if !valid {
		w.Set("lost-count", int64(2)).Set("lost", history.List{int64(3), int64(7)})
	}
	res.Set("workload", w)
	res.Set("valid?", valid)
	return Input{Results: res, History: h, Journal: j, Nodes: ids, Workload: "broadcast", Seed: int64(seed), Summary: "eddy test -w broadcast"}
}

func TestWriteCreatesEveryFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		valid bool
	}{{name: "valid", valid: true}, {name: "invalid", valid: false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := synth(1, 5, 300, tc.valid)
			require.NoError(t, Write(dir, in))
			for _, f := range Files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err, f)
				require.NotEmpty(t, b, f)
				if strings.HasSuffix(f, ".svg") {
					s := string(b)
					require.True(t, strings.HasPrefix(s, "<?xml"), f)
					require.Contains(t, s, `xmlns="http://www.w3.org/2000/svg"`, f)
					require.True(t, strings.HasSuffix(strings.TrimSpace(s), "</svg>"), f)
				}
			}
			page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
			for _, want := range []string{`id="latency-raw"`, `id="latency-quantiles"`, `id="rate"`, `id="messages"`, `class="partition"`} {
				require.Contains(t, string(page), want)
			}
			noNS := strings.ReplaceAll(string(page), `xmlns="http://www.w3.org/2000/svg"`, "")
			require.False(t, strings.Contains(noNS, "http://") || strings.Contains(noNS, "https://"), "no network references except the SVG namespace")
		})
	}
}

func TestInvalidReportNamesFailingChecker(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "independent", "3"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "independent", "3", "linear.html"), []byte("x"), 0o644))
	require.NoError(t, Write(dir, synth(2, 3, 50, false)))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	s := string(page)
	require.Contains(t, s, "valid? false")
	require.Contains(t, s, "workload: valid? false")
	require.Contains(t, s, "lost-count")
	require.Contains(t, s, "(3 7)")
	require.Contains(t, s, `href="independent/3/linear.html"`)
}

func TestFailures(t *testing.T) {
	lin := history.NewMap().Set("valid?", false).Set("op-count", int64(9))
	key := history.NewMap().Set("linearizable", lin).Set("valid?", false)
	res := history.NewMap().
		Set("stats", history.NewMap().Set("valid?", true)).
		Set("availability", history.NewMap().Set("valid?", history.Keyword("unknown")).Set("error", "boom")).
		Set("workload", history.NewMap().Set("valid?", false).Set("results", history.NewMap().Set("0", key))).
		Set("valid?", false)
	got := Failures(res)
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Path+"="+f.Valid)
	}
	require.Equal(t, []string{"availability=unknown", "workload=false", "workload results 0=false", "workload results 0 linearizable=false"}, paths)
	require.Equal(t, []Figure{{Key: "error", Value: `"boom"`}}, got[0].Figures)
	require.Equal(t, []Figure{{Key: "op-count", Value: "9"}}, got[3].Figures)
}

func TestShortValue(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{in: nil, want: "nil"},
		{in: int64(-3), want: "-3"},
		{in: history.Float(0.5), want: "0.5"},
		{in: history.Keyword("net-timeout"), want: ":net-timeout"},
		{in: []any{int64(1), "a"}, want: `[1 "a"]`},
		{in: history.List{}, want: "()"},
		{in: history.NewMap().Set("a", true), want: "{:a true}"},
		{in: history.JSON(`{"x":1}`), want: `{"x":1}`},
	} {
		require.Equal(t, tc.want, shortValue(tc.in, 100))
	}
	long := make([]any, 1000)
	for i := range long {
		long[i] = int64(i)
	}
	require.LessOrEqual(t, len(shortValue(long, 100)), 110)
}

func TestLookup(t *testing.T) {
	m := history.NewMap().Set("a", history.NewMap().Set("0.5", int64(4)).Set("l", []any{int64(1), int64(2)}))
	for _, tc := range []struct {
		path []string
		want any
		ok   bool
	}{
		{path: []string{"a", "0.5"}, want: int64(4), ok: true},
		{path: []string{"a", "l", "1"}, want: int64(2), ok: true},
		{path: []string{"a", "l", "9"}, ok: false},
		{path: []string{"b"}, ok: false},
		{path: []string{"a", "0.5", "x"}, ok: false},
	} {
		got, ok := Lookup(m, tc.path...)
		require.Equal(t, tc.ok, ok, tc.path)
		if ok {
			require.Equal(t, tc.want, got)
		}
	}
}

func TestThinBoundsPointsAndKeepsFailures(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 1))
	ss := make([]sample, 50000)
	fails := 0
	for i := range ss {
		ss[i] = sample{start: float64(i), latency: 1, typ: history.OK}
		if r.IntN(100) == 0 {
			ss[i].typ = history.Fail
			fails++
		}
	}
	got := thin(ss, maxPoints)
	require.LessOrEqual(t, len(got), maxPoints, "seed %d", seed)
	n := 0
	for _, s := range got {
		if s.typ == history.Fail {
			n++
		}
	}
	require.Equal(t, fails, n, "seed %d", seed)
}

func TestDiagramBoundedAndLanes(t *testing.T) {
	in := synth(3, 25, 3000, true)
	d := buildDiagram(in.Journal, in.Nodes, maxDiagramEvents)
	require.LessOrEqual(t, len(d.rows), maxDiagramEvents)
	require.Greater(t, d.total, len(d.msgs))
	// Client lanes come first, then the 25 nodes in order.
	require.Equal(t, "client", d.lanes[0].kind)
	var nodes []string
	for _, l := range d.lanes {
		if l.kind == "node" {
			nodes = append(nodes, l.key)
		}
	}
	require.Equal(t, in.Nodes, nodes)
	svg := messagesSVG(d, partitions(in.History))
	require.Contains(t, svg, "more messages in net-journal.jsonl")
	require.Contains(t, svg, `class="lost"`)
}

func TestEmptyRun(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Write(dir, Input{Results: history.NewMap().Set("valid?", true)}))
	require.Error(t, Write(dir, Input{}))
	require.Error(t, Write(filepath.Join(dir, "missing"), Input{Results: history.NewMap()}))
}

func TestPartitionsFromHistory(t *testing.T) {
	in := synth(4, 3, 90, true)
	ps := partitions(in.History)
	require.Len(t, ps, 1)
	require.Less(t, ps[0].from, ps[0].to)
	require.Contains(t, ps[0].label, "n0")
}

// BenchmarkWrite25Nodes measures a report of a 25-node run with 20,000
// operations and 60,000 messages.
func BenchmarkWrite25Nodes(b *testing.B) {
	in := synth(5, 25, 20000, false)
	dir := b.TempDir()
	b.ResetTimer()
	for range b.N {
		if err := Write(dir, in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAxes(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{lo: 0, hi: 20, n: 10, want: []float64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20}},
		{lo: 0, hi: 1, n: 4, want: []float64{0, 0.5, 1}},
		{lo: 5, hi: 5, n: 4, want: []float64{5}},
	} {
		require.InDeltaSlice(t, tc.want, niceTicks(tc.lo, tc.hi, tc.n), 1e-9, "%v", tc)
	}
	require.Equal(t, []float64{0.1, 1, 10, 100}, logTicks(0.1, 100))
	require.Equal(t, "12", fmtNum(12))
	require.Equal(t, "0.5", fmtNum(0.5))
	require.Equal(t, 2.0, quantile([]float64{1, 2, 3, 4}, 0.5))
	require.Equal(t, 4.0, quantile([]float64{1, 2, 3, 4}, 1))
	require.Equal(t, 0.0, quantile(nil, 0.5))
	f := &frame{w: 100, h: 100, x0: 0, x1: 10, y0: 1, y1: 100, logY: true}
	require.InDelta(t, 50, f.py(10), 1e-9, "10 sits halfway between 1 and 100 on a log axis")
	require.InDelta(t, 100, f.py(0), 1e-9, "values below the axis are clamped")
}

func TestLatencyRawGolden(t *testing.T) {
	h := history.History{
		{Index: 0, Time: 0, Type: history.Invoke, Process: 0, F: "read"},
		{Index: 1, Time: 10e6, Type: history.OK, Process: 0, F: "read"},
		{Index: 2, Time: 1e9, Type: history.Invoke, Process: 1, F: "write"},
		{Index: 3, Time: 1.1e9, Type: history.Fail, Process: 1, F: "write"},
		{Index: 4, Time: 2e9, Type: history.Invoke, Process: 2, F: "cas"},
	}
	ss := samples(h)
	require.Equal(t, []sample{{start: 0, latency: 10, typ: history.OK, f: "read"}, {start: 1, latency: 100, typ: history.Fail, f: "write"}}, ss)
	svg := latencyRaw(ss, nil, h)
	require.Equal(t, 2, strings.Count(svg, "<circle"), "one point per completed op; the open invocation has none")
	require.Contains(t, svg, `<g class="points" fill="`+colourFail+`"`)
	require.Equal(t, 1, strings.Count(svg, "<svg"))
	require.Equal(t, 0, strings.Count(svg, "NaN"))
	require.Equal(t, 0, strings.Count(svg, "Inf"))
}
