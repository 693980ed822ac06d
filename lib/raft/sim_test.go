package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"maelkit/lib/sim"
	"maelkit/lib/testenv"
)

// randomOpts draws a cluster's shape from the seed.
func randomOpts(seed uint64) clusterOpts {
	r := rand.New(rand.NewPCG(seed, 1))
	o := clusterOpts{
		seed:        seed,
		n:           []int{1, 3, 3, 5, 5}[r.IntN(5)],
		latMin:      1,
		latMax:      1 + r.Int64N(30),
		preVote:     r.IntN(4) != 0,
		checkQuorum: r.IntN(4) != 0,
	}
	if r.IntN(2) == 0 {
		o.loss = r.Float64() * 0.1
		o.dup = r.Float64() * 0.1
	}
	if r.IntN(2) == 0 {
		o.compactEvery = 5 + r.Int64N(30)
	}
	o.lease = r.IntN(3) == 0
	o.reorder = []int{0, 0, 2, 4}[r.IntN(4)]
	o.quiet = r.IntN(2) == 0
	return o
}

// simulate runs one seeded chaos run: random proposals, reads, partitions
// (symmetric and one-way), crashes and restarts from durable state, with
// every invariant checked after every event; then a liveness phase that
// heals a majority (the rest stays cut off) and demands a new commit on
// every majority node within a bound.
func simulate(t *testing.T, seed uint64) (readsServed int, commits int64) {
	return simulateOpts(t, randomOpts(seed), false)
}

// simulateOpts runs one chaos run; with membership it also adds and removes
// voters (one at a time) among the nodes.
func simulateOpts(t *testing.T, o clusterOpts, membership bool) (readsServed int, commits int64) {
	cl := newCluster(t, o)
	r := cl.s.Rand()
	for range 60 {
		cl.chaosEvent(r, membership)
		cl.runFor(10 + r.Int64N(100))
	}
	// Liveness: no more disk faults, restart everyone, heal, then cut off
	// a minority.
	for _, id := range cl.ids {
		cl.s.FailAfter(id, -1, 0)
		if cl.s.Down(id) {
			cl.restart(id)
		}
	}
	cl.s.Heal()
	cl.awaitCaughtUp(membership)
	cl.demandProgress(r, membership)
	simFaults.Add(cl.s.Faults())
	return cl.c.readsServed, cl.c.maxApplied
}

// simFaults counts the deaths over the chaos runs of a test binary.
var simFaults sim.Faults

// chaosEvent draws one event of a chaos run: a proposal, a read, a
// partition (symmetric or one-way), a heal, a membership change, a crash,
// a wiped disk, a disk fault, a whole-cluster power loss or a restart.
func (cl *cluster) chaosEvent(r *rand.Rand, membership bool) {
	pick := func() string { return cl.ids[r.IntN(len(cl.ids))] }
	lease := cl.o.lease
	switch x := r.IntN(100); {
	case x < 55:
		cl.propose(pick())
	case x < 75:
		cl.read(pick())
	case x < 82:
		a := cl.ids[:r.IntN(len(cl.ids)+1)]
		b := cl.ids[len(a):]
		cl.s.Partition(a, b)
	case x < 86:
		cl.s.Cut(pick(), pick())
	case x < 88:
		cl.s.Heal()
	case x < 92:
		if !membership {
			cl.s.Heal()
			break
		}
		if l := cl.leader(); l != "" {
			cl.changeVoter(l, pick())
		}
	case x < 93:
		if id := pick(); !cl.s.Down(id) && !lease {
			cl.crash(id)
		}
	case x < 94:
		// Amnesia: one node at a time loses its disk (a majority
		// losing theirs loses what only they held, whatever the
		// protocol), on clusters of three or more.
		// Not with membership changes: a wipe in a two-voter
		// configuration is a majority's.
		if id := pick(); !cl.s.Down(id) && !lease && !membership && len(cl.ids) >= 3 && !cl.unsure() {
			cl.wipe(id)
		}
	case x < 95:
		// A fault between a write and its sync, or within a snapshot.
		if id := pick(); !cl.s.Down(id) && !lease {
			cl.failDisk(id, r.IntN(6))
		}
	case x < 96:
		// The whole cluster loses power at once.
		for _, id := range cl.ids {
			if !cl.s.Down(id) && !lease {
				cl.crash(id)
			}
		}
	default:
		for _, id := range cl.ids {
			if cl.s.Down(id) {
				cl.restart(id)
				break
			}
		}
	}
}

