package nemesis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/netsim"
)

func TestTargetSizes(t *testing.T) {
	tests := []struct {
		spec Target
		n    int
		want int // -1: uniform in 1..n
	}{
		{OneNode, 1, 1}, {OneNode, 5, 1},
		{MinorityThirdNodes, 1, 0}, {MinorityThirdNodes, 3, 0}, {MinorityThirdNodes, 4, 1},
		{MinorityThirdNodes, 7, 2}, {MinorityThirdNodes, 10, 3},
		{MinorityNodes, 1, 0}, {MinorityNodes, 2, 1}, {MinorityNodes, 3, 1}, {MinorityNodes, 5, 2}, {MinorityNodes, 6, 3},
		{MajorityNodes, 1, 1}, {MajorityNodes, 2, 2}, {MajorityNodes, 3, 2}, {MajorityNodes, 5, 3}, {MajorityNodes, 6, 4},
		{AllNodes, 1, 1}, {AllNodes, 5, 5},
		{AnySubset, 1, -1}, {AnySubset, 5, -1},
	}
	for _, tt := range tests {
		nodes := nodeIDs(tt.n)
		sizes := map[int]int{}
		for seed := range uint64(300) {
			got, err := tt.spec.Nodes(nodes, seeded(seed))
			require.NoError(t, err)
			sizes[len(got)]++
			seen := map[string]bool{}
			for _, x := range got {
				require.Contains(t, nodes, x)
				require.False(t, seen[x], "%q n=%d: %s twice", tt.spec, tt.n, x)
				seen[x] = true
			}
			if tt.spec == AllNodes {
				require.Equal(t, nodes, got, "all keeps the test order")
			}
		}
		if tt.want >= 0 {
			require.Equal(t, map[int]int{tt.want: 300}, sizes, "%q n=%d", tt.spec, tt.n)
			continue
		}
		// A random non-empty subset: every size 1..n, about equally often.
		require.Len(t, sizes, tt.n, "%q n=%d", tt.spec, tt.n)
		for k, c := range sizes {
			require.True(t, k >= 1 && k <= tt.n)
			require.InDelta(t, 300/tt.n, c, float64(300/tt.n)*0.5, "size %d", k)
		}
	}
	_, err := Target("primaries").Nodes(nodeIDs(3), seeded(1))
	require.Error(t, err, "Maelstrom's DB has no primaries")
	require.Nil(t, AnySubset.Value())
	require.Equal(t, history.Keyword("minority-third"), MinorityThirdNodes.Value())
	require.Equal(t, []Target{"", "one", "minority-third", "minority", "majority", "all"}, Targets())
}

func TestTargetsPickEveryNode(t *testing.T) {
	r := seeded(4)
	hit := map[string]bool{}
	for range 100 {
		got, err := OneNode.Nodes(nodeIDs(5), r)
		require.NoError(t, err)
		hit[got[0]] = true
	}
	require.Len(t, hit, 5, "seed 4")
}

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults([]string{"partition", " kill", "pause "})
	require.NoError(t, err)
	require.Equal(t, Faults{Partition: true, Kill: true, Pause: true}, f)
	f, err = ParseFaults([]string{"loss", "duplicate"})
	require.NoError(t, err)
	require.True(t, f.Packet())
	require.False(t, f.Partition)
	for _, bad := range []string{"", "crash", "Kill"} {
		_, err := ParseFaults([]string{bad})
		require.Error(t, err, "%q", bad)
	}
	f, err = ParseFaults(nil)
	require.NoError(t, err)
	require.False(t, f.Any())
}

// runSchedule replays a schedule against a nemesis whose ops take busy
// each, returning the steps.
func runSchedule(t *testing.T, f Faults, seed uint64, interval, busy time.Duration, n int) []Step {
	t.Helper()
	s, err := NewSchedule(f, interval, nil, seeded(seed))
	require.NoError(t, err)
	var out []Step
	var now time.Duration
	for range n {
		st := s.Next(now)
		require.GreaterOrEqual(t, st.At, now, "an op never goes out before the nemesis is free")
		out = append(out, st)
		now = st.At + busy
	}
	return out
}

