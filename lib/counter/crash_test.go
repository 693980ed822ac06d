package counter

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/crdt"
	"maelkit/lib/sim"
	"maelkit/lib/testenv"
)

// crashRun is one seeded crash simulation of durable counter cores.
type crashRun[C crdt.Counter[C]] struct {
	t     *testing.T
	seed  uint64
	s     *sim.Sim[Sync[C], Command, Result]
	ids   []string
	cores map[string]*Core[C]
	boots int64 // incarnations handed out so far
	// acked and tried are the deltas per entry key acknowledged, and sent
	// to a node at all (acknowledged or not: a write that reached the disk
	// before the node died counts without an add_ok).
	acked, tried map[string]int64
	entryOf      map[int64]string // a pending add's msg id -> the entry it went to
}

func newCrashRun[C crdt.Counter[C]](t *testing.T, seed uint64, n int, empty func() C) *crashRun[C] {
	cr := &crashRun[C]{t: t, seed: seed, cores: map[string]*Core[C]{},
		acked: map[string]int64{}, tried: map[string]int64{}, entryOf: map[int64]string{}}
	for i := range n {
		cr.ids = append(cr.ids, fmt.Sprintf("n%d", i))
	}
	cr.s = sim.NewDurable(sim.Config{Seed: seed, Nodes: cr.ids, TickMs: 100, LatencyMinMs: 5, LatencyMaxMs: 150,
		Loss: 0.05, Duplicate: 0.05, Clone: wireClone[C](t), Describe: describe},
		func(id string, rec core.Recovered) core.Core[Sync[C], Command, Result] {
			cr.boots++
			c, err := NewDurable(Config{ID: id, NodeIDs: cr.ids, Incarnation: cr.boots}, empty(), rec)
			require.NoError(t, err, "seed %d", seed)
			cr.cores[id] = c
			return c
		})
	return cr
}

// check: every up node's own entry holds at least what was acknowledged
// on it and at most what was sent to it, and no node holds any entry
// above what was sent to it.
func (cr *crashRun[C]) check(event string) {
	cr.t.Helper()
	for _, id := range cr.ids {
		if cr.s.Down(id) {
			continue
		}
		c := cr.cores[id]
		st := c.State()
		if v := entryVersion(st, c.Entry()); v < cr.acked[c.Entry()] {
			cr.t.Fatalf("seed %d after %s: %s's entry %s at %d, below the %d acknowledged\n%s",
				cr.seed, event, id, c.Entry(), v, cr.acked[c.Entry()], traceTail(cr.s))
		}
		for _, key := range st.IDs() {
			if v := entryVersion(st, key); v > cr.tried[key] {
				cr.t.Fatalf("seed %d after %s: %s holds entry %s at %d, above the %d ever added\n%s",
					cr.seed, event, id, key, v, cr.tried[key], traceTail(cr.s))
			}
		}
	}
}

// entryVersion is the sum of magnitudes added to key: a G-counter's count, a
// PN-counter's increments plus decrements.
func entryVersion[C crdt.Counter[C]](c C, key string) int64 { return c.Version(key) }

func (cr *crashRun[C]) add(id string, msgID int64, delta int64) {
	entry := cr.cores[id].Entry()
	if !cr.s.Down(id) {
		cr.tried[entry] += abs(delta)
	}
	cr.entryOf[msgID] = entry
	cr.s.Command(id, core.Command[Command]{Client: "c1", MsgID: msgID, Body: Command{Delta: delta}})
	for _, r := range cr.s.Replies() {
		if !r.Body.Read && r.Body.Err == nil {
			cr.acked[cr.entryOf[r.InReplyTo]] += abs(delta)
		}
	}
}

