package gossip

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/sim"
)

// gossipSim is the simulator over gossip cores.
type gossipSim = sim.Sim[Message, Command, Result]

// checkedClone deep-copies a message for the simulator and checks the cap
// on the values one message carries.
func checkedClone(batchMax int) func(any) any {
	return func(x any) any {
		m := x.(Message)
		if n := runsLen(m.Fwd) + runsLen(m.Vals); n > batchMax {
			panic(fmt.Sprintf("a message carries %d values, cap %d", n, batchMax))
		}
		return m.Clone()
	}
}

func runsLen(rs []Run) int {
	n := 0
	for _, r := range rs {
		n += len(r.Vals)
	}
	return n
}

const tickMs = 10

// world is a cluster of cores in the simulator plus the client workload.
type world struct {
	t     testing.TB
	s     *gossipSim
	nodes []string
	cores map[string]*Core
	next  int64
	acked []string // values the clients got add_ok for
}

func newWorld(t testing.TB, seed uint64, n int, net sim.Config, tweak func(*Config)) *world {
	w := &world{t: t, cores: map[string]*Core{}}
	for i := range n {
		w.nodes = append(w.nodes, fmt.Sprintf("n%d", i))
	}
	net.Seed = seed
	net.Nodes = w.nodes
	net.TickMs = tickMs
	capCfg := Defaults("", w.nodes, tickMs)
	if tweak != nil {
		tweak(&capCfg)
	}
	net.Clone = checkedClone(capCfg.BatchMax)
	w.s = sim.New(net, func(id string) core.Core[Message, Command, Result] {
		cfg := Defaults(id, w.nodes, tickMs)
		if tweak != nil {
			tweak(&cfg)
		}
		c, err := New(cfg)
		require.NoError(t, err)
		w.cores[id] = c
		return c
	})
	return w
}

// add has a client add the next value at node id.
func (w *world) add(id string) {
	w.s.Command(id, core.Command[Command]{Client: "c1", MsgID: w.next + 1,
		Body: Command{Value: json.RawMessage(strconv.FormatInt(w.next, 10))}})
	w.next++
	w.collect()
}

func (w *world) collect() {
	for _, r := range w.s.Replies() {
		if !r.Body.Read && r.Body.Err == nil {
			w.acked = append(w.acked, string(r.Body.Value))
		}
	}
}

// workload runs for ms, adding a value at a random node (of among, or any)
// every everyMs.
func (w *world) workload(ms, everyMs int64, among []string) {
	if among == nil {
		among = w.nodes
	}
	for end := w.s.Now() + ms; w.s.Now() < end; {
		w.s.RunFor(everyMs)
		w.add(among[w.s.Rand().IntN(len(among))])
	}
}

// converged: every node has every acknowledged value and nothing else
// differs.
func (w *world) converged() bool {
	ref := w.cores[w.nodes[0]].Set()
	for _, id := range w.nodes {
		if !w.cores[id].Set().Equal(ref) {
			return false
		}
	}
	for _, v := range w.acked {
		if !ref.Contains(json.RawMessage(v)) {
			return false
		}
	}
	return true
}

// requireConverged runs until converged, within limitMs of virtual time.
func (w *world) requireConverged(limitMs int64) {
	w.t.Helper()
	start := w.s.Now()
	if !w.s.RunUntil(w.converged, limitMs) {
		for _, id := range w.nodes {
			w.t.Log(w.cores[id].dump())
		}
		for _, l := range w.s.Trace() {
			w.t.Log(l)
		}
		w.t.Fatalf("seed %d: not converged %d ms after t=%d ms", w.s.Seed(), limitMs, start)
	}
	w.t.Logf("seed %d: converged in %d ms; %d values, sent %d, delivered %d, dropped %d",
		w.s.Seed(), w.s.Now()-start, len(w.acked), w.s.Sent, w.s.Delivered, w.s.Dropped)
}

// requireQuiet waits (a bounded time) until no core owes anything, then
// runs ms more and checks that no node sends anything.
func (w *world) requireQuiet(ms int64) {
	w.t.Helper()
	settled := func() bool {
		if w.s.InFlight() > 0 { // a late duplicate would draw an ack
			return false
		}
		for _, sc := range w.cores {
			if sc.Pending() {
				return false
			}
		}
		return true
	}
	if !w.s.RunUntil(settled, 30000) { // retries every RTOMax (3 s) may each be lost
		for _, id := range w.nodes {
			w.t.Log(w.cores[id].dump())
		}
		w.t.Fatalf("seed %d: cores still owe messages 30 s after convergence", w.s.Seed())
	}
	sent := w.s.Sent
	w.s.RunFor(ms)
	require.Equal(w.t, sent, w.s.Sent, "seed %d: messages sent while quiescent", w.s.Seed())
}