func TestCombinedSchedule(t *testing.T) {
	f := Faults{Partition: true, Kill: true, Pause: true}
	steps := runSchedule(t, f, 21, time.Second, 0, 4000)
	require.Equal(t, steps, runSchedule(t, f, 21, time.Second, 0, 4000), "seeded: deterministic")

	// The first op of each package goes out at once: the partition
	// package's and the DB package's both at 0.
	require.Zero(t, steps[0].At)
	require.Zero(t, steps[1].At)

	// Each flip-flop alternates on its own: partitions start/stop, kills
	// and starts, pauses and resumes.
	counts := map[string]int{}
	open := map[string]bool{}
	pair := map[string]string{FStop: FStart, FStartNode: FKill, FResume: FPause}
	targets := map[Target]int{}
	var partAt, dbAt []time.Duration
	for _, st := range steps {
		counts[st.F]++
		switch st.F {
		case FStart, FKill, FPause:
			require.False(t, open[st.F], "%s twice without its heal", st.F)
			open[st.F] = true
			if st.F != FStart {
				targets[st.Target]++
			} else {
				require.Contains(t, Shapes(), st.Shape)
			}
		case FStop, FStartNode, FResume:
			require.True(t, open[pair[st.F]], "%s before %s", st.F, pair[st.F])
			open[pair[st.F]] = false
			if st.F != FStop {
				require.Equal(t, AllNodes, st.Target)
			}
		default:
			t.Fatalf("unexpected op %q", st.F)
		}
		if st.F == FStart || st.F == FStop {
			partAt = append(partAt, st.At)
		} else {
			dbAt = append(dbAt, st.At)
		}
	}
	// Each package is staggered on its own, with a mean gap of the
	// interval: the two together emit about twice as many ops.
	for _, at := range [][]time.Duration{partAt, dbAt} {
		mean := (at[len(at)-1] - at[0]) / time.Duration(len(at)-1)
		require.InDelta(t, float64(time.Second), float64(mean), 0.06*float64(time.Second))
	}
	require.InDelta(t, len(partAt), len(dbAt), float64(len(partAt))*0.1)
	// gen/mix draws kill/start and pause/resume equally often.
	require.InDelta(t, counts[FKill], counts[FPause], float64(counts[FKill])*0.2, "%v", counts)
	// Every node spec is drawn, about equally often.
	require.Len(t, targets, len(Targets()))
	total := counts[FKill] + counts[FPause]
	for spec, c := range targets {
		require.InDelta(t, total/6, c, float64(total/6)*0.3, "spec %q", spec)
	}
}

func TestScheduleOnlyKill(t *testing.T) {
	steps := runSchedule(t, Faults{Kill: true}, 5, time.Second, 0, 100)
	for i, st := range steps {
		want := FKill
		if i%2 == 1 {
			want = FStartNode
		}
		require.Equal(t, want, st.F, "step %d", i)
	}
	require.Equal(t, []Step{{F: FStop}, {F: FResume, Target: AllNodes}, {F: FStartNode, Target: AllNodes}},
		Final(Faults{Partition: true, Kill: true, Pause: true}))
	require.Equal(t, []Step{{F: FStopPacket}}, Final(Faults{Loss: true}))
	s, err := NewSchedule(Faults{}, time.Second, nil, seeded(1))
	require.NoError(t, err)
	require.True(t, s.Empty())
	require.Equal(t, Step{}, s.Next(0))
}

// TestStaggerNeverCatchesUp: when the nemesis is busy past an op's
// scheduled time, the op goes out as soon as the nemesis is free and the
// next is drawn from then: ops never bunch up to make up lost time.
func TestStaggerNeverCatchesUp(t *testing.T) {
	const interval = time.Second
	busy := 5 * time.Second // every op outlasts the largest gap (2 s)
	steps := runSchedule(t, Faults{Kill: true}, 9, interval, busy, 200)
	for i := 1; i < len(steps); i++ {
		gap := steps[i].At - steps[i-1].At
		require.Equal(t, busy, gap, "step %d: out the moment the nemesis is free, no catching up", i)
	}

	// With a busy time inside the draw range, an op goes out at the later
	// of its draw and the end of the previous op.
	busy = 700 * time.Millisecond
	a := runSchedule(t, Faults{Partition: true}, 11, interval, busy, 500)
	free := runSchedule(t, Faults{Partition: true}, 11, interval, 0, 500)
	late := 0
	for i := 1; i < len(a); i++ {
		gap := a[i].At - a[i-1].At
		require.GreaterOrEqual(t, gap, busy)
		require.Less(t, gap, 2*interval)
		if gap == busy {
			late++
		}
	}
	// About 35% of the draws fall inside the busy time.
	require.InDelta(t, 0.35*float64(len(a)), float64(late), 0.1*float64(len(a)))
	// The draws themselves are those of the free schedule: the same seed
	// gives the same sequence of ops.
	for i := range a {
		require.Equal(t, free[i].F, a[i].F)
		require.Equal(t, free[i].Shape, a[i].Shape)
	}
}

