package counter

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/crdt"
	"maelkit/lib/sim"
)

// wireClone copies a message through its JSON form, so every simulated
// message also exercises the wire encoding and no two nodes share memory.
func wireClone[C crdt.Counter[C]](t testing.TB) func(any) any {
	return func(x any) any {
		b, err := json.Marshal(x.(Sync[C]))
		require.NoError(t, err)
		var m Sync[C]
		require.NoError(t, json.Unmarshal(b, &m), string(b))
		return m
	}
}

// describe renders messages in the simulator's trace: a Sync as its JSON,
// a client's add as its request body, a reply by its type.
func describe(x any) string {
	switch m := x.(type) {
	case Command:
		if m.Read {
			return "read"
		}
		return fmt.Sprintf(`{"delta":%d}`, m.Delta)
	case Result:
		if m.Read {
			return fmt.Sprintf("read_ok %d", m.Value)
		}
		return "add_ok"
	}
	return sim.JSON(x)
}

// scenario is a Maelstrom-shaped run: client ops at a global rate (reads
// cost nothing here but count in msgs-per-op, as in Maelstrom), a nemesis
// that starts a random partition at once and then toggles at gaps uniform
// in [0, 2·nemesisMs), a final heal and a recovery wait.
type scenario struct {
	nodes            int
	latMinMs         int64
	latMaxMs         int64
	loss, dup        float64
	rate             float64                  // client ops per second
	addFrac          float64                  // share of ops that are adds
	delta            func(r *rand.Rand) int64 // an add's delta
	durationMs       int64
	nemesisMs        int64 // 0: no partitions
	recoveryMs       int64
	batch, retry, bo int64 // core timings in ticks (0: defaults)
	base             int   // overlay base (0: Overlay's)
	// journal, if set, receives every line of the simulator's trace.
	journal func(string)
}

// outcome is what a scenario run measured.
type outcome struct {
	sent, ops   int64
	convergedMs int64 // after the final heal, until every node reads the sum
	quietMs     int64 // after the final heal, until no node has anything to send
	hash        uint64
	probes      int64
	reached     int64 // messages with entries to replicas outside the overlay
}

func (o outcome) msgsPerOp() float64 { return float64(o.sent) / float64(o.ops) }

var (
	gDelta  = func(r *rand.Rand) int64 { return r.Int64N(5) }      // 0..4
	pnDelta = func(r *rand.Rand) int64 { return r.Int64N(10) - 5 } // -5..4
)

// partitionShape applies one of Maelstrom's four partition shapes.
func partitionShape(s interface {
	Isolate(string)
	Partition(...[]string)
	Heal()
	Cut(src, dst string)
}, r *rand.Rand, ids []string) {
	shuffled := slices.Clone(ids)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	n := len(ids)
	switch r.IntN(4) {
	case 0: // one
		s.Isolate(shuffled[0])
	case 1: // majority
		s.Partition(shuffled[:n/2], shuffled[n/2:])
	case 2: // minority-third (a no-op for n <= 3)
		if k := (n - 1) / 3; k > 0 {
			s.Partition(shuffled[:k], shuffled[k:])
		} else {
			s.Heal()
		}
	case 3: // majorities-ring: each window's middle drops nodes outside it
		s.Heal()
		m := n/2 + 1
		for start := range n {
			window := map[string]bool{}
			for k := range m {
				window[shuffled[(start+k)%n]] = true
			}
			mid := shuffled[(start+m/2)%n]
			for _, src := range ids {
				if !window[src] {
					s.Cut(src, mid)
				}
			}
		}
	}
}

// settleMs is longer than any latency plus a batch interval.
const settleMs = 2000

