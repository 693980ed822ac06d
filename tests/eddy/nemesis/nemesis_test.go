package nemesis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/netsim"
)

func nodeIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i)
	}
	return out
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// hears reports whether dest accepts messages from src under g.
func hears(g netsim.Grudge, dest, src string) bool {
	return !slices.Contains(g[dest], src)
}

// checkWellFormed: every node has an entry, nobody drops itself, every
// dropped id is a node, lists sorted.
func checkWellFormed(t *testing.T, g netsim.Grudge, nodes []string, msg string) {
	t.Helper()
	require.Len(t, g, len(nodes), msg)
	for _, n := range nodes {
		drops, ok := g[n]
		require.True(t, ok, "%s: no entry for %s", msg, n)
		require.NotNil(t, drops, msg)
		require.True(t, slices.IsSorted(drops), msg)
		require.NotContains(t, drops, n, "%s: %s drops itself", msg, n)
		for _, d := range drops {
			require.Contains(t, nodes, d, msg)
		}
	}
}

// components returns the groups of nodes that hear each other both ways,
// checking the grudge is a clean cut (symmetric, transitive).
func components(t *testing.T, g netsim.Grudge, nodes []string, msg string) [][]string {
	t.Helper()
	var comps [][]string
	assigned := map[string]bool{}
	for _, a := range nodes {
		if assigned[a] {
			continue
		}
		comp := []string{}
		for _, b := range nodes {
			require.Equal(t, hears(g, a, b), hears(g, b, a), "%s: %s/%s not symmetric", msg, a, b)
			if hears(g, a, b) {
				comp = append(comp, b)
				assigned[b] = true
			}
		}
		for _, x := range comp {
			for _, y := range comp {
				require.True(t, hears(g, x, y), "%s: component not closed", msg)
			}
		}
		comps = append(comps, comp)
	}
	return comps
}

func sizes(comps [][]string) []int {
	out := []int{}
	for _, c := range comps {
		out = append(out, len(c))
	}
	slices.Sort(out)
	return out
}

func TestShapeCuts(t *testing.T) {
	tests := []struct {
		shape Shape
		n     int
		want  []int // component sizes, ascending
	}{
		{shape: One, n: 1, want: []int{1}},
		{shape: One, n: 3, want: []int{1, 2}},
		{shape: One, n: 5, want: []int{1, 4}},
		{shape: One, n: 7, want: []int{1, 6}},
		{shape: Majority, n: 1, want: []int{1}},
		{shape: Majority, n: 2, want: []int{1, 1}},
		{shape: Majority, n: 3, want: []int{1, 2}},
		{shape: Majority, n: 5, want: []int{2, 3}},
		{shape: Majority, n: 6, want: []int{3, 3}},
		{shape: Majority, n: 7, want: []int{3, 4}},
		{shape: MinorityThird, n: 1, want: []int{1}},
		{shape: MinorityThird, n: 3, want: []int{3}}, // no-op
		{shape: MinorityThird, n: 4, want: []int{1, 3}},
		{shape: MinorityThird, n: 5, want: []int{1, 4}},
		{shape: MinorityThird, n: 7, want: []int{2, 5}},
		{shape: MinorityThird, n: 10, want: []int{3, 7}},
	}
	for _, tt := range tests {
		for seed := range uint64(20) {
			msg := fmt.Sprintf("%s n=%d seed=%d", tt.shape, tt.n, seed)
			nodes := nodeIDs(tt.n)
			g, err := Grudge(tt.shape, nodes, seeded(seed))
			require.NoError(t, err, msg)
			checkWellFormed(t, g, nodes, msg)
			require.Equal(t, tt.want, sizes(components(t, g, nodes, msg)), msg)
		}
	}
}

func TestMinorityThirdSmallIsNoop(t *testing.T) {
	for n := 1; n <= 3; n++ {
		g, err := Grudge(MinorityThird, nodeIDs(n), seeded(1))
		require.NoError(t, err)
		for node, drops := range g {
			require.Empty(t, drops, "n=%d: %s drops something", n, node)
		}
		require.Len(t, g, n, "Jepsen keeps an empty entry per node")
	}
}

func TestOneIsolatesEveryNodeSometimes(t *testing.T) {
	nodes := nodeIDs(5)
	r := seeded(9)
	loners := map[string]bool{}
	for range 200 {
		g, err := Grudge(One, nodes, r)
		require.NoError(t, err)
		for n, drops := range g {
			if len(drops) == 4 {
				loners[n] = true
			}
		}
	}
	require.Len(t, loners, 5, "seed 9")
}

