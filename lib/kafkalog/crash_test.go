package kafkalog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raftnode"
	"maelkit/lib/sim"
	"maelkit/lib/testenv"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/kafka"
)

// The service under crashes: the simulation of sim_test.go with every node
// on a simulated disk (sim.NewDurable, the Raft state written through
// core.Write as the durable Host writes it), killed at random points of
// the main phase by a process death (the page cache survives), a power
// loss (unsynced writes dropped or torn), a power loss of the whole
// cluster, or a fault inside its next writes (between a write and its
// sync, inside a snapshot's save), and restarted from what its disk kept;
// or its disk is wiped (one node at a time, the others holding their
// state) and it restarts empty and rejoins.
// After every fault and restart the replicas' logs never disagree on an
// offset, now or with what any replica held before; at the end, eddy's
// kafka checker finds no anomaly, every acknowledged send is in the log at
// its offset and every acknowledged commit_offsets is in force.

// crashRun is one seeded crash simulation.
type crashRun struct {
	*simRun
	// seen is every (key, offset) any replica ever applied, with its
	// message: an offset never changes its message, across restarts too.
	seen   map[string][]string
	kills  int
	boots  int
	faults map[string]int
	// upAt is when a node that is down comes back.
	upAt map[string]int64
	// wipes lets fault wipe disks.
	wipes bool
}

// anyUnsure says whether some node is still rejoining after a wipe.
func (cr *crashRun) anyUnsure() bool {
	for _, id := range cr.ids {
		if cr.cores[id].Raft().RSM().Raft().Unsure() {
			return true
		}
	}
	return false
}

func newCrashRun(t *testing.T, seed uint64, nodes int) *crashRun {
	sr, cfg := newSimBase(t, seed, nodes)
	cr := &crashRun{simRun: sr, seen: map[string][]string{}, faults: map[string]int{}, upAt: map[string]int64{}}
	sr.s = sim.NewDurable(cfg, func(id string, rec core.Recovered) core.Core[raftnode.Msg, raftnode.Request, any] {
		c := simConfig()
		// Snapshots every few entries: restarts from a snapshot and a
		// log tail, and snapshots installed on a node that lags.
		c.SnapshotEntries = 16
		cr.boots++
		c.ID, c.Nodes, c.Recovered = id, sr.ids, rec
		c.Rand = rand.New(rand.NewPCG(seed, uint64(cr.boots)))
		c.Amnesia = true // disks are wiped
		kc, err := NewCore(c)
		require.NoError(t, err, "seed %d: rebuilding %s", seed, id)
		sr.cores[id] = kc
		return kc
	})
	sr.faults = cr.fault
	sr.settle = cr.settle
	return cr
}

// fault runs before main-phase op i: a node down long enough comes back;
// every few ops, a partition, a heal, or a node killed one way or
// another (at most a minority at a time, but for a power loss of the
// whole cluster), or, with wipes, a disk wiped.
func (cr *crashRun) fault(i int) {
	s, r := cr.s, cr.r
	for _, id := range cr.ids {
		if s.Down(id) && s.Now() >= cr.upAt[id] {
			cr.recover(id)
		}
	}
	if i%8 != 7 {
		return
	}
	id := cr.ids[r.IntN(len(cr.ids))]
	down := 0
	for _, n := range cr.ids {
		if s.Down(n) {
			down++
		}
	}
	canKill := !s.Down(id) && 2*(down+1) < len(cr.ids)
	switch k := r.IntN(22); {
	case k < 3:
		a, b := sim.RandomSplit(r, cr.ids)
		s.Partition(a, b)
	case k < 6:
		s.Heal()
	case k < 12:
		if canKill {
			f := sim.Fault(1 + r.IntN(2)) // process death or power loss
			s.Fail(id, f)
			cr.faults[f.String()]++
			cr.kills++
		}
	case k < 18:
		if canKill {
			// Inside its next writes: 0 is the first write, later
			// budgets land after a write and before its sync, or inside
			// a snapshot's save.
			f := sim.Fault(1 + r.IntN(2))
			s.FailAfter(id, r.IntN(6), f)
			cr.faults["armed "+f.String()]++
		}
	case k < 20 && cr.wipes:
		if down == 0 && !cr.anyUnsure() {
			// Its disk is wiped: it restarts empty and rejoins (the Raft
			// shell's amnesia guard). One node at a time, once every
			// other node is up and holds its state: a wipe of a second
			// node before the first caught up would leave two of three
			// without state, which the guard does not cover.
			s.Fail(id, sim.DiskWipe)
			cr.faults["disk-wipe"]++
			cr.kills++
		}
	default:
		if down == 0 {
			// The whole cluster loses power at once: only what a
			// majority synced is known to survive, and that is
			// everything acknowledged.
			for _, n := range cr.ids {
				s.FailAfter(n, -1, 0)
				s.Fail(n, sim.PowerLoss)
			}
			cr.faults["cluster power-loss"]++
			cr.kills += len(cr.ids)
		}
	}
	for _, id := range cr.ids {
		if s.Down(id) && cr.upAt[id] <= s.Now() {
			cr.upAt[id] = s.Now() + 200 + r.Int64N(2000)
		}
	}
	cr.checkAgree(fmt.Sprintf("fault before op %d", i))
}

