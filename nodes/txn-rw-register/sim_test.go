package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raft"
	"maelkit/lib/raftnode"
	"maelkit/lib/sim"
	"maelkit/lib/testenv"
	"maelkit/lib/txn"
	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/history"
)

// The strict-serializable mode on the deterministic simulator: the same
// raftnode.Core (RSM, txn.Machine, txnCodec, tick sizing, link health,
// handoffs) as the binary; only the node runtime (stdin/stdout, real time)
// is replaced by lib/sim.

const (
	simTick         = 10   // virtual ms per tick
	simClientWaitMs = 1000 // a client gives up after this long
	simClients      = 6
)

// replica is one node: a raftnode.Core over a txn.Machine, the machine
// kept for convergence checks.
type replica struct {
	core *raftnode.Core
	m    *txn.Machine
}

// txnSim is the simulator over raftnode cores.
type txnSim = sim.Sim[raftnode.Msg, raftnode.Request, any]

// reqID is a client's request: its client and msg_id.
type reqID struct {
	client string
	msgID  int64
}

// simOpen is a client request the history has not completed.
type simOpen struct {
	process int64
	at      int64 // virtual ms
	node    string
	query   bool
}

// simRun is one simulated run.
type simRun struct {
	t        *testing.T
	s        *txnSim
	ids      []string
	nodes    map[string]*replica
	durable  map[string]raft.Durable
	restarts map[string]uint64
	r        *rand.Rand
	h        history.History
	open     map[int]simOpen // by invoke index
	invOf    map[reqID]int   // a request's invoke index
	busy     map[int64]bool  // processes with an open op
	msgID    map[int64]int64 // next msg_id per process
	next     map[int64]int64 // next value per key: unique per key
	write    txn.Fn
	seed     uint64
	dups     int
}

func newSimRun(t *testing.T, seed uint64, nodeCount int, write txn.Fn) *simRun {
	return newJournaledRun(t, seed, nodeCount, write, nil)
}

// newJournaledRun is newSimRun whose simulator hands every trace line to
// journal (nil: none), messages as their JSON form.
func newJournaledRun(t *testing.T, seed uint64, nodeCount int, write txn.Fn, journal func(string)) *simRun {
	sr := &simRun{t: t, nodes: map[string]*replica{}, invOf: map[reqID]int{}, durable: map[string]raft.Durable{}, restarts: map[string]uint64{},
		r: rand.New(rand.NewPCG(seed, 77)), open: map[int]simOpen{}, busy: map[int64]bool{},
		msgID: map[int64]int64{}, next: map[int64]int64{}, write: write, seed: seed}
	for i := range nodeCount {
		sr.ids = append(sr.ids, fmt.Sprintf("n%d", i))
	}
	cfg := sim.Config{Seed: seed, Nodes: sr.ids, TickMs: simTick, LatencyMinMs: 1, LatencyMaxMs: 15,
		Loss: 0.02, Duplicate: 0.02, Clone: cloneMsg}
	if journal != nil {
		cfg.Journal, cfg.Describe = journal, sim.JSON
	}
	sr.s = sim.New(cfg, func(id string) core.Core[raftnode.Msg, raftnode.Request, any] { return sr.build(id, nil) })
	return sr
}

// cloneMsg copies a message through its JSON form, so that no two nodes
// share memory and every message crosses the wire encoding.
func cloneMsg(x any) any {
	b, err := json.Marshal(x.(raftnode.Msg))
	if err != nil {
		panic(err)
	}
	var c raftnode.Msg
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c
}

// build makes a node's core, restoring durable state after a crash.
func (sr *simRun) build(id string, d *raft.Durable) *raftnode.Core {
	m := txn.NewMachine()
	sr.restarts[id]++
	tm := raftnode.DefaultTiming()
	tm.TickMin, tm.PendingMax = simTick*time.Millisecond, 1000
	c, err := raftnode.NewCore(raftnode.CoreConfig{ID: id, Nodes: sr.ids, Types: []string{"txn"},
		Machine: m, Codec: txn.Codec{Machine: m}, Timing: tm, SnapshotEntries: 16, Durable: d,
		Rand: rand.New(rand.NewPCG(sr.seed, uint64(id[1])<<8|sr.restarts[id]))})
	require.NoError(sr.t, err)
	sr.nodes[id] = &replica{core: c, m: m}
	return c
}

// crash stops a node, keeping what Raft persists.
func (sr *simRun) crash(id string) {
	if sr.s.Down(id) {
		return
	}
	sr.durable[id] = sr.nodes[id].core.RSM().Raft().Durable()
	sr.s.Crash(id)
}

// restart brings a crashed node back from its durable state, with an
// empty state machine that the snapshot and the log replay rebuild.
func (sr *simRun) restart(id string) {
	if !sr.s.Down(id) {
		return
	}
	d := sr.durable[id]
	sr.s.Restart(id, sr.build(id, &d))
}