// runScenario runs sc with the given seed and requires that every node
// reads the exact sum after the heal and that the network then falls
// silent.
func runScenario[C crdt.Counter[C]](t testing.TB, seed uint64, sc scenario, empty func() C) outcome {
	t.Helper()
	var ids []string
	for i := range sc.nodes {
		ids = append(ids, fmt.Sprintf("n%d", i))
	}
	s, nodes := newScenarioSim(t, seed, sc, ids, empty)
	r := rand.New(rand.NewPCG(seed, 1)) // the workload's own stream
	events, ops, want := drawEvents(r, sc, ids)
	partitioned := false
	for _, e := range events {
		s.RunFor(e.at - s.Now())
		switch {
		case e.nemesis && partitioned:
			s.Heal()
			partitioned = false
		case e.nemesis:
			partitionShape(s, r, ids)
			partitioned = true
		case e.isAdd:
			s.Command(e.node, core.Command[Command]{Client: "c1", MsgID: ops, Body: Command{Delta: e.delta}})
		}
	}
	s.RunFor(sc.durationMs - s.Now())
	s.Heal()
	out := awaitQuiet(t, s, sc, ids, nodes, want)
	out.sent, out.ops, out.hash = s.Sent, ops+int64(sc.nodes), s.TraceHash() // + one final read per node
	for _, id := range ids {
		out.probes += nodes[id].Stats().Probes
		out.reached += nodes[id].Stats().Reached
	}
	return out
}

// newScenarioSim builds the simulated cluster of sc; nodes maps each id to
// its core.
func newScenarioSim[C crdt.Counter[C]](t testing.TB, seed uint64, sc scenario, ids []string, empty func() C) (
	*sim.Sim[Sync[C], Command, Result], map[string]*Core[C]) {
	nodes := map[string]*Core[C]{}
	s := sim.New(sim.Config{Seed: seed, Nodes: ids, TickMs: 100, LatencyMinMs: sc.latMinMs, LatencyMaxMs: sc.latMaxMs,
		Loss: sc.loss, Duplicate: sc.dup, Clone: wireClone[C](t), Describe: describe, Journal: sc.journal},
		func(id string) core.Core[Sync[C], Command, Result] {
			var peers []string
			if sc.base > 0 {
				peers = Circulant(ids, id, sc.base)
			}
			core, err := New(Config{ID: id, NodeIDs: ids, Peers: peers, BatchTicks: sc.batch, RetryTicks: sc.retry, BackoffMaxTicks: sc.bo}, empty())
			require.NoError(t, err)
			nodes[id] = core
			return nodes[id]
		})
	return s, nodes
}

// scenarioEvent is a client's op or a nemesis toggle at a virtual time.
type scenarioEvent struct {
	at      int64
	node    string
	delta   int64
	isAdd   bool
	nemesis bool
}

// drawEvents draws sc's workload from r, in time order: the events, the
// number of client ops, and the sum of the adds.
func drawEvents(r *rand.Rand, sc scenario, ids []string) (events []scenarioEvent, ops, want int64) {
	for at := int64(0); ; {
		at += r.Int64N(int64(2000/sc.rate) + 1)
		if at >= sc.durationMs {
			break
		}
		ops++
		e := scenarioEvent{at: at, node: ids[r.IntN(len(ids))]}
		if r.Float64() < sc.addFrac {
			e.isAdd, e.delta = true, sc.delta(r)
			want += e.delta
		}
		events = append(events, e)
	}
	if sc.nemesisMs > 0 {
		for at := int64(0); at < sc.durationMs; at += r.Int64N(2 * sc.nemesisMs) {
			events = append(events, scenarioEvent{at: at, nemesis: true})
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })
	return events, ops, want
}

