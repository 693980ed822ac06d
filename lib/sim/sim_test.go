package sim

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

// flood is a toy core: it relays every value it has not seen to all peers,
// and re-sends everything it knows on every tick (so it survives loss). A
// client's value is answered with its negation.
type flood struct {
	core.Outbox[int, int]
	id    string
	peers []string
	seen  map[int]bool
	ticks int
}

func (f *flood) Step(_ string, v int) { f.learn(v) }

func (f *flood) Command(cmd core.Command[int]) {
	if f.learn(cmd.Body) {
		f.Reply(cmd.Client, cmd.MsgID, -cmd.Body)
	}
}

func (f *flood) learn(v int) bool {
	if f.seen[v] {
		return false
	}
	f.seen[v] = true
	for _, p := range f.peers {
		f.Send(p, v)
	}
	return true
}

func (f *flood) Tick() {
	f.ticks++
	// Sorted: a core that ranges over a map emits in random order, and the
	// determinism test below catches exactly that.
	for _, v := range slices.Sorted(maps.Keys(f.seen)) {
		for _, p := range f.peers {
			f.Send(p, v)
		}
	}
}

func (f *flood) Drain() core.Output[int, int] { return f.Take() }

type testSim = Sim[int, int, int]

// inject has client c send value v to node id.
func inject(s *testSim, c, id string, v int) {
	s.Command(id, core.Command[int]{Client: c, MsgID: 1, Body: v})
}

var nodes = []string{"n0", "n1", "n2", "n3", "n4"}

func build(id string) core.Core[int, int, int] {
	var peers []string
	for _, n := range nodes {
		if n != id {
			peers = append(peers, n)
		}
	}
	return &flood{id: id, peers: peers, seen: map[int]bool{}}
}

func converged(s *testSim, n int) func() bool {
	return func() bool {
		for _, id := range nodes {
			if len(s.Core(id).(*flood).seen) != n {
				return false
			}
		}
		return true
	}
}

func TestConvergesDespiteLossAndPartition(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		s := New(Config{Seed: seed, Nodes: nodes, TickMs: 100, LatencyMinMs: 1, LatencyMaxMs: 50,
			Loss: 0.3, Duplicate: 0.1}, build)
		s.Isolate("n0")
		inject(s, "c1", "n0", 7)
		inject(s, "c2", "n1", 8)
		s.RunFor(1000)
		require.False(t, s.Core("n1").(*flood).seen[7], "seed %d: a partition must block delivery", seed)
		s.Heal()
		require.True(t, s.RunUntil(converged(s, 2), 10_000), "seed %d did not converge; trace:\n%v", seed, s.Trace())
		outs := s.Replies()
		require.Len(t, outs, 2, "seed %d: both clients answered", seed)
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	run := func(seed uint64) uint64 {
		s := New(Config{Seed: seed, Nodes: nodes, TickMs: 10, LatencyMinMs: 0, LatencyMaxMs: 30, Loss: 0.2, Duplicate: 0.2}, build)
		for i := range 20 {
			inject(s, "c0", nodes[i%len(nodes)], i)
			s.RunFor(7)
		}
		s.RunFor(500)
		return s.TraceHash()
	}
	require.Equal(t, run(3), run(3))
	require.NotEqual(t, run(3), run(4))
}

func TestCrashSkipsDeliveryAndTicks(t *testing.T) {
	s := New(Config{Seed: 1, Nodes: nodes, TickMs: 10, LatencyMinMs: 5, LatencyMaxMs: 5}, build)
	s.Crash("n2")
	inject(s, "c0", "n0", 1)
	s.RunFor(100)
	require.False(t, s.Core("n2").(*flood).seen[1])
	require.Zero(t, s.Core("n2").(*flood).ticks)
	s.Restart("n2", s.Core("n2"))
	require.True(t, s.RunUntil(converged(s, 1), 1000))
}

func TestRunUntilGivesUpAtLimit(t *testing.T) {
	s := New(Config{Seed: 1, Nodes: nodes, TickMs: 10}, build)
	start := s.Now()
	require.False(t, s.RunUntil(func() bool { return false }, 250))
	require.Equal(t, start+250, s.Now())
}

func TestCloneIsolatesMessages(t *testing.T) {
	clones := 0
	s := New(Config{Seed: 1, Nodes: nodes, TickMs: 1000, LatencyMinMs: 1, LatencyMaxMs: 1,
		Clone: func(m any) any { clones++; return m }}, build)
	inject(s, "c0", "n0", 5)
	s.RunFor(10)
	require.Equal(t, 4*4+4, clones, "n0 relays to 4 peers, each relays to 4")
}

// RandomSplit: two non-empty groups that together hold every node once,
// and all cut points appear over many draws.
func TestRandomSplit(t *testing.T) {
	nodes := []string{"n0", "n1", "n2", "n3", "n4"}
	r := rand.New(rand.NewPCG(1, 2))
	sizes := map[int]bool{}
	for range 200 {
		a, b := RandomSplit(r, nodes)
		require.NotEmpty(t, a)
		require.NotEmpty(t, b)
		require.ElementsMatch(t, nodes, append(slices.Clone(a), b...))
		sizes[len(a)] = true
	}
	require.Len(t, sizes, len(nodes)-1)
}
