package paxos

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/sim"
	"maelkit/lib/testenv"
)

// seeds returns the seeds to run: 1..n in the long mode (testenv), the
// first quarter of them (at least one) otherwise; sim.SeedsEnv scales them
// in either mode or replays one seed (a replayed seed logs every delivery).
func seeds(t *testing.T, n uint64) []uint64 {
	if !testenv.Long() && !sim.Soaking() {
		n = (n + 3) / 4
	}
	return sim.Seeds(t, int(n))
}

// TestSimulation runs seeded simulations under loss, reordering,
// duplication, partitions and crash-restarts, checking the Paxos
// invariants after every event, linearizability of every client history,
// and, after a final heal, that every client makes progress.
func TestSimulation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sc    scenario
		seeds uint64
	}{
		{name: "3 nodes faults", seeds: 4, sc: scenario{nodes: 3, clients: 6, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 20, faults: true}},
		{name: "5 nodes faults", seeds: 3, sc: scenario{nodes: 5, clients: 10, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 30, faults: true}},
		{name: "5 nodes heavy loss", seeds: 3, sc: scenario{nodes: 5, clients: 6, keys: 1, durationMs: 4000, loss: 0.3, dup: 0.2, latMaxMs: 40, faults: true}},
		{name: "3 nodes thrifty faults", seeds: 3, sc: scenario{nodes: 3, clients: 6, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 20, faults: true, thrifty: true}},
		{name: "5 nodes thrifty faults", seeds: 3, sc: scenario{nodes: 5, clients: 10, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 30, faults: true, thrifty: true}},
		{name: "3 nodes forward faults", seeds: 3, sc: scenario{nodes: 3, clients: 6, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 20, faults: true, forward: true}},
		{name: "5 nodes forward faults", seeds: 3, sc: scenario{nodes: 5, clients: 10, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.1, latMaxMs: 30, faults: true, forward: true}},
		{name: "3 nodes relay thrifty one-way faults", seeds: 3, sc: scenario{nodes: 3, clients: 6, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 20, faults: true, oneWay: true, forward: true, relay: true, thrifty: true}},
		{name: "5 nodes relay one-way faults", seeds: 3, sc: scenario{nodes: 5, clients: 10, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 30, faults: true, oneWay: true, forward: true, relay: true}},
		{name: "3 nodes no fast path", seeds: 3, sc: scenario{nodes: 3, clients: 6, keys: 2, durationMs: 4000, loss: 0.05, dup: 0.05, latMaxMs: 20, faults: true, fastOff: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range seeds(t, tc.seeds) {
				res := runScenario(t, seed, tc.sc)
				if t.Failed() {
					return
				}
				for i, d := range res.tailDone {
					require.Positive(t, d, "seed %d: client %d made no progress after the heal", seed, i)
				}
				t.Logf("seed %d: ops %d ok %d unknown %d msgs %d", seed, res.ops, res.ok, res.unknown, res.sent)
			}
		})
	}
}

// TestNoLivelock: every node proposes on the same key all the time, with
// reordering but no faults; backoff must keep everyone making progress.
func TestNoLivelock(t *testing.T) {
	t.Parallel()
	for _, forward := range []bool{false, true} {
		for _, seed := range seeds(t, 1) {
			res := runScenario(t, seed, scenario{nodes: 5, clients: 5, keys: 1, durationMs: 3000, latMaxMs: 15, forward: forward})
			if t.Failed() {
				return
			}
			t.Logf("forward=%v seed %d: ops %d, unknown %d, max latency %d ms, msgs/op %.2f", forward, seed, res.ops, res.unknown, res.latMaxMs, float64(res.sent)/float64(res.ops))
			require.Equal(t, res.open, res.unknown, "seed %d: without faults every operation must be answered", seed)
			require.Zero(t, res.unavailable, "seed %d", seed)
			for i, d := range res.tailDone {
				require.Greater(t, d, 20, "seed %d: client %d starved", seed, i)
			}
		}
	}
}