// changeVoter has leader l add id as a voter, or remove it when it
// already votes and more than two do.
func (cl *cluster) changeVoter(l, id string) {
	cc := ConfChange{Type: ConfAddNode, Node: id}
	if slices.Contains(cl.nodes[l].r.voters, id) && len(cl.nodes[l].r.voters) > 2 {
		cc.Type = ConfRemoveNode
	}
	_ = cl.nodes[l].r.ProposeConfChange(cc)
}

// awaitCaughtUp waits until no node that lost its disk is still unsure. A
// node that lost its disk votes again once caught up, which needs a leader
// elected without it: with everyone up and connected, soon. (Cut off a
// minority first and the rest may not elect anyone: that is the
// availability amnesia costs.)
func (cl *cluster) awaitCaughtUp(membership bool) {
	caughtUp := func() bool {
		if !membership {
			return !cl.unsure()
		}
		// Only the leader's voters are replicated to.
		l := cl.leader()
		if l == "" {
			return false
		}
		for _, id := range cl.nodes[l].r.voters {
			if n := cl.nodes[id]; n.wiped || n.r.Unsure() {
				return false
			}
		}
		return true
	}
	if cl.runUntil(caughtUp, 3000) {
		return
	}
	var st []string
	for _, id := range cl.ids {
		r := cl.nodes[id].r
		li, lt := r.LastEntry()
		st = append(st, fmt.Sprintf("%s: %s term %d last %d/%d commit %d voters %v rejoin %+v wiped %v",
			id, r.state, r.term, lt, li, r.log.committed, r.voters, r.rejoin, cl.nodes[id].wiped))
	}
	cl.fatal("a node that lost its disk has not caught up within 3000 ms:\n%s", strings.Join(st, "\n"))
}

// demandProgress cuts off a random minority (without membership changes;
// with them, it judges the leader's voters, all connected) and requires a
// new commit applied on every node of the majority within a bound.
func (cl *cluster) demandProgress(r *rand.Rand, membership bool) {
	majority := cl.ids
	if membership {
		l := cl.waitLeader(3000)
		majority = slices.Clone(cl.nodes[l].r.voters)
	} else if len(cl.ids) > 1 {
		minority := cl.ids[:r.IntN((len(cl.ids)-1)/2+1)]
		majority = cl.ids[len(minority):]
		cl.s.Partition(minority, majority)
	}
	// 60 ticks: a few election timeouts (10-20 ticks each), with room for
	// loss, pre-votes and a failed round.
	const boundMs = 60 * 10 * 5
	lead := cl.waitLeader(boundMs)
	target := cl.c.maxApplied + 1
	done := func() bool {
		if membership {
			// Voters may still change: judge by the current leader's.
			l := cl.leader()
			if l == "" {
				return false
			}
			majority = cl.nodes[l].r.voters
		}
		for _, id := range majority {
			if int64(len(cl.nodes[id].app.applied)) < target {
				return false
			}
		}
		return true
	}
	for deadline := cl.s.Now() + boundMs; !done(); {
		if cl.s.Now() > deadline {
			cl.fatal("no progress on the majority %v within %d ms (leader %s, applied target %d):\n%s",
				majority, boundMs, lead, target, cl.states())
		}
		if l := cl.leader(); l != "" {
			cl.propose(l)
		}
		cl.runUntil(done, 100)
	}
}

// states describes every node in one line each, for a failure report.
func (cl *cluster) states() string {
	var st []string
	for _, id := range cl.ids {
		r := cl.nodes[id].r
		li, lt := r.LastEntry()
		st = append(st, fmt.Sprintf("%s: %s term %d last %d/%d commit %d applied %d rejoin %+v down %v",
			id, r.state, r.term, lt, li, r.log.committed, len(cl.nodes[id].app.applied), r.rejoin, cl.s.Down(id)))
	}
	return strings.Join(st, "\n")
}