// awaitQuiet requires, from the heal on, that every node reads want and
// that the network then falls silent, within sc.recoveryMs; it measures
// both.
func awaitQuiet[C crdt.Counter[C]](t testing.TB, s *sim.Sim[Sync[C], Command, Result], sc scenario, ids []string,
	nodes map[string]*Core[C], want int64) outcome {
	t.Helper()
	seed, healAt := s.Seed(), s.Now()
	agree := func() bool {
		for _, id := range ids {
			if nodes[id].Value() != want {
				return false
			}
		}
		return true
	}
	quiet := func() bool {
		for _, id := range ids {
			if !nodes[id].Quiet() {
				return false
			}
		}
		return true
	}
	fail := func(what string) {
		t.Fatalf("seed %d: %s within %d ms of the heal; want %d; values %v\ntrace tail:\n%s",
			seed, what, sc.recoveryMs, want, values(ids, nodes), traceTail(s))
	}
	if !s.RunUntil(agree, sc.recoveryMs) {
		fail("no agreement")
	}
	out := outcome{convergedMs: s.Now() - healAt}
	if !s.RunUntil(quiet, healAt+sc.recoveryMs-s.Now()) {
		fail("not quiet")
	}
	out.quietMs = s.Now() - healAt
	// Silence: a settling time lets messages still in flight (a late
	// duplicate draws one more ack) arrive; after it nothing is sent.
	s.RunFor(settleMs)
	require.True(t, quiet(), "seed %d: quiet again after settling", seed)
	sentQuiet := s.Sent
	s.RunFor(max(0, healAt+sc.recoveryMs-s.Now()))
	require.Equal(t, sentQuiet, s.Sent, "seed %d: messages after quiescence", seed)
	require.True(t, agree(), "seed %d", seed)
	return out
}

func values[C crdt.Counter[C]](ids []string, nodes map[string]*Core[C]) map[string]int64 {
	v := map[string]int64{}
	for _, id := range ids {
		v[id] = nodes[id].Value()
	}
	return v
}

func traceTail(s interface{ Trace() []string }) string {
	tr := s.Trace()
	if len(tr) > 30 {
		tr = tr[len(tr)-30:]
	}
	out := ""
	for _, l := range tr {
		out += l + "\n"
	}
	return out
}

// summary is min/median/max of a measurement over seeds.
func summary[T int64 | float64](xs []T) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	f := "%v"
	if _, ok := any(s[0]).(float64); ok {
		f = "%.3f"
	}
	return fmt.Sprintf("min "+f+" median "+f+" max "+f, s[0], s[len(s)/2], s[len(s)-1])
}

// rough is a hostile network: loss, duplication, reordering and
// partitions every second or so.
var rough = scenario{nodes: 5, latMinMs: 0, latMaxMs: 150, loss: 0.15, dup: 0.1, rate: 100,
	durationMs: 8000, nemesisMs: 700, recoveryMs: 15000}

// TestSimConvergesUnderFaults: under loss, duplication, reordering and
// every partition shape, all replicas read the exact sum after the heal,
// and then fall silent.
func TestSimConvergesUnderFaults(t *testing.T) {
	g, pn := rough, rough
	g.addFrac, g.delta = 1.0/3, gDelta
	pn.addFrac, pn.delta = 0.5, pnDelta
	var conv []int64
	for seed := uint64(1); seed <= 25; seed++ {
		conv = append(conv, runScenario(t, seed, g, crdt.NewGCounter).convergedMs)
		conv = append(conv, runScenario(t, seed, pn, crdt.NewPNCounter).convergedMs)
	}
	t.Logf("converged after heal (ms): %s", summary(conv))
}

// TestSimDeterminism: a seed replays exactly; another seed does not.
func TestSimDeterminism(t *testing.T) {
	pn := rough
	pn.addFrac, pn.delta = 0.5, pnDelta
	a := runScenario(t, 7, pn, crdt.NewPNCounter)
	b := runScenario(t, 7, pn, crdt.NewPNCounter)
	c := runScenario(t, 8, pn, crdt.NewPNCounter)
	require.Equal(t, a, b)
	require.NotEqual(t, a.hash, c.hash)
}

// challenge4 is Fly.io's challenge 4 as eddy runs it: 3 nodes, rate 100,
// 20 s, partitions (interval 10 s), latency 0, a 10 s recovery.
var challenge4 = scenario{nodes: 3, rate: 100, addFrac: 1.0 / 3, delta: gDelta,
	durationMs: 20000, nemesisMs: 10000, recoveryMs: 10000}