func TestMajoritiesRing(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 15} {
		for seed := range uint64(30) {
			msg := fmt.Sprintf("n=%d seed=%d", n, seed)
			nodes := nodeIDs(n)
			g, err := Grudge(MajoritiesRing, nodes, seeded(seed))
			require.NoError(t, err, msg)
			checkWellFormed(t, g, nodes, msg)
			m := n/2 + 1
			heard := map[string]bool{}
			for _, dest := range nodes {
				// Every node hears from a majority, itself included.
				require.GreaterOrEqual(t, n-len(g[dest]), m, msg)
				var set []string
				for _, src := range nodes {
					if hears(g, dest, src) {
						set = append(set, src)
					}
				}
				heard[fmt.Sprint(set)] = true
			}
			if n <= 5 {
				// Exact windows: each node hears exactly a majority, all
				// different (for n >= 3).
				for _, dest := range nodes {
					require.Equal(t, m, n-len(g[dest]), msg)
				}
				if n >= 3 {
					require.Len(t, heard, n, "%s: majorities not distinct", msg)
				}
			}
			total := 0
			for _, d := range g {
				total += len(d)
			}
			require.Equal(t, n >= 3, total > 0, "%s: %d drops", msg, total)
			// Drops are mutual except for n = 3, where the window's middle
			// node is its second and the drops form a one-way cycle. (The
			// spec's "one-directional" holds for Jepsen's older first-node
			// variant; Jepsen's own test pins the symmetric 5-node ring.)
			for _, dest := range nodes {
				for _, src := range g[dest] {
					require.Equal(t, n == 3, hears(g, src, dest), "%s: %s drops %s", msg, dest, src)
				}
			}
		}
	}
}

func TestMajoritiesRingFiveIsARing(t *testing.T) {
	// For 5 nodes each node hears exactly its two ring neighbours, both
	// ways: walking from any node to an unvisited neighbour visits all five
	// and comes back, a 5-cycle.
	nodes := nodeIDs(5)
	for seed := range uint64(20) {
		g, err := Grudge(MajoritiesRing, nodes, seeded(seed))
		require.NoError(t, err)
		neighbours := func(x string) []string {
			var out []string
			for _, y := range nodes {
				if y != x && hears(g, x, y) {
					out = append(out, y)
				}
			}
			return out
		}
		prev, cur := "", nodes[0]
		visited := map[string]bool{}
		for range 5 {
			visited[cur] = true
			nb := neighbours(cur)
			require.Len(t, nb, 2, "seed %d", seed)
			next := nb[0]
			if next == prev {
				next = nb[1]
			}
			prev, cur = cur, next
		}
		require.Len(t, visited, 5, "seed %d", seed)
		require.Equal(t, nodes[0], cur, "seed %d: the walk closes the ring", seed)
	}
}

func TestThreeNodeRingIsOneWayCycle(t *testing.T) {
	nodes := nodeIDs(3)
	g, err := Grudge(MajoritiesRing, nodes, seeded(1))
	require.NoError(t, err)
	// Each node drops exactly one other, and the drops form a cycle.
	cur := "n0"
	seen := map[string]bool{}
	for range 3 {
		require.Len(t, g[cur], 1)
		seen[cur] = true
		cur = g[cur][0]
	}
	require.Len(t, seen, 3)
	require.Equal(t, "n0", cur)
}

func TestTwoNodesRingDropsNothing(t *testing.T) {
	g, err := Grudge(MajoritiesRing, nodeIDs(2), seeded(1))
	require.NoError(t, err)
	require.Equal(t, netsim.Grudge{"n0": {}, "n1": {}}, g)
}

func TestGrudgeSeededDeterminism(t *testing.T) {
	for _, shape := range Shapes() {
		for _, n := range []int{3, 5, 7, 12} {
			nodes := nodeIDs(n)
			a, err := Grudge(shape, nodes, seeded(77))
			require.NoError(t, err)
			b, err := Grudge(shape, nodes, seeded(77))
			require.NoError(t, err)
			require.Equal(t, a, b, "%s n=%d", shape, n)
		}
	}
	sa, ga, err := Random(nodeIDs(5), seeded(5))
	require.NoError(t, err)
	sb, gb, err := Random(nodeIDs(5), seeded(5))
	require.NoError(t, err)
	require.Equal(t, sa, sb)
	require.Equal(t, ga, gb)
}