// TestSimulation runs many seeded chaos runs (1000, 100 under -race, 50
// with -short; sim.SeedsEnv scales them); a failure prints the seed, and
// MAELKIT_SEEDS=@N replays it.
func TestSimulation(t *testing.T) {
	n := 1000
	switch {
	case testing.Short():
		n = 50
	case raceEnabled || !testenv.Long():
		n = 100
	}
	seeds := sim.Seeds(t, n)
	if sim.Replaying() {
		simulate(t, seeds[0])
		return
	}
	n = len(seeds)
	var reads int
	var commits int64
	for _, seed := range seeds {
		rs, cs := simulate(t, seed)
		reads += rs
		commits += cs
		if t.Failed() {
			return
		}
	}
	// The runs must exercise what they check.
	if reads < n || commits < int64(10*n) {
		t.Fatalf("too little happened: %d reads served, %d entries committed over %d runs", reads, commits, n)
	}
	if simWipes == 0 || simRejoins == 0 {
		t.Fatalf("no disk wiped (%d) or no rejoin (%d) over %d runs", simWipes, simRejoins, n)
	}
	if simFaults.MidWrite == 0 {
		t.Fatalf("no node died inside its writes over %d runs", n)
	}
	t.Logf("%d runs: %d reads served, %d entries committed, %d disks wiped, %d rejoins", n, reads, commits, simWipes, simRejoins)
	sim.LogFaults(t, "raft chaos runs", simFaults)
}

// TestSimulationDeterministic: the same seed gives the same trace.
func TestSimulationDeterministic(t *testing.T) {
	for _, seed := range []uint64{3, 17, 99} {
		hash := func() uint64 {
			o := randomOpts(seed)
			cl := newCluster(t, o)
			for i := range 20 {
				cl.propose(cl.ids[i%len(cl.ids)])
				cl.runFor(50)
			}
			return cl.s.TraceHash()
		}
		if a, b := hash(), hash(); a != b {
			t.Fatalf("seed %d: trace hashes differ: %x vs %x", seed, a, b)
		}
	}
}

// TestSimulationMembership: chaos runs with voters added and removed one at
// a time, starting from three voters among five nodes; every invariant is
// checked after every event.
func TestSimulationMembership(t *testing.T) {
	n := 200
	if testing.Short() || raceEnabled {
		n = 30
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		o := randomOpts(seed)
		o.n, o.voters = 5, 3
		simulateOpts(t, o, true)
		if t.Failed() {
			return
		}
	}
}

// TestFailoverBound: after the leader is cut off, the others elect a new
// leader within three election timeouts (the availability target),
// with pre-vote and check-quorum on, over many seeds.
func TestFailoverBound(t *testing.T) {
	n := 200
	if testing.Short() || raceEnabled {
		n = 40
	}
	var took []int64
	for seed := uint64(1); seed <= uint64(n); seed++ {
		o := clusterOpts{seed: seed, n: 3 + 2*int(seed%2), latMin: 1, latMax: 5, preVote: true, checkQuorum: true}
		cl := newCluster(t, o)
		old := cl.waitLeader(5000)
		cl.runFor(200)
		cl.s.Isolate(old)
		start := cl.s.Now()
		// Three maximal election timeouts: 3 * 2 * ElectionTick ticks.
		const boundMs = 3 * 2 * 10 * 10
		ok := cl.runUntil(func() bool {
			for _, id := range cl.ids {
				r := cl.nodes[id].r
				if id != old && r.state == StateLeader {
					return true
				}
			}
			return false
		}, boundMs)
		if !ok {
			cl.fatal("no new leader within %d ms of isolating %s", boundMs, old)
		}
		took = append(took, cl.s.Now()-start)
	}
	slices.Sort(took)
	over := len(took) - sort.Search(len(took), func(i int) bool { return took[i] > 300 })
	t.Logf("failover over %d seeds: p50 %d ms, p90 %d ms, worst %d ms, %d over 300 ms (election timeout 100-200 ms)",
		n, took[len(took)/2], took[len(took)*9/10], took[len(took)-1], over)
}