// TestSimChallenge4Cost: the message budget (0.3 server messages per op)
// holds with room to spare on every seed.
func TestSimChallenge4Cost(t *testing.T) {
	var mpo []float64
	var conv []int64
	for seed := uint64(1); seed <= 20; seed++ {
		o := runScenario(t, seed, challenge4, crdt.NewGCounter)
		require.LessOrEqual(t, o.msgsPerOp(), 0.3, "seed %d", seed)
		mpo = append(mpo, o.msgsPerOp())
		conv = append(conv, o.convergedMs)
	}
	t.Logf("challenge 4, 20 seeds: msgs-per-op %s; converged after heal (ms) %s", summary(mpo), summary(conv))
}

// seeds is how many seeds a measuring test runs: dflt, scaled by
// sim.SeedsEnv for a longer measurement.
func seeds(t testing.TB, dflt int) uint64 { return uint64(len(sim.Seeds(t, dflt))) }

// measure runs sc over seeds for one counter kind ("g" or "pn") and logs
// msgs-per-op and the convergence time after the heal.
func measure(t *testing.T, label, kind string, sc scenario, n uint64) {
	var mpo []float64
	var conv []int64
	for seed := uint64(1); seed <= n; seed++ {
		var o outcome
		if kind == "g" {
			sc.addFrac, sc.delta = 1.0/3, gDelta
			o = runScenario(t, seed, sc, crdt.NewGCounter)
		} else {
			sc.addFrac, sc.delta = 0.5, pnDelta
			o = runScenario(t, seed, sc, crdt.NewPNCounter)
		}
		mpo = append(mpo, o.msgsPerOp())
		conv = append(conv, o.convergedMs)
	}
	t.Logf("%s, %s-counter, %d seeds: msgs-per-op %s; converged after heal (ms) %s", label, kind, n, summary(mpo), summary(conv))
}

// TestSimLargeClusters: 5 and 25 nodes at 100 ms latency, both counters,
// converge after the heal.
func TestSimLargeClusters(t *testing.T) {
	for _, n := range []int{5, 25} {
		for _, kind := range []string{"g", "pn"} {
			sc := challenge4
			sc.nodes, sc.latMinMs, sc.latMaxMs = n, 100, 100
			measure(t, fmt.Sprintf("%d nodes, latency 100", n), kind, sc, seeds(t, 2))
		}
	}
}

// TestSimHealthyStaysOnOverlay: without partitions, on a lossy network, no
// node is ever stranded, so nothing goes beyond the overlay and the cost is
// the overlay's.
func TestSimHealthyStaysOnOverlay(t *testing.T) {
	for _, n := range []int{5, 25} {
		sc := challenge4
		sc.nodes, sc.latMinMs, sc.latMaxMs, sc.loss, sc.dup, sc.nemesisMs = n, 0, 150, 0.05, 0.05, 0
		for seed := uint64(1); seed <= 3; seed++ {
			o := runScenario(t, seed, sc, crdt.NewGCounter)
			require.Zero(t, o.reached, "%d nodes, seed %d: messages beyond the overlay", n, seed)
		}
	}
}

// TestSimOverlayTradeoff measures the overlay bases that OverlayBase's
// comment compares. Set sim.SeedsEnv (MAELKIT_SEEDS=1 or more) to run it.
func TestSimOverlayTradeoff(t *testing.T) {
	if !sim.Soaking() {
		t.Skip("a measurement: set MAELKIT_SEEDS to run it")
	}
	for _, base := range []int{2, 3, 4, 100} {
		sc := challenge4
		sc.nodes, sc.latMinMs, sc.latMaxMs, sc.base = 25, 100, 100, base
		measure(t, fmt.Sprintf("25 nodes, latency 100, overlay base %d", base), "g", sc, seeds(t, 5))
	}
}

// BenchmarkSimChallenge4 times a whole simulated challenge-4 run.
func BenchmarkSimChallenge4(b *testing.B) {
	seed := uint64(0)
	for b.Loop() {
		seed++
		o := runScenario(b, seed, challenge4, crdt.NewGCounter)
		b.ReportMetric(o.msgsPerOp(), "msgs/op")
	}
}
