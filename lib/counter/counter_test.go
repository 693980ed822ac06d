package counter

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/crdt"
)

// small timings keep the scripted tests readable: a batch every 2 ticks,
// retry after 5, probes at most every 12.
func smallConfig(id string, ids ...string) Config {
	return Config{ID: id, NodeIDs: ids, BatchTicks: 2, RetryTicks: 5, BackoffMaxTicks: 12}
}

func newG(t *testing.T, cfg Config) *Core[*crdt.GCounter] {
	t.Helper()
	c, err := New(cfg, crdt.NewGCounter())
	require.NoError(t, err)
	return c
}

// ticks advances c by k ticks and returns what it sent.
func ticks[C crdt.Counter[C]](c *Core[C], k int) []core.Send[Sync[C]] {
	var out []core.Send[Sync[C]]
	for range k {
		c.Tick()
		out = append(out, c.Drain().Messages...)
	}
	return out
}

// deliver hands every message to its destination among cores.
func deliver[C crdt.Counter[C]](from string, outs []core.Send[Sync[C]], cores map[string]*Core[C]) {
	for _, o := range outs {
		cores[o.To].Step(from, o.Msg)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "defaults", cfg: Config{ID: "n0", NodeIDs: []string{"n0", "n1"}}},
		{name: "id missing", cfg: Config{ID: "n9", NodeIDs: []string{"n0", "n1"}}, err: "not among"},
		{name: "duplicate ids", cfg: Config{ID: "n0", NodeIDs: []string{"n0", "n0"}}, err: "distinct"},
		{name: "empty id", cfg: Config{ID: "n0", NodeIDs: []string{"n0", ""}}, err: "non-empty"},
		{name: "negative batch", cfg: Config{ID: "n0", NodeIDs: []string{"n0"}, BatchTicks: -1}, err: "BatchTicks"},
		{name: "retry not above batch", cfg: Config{ID: "n0", NodeIDs: []string{"n0"}, BatchTicks: 5, RetryTicks: 5}, err: "RetryTicks"},
		{name: "backoff below retry", cfg: Config{ID: "n0", NodeIDs: []string{"n0"}, RetryTicks: 30, BackoffMaxTicks: 10}, err: "BackoffMaxTicks"},
		{name: "peer is self", cfg: Config{ID: "n0", NodeIDs: []string{"n0", "n1"}, Peers: []string{"n0"}}, err: "not another node"},
		{name: "peer unknown", cfg: Config{ID: "n0", NodeIDs: []string{"n0", "n1"}, Peers: []string{"n7"}}, err: "not another node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, crdt.NewGCounter())
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// TestExchange walks one add through the protocol: the delta goes out at
// the next tick, the peer acknowledges it in its next batch, and then both
// fall silent.
func TestExchange(t *testing.T) {
	ids := []string{"n0", "n1"}
	a, b := newG(t, smallConfig("n0", ids...)), newG(t, smallConfig("n1", ids...))
	cores := map[string]*Core[*crdt.GCounter]{"n0": a, "n1": b}

	require.NoError(t, a.Add(3))
	require.NoError(t, a.Add(2))
	require.Equal(t, int64(5), a.Value(), "adds are visible locally at once")
	out := ticks(a, 1)
	require.Len(t, out, 1, "two adds, one batch")
	require.Equal(t, "n1", out[0].To)
	require.Equal(t, "{n0:5}", out[0].Msg.Entries.String())
	require.Nil(t, out[0].Msg.Acks)
	deliver("n0", out, cores)
	require.Equal(t, int64(5), b.Value())

	back := ticks(b, 1)
	require.Len(t, back, 1)
	require.Zero(t, back[0].Msg.Entries.Len(), "b must not echo a's entry back")
	require.Equal(t, map[string]int64{"n0": 5}, back[0].Msg.Acks)
	deliver("n1", back, cores)

	require.True(t, a.Quiet())
	require.True(t, b.Quiet())
	require.Empty(t, ticks(a, 100), "silence when quiescent")
	require.Empty(t, ticks(b, 100))
	require.Equal(t, Stats{Messages: 1, Entries: 1}, a.Stats())
	require.Equal(t, Stats{Messages: 1, Acks: 1}, b.Stats())
}

// TestBatchSpacing: adds on every tick still give one message per
// BatchTicks, and acks ride along with the entries.
func TestBatchSpacing(t *testing.T) {
	ids := []string{"n0", "n1"}
	a, b := newG(t, smallConfig("n0", ids...)), newG(t, smallConfig("n1", ids...))
	cores := map[string]*Core[*crdt.GCounter]{"n0": a, "n1": b}
	var sentA, sentB int
	for range 40 {
		require.NoError(t, a.Add(1))
		require.NoError(t, b.Add(1))
		oa, ob := ticks(a, 1), ticks(b, 1)
		sentA += len(oa)
		sentB += len(ob)
		deliver("n0", oa, cores)
		deliver("n1", ob, cores)
	}
	require.Equal(t, 20, sentA, "one message per 2 ticks")
	require.Equal(t, 20, sentB)
	require.Zero(t, a.Stats().Probes)
	require.Zero(t, a.Stats().Retransmits)
	for range 10 {
		deliver("n0", ticks(a, 1), cores)
		deliver("n1", ticks(b, 1), cores)
	}
	require.Equal(t, int64(80), a.Value())
	require.Equal(t, int64(80), b.Value())
	require.True(t, a.Quiet() && b.Quiet())
}

// TestRetransmitAndBackoff: with every message lost, the entry is sent at
// once, then when the peer is presumed cut off (RetryTicks without a
// confirmation), then at doubling gaps capped at BackoffMaxTicks.
func TestRetransmitAndBackoff(t *testing.T) {
	ids := []string{"n0", "n1"}
	a := newG(t, smallConfig("n0", ids...))
	require.NoError(t, a.Add(1))
	var at []int
	for tick := 1; tick <= 60; tick++ {
		if len(ticks(a, 1)) > 0 {
			at = append(at, tick)
		}
	}
	// Sent at 1; presumed cut off at 5 (5 ticks since it last had nothing
	// outstanding, at 0): probes at 5, then gaps of 5, 10, 12, 12...
	require.Equal(t, []int{1, 5, 10, 20, 32, 44, 56}, at)
	require.Equal(t, int64(6), a.Stats().Probes)
}

// TestHeardEndsBackoff: a message from a peer presumed cut off is answered
// with everything it lacks at the next batch, not at the next probe.
func TestHeardEndsBackoff(t *testing.T) {
	ids := []string{"n0", "n1"}
	a, b := newG(t, smallConfig("n0", ids...)), newG(t, smallConfig("n1", ids...))
	require.NoError(t, a.Add(4))
	ticks(a, 30) // all lost: a is deep in backoff
	require.NoError(t, b.Add(1))
	a.Step("n1", ticks(b, 1)[0].Msg)
	out := ticks(a, 1)
	require.Len(t, out, 1)
	require.Equal(t, "{n0:4}", out[0].Msg.Entries.String())
	require.Equal(t, map[string]int64{"n1": 1}, out[0].Msg.Acks)
}

// TestLostAckRetransmits: a healthy peer whose ack was lost gets the entry
// again after RetryTicks; its repeated ack ends it.
func TestLostAckRetransmits(t *testing.T) {
	ids := []string{"n0", "n1"}
	a, b := newG(t, smallConfig("n0", ids...)), newG(t, smallConfig("n1", ids...))
	require.NoError(t, a.Add(2))
	b.Step("n0", ticks(a, 1)[0].Msg)
	require.Len(t, ticks(b, 1), 1) // the ack, lost
	out := ticks(a, 5)
	require.Len(t, out, 1)
	require.Equal(t, int64(1), a.Stats().Retransmits)
	b.Step("n0", out[0].Msg)
	a.Step("n1", ticks(b, 2)[0].Msg)
	require.True(t, a.Quiet())
	require.Empty(t, ticks(a, 50))
}

// TestRelay: with a sparse overlay, entries travel hop by hop.
func TestRelay(t *testing.T) {
	ids := []string{"n0", "n1", "n2"}
	line := map[string][]string{"n0": {"n1"}, "n1": {"n0", "n2"}, "n2": {"n1"}}
	cores := map[string]*Core[*crdt.PNCounter]{}
	for _, id := range ids {
		cfg := smallConfig(id, ids...)
		cfg.Peers = line[id]
		c, err := New(cfg, crdt.NewPNCounter())
		require.NoError(t, err)
		cores[id] = c
	}
	require.NoError(t, cores["n0"].Add(-3))
	require.NoError(t, cores["n2"].Add(7))
	for range 10 {
		for _, id := range ids {
			deliver(id, ticks(cores[id], 1), cores)
		}
	}
	for _, id := range ids {
		require.Equal(t, int64(4), cores[id].Value(), id)
		require.True(t, cores[id].Quiet(), id)
	}
}

// TestBadInput: messages from unknown or self ids, and entries of unknown
// replicas, change nothing and never panic.
func TestBadInput(t *testing.T) {
	ids := []string{"n0", "n1"}
	a := newG(t, smallConfig("n0", ids...))
	var e crdt.GCounter
	require.NoError(t, e.Inc("n1", 2))
	require.NoError(t, e.Inc("x9", 100))
	a.Step("x9", Sync[*crdt.GCounter]{Type: SyncType, Entries: &e})
	a.Step("n0", Sync[*crdt.GCounter]{Type: SyncType, Entries: &e})
	require.Zero(t, a.Value())
	a.Step("n1", Sync[*crdt.GCounter]{Type: SyncType, Entries: &e, Acks: map[string]int64{"x9": 5, "n0": -1}})
	require.Equal(t, int64(2), a.Value(), "x9's entry dropped")
	a.Step("n1", Sync[*crdt.GCounter]{Type: SyncType}) // nil entries, no acks
	out := ticks(a, 1)
	require.Len(t, out, 1)
	require.Equal(t, map[string]int64{"n1": 2}, out[0].Msg.Acks)
	require.Equal(t, []string{"n1"}, a.Peers())
}

// TestUnlistedPeerIsAnswered: a replica outside our overlay that writes
// to us gets its acks, and stays outside the overlay.
func TestUnlistedPeerIsAnswered(t *testing.T) {
	ids := []string{"n0", "n1", "n2"}
	cfg := smallConfig("n0", ids...)
	cfg.Peers = []string{"n1"}
	a := newG(t, cfg)
	var e crdt.GCounter
	require.NoError(t, e.Inc("n2", 1))
	a.Step("n2", Sync[*crdt.GCounter]{Type: SyncType, Entries: &e})
	require.Equal(t, []string{"n1"}, a.Peers())
	out := ticks(a, 1)
	var to []string
	for _, o := range out {
		to = append(to, o.To)
	}
	require.Equal(t, []string{"n1", "n2"}, to, "n1 gets n2's entry, n2 its ack")
}

func TestOverlay(t *testing.T) {
	cases := []struct {
		n, degree, diameter int
	}{
		{n: 1, degree: 0, diameter: 0},
		{n: 2, degree: 1, diameter: 1},
		{n: 3, degree: 2, diameter: 1},
		{n: 4, degree: 2, diameter: 2},
		{n: 5, degree: 2, diameter: 2},
		{n: 8, degree: 3, diameter: 2},
		{n: 25, degree: 4, diameter: 4},
		{n: 100, degree: 6, diameter: 6},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			var ids []string
			for i := range tc.n {
				ids = append(ids, fmt.Sprintf("n%d", i))
			}
			adj := map[string][]string{}
			for _, id := range ids {
				adj[id] = Overlay(ids, id)
				require.Len(t, adj[id], tc.degree, id)
				require.NotContains(t, adj[id], id)
			}
			for id, ns := range adj {
				for _, m := range ns {
					require.Contains(t, adj[m], id, "symmetric")
				}
			}
			require.Equal(t, tc.diameter, diameter(ids, adj))
		})
	}
	require.Nil(t, Overlay([]string{"n0"}, "n9"))
	require.Nil(t, Circulant([]string{"n0", "n1"}, "n0", 1))
	require.Len(t, Circulant(make25(), "n0", 2), 8)
}

