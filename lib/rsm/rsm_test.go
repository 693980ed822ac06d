package rsm_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/kv"
	"maelkit/lib/raft"
	"maelkit/lib/rsm"
	"maelkit/lib/sim"
)

// countingStore counts restores, to see snapshots installed.
type countingStore struct {
	*kv.Store
	restores int
}

func (c *countingStore) Restore(data []byte) error {
	c.restores++
	return c.Store.Restore(data)
}

// simRSM is one replica in the simulator: an RSM over a counting store.
// A client's command is a proposal; reads are taken with RSM.Read and
// collected as they are released; the simulator makes each Advance's
// writes durable before its messages leave.
type simRSM struct {
	s     *rsm.RSM
	sm    *countingStore
	reads []int64
	t     *testing.T
}

func (n *simRSM) Step(_ string, m raft.Message) { _ = n.s.Step(m) }

func (n *simRSM) Command(cmd core.Command[[]byte]) { _ = n.s.Propose([][]byte{cmd.Body}) }

func (n *simRSM) Tick() { n.s.Tick() }

func (n *simRSM) Drain() core.Output[raft.Message, struct{}] {
	out, err := n.s.Advance()
	if err != nil {
		n.t.Fatal(err)
	}
	n.reads = append(n.reads, out.Reads...)
	o := core.Output[raft.Message, struct{}]{Writes: out.Writes}
	for _, m := range out.Messages {
		o.Messages = append(o.Messages, core.Send[raft.Message]{To: m.To, Msg: m})
	}
	return o
}

func newSim(t *testing.T, seed uint64) (*sim.Sim[raft.Message, []byte, struct{}], map[string]*simRSM) {
	ids := []string{"n1", "n2", "n3"}
	nodes := map[string]*simRSM{}
	s := sim.NewDurable(sim.Config{Seed: seed, Nodes: ids, TickMs: 10, LatencyMinMs: 1, LatencyMaxMs: 5},
		func(id string, rec core.Recovered) core.Core[raft.Message, []byte, struct{}] {
			d, err := raft.FromRecovered(rec)
			require.NoError(t, err)
			sm := &countingStore{Store: kv.NewStore()}
			r, err := rsm.New(rsm.Config{Raft: raft.Config{ID: id, Voters: ids, PreVote: true, CheckQuorum: true,
				Rand: rand.New(rand.NewPCG(seed, uint64(id[1]))), Durable: d}, SnapshotEntries: 10}, sm)
			require.NoError(t, err)
			n := &simRSM{s: r, sm: sm, t: t}
			nodes[id] = n
			return n
		})
	return s, nodes
}

func leader(nodes map[string]*simRSM) string {
	for id, n := range nodes {
		if n.s.Raft().Status().State == raft.StateLeader {
			return id
		}
	}
	return ""
}

func write(client string, id int64, key, value int) []byte {
	data, err := kv.Encode(kv.Command{Client: client, ID: id, Op: kv.OpWrite,
		Key: json.RawMessage(fmt.Sprint(key)), Value: json.RawMessage(fmt.Sprint(value))})
	if err != nil {
		panic(err)
	}
	return data
}

// A follower cut off while the others compact catches up by snapshot and
// ends with the same state; reads come out only once applied.
func TestSnapshotCatchUp(t *testing.T) {
	s, nodes := newSim(t, 7)
	require.True(t, s.RunUntil(func() bool { return leader(nodes) != "" }, 5000))
	l := leader(nodes)
	var lag string
	for _, id := range s.Nodes() {
		if id != l {
			lag = id
			break
		}
	}
	s.Isolate(lag)
	for i := range 50 {
		s.Command(l, core.Command[[]byte]{Client: "c1", MsgID: int64(i + 1), Body: write("c1", int64(i+1), i%3, i)})
		s.RunFor(20)
	}
	require.Greater(t, nodes[l].s.Raft().Status().Applied, int64(50), "every proposal applied (and the leader's noop)")
	s.Heal()
	converged := func() bool {
		want, _ := nodes[l].sm.Snapshot()
		for _, n := range nodes {
			got, _ := n.sm.Snapshot()
			if string(got) != string(want) {
				return false
			}
		}
		return true
	}
	require.True(t, s.RunUntil(converged, 5000), "seed 7: stores did not converge")
	require.GreaterOrEqual(t, nodes[lag].sm.restores, 1, "the lagging node restored a snapshot")
	v, ok := nodes[lag].sm.Get(json.RawMessage("2"))
	require.True(t, ok)
	require.Equal(t, "47", string(v))

	// It loses power and comes back with what its disk kept: the installed
	// snapshot and the entries after it, which it applies again.
	s.Fail(lag, sim.PowerLoss)
	rec, err := s.Recover(lag)
	require.NoError(t, err)
	require.NotNil(t, rec.Snapshot, "the installed snapshot was on disk")
	require.Equal(t, 1, nodes[lag].sm.restores, "restored from its own disk, before hearing from anyone")
	require.True(t, s.RunUntil(converged, 5000), "seed 7: stores did not converge after a restart")
	v, ok = nodes[lag].sm.Get(json.RawMessage("2"))
	require.True(t, ok)
	require.Equal(t, "47", string(v))

	// A read at the lagging node comes back once it applied the read index.
	require.NoError(t, nodes[lag].s.Read(42))
	require.True(t, s.RunUntil(func() bool { return len(nodes[lag].reads) > 0 }, 2000))
	require.Equal(t, []int64{42}, nodes[lag].reads)
}

func TestProposeRejectsEmpty(t *testing.T) {
	r, err := rsm.New(rsm.Config{Raft: raft.Config{ID: "a", Voters: []string{"a"}, Rand: rand.New(rand.NewPCG(1, 1))}}, kv.NewStore())
	require.NoError(t, err)
	require.Error(t, r.Propose([][]byte{nil}))
	require.ErrorIs(t, r.Propose([][]byte{[]byte("x")}), raft.ErrProposalDropped, "not leader yet")
	_, err = rsm.New(rsm.Config{}, nil)
	require.Error(t, err)
}