// replicated: another node that is up holds every entry node id holds, at
// least at id's version. What the node itself believes its peers hold is
// not enough: a peer whose disk was wiped while down has not yet told it.
func (cr *crashRun[C]) replicated(id string) bool {
	mine := cr.cores[id].State()
	for _, other := range cr.ids {
		if other == id || cr.s.Down(other) {
			continue
		}
		theirs := cr.cores[other].State()
		all := true
		for _, key := range mine.IDs() {
			if entryVersion(theirs, key) < entryVersion(mine, key) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func abs(x int64) int64 { return max(x, -x) }

// signed sums the deltas acknowledged and sent, with their signs.
type signed struct{ acked, tried int64 }

// runCrash drives random adds, partitions and faults (sim.Chaos) for 20 s
// of virtual time, then recovers every node, heals, and requires that all
// agree on a value that counts every acknowledged add and nothing never
// sent. wipes allows DiskWipe, but only of a node whose entries another
// node that is up holds (an add acknowledged on a wiped node and held by
// no other is lost, and no protocol can bring it back): the test is then
// about the own entry's versions after a Fresh restart.
func runCrash[C crdt.Counter[C]](t *testing.T, seed uint64, n int, empty func() C, neg bool, wipes bool) sim.Faults {
	cr := newCrashRun(t, seed, n, empty)
	s := cr.s
	r := s.Rand()
	var sum signed
	ch := sim.Chaos{UntilMs: 20000, GapMaxMs: 100, Check: cr.check,
		Op: func(i int64, id string) {
			delta := 1 + r.Int64N(5)
			if neg && r.IntN(2) == 0 {
				delta = -delta
			}
			before := cr.acked[cr.cores[id].Entry()]
			up := !s.Down(id)
			cr.add(id, i, delta)
			if up {
				sum.tried += delta
			}
			if cr.acked[cr.entryOf[i]] != before {
				sum.acked += delta
			}
		}}
	if wipes {
		ch.Replicated = cr.replicated
	}
	require.NoError(t, s.RunChaos(ch), "seed %d", seed)
	require.NoError(t, s.RecoverAll(), "seed %d", seed)
	cr.check("the heal")
	agree := func() bool {
		v := cr.cores[cr.ids[0]].Value()
		for _, id := range cr.ids {
			if cr.cores[id].Value() != v || !cr.cores[id].Quiet() {
				return false
			}
		}
		return true
	}
	if !s.RunUntil(agree, 60000) {
		t.Fatalf("seed %d: no agreement after the heal: %v\n%s", seed, values(cr.ids, cr.cores), traceTail(s))
	}
	got := cr.cores[cr.ids[0]].Value()
	// Every acknowledged add counts; an add whose node died in its write
	// may count or not.
	for key, a := range cr.acked {
		v := entryVersion(cr.cores[cr.ids[0]].State(), key)
		require.GreaterOrEqual(t, v, a, "seed %d: entry %s lost acknowledged adds", seed, key)
	}
	if !neg {
		require.GreaterOrEqual(t, got, sum.acked, "seed %d", seed)
		require.LessOrEqual(t, got, sum.tried, "seed %d", seed)
	}
	return s.Faults()
}

func crashSeeds(t *testing.T) []uint64 { return sim.Seeds(t, testenv.Pick(20, 1000)) }

func TestCrashGCounter(t *testing.T) {
	var st sim.Faults
	for _, seed := range crashSeeds(t) {
		st.Add(runCrash(t, seed, 3, crdt.NewGCounter, false, false))
	}
	sim.LogFaults(t, "g-counter, 3 nodes", st)
}

func TestCrashPNCounter(t *testing.T) {
	var st sim.Faults
	for _, seed := range crashSeeds(t) {
		st.Add(runCrash(t, seed, 3, crdt.NewPNCounter, true, false))
	}
	sim.LogFaults(t, "pn-counter, 3 nodes", st)
}

// TestCrashWipedDisk: nodes restarted Fresh count under a new entry, so
// their new adds are never hidden by their old entry's higher version.
func TestCrashWipedDisk(t *testing.T) {
	var g, pn sim.Faults
	for _, seed := range crashSeeds(t) {
		g.Add(runCrash(t, seed, 5, crdt.NewGCounter, false, true))
		pn.Add(runCrash(t, seed, 3, crdt.NewPNCounter, true, true))
	}
	sim.LogFaults(t, "g-counter, 5 nodes, wiped disks", g)
	sim.LogFaults(t, "pn-counter, 3 nodes, wiped disks", pn)
	require.Positive(t, g.Wipes+pn.Wipes, "some disks were wiped")
}

// TestCrashDeadNeighbours: n4's ring neighbours (n0, n3) die at once, n4
// acknowledges adds while n1 is up and connected, then n4's disk is
// wiped. The adds survive only if n4, its neighbours presumed cut off,
// reached a replica outside its overlay.
func TestCrashDeadNeighbours(t *testing.T) {
	for _, seed := range sim.Seeds(t, 10) {
		cr := newCrashRun(t, seed, 5, crdt.NewGCounter)
		s := cr.s
		require.Equal(t, []string{"n0", "n3"}, cr.cores["n4"].Peers(), "n4's ring neighbours")
		s.RunFor(500)
		s.Fail("n0", sim.ProcessDeath)
		s.Fail("n3", sim.ProcessDeath)
		s.Fail("n2", sim.ProcessDeath) // n1 is the only live replica n4 could reach
		for i := range int64(10) {
			cr.add("n4", i, 1+i%3)
			s.RunFor(100)
		}
		entry := cr.cores["n4"].Entry()
		require.Positive(t, cr.acked[entry], "seed %d: adds acknowledged on n4", seed)
		// Long enough to presume the neighbours cut off (RetryTicks), then
		// the nearest replica outside the overlay (n1 or n2, whichever
		// ring order puts first), plus a few batches and round trips.
		s.RunFor(8000)
		cr.check("the adds")
		s.Fail("n4", sim.DiskWipe)
		require.GreaterOrEqual(t, cr.cores["n1"].State().Version(entry), cr.acked[entry],
			"seed %d: n1 holds n4's acknowledged adds when n4 is wiped\n%s", seed, traceTail(s))
		require.NoError(t, s.RecoverAll(), "seed %d", seed)
		agree := func() bool {
			for _, id := range cr.ids {
				if cr.cores[id].State().Version(entry) < cr.acked[entry] || !cr.cores[id].Quiet() {
					return false
				}
			}
			return true
		}
		require.True(t, s.RunUntil(agree, 60000), "seed %d: every replica holds n4's old entry\n%s", seed, traceTail(s))
		cr.check("the recovery")
	}
}
