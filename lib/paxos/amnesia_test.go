package paxos

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// newCoreRec builds node id of nodes from rec.
func newCoreRec(t *testing.T, id string, nodes []string, rec core.Recovered) *Core {
	t.Helper()
	c, err := New(Config{ID: id, Nodes: nodes, Rand: rand.New(rand.NewPCG(1, 2)), Recovered: rec, Amnesia: true})
	require.NoError(t, err)
	return c
}

// deliverAll routes messages among cores until none is left; it returns
// every message delivered.
func deliverAll(cores map[string]*Core, envs []envelope) []envelope {
	var seen []envelope
	for len(envs) > 0 {
		e := envs[0]
		envs = envs[1:]
		if c := cores[e.To]; c != nil && e.Msg.Type != msgReply && e.Msg.Type != msgExpired {
			seen = append(seen, e)
			c.Step(e.From, e.Msg)
			envs = append(envs, drain(c)...)
		}
	}
	return seen
}

// TestAmnesiaRelearns: n0 and n1 choose a value on key 1 (n2 is cut off);
// n0's disk is wiped. Restarted blank, n0 promises nothing until it has
// relearned from its peers: it then holds the chosen state, its floor is
// above every promise they held, and a prepare below it is refused.
func TestAmnesiaRelearns(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	cores := map[string]*Core{}
	for _, id := range nodes {
		cores[id] = newCoreRec(t, id, nodes, core.Recovered{})
	}
	request(cores["n0"], "c1", 1, Op{ID: 1, F: OpWrite, Value: 42})
	out := drain(cores["n0"])
	var toN1 []envelope
	for _, e := range out {
		if e.To == "n1" {
			toN1 = append(toN1, e)
		}
	}
	delete(cores, "n2")
	deliverAll(cores, toN1) // prepare, promise, accept, accepted: chosen
	require.Equal(t, int64(42), cores["n1"].Storage().Acceptors[1].State.Value)
	held := cores["n1"].Storage().Acceptors[1].Promised

	// n0 restarts blank; n2 is back.
	cores["n0"] = newCoreRec(t, "n0", nodes, core.Recovered{Fresh: true})
	cores["n2"] = newCoreRec(t, "n2", nodes, core.Recovered{})
	cores["n0"].Step("n1", Msg{Type: MsgPrepare, Key: 1, Ballot: Ballot{Counter: 50, Node: "n1"}})
	require.Empty(t, drain(cores["n0"]), "a recovering node promises nothing")
	cores["n0"].Tick()
	asks := drain(cores["n0"])
	require.Len(t, asks, 2)
	for _, e := range asks {
		require.Equal(t, MsgRecover, e.Msg.Type)
	}
	deliverAll(cores, asks)
	n0 := cores["n0"]
	require.False(t, n0.recovering, "a quorum's worth of peers answered")
	a := n0.Storage().Acceptors[1]
	require.NotNil(t, a)
	require.Equal(t, int64(42), a.State.Value, "the chosen state is relearned")
	require.True(t, held.Less(n0.floor), "the floor is above what the peers promised")
	require.Equal(t, n0.floor, cores["n1"].Storage().Acceptors[1].Promised, "the peers promised it")
	n0.Step("n2", Msg{Type: MsgPrepare, Key: 1, Ballot: Ballot{Counter: held.Counter, Node: "n2"}})
	got := drain(n0)
	require.Len(t, got, 1)
	require.Equal(t, MsgReject, got[0].Msg.Type)
}

// TestFirstStartAllBlank: when every node starts blank (a cluster's first
// start) each learns that nobody holds anything and serves.
func TestFirstStartAllBlank(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	cores := map[string]*Core{}
	for _, id := range nodes {
		cores[id] = newCoreRec(t, id, nodes, core.Recovered{Fresh: true})
	}
	var envs []envelope
	for _, id := range nodes {
		cores[id].Tick()
		envs = append(envs, drain(cores[id])...)
	}
	deliverAll(cores, envs)
	for _, id := range nodes {
		require.False(t, cores[id].recovering, id)
	}
	request(cores["n2"], "c1", 0, Op{ID: 1, F: OpWrite, Value: 3})
	deliverAll(cores, drain(cores["n2"]))
	require.Equal(t, int64(3), cores["n0"].Storage().Acceptors[0].State.Value)
}