func (cr *crashRun) recover(id string) {
	rec, err := cr.s.Recover(id)
	require.NoError(cr.t, err, "seed %d: recovering %s", cr.s.Seed(), id)
	switch {
	case rec.Snapshot != nil:
		cr.faults["restart from a snapshot"]++
	case !rec.Fresh:
		cr.faults["restart from the log alone"]++
	}
	cr.checkAgree("recovery of " + id)
}

// settle brings every node back, disarms every fault and heals before the
// final phase, and checks that every replica applied every acknowledged
// commit_offsets (the final phase commits again what it polls, which
// would hide a lost one).
func (cr *crashRun) settle() {
	for _, id := range cr.ids {
		if cr.s.Down(id) {
			cr.recover(id)
		}
		cr.s.FailAfter(id, -1, 0)
	}
	cr.s.Heal()
	cr.s.RunFor(3000)
	cr.checkCommitted()
}

// checkAgree: no up replica holds a message at an offset where any
// replica, now or earlier, held another one.
func (cr *crashRun) checkAgree(event string) {
	for _, id := range cr.ids {
		if cr.s.Down(id) {
			continue
		}
		l := cr.cores[id].Log()
		for _, k := range l.Keys() {
			es := l.Poll(map[string]int64{k: 0}, 0)[k]
			seen := cr.seen[k]
			for _, e := range es {
				if e.Offset < int64(len(seen)) {
					if seen[e.Offset] != string(e.Msg) {
						cr.t.Fatalf("seed %d after %s: %s holds %s at %s/%d, where %s was\n%s", cr.s.Seed(), event,
							id, e.Msg, k, e.Offset, seen[e.Offset], strings.Join(lastN(cr.s.Trace(), 40), "\n"))
					}
					continue
				}
				seen = append(seen, string(e.Msg))
			}
			cr.seen[k] = seen
		}
	}
}

func lastN(xs []string, n int) []string { return xs[max(0, len(xs)-n):] }

// crashSeeds: a few by default (each seed runs at 3 and 5 nodes), 1,000 in the long mode (MAELKIT_SEEDS
// scales both).
func crashSeeds(t *testing.T) []uint64 { return sim.Seeds(t, testenv.Pick(4, 1000)) }

func TestCrashSimulation(t *testing.T) {
	total := map[string]int{}
	kills, acked := 0, 0
	for _, nodes := range []int{3, 5} {
		for _, seed := range crashSeeds(t) {
			t.Run(fmt.Sprintf("nodes=%d/seed=%d", nodes, seed), func(t *testing.T) {
				cr := runCrash(t, seed, nodes, true)
				for f, n := range cr.faults {
					total[f] += n
				}
				kills += cr.kills
				acked += cr.ackedSends()
			})
		}
	}
	fs := make([]string, 0, len(total))
	for f, n := range total {
		fs = append(fs, fmt.Sprintf("%s %d", f, n))
	}
	slices.Sort(fs)
	t.Logf("%d nodes killed (%s), %d acknowledged sends kept", kills, strings.Join(fs, ", "), acked)
	require.Positive(t, kills)
}

// runCrash runs one seed; a panic (a store refusing a core's writes, say)
// fails the test with the seed to replay (MAELKIT_SEEDS=@seed).
func runCrash(t *testing.T, seed uint64, nodes int, wipes bool) *crashRun {
	t.Helper()
	cr := newCrashRun(t, seed, nodes)
	cr.wipes = wipes
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("seed %d, %d nodes: %v\n%s", seed, nodes, p, strings.Join(lastN(cr.s.Trace(), 60), "\n"))
		}
	}()
	cr.run(200, false)
	cr.checkAgree("the final phase")
	cr.check()
	return cr
}

// ackedSends counts the sends the history acknowledges.
func (sr *simRun) ackedSends() int {
	n := 0
	for _, op := range sr.h {
		if op.Type == history.OK && op.F == kafka.FSend {
			n++
		}
	}
	return n
}
