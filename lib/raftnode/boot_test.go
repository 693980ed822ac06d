package raftnode

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/sim"
)

// bootSim is a durable simulation of counter cores; every start without
// state gets a new incarnation (none when incarnations is false).
type bootSim struct {
	s     *sim.Sim[Msg, Request, any]
	ids   []string
	msgID int64
}

func newBootSim(t *testing.T, seed uint64, n int, incarnations bool) *bootSim {
	t.Helper()
	b := &bootSim{}
	for i := range n {
		b.ids = append(b.ids, fmt.Sprintf("n%d", i))
	}
	starts := uint64(0)
	cfg := sim.Config{Seed: seed, Nodes: b.ids, TickMs: 10, LatencyMinMs: 1, LatencyMaxMs: 5,
		Clone: func(m any) any {
			raw, err := json.Marshal(m)
			if err != nil {
				panic(err)
			}
			var c Msg
			if err := json.Unmarshal(raw, &c); err != nil {
				panic(err)
			}
			return c
		}}
	b.s = sim.NewDurable(cfg, func(id string, rec core.Recovered) core.Core[Msg, Request, any] {
		starts++
		c := &counter{Last: map[string]int64{}}
		cc := CoreConfig{ID: id, Nodes: b.ids, Types: []string{"add", "get"}, Machine: c,
			Codec: counterCodec{c: c}, Timing: DefaultTiming(), Recovered: rec, Amnesia: true,
			Rand: rand.New(rand.NewPCG(seed, starts))}
		if incarnations {
			cc.Incarnation = seed<<16 | starts
		}
		core, err := NewCore(cc)
		require.NoError(t, err)
		return core
	})
	return b
}

func (b *bootSim) core(id string) *Core { return b.s.Core(id).(*Core) }

// leader is the node that leads, as its own Raft says, or "".
func (b *bootSim) leader() string {
	for _, id := range b.ids {
		if !b.s.Down(id) && b.core(id).RSM().Raft().Status().Lead == id {
			return id
		}
	}
	return ""
}

// commit sends an add to the leader and says whether it was answered ok
// within limitMs.
func (b *bootSim) commit(limitMs int64) bool {
	lead := b.leader()
	if lead == "" {
		return false
	}
	b.msgID++
	b.s.Command(lead, add("c1", b.msgID, 1))
	ok := false
	b.s.RunUntil(func() bool {
		for _, r := range b.s.Replies() {
			if v, is := r.Body.(valueReply); is && r.InReplyTo == b.msgID && v.Type == "add_ok" {
				ok = true
			}
		}
		return ok
	}, limitMs)
	return ok
}

// TestFirstBootMajority: five nodes boot for the first time with one of
// them cut off; the other four elect a leader and commit, since three
// peers' answers prove a first boot. Without incarnations every node
// waits for the one it cannot reach.
func TestFirstBootMajority(t *testing.T) {
	for _, seed := range sim.Seeds(t, 5) {
		b := newBootSim(t, seed, 5, true)
		b.s.Isolate("n4")
		require.True(t, b.s.RunUntil(func() bool { return b.leader() != "" }, 5_000), "seed %d: no leader", seed)
		require.True(t, b.commit(2_000), "seed %d: no commit", seed)
		require.True(t, b.core("n4").RSM().Raft().Unsure(), "seed %d: the cut-off node heard no one", seed)
		b.s.Heal()
		require.True(t, b.s.RunUntil(func() bool { return !b.core("n4").RSM().Raft().Unsure() }, 5_000), "seed %d", seed)

		old := newBootSim(t, seed, 5, false)
		old.s.Isolate("n4")
		old.s.RunFor(5_000)
		require.Empty(t, old.leader(), "seed %d: without incarnations a first boot waits for every peer", seed)
	}
}