// diameter is the longest shortest path, by breadth-first search.
func diameter(ids []string, adj map[string][]string) int {
	longest := 0
	for _, src := range ids {
		dist := map[string]int{src: 0}
		queue := []string{src}
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for _, v := range adj[u] {
				if _, seen := dist[v]; !seen {
					dist[v] = dist[u] + 1
					longest = max(longest, dist[v])
					queue = append(queue, v)
				}
			}
		}
		if len(dist) < len(ids) {
			return -1
		}
	}
	return longest
}

func TestPeersSorted(t *testing.T) {
	cfg := smallConfig("n3", "n0", "n1", "n2", "n3", "n4")
	cfg.Peers = []string{"n4", "n0", "n2"}
	c := newG(t, cfg)
	require.True(t, slices.IsSorted(c.Peers()))
}

func make25() []string {
	var ids []string
	for i := range 25 {
		ids = append(ids, fmt.Sprintf("n%d", i))
	}
	return ids
}

// busyCore is a 25-node replica with 4 peers, every entry set.
func busyCore(b *testing.B) *Core[*crdt.PNCounter] {
	ids := make25()
	c, err := New(Config{ID: "n0", NodeIDs: ids}, crdt.NewPNCounter())
	require.NoError(b, err)
	var all crdt.PNCounter
	for i, id := range ids {
		require.NoError(b, all.Add(id, int64(i+1)))
	}
	c.Step("n1", Sync[*crdt.PNCounter]{Type: SyncType, Entries: &all})
	return c
}