func seeds(t *testing.T, n int) []uint64 { return sim.Seeds(t, n) }

// TestSimScenarios runs the core through network faults, each scenario
// over several seeds, and requires convergence with no acknowledged value
// lost, then silence.
func TestSimScenarios(t *testing.T) {
	cases := []struct {
		name  string
		nodes int
		net   sim.Config
		run   func(w *world)
		// convergeMs bounds the time from the end of the faults to
		// convergence.
		convergeMs int64
	}{
		{
			name: "clean", nodes: 5, net: sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100},
			run: func(w *world) { w.workload(5000, 20, nil) }, convergeMs: 1000,
		},
		{
			name: "reordering", nodes: 9, net: sim.Config{LatencyMinMs: 1, LatencyMaxMs: 400},
			run: func(w *world) { w.workload(5000, 10, nil) }, convergeMs: 3000,
		},
		{
			// With 20% loss a retransmission (one per RTOMax, 3 s) fails
			// often enough that the bound must allow several in a row.
			name: "loss and duplication", nodes: 7, net: sim.Config{LatencyMinMs: 20, LatencyMaxMs: 200, Loss: 0.2, Duplicate: 0.2},
			run: func(w *world) { w.workload(8000, 20, nil) }, convergeMs: 30000,
		},
		{
			name: "random partitions", nodes: 9, net: sim.Config{LatencyMinMs: 50, LatencyMaxMs: 150},
			run: func(w *world) {
				for range 6 {
					w.randomPartition()
					w.workload(2000+w.s.Rand().Int64N(3000), 20, nil)
				}
				w.s.Heal()
			}, convergeMs: 8000,
		},
		{
			name: "hub isolated", nodes: 7, net: sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100},
			run: func(w *world) {
				w.s.Isolate("n0")
				w.workload(15000, 20, nil)
				w.s.Heal()
			}, convergeMs: 8000,
		},
		{
			name: "node isolated the whole run", nodes: 7, net: sim.Config{LatencyMinMs: 10, LatencyMaxMs: 200},
			run: func(w *world) {
				w.s.Isolate("n4")
				w.workload(30000, 25, nil)
				w.s.Heal()
			}, convergeMs: 8000,
		},
		{
			name: "partitions with loss and reordering", nodes: 11, net: sim.Config{LatencyMinMs: 1, LatencyMaxMs: 300, Loss: 0.05, Duplicate: 0.05},
			run: func(w *world) {
				for range 5 {
					w.randomPartition()
					w.workload(3000, 15, nil)
				}
				w.s.Heal()
			}, convergeMs: 30000,
		},
		{
			// Maelstrom's majorities-ring: one-way cuts, so acks and data
			// may flow in one direction only.
			name: "one-way cuts", nodes: 9, net: sim.Config{LatencyMinMs: 50, LatencyMaxMs: 150},
			run: func(w *world) {
				for range 4 {
					w.s.Heal()
					for range 3 * len(w.nodes) {
						a, b := w.nodes[w.s.Rand().IntN(len(w.nodes))], w.nodes[w.s.Rand().IntN(len(w.nodes))]
						if a != b {
							w.s.Cut(a, b)
						}
					}
					w.workload(4000, 20, nil)
				}
				w.s.Heal()
			}, convergeMs: 8000,
		},
		{
			name: "pause", nodes: 5, net: sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100},
			run: func(w *world) {
				w.workload(2000, 20, nil)
				w.s.Crash("n0") // a pause: the same core comes back
				w.workload(5000, 20, w.nodes[1:])
				w.s.Restart("n0", w.cores["n0"])
				w.workload(2000, 20, nil)
			}, convergeMs: 8000,
		},
		{
			name: "single node", nodes: 1, net: sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100},
			run: func(w *world) { w.workload(2000, 20, nil) }, convergeMs: 100,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range seeds(t, 4) {
				w := newWorld(t, seed, tc.nodes, tc.net, nil)
				tc.run(w)
				w.requireConverged(tc.convergeMs)
				w.requireQuiet(30000)
			}
		})
	}
}

// randomPartition splits the nodes in two random groups, or isolates one,
// or heals, like Maelstrom's partition shapes.
func (w *world) randomPartition() {
	r := w.s.Rand()
	switch r.IntN(4) {
	case 0:
		w.s.Heal()
	case 1:
		w.s.Isolate(w.nodes[r.IntN(len(w.nodes))])
	default:
		w.s.Partition(sim.RandomSplit(r, w.nodes))
	}
}

// TestSimDeterminism: the same seed gives the same trace.
func TestSimDeterminism(t *testing.T) {
	seed := seeds(t, 1)[0]
	hash := func() uint64 {
		w := newWorld(t, seed, 7, sim.Config{LatencyMinMs: 1, LatencyMaxMs: 300, Loss: 0.1, Duplicate: 0.1}, nil)
		for range 3 {
			w.randomPartition()
			w.workload(2000, 15, nil)
		}
		w.s.Heal()
		w.requireConverged(15000)
		return w.s.TraceHash()
	}
	require.Equal(t, hash(), hash(), "seed %d", seed)
}