// TestMajoritySideStaysAvailable: a partition cuts {n0, n1} off every
// other half second while clients talk to every node. Every operation
// asked of a majority-side node succeeds: there is no leader to lose and
// no pause at the partition's start. With forwarding, a batch just handed
// to a proposer that the cut puts on the minority side is run by its
// forwarder after Forward.WaitTicks.
func TestMajoritySideStaysAvailable(t *testing.T) {
	t.Parallel()
	ids := []string{"n0", "n1", "n2", "n3", "n4"}
	for _, forward := range []bool{false, true} {
		for _, seed := range seeds(t, 1) {
			schedule := func(s *paxosSim, now int64) {
				if now%1000 == 500 {
					s.Partition([]string{"n0", "n1"}, []string{"n2", "n3", "n4"})
				}
				if now%1000 == 0 {
					s.Heal()
				}
			}
			res := runScenario(t, seed, scenario{nodes: 5, clients: 6, keys: 2, durationMs: 2500, latMaxMs: 10,
				forward: forward, schedule: schedule})
			if t.Failed() {
				return
			}
			t.Logf("forward=%v seed %d: ops %d, unknown %d (open %d), unavailable %d, trouble by node %v, max latency %d ms",
				forward, seed, res.ops, res.unknown, res.open, res.unavailable, res.troubleAt, res.latMaxMs)
			for _, id := range ids[2:] {
				require.Zero(t, res.troubleAt[id], "seed %d: an operation at majority-side %s failed", seed, id)
			}
		}
	}
}

// TestSameSeedSameTrace: a simulation is a function of its seed.
func TestSameSeedSameTrace(t *testing.T) {
	t.Parallel()
	sc := scenario{nodes: 3, clients: 4, keys: 2, durationMs: 2000, loss: 0.1, dup: 0.1, latMaxMs: 20, faults: true}
	a := runScenario(t, 7, sc)
	b := runScenario(t, 7, sc)
	c := runScenario(t, 8, sc)
	require.Equal(t, a.hash, b.hash)
	require.NotEqual(t, a.hash, c.hash)
}

// BenchmarkSimulation measures a whole simulated run: 3 nodes, faults.
func BenchmarkSimulation(b *testing.B) {
	t := &testing.T{}
	sc := scenario{nodes: 3, clients: 6, keys: 2, durationMs: 2000, loss: 0.05, dup: 0.05, latMaxMs: 20, faults: true, forward: true}
	for i := 0; b.Loop(); i++ {
		runScenario(t, uint64(i+1), sc)
	}
}

// TestRingStaysAvailable: Maelstrom's majorities-ring partition on five
// nodes (each talks both ways with its two ring neighbours only) for the
// whole run, clients at every node, one key. Every node reaches a
// majority, but no node reaches all the others, so no single proposer can
// serve everyone directly: forwarding relays batches over two hops to the
// key's busy proposer, and every node's clients keep getting answers.
func TestRingStaysAvailable(t *testing.T) {
	t.Parallel()
	ring := []string{"n0", "n3", "n2", "n1", "n4"} // Maelstrom's ring order for seed 10
	sc := scenario{nodes: 5, clients: 10, keys: 1, durationMs: 4000, latMaxMs: 10, forward: true}
	for _, seed := range seeds(t, 4) {
		res := runRing(t, seed, sc, ring, false)
		for _, id := range ring {
			require.Zero(t, res.troubleAt[id], "seed %d: an operation at %s failed", seed, id)
		}
	}
}

// TestRingUnderLoad: the five-node ring again, with twice the clients,
// two keys moving on every 600 ms (each new key starts cold, so proposers
// must settle on one busy proposer per key inside the ring) and latencies
// up to 20 ms. Every op makes its 800 ms budget, which takes forwards
// between two nodes whose routes point at each other being carried
// instead of bounced, a batch keeping one tag, forwards retried to live
// busy proposers and along live routes, and cold keys going to a
// preferred node.
func TestRingUnderLoad(t *testing.T) {
	t.Parallel()
	ring := []string{"n0", "n3", "n2", "n1", "n4"}
	trouble, ops := 0, 0
	for _, seed := range seeds(t, 4) {
		sc := scenario{nodes: 5, clients: 20, keys: 2, rotateMs: 600, durationMs: 8000, latMaxMs: 20, forward: true, relay: true}
		res := runRing(t, seed, sc, ring, false)
		trouble += res.unavailable + res.unknown - res.open
		ops += res.ops
	}
	t.Logf("%d of %d ops unavailable or unknown", trouble, ops)
	require.Zero(t, trouble)
}