// BenchmarkTickQuiet: a tick of a quiet 25-node replica (the steady state).
func BenchmarkTickQuiet(b *testing.B) {
	c := busyCore(b)
	for _, p := range c.peers { // everyone holds everything
		for _, id := range c.state.IDs() {
			p.known[id] = c.state.Version(id)
		}
		clear(p.ackDue)
	}
	for b.Loop() {
		c.Tick()
		if len(c.Drain().Messages) > 0 {
			b.Fatal("a quiet core sent")
		}
	}
}

// BenchmarkAddTickStep: one add, one tick (a batch to each peer) and the
// peer's ack, per iteration.
func BenchmarkAddTickStep(b *testing.B) {
	c := busyCore(b)
	c.cfg.BatchTicks = 1
	for b.Loop() {
		_ = c.Add(1)
		c.Tick()
		for _, o := range c.Drain().Messages {
			acks := map[string]int64{}
			for _, id := range o.Msg.Entries.IDs() {
				acks[id] = o.Msg.Entries.Version(id)
			}
			c.Step(o.To, Sync[*crdt.PNCounter]{Type: SyncType, Acks: acks})
		}
	}
}

// TestReachWidens: with both ring neighbours silent, n4 reaches the nearest
// replica outside its overlay, then the next once that one is silent too,
// and stops reaching once a neighbour confirms again.
func TestReachWidens(t *testing.T) {
	ids := []string{"n0", "n1", "n2", "n3", "n4"}
	require.Equal(t, []string{"n0", "n3", "n1", "n2"}, ringOrder(ids, "n4"))
	require.Equal(t, []string{"n1", "n3", "n2"}, ringOrder(ids[:4], "n0"))
	a := newG(t, smallConfig("n4", ids...))
	require.Equal(t, []string{"n0", "n3"}, a.Peers())
	require.NoError(t, a.Add(3))
	to := func(out []core.Send[Sync[*crdt.GCounter]]) []string {
		var ids []string
		for _, o := range out {
			if o.Msg.Entries.Len() > 0 && !slices.Contains(ids, o.To) {
				ids = append(ids, o.To)
			}
		}
		slices.Sort(ids)
		return ids
	}
	require.Equal(t, []string{"n0", "n3"}, to(ticks(a, 4)), "neighbours only at first")
	require.Empty(t, a.Reaching())
	require.Equal(t, []string{"n0", "n1", "n3"}, to(ticks(a, 1)), "stranded after RetryTicks: n1")
	require.True(t, a.Stranded())
	require.Equal(t, []string{"n1"}, a.Reaching())
	ticks(a, 3)
	require.Equal(t, []string{"n1"}, a.Reaching())
	require.Equal(t, []string{"n1", "n2"}, to(ticks(a, 1)), "n1 silent for RetryTicks: n2 too")
	require.Equal(t, []string{"n1", "n2"}, a.Reaching())
	// n2 confirms: it holds everything, so the reach stops widening there.
	a.Step("n2", Sync[*crdt.GCounter]{Type: SyncType, Acks: map[string]int64{"n4": 3}})
	ticks(a, 1)
	require.Equal(t, []string{"n1", "n2"}, a.Reaching())
	require.NoError(t, a.Add(1))
	require.Contains(t, to(ticks(a, 2)), "n2", "n2 gets the new add")
	// n0 confirms: no longer stranded, and the others get nothing more.
	a.Step("n0", Sync[*crdt.GCounter]{Type: SyncType, Acks: map[string]int64{"n4": 4}})
	ticks(a, 1)
	require.False(t, a.Stranded())
	require.Empty(t, a.Reaching())
	require.NoError(t, a.Add(1))
	require.Equal(t, []string{"n0"}, to(ticks(a, 4)), "n3 is still probed, rarely")
}