// TestSimFallbackHub: with the primary hub cut off, the other nodes elect
// the same fallback hub and keep disseminating among themselves, so values
// still reach every reachable node quickly.
func TestSimFallbackHub(t *testing.T) {
	for _, seed := range seeds(t, 3) {
		w := newWorld(t, seed, 7, sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100}, nil)
		w.s.Isolate("n0")
		w.workload(6000, 50, w.nodes[1:]) // long enough for every node to suspect n0
		for _, id := range w.nodes[1:] {
			require.Equal(t, "n1", w.cores[id].Hub(), "seed %d: hub of %s", seed, id)
		}
		w.add("n5")
		v := json.RawMessage(strconv.FormatInt(w.next-1, 10))
		ok := w.s.RunUntil(func() bool {
			for _, id := range w.nodes[1:] {
				if !w.cores[id].Set().Contains(v) {
					return false
				}
			}
			return true
		}, 1000)
		require.True(t, ok, "seed %d: value added on n5 did not reach the reachable nodes through n1", seed)
		w.s.Heal()
		w.workload(5000, 50, nil)
		for _, sc := range w.cores {
			require.Equal(t, "n0", sc.Hub(), "seed %d: %s back to the primary hub once it answers\n%s", seed, sc.cfg.ID, sc.dump())
		}
		w.requireConverged(8000)
	}
}

// TestSimIsolatedNodeIsCheap: a node cut off for a long time costs a
// bounded number of messages, each within the batch cap, and catches up
// after the heal.
func TestSimIsolatedNodeIsCheap(t *testing.T) {
	for _, seed := range seeds(t, 3) {
		w := newWorld(t, seed, 5, sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100}, func(c *Config) { c.BatchMax = 64 })
		w.workload(1000, 20, nil)
		w.s.Isolate("n3")
		start := w.s.Dropped
		const isolatedMs = 60000
		w.workload(isolatedMs, 20, nil) // ~3000 values, more than the batch cap
		lost := w.s.Dropped - start
		// About one retransmission per RTOMax per peer each way, plus the
		// handful sent before each timeout: far from one per tick (100/s).
		perSec := float64(lost) / (isolatedMs / 1000)
		bound := 2*float64(len(w.nodes)-1)/3 + 2
		t.Logf("seed %d: %.1f messages/s to or from the isolated node (bound %.1f)", seed, perSec, bound)
		require.Less(t, perSec, bound, "seed %d: %d messages dropped during the isolation", seed, lost)
		w.s.Heal()
		w.requireConverged(30000)
	}
}

// TestSimCostModel: without faults, at a steady rate, a star costs about
// one upload per value plus (N-1) messages per flush, and nothing once
// quiescent.
func TestSimCostModel(t *testing.T) {
	const n, runMs, everyMs = 25, 20000, 20 // 50 values/s, as Maelstrom's 3d
	w := newWorld(t, seeds(t, 1)[0], n, sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100}, nil)
	w.workload(runMs, everyMs, nil)
	w.requireConverged(3000)
	values := float64(len(w.acked))
	flushes := float64(runMs) / 300
	model := values*(n-1)/n + flushes*(n-1)
	got := float64(w.s.Sent)
	t.Logf("%d values: %0.f messages, model %0.f (uploads + flushes), %.2f per value", len(w.acked), got, model, got/values)
	require.InDelta(t, model, got, 0.15*model, "seed %d", w.s.Seed())
	w.requireQuiet(30000)
}

func BenchmarkSim25Nodes(b *testing.B) {
	for b.Loop() {
		w := newWorld(b, 1, 25, sim.Config{LatencyMinMs: 100, LatencyMaxMs: 100}, nil)
		w.workload(5000, 20, nil)
		w.s.RunUntil(w.converged, 3000)
	}
}

// dump is a core's state, for failure reports.
func (c *Core) dump() string {
	s := fmt.Sprintf("%s now=%d hub=%s values=%d ctx=[%s]\n", c.cfg.ID, c.now, c.Hub(), c.set.Len(), c.set.Context())
	for _, p := range c.peers {
		if p == nil {
			continue
		}
		s += fmt.Sprintf("  %s known=[%s] fwd=[%s] want=[%s] sent=[%s] flights=%d rto=%d backoff=%v ackDue=%d suspect=%d catchUp=%v upAt=%d rtt=%d\n",
			p.id, p.known.String(), p.fwd.String(), p.want.String(), p.sent.String(), len(p.flights), p.rto, p.backoff, p.ackDue, p.suspectUntil, p.catchUp, p.upAt, p.rtt)
	}
	return s
}