// TestOneWayRingStaysAvailable: the same partition on three nodes, where
// Maelstrom cuts every link in one direction (n0 hears n2 only, n1 hears
// n0 only, n2 hears n1 only): no two nodes talk both ways, and without
// relaying (Config.Relay) no round ever gets a quorum. With it every
// node's clients keep getting answers; without it they do not.
func TestOneWayRingStaysAvailable(t *testing.T) {
	t.Parallel()
	ring := []string{"n0", "n1", "n2"}
	sc := scenario{nodes: 3, clients: 6, keys: 1, durationMs: 4000, latMaxMs: 10, forward: true, relay: true}
	for _, seed := range seeds(t, 4) {
		res := runRing(t, seed, sc, ring, true)
		for _, id := range ring {
			require.Zero(t, res.troubleAt[id], "seed %d: an operation at %s failed", seed, id)
		}
	}
	sc.relay = false
	res := runRing(t, 1, sc, ring, true)
	trouble := 0
	for _, n := range res.troubleAt { // failed ops, not those the run's end left open
		trouble += n
	}
	require.NotZero(t, trouble, "without relaying the one-way ring should stall")
}

// runRing runs sc with a majorities-ring partition over ring: every node
// keeps the links to its ring neighbours; with oneWay (three nodes) it
// hears only its predecessor and reaches only its successor. Odd seeds use
// one key; even seeds two at a time, moving on every 300 ms, so each new
// key starts with no busy proposer. Seeds 2 and 3 (mod 4) cut the ring
// only after 500 ms of full connectivity: a busy proposer then exists, and
// some nodes lose it.
func runRing(t *testing.T, seed uint64, sc scenario, ring []string, oneWay bool) runResult {
	t.Helper()
	keep := func(src, dst string) bool {
		i, j := slices.Index(ring, src), slices.Index(ring, dst)
		d := (j - i + len(ring)) % len(ring)
		return d == 1 || !oneWay && d == len(ring)-1
	}
	if seed%2 == 0 {
		sc.keys, sc.rotateMs = 2, 300
	}
	cutAt := int64(0)
	if seed%4 >= 2 {
		cutAt = 500
	}
	cut := false
	sc.schedule = func(s *paxosSim, now int64) {
		if cut || now < cutAt {
			return
		}
		cut = true
		for _, a := range ring {
			for _, b := range ring {
				if a != b && !keep(a, b) {
					s.Cut(a, b)
				}
			}
		}
	}
	res := runScenario(t, seed, sc)
	if !t.Failed() {
		t.Logf("seed %d: ops %d, unknown %d (open %d), unavailable %d, trouble by node %v, max latency %d ms, sent %d",
			seed, res.ops, res.unknown, res.open, res.unavailable, res.troubleAt, res.latMaxMs, res.sent)
	}
	return res
}