// TestRecoverFromStore: what a core wrote, applied to a store and read
// back, rebuilds the same acceptors and counters, through snapshots too.
func TestRecoverFromStore(t *testing.T) {
	disk := storage.NewSimDisk(1)
	st, rec, err := openDisk(disk, "n0")
	require.NoError(t, err)
	c, err := New(Config{ID: "n0", Nodes: []string{"n0"}, Rand: rand.New(rand.NewPCG(1, 2)), Recovered: rec, Amnesia: true,
		Limits: LimitConfig{CompactMin: 4}})
	require.NoError(t, err)
	for i := range 40 {
		request(c, "c1", int64(i%7), Op{ID: int64(i + 1), F: OpWrite, Value: int64(i)})
		require.NoError(t, storage.Apply(st, c.Drain().Writes))
	}
	require.Positive(t, st.Log.Stats().Compactions, "snapshots compacted the log")
	disk.Crash()
	_, rec, err = openDisk(disk, "n0")
	require.NoError(t, err)
	require.False(t, rec.Fresh)
	c2, err := New(Config{ID: "n0", Nodes: []string{"n0"}, Rand: rand.New(rand.NewPCG(1, 2)), Recovered: rec, Amnesia: true})
	require.NoError(t, err)
	require.Equal(t, len(c.Storage().Acceptors), len(c2.Storage().Acceptors))
	for k, a := range c.Storage().Acceptors {
		require.Equal(t, *a, *c2.Storage().Acceptors[k], "key %d", k)
	}
	require.GreaterOrEqual(t, c2.Storage().MaxCounter, c.Storage().MaxCounter)
}

// newCoreInc builds node id of nodes, blank, as process inc.
func newCoreInc(t *testing.T, id string, nodes []string, inc int64) *Core {
	t.Helper()
	c, err := New(Config{ID: id, Nodes: nodes, Rand: rand.New(rand.NewPCG(1, 2)), Recovered: core.Recovered{Fresh: true}, Amnesia: true, Incarnation: inc})
	require.NoError(t, err)
	return c
}

// TestFirstStartVouched: at a first start n1 finds n0 and n2 blank and
// serves; n0 dies before n2 has heard from it. n1 vouches for the very
// process of n2 it saw blank, so n2 serves without n0, and the two of them
// choose a write. A later process of n2 (a restart, maybe on a wiped disk)
// gets no vouch and waits for a quorum's worth of peers.
func TestFirstStartVouched(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	cores := map[string]*Core{}
	for i, id := range nodes {
		cores[id] = newCoreInc(t, id, nodes, int64(100+i))
	}
	asks := map[string][]envelope{}
	for _, id := range nodes {
		cores[id].Tick()
		asks[id] = drain(cores[id])
	}
	deliverAll(cores, asks["n1"])
	require.False(t, cores["n1"].recovering, "n1 found every peer blank")
	require.True(t, cores["n0"].recovering)
	require.True(t, cores["n2"].recovering)
	require.Equal(t, map[string]int64{"n0": 100, "n2": 102}, cores["n1"].vouched)

	delete(cores, "n0") // killed
	seen := deliverAll(cores, asks["n2"])
	require.False(t, cores["n2"].recovering, "vouched for by n1")
	var vouches int
	for _, e := range seen {
		if e.Msg.Vouch {
			vouches++
		}
	}
	require.Equal(t, 1, vouches)
	require.Equal(t, cores["n2"].floor, cores["n1"].floor, "n2's floor is what n1 promised")

	request(cores["n2"], "c1", 7, Op{ID: 1, F: OpWrite, Value: 5})
	deliverAll(cores, drain(cores["n2"]))
	require.Equal(t, int64(5), cores["n1"].Storage().Acceptors[7].State.Value, "n1 and n2 chose the write")

	cores["n2"] = newCoreInc(t, "n2", nodes, 202) // a new process of n2
	cores["n2"].Tick()
	deliverAll(cores, drain(cores["n2"]))
	require.True(t, cores["n2"].recovering, "no vouch for another process: it waits for n0")
}