// randTxn draws 1..4 micro-ops over keys 0..4, values unique per key.
func (sr *simRun) randTxn() txn.Txn {
	var t txn.Txn
	for range 1 + sr.r.IntN(4) {
		k := sr.r.Int64N(5)
		if sr.r.IntN(2) == 0 {
			t = append(t, txn.Mop{F: txn.Read, K: k})
			continue
		}
		sr.next[k]++
		t = append(t, txn.Mop{F: sr.write, K: k, Arg: sr.next[k]})
	}
	return t
}

// toHistory renders a transaction as the history holds it.
func toHistory(t txn.Txn, completed bool) []any {
	out := make([]any, len(t))
	for i, m := range t {
		var v any
		switch {
		case m.F != txn.Read:
			v = m.Arg
		case !completed || m.Result.Kind == txn.Null:
		case m.Result.Kind == txn.Int:
			v = m.Result.Int
		default:
			l := make([]any, len(m.Result.List))
			for j, x := range m.Result.List {
				l[j] = x
			}
			v = l
		}
		out[i] = []any{history.Keyword(m.F.String()), m.K, v}
	}
	return out
}

func (sr *simRun) add(op history.Op) int {
	op.Index = int64(len(sr.h))
	op.Time = sr.s.Now()*1_000_000 + int64(len(sr.h)) // distinct, ordered
	sr.h = append(sr.h, op)
	sr.s.Note("%s p%d %v %v", op.Type, op.Process, op.Value, op.Error)
	return len(sr.h) - 1
}

// submit sends a fresh transaction from process p to node id; sometimes a
// second node gets the same command too (a retried forward, say), which
// must not apply twice.
func (sr *simRun) submit(p int64, id string) {
	t := sr.randTxn()
	sr.msgID[p]++
	client := fmt.Sprintf("c%d", p)
	body, err := json.Marshal(txn.Request{Txn: t})
	require.NoError(sr.t, err)
	inv := sr.add(history.Op{Type: history.Invoke, Process: p, F: "txn", Value: toHistory(t, false)})
	sr.busy[p] = true
	o := simOpen{process: p, at: sr.s.Now(), node: id, query: txn.ReadOnly(t)}
	sr.open[inv] = o
	key := reqID{client: client, msgID: sr.msgID[p]}
	sr.invOf[key] = inv
	cmd := core.Command[raftnode.Request]{Client: client, MsgID: sr.msgID[p], Body: raftnode.Request{Type: "txn", Body: body}}
	sr.s.Command(id, cmd)
	if !o.query && sr.r.IntN(5) == 0 {
		other := sr.ids[sr.r.IntN(len(sr.ids))]
		if other != id && !sr.s.Down(other) {
			sr.s.Command(other, cmd)
			sr.dups++
		}
	}
}

// collect completes the invokes the nodes answered.
func (sr *simRun) collect() {
	for _, r := range sr.s.Replies() {
		if inv, ok := sr.invOf[reqID{client: r.To, msgID: r.InReplyTo}]; ok {
			sr.complete(inv, r.Body)
		}
	}
}

// run advances ms of virtual time, completing invokes as answers come.
func (sr *simRun) run(ms int64) {
	sr.s.RunUntil(func() bool { sr.collect(); return false }, ms)
}

// complete records a node's answer to the invoke at inv: the node's own
// txn_ok, or one a peer served (JSON), or an error.
func (sr *simRun) complete(inv int, reply any) {
	o, ok := sr.open[inv]
	if !ok {
		return // the client gave up already, or a copy answered first
	}
	delete(sr.open, inv)
	sr.busy[o.process] = false
	ok2, isOK := reply.(txn.OK)
	if raw, isRaw := reply.(json.RawMessage); isRaw {
		isOK = json.Unmarshal(raw, &ok2) == nil && ok2.Type == "txn_ok"
	}
	if !isOK {
		// 13: indefinite; the process is done with this op but it stays
		// open in the history.
		sr.add(history.Op{Type: history.Info, Process: o.process, F: "txn", Value: sr.h[inv].Value})
		sr.retire(o.process)
		return
	}
	sr.add(history.Op{Type: history.OK, Process: o.process, F: "txn", Value: toHistory(ok2.Txn, true)})
}

// retire replaces a process after an indefinite outcome, as Jepsen does.
func (sr *simRun) retire(p int64) {
	delete(sr.busy, p)
	sr.busy[p+simClients] = false
}

// timeouts gives up on requests older than the client's wait: a query
// failed definitely (it has no effect), a command is indefinite.
func (sr *simRun) timeouts(all bool) {
	for _, inv := range slices.Sorted(maps.Keys(sr.open)) {
		o := sr.open[inv]
		if !all && sr.s.Now()-o.at < simClientWaitMs {
			continue
		}
		delete(sr.open, inv)
		if o.query {
			sr.add(history.Op{Type: history.Fail, Process: o.process, F: "txn", Value: sr.h[inv].Value, Error: "timeout"})
			sr.busy[o.process] = false
			continue
		}
		sr.add(history.Op{Type: history.Info, Process: o.process, F: "txn", Value: sr.h[inv].Value})
		sr.retire(o.process)
	}
}