// TestMajoritySideUnderLoad: five nodes, 20 clients at Maelstrom's lin-kv
// pace, two keys moving on every second, latencies exponential with mean
// 10 ms (Maelstrom's --latency 10 --latency-dist exponential), and
// partitions of the shapes Maelstrom draws (one node cut off, a 2|3
// split, the majorities ring), each for two seconds with one healed second
// between. Operations asked of a node on the majority side (every node, in
// the ring) throughout their second are all answered: batches a rival
// adopted under a later tag are answered, forwards to a live busy
// proposer, or along a live route to one, are not given up for rival
// rounds, and young ops are not answered 11 with an old batch-mate.
func TestMajoritySideUnderLoad(t *testing.T) {
	t.Parallel()
	const cycleMs, partMs = 3000, 2000
	trouble, healed, ops := 0, 0, 0
	for _, seed := range seeds(t, 4) {
		// Even seeds start partitioned: every node, and every key, cold.
		offset := int64(0)
		if seed%2 == 0 {
			offset = cycleMs - partMs
		}
		sh := &shapeSchedule{r: rand.New(rand.NewPCG(seed, 99)), ids: []string{"n0", "n1", "n2", "n3", "n4"},
			cycleMs: cycleMs, partMs: partMs, offset: offset}
		sc := scenario{nodes: 5, clients: 20, keys: 2, rotateMs: 1000, durationMs: 12000, latMaxMs: 200, latMeanMs: 10, thinkMaxMs: 400, forward: true, relay: true,
			schedule: sh.apply}
		res := runScenario(t, seed, sc)
		if t.Failed() {
			return
		}
		n, h := sh.majorityTrouble(t, seed, res.trouble)
		trouble += n
		healed += h
		ops += res.ops
		t.Logf("seed %d: ops %d, majority-side trouble %d, trouble by node %v", seed, res.ops, n, res.troubleAt)
	}
	t.Logf("%d of %d ops at majority-side nodes unavailable or unknown (%d while healed)", trouble, ops, healed)
	require.Zero(t, trouble)
}

// shapeSchedule partitions the network in the shapes Maelstrom draws (one
// node cut off, a 2|3 split, the majorities ring) for partMs of every
// cycleMs, and remembers each span of time with its minority.
type shapeSchedule struct {
	r                       *rand.Rand
	ids                     []string
	cycleMs, partMs, offset int64
	spans                   []shapeSpan
}

// shapeSpan is a time from which one shape held: healed, or partitioned
// with these nodes in the minority (none for the ring, where every node
// reaches a majority).
type shapeSpan struct {
	from     int64
	minority []string
	healed   bool
}

// apply is a scenario's schedule: it heals or partitions when a cycle says
// so.
func (sh *shapeSchedule) apply(s *paxosSim, now int64) {
	if len(sh.spans) > 0 && sh.spans[len(sh.spans)-1].from == now {
		return
	}
	switch (now + sh.offset) % sh.cycleMs {
	case 0:
		s.Heal()
		sh.spans = append(sh.spans, shapeSpan{from: now, healed: true})
	case sh.cycleMs - sh.partMs:
		perm := slices.Clone(sh.ids)
		sh.r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		switch sh.r.IntN(3) {
		case 0:
			s.Partition(perm[:1], perm[1:])
			sh.spans = append(sh.spans, shapeSpan{from: now, minority: perm[:1]})
		case 1:
			s.Partition(perm[:2], perm[2:])
			sh.spans = append(sh.spans, shapeSpan{from: now, minority: perm[:2]})
		default:
			for i, a := range perm {
				for j, b := range perm {
					if d := (j - i + len(perm)) % len(perm); d != 0 && d != 1 && d != len(perm)-1 {
						s.Cut(a, b)
					}
				}
			}
			sh.spans = append(sh.spans, shapeSpan{from: now})
		}
	}
}

// majorityTrouble counts the trouble ops asked of a node on the majority
// side for their whole time (n), logging each, and those of them asked
// while healed.
func (sh *shapeSchedule) majorityTrouble(t *testing.T, seed uint64, trouble []troubleOp) (n, healed int) {
	at := func(ms int64) int {
		i, _ := slices.BinarySearchFunc(sh.spans, ms, func(s shapeSpan, at int64) int { return cmp.Compare(s.from, at+1) })
		return i
	}
	for _, op := range trouble {
		i, j := at(op.sentMs), at(op.sentMs+clientTimeoutMs)
		if i == 0 || slices.ContainsFunc(sh.spans[i-1:j], func(s shapeSpan) bool { return slices.Contains(s.minority, op.node) }) {
			continue // not on the majority side throughout
		}
		n++
		sp := sh.spans[i-1]
		shape := "healed"
		switch {
		case sp.healed:
			healed++
		case len(sp.minority) == 0:
			shape = "ring"
		default:
			shape = fmt.Sprint("minority ", sp.minority)
		}
		t.Logf("seed %d: trouble at %s, op sent at %d ms, %d ms into %s", seed, op.node, op.sentMs, op.sentMs-sp.from, shape)
	}
	return n, healed
}