// TestAmnesiaTagsDoNotCollide: n1 forwards a write to the busy n0 under a
// tag its peers have not heard of, and its disk is wiped before the
// forward arrives. The blank n1 relearns
// from its peers, whose states do not hold the forward's tag yet, so its
// counter restarts at or below that tag. The old forward then lands and
// n0 applies it. The new process's next forward (a read) must run on its
// own: were the old batch applied under the same name and a tag at least
// the new one's, n0 would take the read for done and answer it with the
// write's outcome (the read would return 0, not 7).
func TestAmnesiaTagsDoNotCollide(t *testing.T) {
	n := forwardingNet(t)
	// n1's rounds up to counter 40 reached no one (their prepares were
	// lost): its peers never hear of those counters.
	n.cores["n1"].useCounter(40)
	n.request("n1", Op{ID: 2, F: OpWrite, Value: 7})
	var old []envelope
	n.deliver(func(e envelope) bool {
		if e.Msg.Type == MsgForward {
			old = append(old, e)
			return false
		}
		return true
	})
	require.Len(t, old, 1, "n1 forwards the write to n0")

	n1, err := New(Config{ID: "n1", Nodes: []string{"n0", "n1", "n2"}, Rand: rand.New(rand.NewPCG(1, 2)),
		Recovered: core.Recovered{Fresh: true}, Amnesia: true, Incarnation: 2, Forward: ForwardConfig{On: true}})
	require.NoError(t, err)
	n.cores["n1"] = n1
	n.inbox = nil
	for range 100 {
		n1.Tick()
		n.deliver(all)
		if !n1.recovering {
			break
		}
	}
	require.False(t, n1.recovering, "n1 relearned from n0 and n2")

	n.cores["n0"].Step(old[0].From, old[0].Msg) // the lost process's forward lands
	n.deliver(all)
	require.Equal(t, int64(7), n.cores["n0"].Storage().Acceptors[0].State.Value, "n0 applied the old write")
	require.Empty(t, n.replies(), "its client went with the old process")

	n.request("n1", Op{ID: 3, F: OpRead})
	var tag int64
	n.deliver(func(e envelope) bool {
		if e.Msg.Type == MsgForward {
			tag = e.Msg.Tag
			require.Equal(t, "n1#2", e.Msg.As)
		}
		return true
	})
	require.LessOrEqual(t, tag, old[0].Msg.Tag, "the new process's tag is not above the old one's: names keep them apart")
	require.Equal(t, []Op{{ID: 3, F: OpRead, Value: 7}}, n.replies())
}

// TestAmnesiaNameSurvivesRestart: the name a blank start applies its
// batches under is in its stable value, so a later start on that disk
// keeps it; a stable value naming another node is refused.
func TestAmnesiaNameSurvivesRestart(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	cores := map[string]*Core{"n0": newCoreRec(t, "n0", nodes, core.Recovered{}), "n2": newCoreRec(t, "n2", nodes, core.Recovered{})}
	blank := newCoreInc(t, "n1", nodes, 7)
	require.Equal(t, "n1#7", blank.self)
	blank.Tick()
	asks := blank.Drain()
	cores["n1"] = blank
	var envs []envelope
	for _, m := range asks.Messages {
		envs = append(envs, envelope{From: "n1", To: m.To, Msg: m.Msg})
	}
	for _, e := range envs {
		cores[e.To].Step(e.From, e.Msg)
		for _, m := range cores[e.To].Drain().Messages {
			blank.Step(e.To, m.Msg)
		}
	}
	require.False(t, blank.recovering)
	var stable []byte
	for _, w := range blank.Drain().Writes {
		if w.Kind == core.WriteState {
			stable = w.Data
		}
	}
	require.NotNil(t, stable, "the recovery wrote its stable value")

	again := newCoreRec(t, "n1", nodes, core.Recovered{State: stable})
	require.Equal(t, "n1#7", again.self, "a restart on the same disk keeps the name")
	_, err := New(Config{ID: "n0", Nodes: nodes, Rand: rand.New(rand.NewPCG(1, 2)), Recovered: core.Recovered{State: stable}})
	require.Error(t, err, "n0 refuses a stable value naming n1")
}