// workload runs ops client steps while a nemesis partitions, isolates,
// crashes and restarts nodes.
func (sr *simRun) workload(ops int) {
	for p := range int64(simClients) {
		sr.busy[p] = false
	}
	for i := range ops {
		if i%60 == 0 {
			for _, id := range sr.ids {
				sr.restart(id)
			}
			switch sr.r.IntN(5) {
			case 0:
				sr.s.Heal()
			case 1:
				sr.crash(sr.ids[sr.r.IntN(len(sr.ids))])
			case 2:
				sr.s.Isolate(sr.ids[sr.r.IntN(len(sr.ids))])
			default:
				sr.s.Partition(sim.RandomSplit(sr.r, sr.ids))
			}
		}
		sr.run(1 + sr.r.Int64N(20))
		sr.timeouts(false)
		// Idle processes, in a deterministic order.
		for _, p := range slices.Sorted(maps.Keys(sr.busy)) {
			if sr.busy[p] || sr.r.IntN(3) != 0 {
				continue
			}
			if id := sr.ids[int(p%simClients)%len(sr.ids)]; !sr.s.Down(id) {
				sr.submit(p, id)
			}
		}
	}
}

// settle heals everything, waits for the open requests and for every node
// to hold the same applied state, within a bound.
func (sr *simRun) settle() {
	for _, id := range sr.ids {
		sr.restart(id)
	}
	sr.s.Heal()
	ok := sr.s.RunUntil(func() bool { sr.collect(); return len(sr.open) == 0 }, simClientWaitMs)
	sr.timeouts(true)
	_ = ok
	converged := func() bool {
		first := sr.nodes[sr.ids[0]]
		applied := first.core.RSM().Raft().Status().Applied
		for _, id := range sr.ids {
			n := sr.nodes[id]
			if n.core.RSM().Raft().Status().Applied != applied || !n.m.Store().Equal(first.m.Store()) {
				return false
			}
		}
		return applied > 0 && first.core.RSM().Raft().Status().Commit == applied
	}
	require.True(sr.t, sr.s.RunUntil(converged, 30_000), "seed %d: no convergence after the heal; trace:\n%s",
		sr.seed, strings.Join(sr.s.Trace(), "\n"))
}

func (sr *simRun) oks() int {
	n := 0
	for _, op := range sr.h {
		if op.Type == history.OK {
			n++
		}
	}
	return n
}

// TestSimStrictSerializable: three (and five) nodes under partitions,
// crash-restarts from durable state (with snapshots), message loss and
// duplication, and duplicate proposals of the same command: every history
// is strict serializable by eddy's Elle-style checker, for both
// workloads, and the replicas converge once healed. Seeds 1-4 (one of
// them on five nodes); the long mode (testenv) runs 1-8.
func TestSimStrictSerializable(t *testing.T) {
	cases := []struct {
		kind  elle.Kind
		write txn.Fn
	}{
		{kind: elle.RWRegister, write: txn.Write},
		{kind: elle.ListAppend, write: txn.Append},
	}
	for _, tc := range cases {
		for seed := uint64(1); seed <= testenv.Pick[uint64](4, 8); seed++ {
			t.Run(fmt.Sprintf("%s/%d", tc.kind, seed), func(t *testing.T) {
				t.Parallel()
				nodes := 3
				if seed%4 == 0 {
					nodes = 5
				}
				sr := newSimRun(t, seed, nodes, tc.write)
				sr.workload(1200)
				sr.settle()
				res := elle.Check(sr.h, elle.Options{Kind: tc.kind, Models: []string{"strict-serializable"}, Strict: true})
				valid, _ := res.Get("valid?")
				restarts := uint64(0)
				for _, n := range sr.restarts {
					restarts += n - 1
				}
				t.Logf("seed %d: %d ops, %d ok, %d duplicate proposals, %d crash-restarts, %d ms", seed, len(sr.h)/2, sr.oks(), sr.dups, restarts, sr.s.Now())
				require.Equal(t, true, valid, "seed %d: %v", seed, res)
				require.Greater(t, sr.oks(), 50, "seed %d: too few transactions succeeded", seed)
				require.Positive(t, sr.dups, "seed %d: no duplicate proposals exercised", seed)
			})
		}
	}
}

// TestSimDeterministic: one seed, one trace.
func TestSimDeterministic(t *testing.T) {
	hash := func() (uint64, int) {
		sr := newSimRun(t, 5, 3, txn.Write)
		sr.workload(200)
		sr.settle()
		return sr.s.TraceHash(), len(sr.h)
	}
	h1, n1 := hash()
	h2, n2 := hash()
	require.Equal(t, h1, h2)
	require.Equal(t, n1, n2)
}