func TestScheduleTieIsRandom(t *testing.T) {
	// Both packages' first ops are due at 0: which goes first is a coin
	// toss, so over seeds both orders occur.
	first := map[string]bool{}
	for seed := range uint64(40) {
		s, err := NewSchedule(Faults{Partition: true, Pause: true}, time.Second, nil, seeded(seed))
		require.NoError(t, err)
		first[s.Next(0).F] = true
	}
	require.Equal(t, map[string]bool{FStart: true, FPause: true}, first)
}

func TestNodeOpValues(t *testing.T) {
	inv := NodeInvoke(FKill, AnySubset)
	require.Equal(t, history.Op{Type: history.Info, Process: history.Nemesis, F: "kill"}, inv)
	inv = NodeInvoke(FPause, MajorityNodes)
	require.Equal(t, history.Keyword("majority"), inv.Value)
	c := NodeComplete(FKill, map[string]history.Keyword{"n2": "killed", "n0": "killed"})
	require.Equal(t, history.Info, c.Type)
	require.Equal(t, history.Nemesis, c.Process)
	require.Equal(t, `{"n0":":killed","n2":":killed"}`, history.Key(c.Value))
	require.Equal(t, `[":all",{"loss":{"percent":":10%"},"duplicate":{"percent":":2.5%"}}]`,
		fmt.Sprint(history.Key(PacketValue(0.1, 0.025))))
	require.True(t, slices.Contains(Targets(), AllNodes))
}

// fakeDB records what the nemesis asked of each node.
type fakeDB struct {
	mu    sync.Mutex
	dead  map[string]bool
	calls []string
}

func (d *fakeDB) do(f, node string) history.Keyword {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, f+" "+node)
	switch f {
	case FKill:
		d.dead[node] = true
		return "killed"
	case FStartNode:
		if !d.dead[node] {
			return "already-running"
		}
		d.dead[node] = false
		return "started"
	}
	return history.Keyword(f + "d")
}

func (d *fakeDB) Kill(n string) history.Keyword   { return d.do(FKill, n) }
func (d *fakeDB) Start(n string) history.Keyword  { return d.do(FStartNode, n) }
func (d *fakeDB) Pause(n string) history.Keyword  { return d.do(FPause, n) }
func (d *fakeDB) Resume(n string) history.Keyword { return d.do(FResume, n) }

func TestNemesisRunsNodeFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, err := netsim.New(netsim.Config{})
		require.NoError(t, err)
		db := &fakeDB{dead: map[string]bool{}}
		rec := &recorder{t0: time.Now()}
		nodes := nodeIDs(5)
		nem, err := New(Config{Net: net, Nodes: nodes, Rand: seeded(17), Interval: time.Second, Record: rec.record,
			Faults: Faults{Kill: true, Pause: true}, DB: db})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		require.NoError(t, nem.Run(ctx))
		require.NoError(t, nem.Final())

		require.Zero(t, len(rec.ops)%2)
		var fs []string
		for i := 0; i < len(rec.ops); i += 2 {
			inv, comp := rec.ops[i], rec.ops[i+1]
			require.Equal(t, inv.F, comp.F)
			require.Equal(t, history.Info, inv.Type)
			require.Equal(t, history.Nemesis, comp.Process)
			fs = append(fs, inv.F)
			if inv.F == FStartNode || inv.F == FResume {
				require.Equal(t, history.Keyword("all"), inv.Value)
			}
			m, ok := comp.Value.(*history.Map)
			require.True(t, ok, "completion value: the per-node results")
			for _, k := range m.Keys() {
				require.Contains(t, nodes, k)
			}
			if inv.F == FStartNode || inv.F == FResume {
				require.Equal(t, nodes, m.Keys(), "start and resume go to every node")
			}
		}
		require.Contains(t, fs, FKill)
		require.Contains(t, fs, FPause)
		require.Equal(t, []string{FResume, FStartNode}, fs[len(fs)-2:], "the final generator")
		for _, n := range nodes {
			require.False(t, db.dead[n], "%s restarted at the end", n)
		}
		require.Empty(t, net.Grudge(), "no partitions without the partition fault")
	})
}