// TestWipedNodeIsNotFirstBoot: a node that voted and acknowledged, wiped
// and restarted with a new incarnation, reaching only a majority of its
// peers, hears that they knew another incarnation of it and stays unsure
// (no vote) until every peer answered and its log caught up; a node
// killed during its first boot keeps its incarnation and boots as before.
func TestWipedNodeIsNotFirstBoot(t *testing.T) {
	for _, seed := range sim.Seeds(t, 5) {
		b := newBootSim(t, seed, 5, true)
		require.True(t, b.s.RunUntil(func() bool { return b.leader() != "" }, 5_000), "seed %d", seed)
		require.True(t, b.commit(2_000), "seed %d", seed)
		victim := "n1"
		if b.leader() == victim {
			victim = "n2"
		}
		b.s.Fail(victim, sim.DiskWipe)
		_, err := b.s.Recover(victim)
		require.NoError(t, err)
		others := slices.DeleteFunc(slices.Clone(b.ids), func(id string) bool { return id == victim })
		b.s.Cut(others[len(others)-1], victim) // one peer's answers never arrive
		b.s.RunFor(3_000)
		r := b.core(victim).RSM().Raft()
		require.True(t, r.Unsure(), "seed %d: a wiped node took a majority's answers for a first boot", seed)
		require.True(t, b.commit(2_000), "seed %d: the others still commit", seed)
		b.s.Heal()
		require.True(t, b.s.RunUntil(func() bool { return !b.core(victim).RSM().Raft().Unsure() }, 5_000), "seed %d", seed)
		li, _ := r.LastEntry()
		require.GreaterOrEqual(t, li, int64(2), "seed %d: it caught up before it voted", seed)
	}
}

// TestKilledDuringFirstBoot: a node killed before its first boot ended
// restarts from its disk with the same incarnation, so its peers do not
// take it for a wiped node.
func TestKilledDuringFirstBoot(t *testing.T) {
	b := newBootSim(t, 1, 5, true)
	b.s.Isolate("n0")
	b.s.RunFor(200) // n0 wrote its guard, heard no one
	inc := b.core("n0").RSM().Raft().Incarnation()
	require.NotZero(t, inc)
	b.s.Fail("n0", sim.ProcessDeath)
	rec, err := b.s.Recover("n0")
	require.NoError(t, err)
	require.False(t, rec.Fresh)
	require.Equal(t, inc, b.core("n0").RSM().Raft().Incarnation())
	b.s.Heal()
	require.True(t, b.s.RunUntil(func() bool { return !b.core("n0").RSM().Raft().Unsure() }, 5_000))
}

// TestLeaderBatchesWhileInFlight: commands that reach a leader, from its
// clients or forwarded by a follower, while its last append is
// uncommitted go out together in one append at its next tick, not one
// append each; every one of them is answered.
func TestLeaderBatchesWhileInFlight(t *testing.T) {
	for _, seed := range sim.Seeds(t, 5) {
		b := newBootSim(t, seed, 3, true)
		require.True(t, b.s.RunUntil(func() bool { return b.leader() != "" }, 5_000), "seed %d", seed)
		require.True(t, b.commit(2_000), "seed %d", seed)
		lead := b.leader()
		follower := "n0"
		if lead == follower {
			follower = "n1"
		}
		r := b.core(lead).RSM().Raft()
		before := r.Status().LastIndex
		const n = 40
		appends := 0 // appends the leader made for them: one per growth of its log
		last := before
		for i := range n {
			to := lead
			if i%2 == 1 {
				to = follower // forwarded to the leader
			}
			b.s.Command(to, add(fmt.Sprintf("c%d", i), 1, 1))
			b.s.Step() // the network and the clock go on between commands
			if li := r.Status().LastIndex; li > last {
				appends++
				last = li
			}
		}
		answered := map[string]bool{} // by client (a forwarded one may be answered twice)
		b.s.RunUntil(func() bool {
			if li := r.Status().LastIndex; li > last {
				appends++
				last = li
			}
			for _, rp := range b.s.Replies() {
				if v, ok := rp.Body.(valueReply); ok && v.Type == "add_ok" {
					answered[rp.To] = true
				}
			}
			return len(answered) >= n
		}, 3_000)
		require.Len(t, answered, n, "seed %d: every command answered", seed)
		require.Equal(t, before+n, r.Status().LastIndex, "seed %d: each command appended once", seed)
		require.Less(t, appends, n/4, "seed %d: %d appends for %d commands", seed, appends, n)
	}
}