func TestRandomPicksEveryShapeUniformly(t *testing.T) {
	const draws = 4000
	r := seeded(2)
	counts := map[Shape]int{}
	for range draws {
		s, _, err := Random(nodeIDs(5), r)
		require.NoError(t, err)
		counts[s]++
	}
	require.Len(t, counts, 4)
	for s, c := range counts {
		require.InDelta(t, draws/4, c, draws/4*0.1, "seed 2: %s", s)
	}
}

func TestGrudgeBadInput(t *testing.T) {
	_, err := Grudge("split-brain", nodeIDs(3), seeded(1))
	require.ErrorContains(t, err, "unknown partition shape")
	_, err = Grudge(One, []string{"n1", "n1"}, seeded(1))
	require.ErrorContains(t, err, "duplicate")
	_, err = Grudge(One, []string{""}, seeded(1))
	require.ErrorContains(t, err, "empty")
	for _, s := range Shapes() {
		g, err := Grudge(s, nil, seeded(1))
		require.NoError(t, err)
		require.Empty(t, g)
	}
	_, err = ParseShape("majorities-ring")
	require.NoError(t, err)
	_, err = ParseShape("ring")
	require.Error(t, err)
}

func TestSchedule(t *testing.T) {
	const seed = 8
	interval := 10 * time.Second
	s, err := NewSchedule(Faults{Partition: true}, interval, nil, seeded(seed))
	require.NoError(t, err)
	// The nemesis is never busy: each op goes out at its scheduled time.
	first := s.Next(0)
	require.Equal(t, FStart, first.F)
	require.Zero(t, first.At)
	const steps = 20000
	prev := first.At
	for i := 1; i <= steps; i++ {
		st := s.Next(prev)
		want := FStop
		if i%2 == 0 {
			want = FStart
		}
		require.Equal(t, want, st.F)
		gap := st.At - prev
		require.GreaterOrEqual(t, gap, time.Duration(0))
		require.Less(t, gap, 2*interval)
		prev = st.At
	}
	mean := prev / steps
	require.InDelta(t, float64(interval), float64(mean), 0.02*float64(interval), "seed %d", seed)

	// Same seed, same schedule.
	a, _ := NewSchedule(Faults{Partition: true, Kill: true}, interval, nil, seeded(3))
	b, _ := NewSchedule(Faults{Partition: true, Kill: true}, interval, nil, seeded(3))
	var now time.Duration
	for range 50 {
		x, y := a.Next(now), b.Next(now)
		require.Equal(t, x, y)
		now = x.At + time.Second
	}

	_, err = NewSchedule(Faults{Partition: true}, -time.Second, nil, seeded(1))
	require.Error(t, err)
	require.Zero(t, NextDelay(seeded(1), 0))
}

func TestIntervalFromSeconds(t *testing.T) {
	d, err := IntervalFromSeconds(10)
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, d)
	d, err = IntervalFromSeconds(0.25)
	require.NoError(t, err)
	require.Equal(t, 250*time.Millisecond, d)
	for _, bad := range []float64{-1, 1e9} {
		_, err = IntervalFromSeconds(bad)
		require.Error(t, err)
	}
	_, err = IntervalFromSeconds(math.NaN())
	require.Error(t, err)
}

func TestHistoryValues(t *testing.T) {
	g := netsim.Grudge{"n2": {"n1", "n0"}, "n0": {"n2"}, "n1": {}}
	v := GrudgeValue(g)
	require.True(t, v.String)
	require.Equal(t, []string{"n0", "n1", "n2"}, v.Keys())
	n2, _ := v.Get("n2")
	require.Equal(t, []any{"n0", "n1"}, n2)
	n1, _ := v.Get("n1")
	require.Equal(t, []any{}, n1)
	require.Equal(t, []string{"n1", "n0"}, g["n2"], "GrudgeValue leaves its input alone")

	start := StartComplete(g)
	require.Equal(t, history.Info, start.Type)
	require.Equal(t, history.Nemesis, start.Process)
	require.Equal(t, FStart, start.F)
	require.Equal(t, `[":isolated",{"n0":["n2"],"n1":[],"n2":["n0","n1"]}]`, history.Key(start.Value))

	inv := StartInvoke(Majority)
	require.Equal(t, history.Op{Type: history.Info, Process: history.Nemesis, F: FStart, Value: history.Keyword("majority")}, inv)
	require.Equal(t, history.Op{Type: history.Info, Process: history.Nemesis, F: FStop}, StopInvoke())
	require.Equal(t, history.Op{Type: history.Info, Process: history.Nemesis, F: FStop, Value: history.Keyword("network-healed")}, StopComplete())
}

// recorder collects ops from the nemesis.
type recorder struct {
	mu  sync.Mutex
	ops []history.Op
	at  []time.Duration
	t0  time.Time
}