func TestNemesisPacketFaults(t *testing.T) {
	net, err := netsim.New(netsim.Config{})
	require.NoError(t, err)
	rec := &recorder{t0: time.Now()}
	_, err = New(Config{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec.record, Faults: Faults{Kill: true}})
	require.Error(t, err, "kill needs a DB")
	_, err = New(Config{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec.record, Faults: Faults{Loss: true}, LossRate: 2})
	require.Error(t, err)
	nem, err := New(Config{Net: net, Nodes: nodeIDs(3), Rand: seeded(1), Record: rec.record,
		Faults: Faults{Loss: true}, LossRate: 0.5, DuplicateRate: 0.3})
	require.NoError(t, err)
	nem.mu.Lock()
	require.NoError(t, nem.perform(Step{F: FStartPacket}))
	nem.mu.Unlock()
	require.NoError(t, nem.Final())
	require.Len(t, rec.ops, 4)
	require.Equal(t, `[":all",{"loss":{"percent":":50%"}}]`, history.Key(rec.ops[1].Value), "duplicate is off")
	require.Equal(t, FStopPacket, rec.ops[3].F)
	require.Equal(t, history.Keyword("network-healed"), rec.ops[3].Value)
}

func TestOneWayShape(t *testing.T) {
	nodes := nodeIDs(5)
	for seed := range uint64(20) {
		g, err := Grudge(OneWay, nodes, seeded(seed))
		require.NoError(t, err)
		checkWellFormed(t, g, nodes, "one-way")
		var mute string
		for _, n := range nodes {
			if len(g[n]) == 0 {
				require.Empty(t, mute, "seed %d: one node hears everyone", seed)
				mute = n
			}
		}
		require.NotEmpty(t, mute)
		for _, n := range nodes {
			if n != mute {
				require.Equal(t, []string{mute}, g[n], "seed %d", seed)
				require.True(t, hears(g, mute, n), "the cut node still hears %s", n)
			}
		}
	}
	sh, err := ParseShape("one-way")
	require.NoError(t, err)
	require.Equal(t, OneWay, sh)
	require.NotContains(t, Shapes(), OneWay, "never drawn unless asked for")
}

// TestPartitionDrawOrder pins the order of random draws of a partition-only
// run: shape, the grudge's own draws, then the gap before the next op, as
// eddy drew them before kill and pause existed, so seeded runs keep their
// partitions.
func TestPartitionDrawOrder(t *testing.T) {
	nodes := nodeIDs(5)
	const interval = time.Second
	ref := seeded(31)
	type op struct {
		f     string
		shape Shape
		grudg string
		gap   time.Duration
	}
	var want []op
	for i := range 40 {
		var o op
		if i > 0 {
			o.gap = NextDelay(ref, interval)
		}
		if i%2 == 0 {
			o.f = FStart
			o.shape = Shapes()[ref.IntN(4)]
			g, err := Grudge(o.shape, nodes, ref)
			require.NoError(t, err)
			o.grudg = fmt.Sprint(g)
		} else {
			o.f = FStop
		}
		want = append(want, o)
	}
	r := seeded(31)
	s, err := NewSchedule(Faults{Partition: true}, interval, nil, r)
	require.NoError(t, err)
	var got []op
	var prev time.Duration
	for i := range 40 {
		st := s.Next(prev)
		o := op{f: st.F, shape: st.Shape}
		if i > 0 {
			o.gap = st.At - prev
		}
		if st.F == FStart {
			g, err := Grudge(st.Shape, nodes, r)
			require.NoError(t, err)
			o.grudg = fmt.Sprint(g)
		}
		got = append(got, o)
		prev = st.At
	}
	require.Equal(t, want, got)
}