func (r *recorder) record(op history.Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
	r.at = append(r.at, time.Since(r.t0))
}

func TestNemesisRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes := nodeIDs(5)
		net, err := netsim.New(netsim.Config{})
		require.NoError(t, err)
		rec := &recorder{t0: time.Now()}
		nem, err := New(Config{Net: net, Nodes: nodes, Rand: seeded(6), Interval: time.Second, Record: rec.record})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		require.NoError(t, nem.Run(ctx))

		require.NotEmpty(t, rec.ops)
		require.Equal(t, time.Duration(0), rec.at[0], "first partition at once")
		require.Zero(t, len(rec.ops)%2, "ops come in invoke/complete pairs")
		for i := 0; i < len(rec.ops); i += 2 {
			inv, comp := rec.ops[i], rec.ops[i+1]
			wantF := FStart
			if (i/2)%2 == 1 {
				wantF = FStop
			}
			require.Equal(t, wantF, inv.F)
			require.Equal(t, wantF, comp.F)
			require.Equal(t, rec.at[i], rec.at[i+1], "nemesis ops are instantaneous")
			if i > 0 {
				gap := rec.at[i] - rec.at[i-1]
				require.Less(t, gap, 2*time.Second)
			}
			if wantF == FStart {
				_, ok := inv.Value.(history.Keyword)
				require.True(t, ok)
				vec, ok := comp.Value.([]any)
				require.True(t, ok)
				require.Equal(t, history.Keyword("isolated"), vec[0])
			}
		}
		require.Greater(t, len(rec.ops)/2, 10, "about 30 ops in 30 s at a 1 s interval")

		// The network holds the last grudge; the final stop heals it.
		last := rec.ops[len(rec.ops)-1]
		if last.F == FStart {
			var drops int
			for _, d := range net.Grudge() {
				drops += len(d)
			}
			vec := last.Value.([]any)
			var want int
			m := vec[1].(*history.Map)
			for _, k := range m.Keys() {
				v, _ := m.Get(k)
				want += len(v.([]any))
			}
			require.Equal(t, want, drops)
		}
		nem.StopPartition()
		require.Empty(t, net.Grudge())
		require.Equal(t, StopComplete(), rec.ops[len(rec.ops)-1])
	})
}

func TestNemesisRunDeterministic(t *testing.T) {
	run := func() []history.Op {
		var ops []history.Op
		synctest.Test(t, func(t *testing.T) {
			net, err := netsim.New(netsim.Config{})
			require.NoError(t, err)
			rec := &recorder{t0: time.Now()}
			nem, err := New(Config{Net: net, Nodes: nodeIDs(7), Rand: seeded(12), Interval: time.Second, Record: rec.record})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			require.NoError(t, nem.Run(ctx))
			ops = rec.ops
		})
		return ops
	}
	a, b := run(), run()
	require.Equal(t, len(a), len(b))
	for i := range a {
		require.Equal(t, a[i].F, b[i].F)
		require.Equal(t, history.Key(a[i].Value), history.Key(b[i].Value), "seed 12, op %d", i)
	}
}

func TestNemesisConfig(t *testing.T) {
	net, err := netsim.New(netsim.Config{})
	require.NoError(t, err)
	rec := func(history.Op) {}
	base := Config{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec}
	_, err = New(base)
	require.NoError(t, err)

	bad := []Config{
		{Nodes: nodeIDs(3), Rand: seeded(1), Record: rec},
		{Net: net, Nodes: nodeIDs(3), Record: rec},
		{Net: net, Nodes: nodeIDs(3), Rand: seeded(1)},
		{Net: net, Nodes: []string{"n1", "c2"}, Rand: seeded(1), Record: rec},
		{Net: net, Nodes: []string{"n1", "n1"}, Rand: seeded(1), Record: rec},
		{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec, Interval: -1},
		{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec, Shapes: []Shape{}},
		{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec, Shapes: []Shape{"bridge"}},
	}
	for i, cfg := range bad {
		_, err := New(cfg)
		require.Error(t, err, "case %d", i)
	}

	// A restricted shape list is honoured.
	var ops []history.Op
	nem, err := New(Config{Net: net, Nodes: nodeIDs(5), Rand: seeded(1), Shapes: []Shape{One},
		Record: func(op history.Op) { ops = append(ops, op) }})
	require.NoError(t, err)
	for range 10 {
		require.NoError(t, nem.StartPartition())
	}
	for i := 0; i < len(ops); i += 2 {
		require.Equal(t, history.Keyword(One), ops[i].Value)
	}
}
