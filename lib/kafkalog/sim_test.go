package kafkalog

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raftnode"
	"maelkit/lib/sim"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/kafka"
)

// The service on the deterministic simulator: the same Core as the binary
// (held writes, raftnode, RSM, Log), driven by eddy's kafka generator,
// clients and final phase, with partitions, message loss and duplication.
// The history goes through eddy's kafka checker; the replicas' logs are
// checked directly: identical once healed, and holding every acknowledged
// send at its offset.

const (
	simTickMs  = 10
	simThreads = 6
	// simTimeoutMs is a Maelstrom client's: longer than a node answers
	// (AnswerWithin), so no answer reaches a client that gave up.
	simTimeoutMs = 5000
)

type kafkaSim = sim.Sim[raftnode.Msg, raftnode.Request, any]

type simRun struct {
	t     *testing.T
	s     *kafkaSim
	ids   []string
	cores map[string]*Core
	r     *rand.Rand
	h     history.History
	msgID int64
	nextC int
	// timeout is the clients' (simTimeoutMs unless set).
	timeout time.Duration
	// faults, if set, runs before each main-phase op (the op's index);
	// settle, if set, runs before the heal that ends the main phase.
	faults func(i int)
	settle func()
	// committed is the highest offset per key a commit_offsets_ok
	// acknowledged.
	committed map[string]int64
}

func simConfig() Config {
	tm := raftnode.DefaultTiming()
	tm.TickMin, tm.TickStart, tm.PendingMax = 2*simTickMs*time.Millisecond, 4*simTickMs*time.Millisecond, 1000
	return Config{Timing: tm, Flush: simTickMs * time.Millisecond, SnapshotEntries: 64}
}

func newSimRun(t *testing.T, seed uint64, nodes int, journal func(string)) *simRun {
	sr, cfg := newSimBase(t, seed, nodes)
	if journal != nil {
		cfg.Journal, cfg.Describe = journal, sim.JSON
	}
	sr.s = sim.New(cfg, func(id string) core.Core[raftnode.Msg, raftnode.Request, any] {
		c := simConfig()
		c.ID, c.Nodes, c.Rand = id, sr.ids, rand.New(rand.NewPCG(seed, uint64(id[1])))
		kc, err := NewCore(c)
		require.NoError(t, err)
		sr.cores[id] = kc
		return kc
	})
	return sr
}

// newSimBase is a run without its simulator, and the simulator's config.
func newSimBase(t *testing.T, seed uint64, nodes int) (*simRun, sim.Config) {
	sr := &simRun{t: t, cores: map[string]*Core{}, r: rand.New(rand.NewPCG(seed, 5)),
		timeout: simTimeoutMs * time.Millisecond, committed: map[string]int64{}}
	for i := range nodes {
		sr.ids = append(sr.ids, fmt.Sprintf("n%d", i))
	}
	return sr, sim.Config{Seed: seed, Nodes: sr.ids, TickMs: simTickMs, LatencyMinMs: 1, LatencyMaxMs: 10,
		Loss: 0.01, Duplicate: 0.01, Clone: cloneMsg}
}

// cloneMsg copies a message through its JSON form: every message crosses
// the wire encoding, and no two nodes share memory.
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

// transport is a kafka.Transport from one client to one node of the
// simulation: a call injects the request and runs the simulation until
// the reply comes or the timeout passes.
type transport struct {
	sr     *simRun
	node   string
	client string
}

func (tr *transport) Call(_ context.Context, body any, timeout time.Duration) (json.RawMessage, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	tr.sr.msgID++
	id := tr.sr.msgID
	tr.sr.s.Command(tr.node, core.Command[raftnode.Request]{Client: tr.client, MsgID: id,
		Body: raftnode.Request{Type: head.Type, Body: raw}})
	var reply any
	got := false
	tr.sr.s.RunUntil(func() bool {
		for _, r := range tr.sr.s.Replies() {
			require.Equal(tr.sr.t, tr.client, r.To, "a reply to another client than the one waiting")
			require.Equal(tr.sr.t, id, r.InReplyTo, "a reply to a request no longer waiting")
			require.False(tr.sr.t, got, "two replies to one request")
			reply, got = r.Body, true
		}
		return got
	}, timeout.Milliseconds())
	if !got {
		return nil, kafka.ErrTimeout
	}
	b, err := json.Marshal(reply)
	require.NoError(tr.sr.t, err)
	_, isErr := reply.(interface{ Error() string })
	if c, ok := body.(*kafka.CommitOffsetsReq); ok && !isErr {
		for k, o := range c.Offsets {
			if cur, ok := tr.sr.committed[k]; !ok || o > cur {
				tr.sr.committed[k] = o
			}
		}
	}
	return wire(b, id, isErr), nil
}

// wire makes a reply body what the node runtime sends: in_reply_to set,
// and type "error" for an *maelstrom.RPCError.
func wire(b []byte, inReplyTo int64, isErr bool) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return b
	}
	fields["in_reply_to"] = json.RawMessage(fmt.Sprint(inReplyTo))
	if isErr {
		fields["type"] = json.RawMessage(`"error"`)
	}
	out, _ := json.Marshal(fields)
	return out
}

// thread is one worker: its client, process and node.
type thread struct {
	c       *kafka.Client
	process int64
	tr      *transport
}

func (sr *simRun) newClient(th *thread) {
	sr.nextC++
	th.c = kafka.NewClient()
	th.c.Timeout = sr.timeout
	th.tr.client = fmt.Sprintf("c%d", sr.nextC)
}

func (sr *simRun) clock() time.Duration { return time.Duration(sr.s.Now()) * time.Millisecond }

func (sr *simRun) record(typ history.Type, p int64, op kafka.Op, v, e any) {
	sr.h = append(sr.h, history.Op{Index: int64(len(sr.h)), Time: sr.s.Now()*1_000_000 + int64(len(sr.h)),
		Type: typ, Process: p, F: op.F, Value: v, Error: e, Final: op.Final})
}

func (sr *simRun) perform(th *thread, op kafka.Op) kafka.Outcome {
	sr.record(history.Invoke, th.process, op, op.Value, nil)
	out := th.c.Invoke(context.Background(), th.tr, op)
	sr.record(out.Type, th.process, op, out.Value, out.Error)
	if out.Type == history.Info {
		th.process += simThreads
		sr.newClient(th)
	}
	sr.s.RunFor(sr.r.Int64N(3))
	return out
}

// run performs ops client ops, a partition or a heal every few dozen when
// nemesis is set, then heals, lets the cluster settle, and runs the final
// phase.
func (sr *simRun) run(ops int, nemesis bool) {
	gen, err := kafka.NewGenerator(kafka.Params{Concurrency: simThreads, KeyCount: 4, Rand: sr.r, Clock: sr.clock})
	require.NoError(sr.t, err)
	threads := make([]*thread, simThreads)
	for i := range threads {
		threads[i] = &thread{process: int64(i), tr: &transport{sr: sr, node: sr.ids[i%len(sr.ids)]}}
		sr.newClient(threads[i])
	}
	sr.s.RunFor(300) // the first election
	for i := range ops {
		if nemesis && i%40 == 39 {
			if sr.r.IntN(2) == 0 {
				a, b := sim.RandomSplit(sr.r, sr.ids)
				sr.s.Partition(a, b)
			} else {
				sr.s.Heal()
			}
		}
		if sr.faults != nil {
			sr.faults(i)
		}
		th := threads[sr.r.IntN(simThreads)]
		op, _ := gen.Next(0)
		gen.Update(op, sr.perform(th, op))
	}
	if sr.settle != nil {
		sr.settle()
	}
	sr.s.Heal()
	sr.s.RunFor(2000)
	final := kafka.NewFinal(gen.Targets(), sr.r, sr.clock)
	for i, th := range threads {
		for {
			op, wait, more := final.Next(i)
			if !more {
				break
			}
			sr.s.RunFor(wait.Milliseconds())
			final.Update(i, op, sr.perform(th, op))
		}
	}
	sr.s.RunFor(1000) // every replica applies the last commits
}

// checkLogs: every replica holds the same log (dense offsets by
// construction), and every acknowledged send is in it at its offset.
func (sr *simRun) checkLogs() {
	ref := sr.cores[sr.ids[0]].Log()
	want, err := ref.Snapshot()
	require.NoError(sr.t, err)
	for _, id := range sr.ids[1:] {
		got, err := sr.cores[id].Log().Snapshot()
		require.NoError(sr.t, err)
		require.JSONEq(sr.t, string(want), string(got), "replica %s differs from %s", id, sr.ids[0])
	}
	acked := 0
	for _, op := range sr.h {
		if op.Type != history.OK || op.F != kafka.FSend {
			continue
		}
		mop := op.Value.([]any)[0].([]any)
		key, pair := mop[1].(string), mop[2].([]any)
		off, msg := pair[0].(int64), pair[1].(int64)
		es := ref.Poll(map[string]int64{key: off}, 1)[key]
		require.Len(sr.t, es, 1, "acknowledged send %v missing", mop)
		require.Equal(sr.t, fmt.Sprint(msg), string(es[0].Msg), "acknowledged send %v", mop)
		acked++
	}
	require.Positive(sr.t, acked)
	sr.checkCommitted()
}

// checkCommitted: every replica's committed offsets are at least what
// commit_offsets acknowledged.
func (sr *simRun) checkCommitted() {
	keys := make([]string, 0, len(sr.committed))
	for k := range sr.committed {
		keys = append(keys, k)
	}
	for _, id := range sr.ids {
		got := sr.cores[id].Log().Committed(keys)
		for k, o := range sr.committed {
			require.GreaterOrEqual(sr.t, got[k], o, "%s: key %s's committed offset below an acknowledged commit", id, k)
		}
	}
}

func (sr *simRun) check() {
	sr.checkLogs()
	a := kafka.Analyze(sr.h)
	require.Empty(sr.t, a.BadTypes(), "%v", a.Explain())
}

func TestSimulation(t *testing.T) {
	for _, nodes := range []int{1, 2, 3, 5} {
		for _, seed := range sim.Seeds(t, 3) {
			t.Run(fmt.Sprintf("nodes=%d/seed=%d", nodes, seed), func(t *testing.T) {
				sr := newSimRun(t, seed, nodes, nil)
				sr.run(400, nodes > 2)
				sr.check()
			})
		}
	}
}

// TestGolden pins every message and client outcome of a seeded 3-node run
// with a partition: a change in any decision the core makes shows as a
// diff of testdata/kafka.trace.
func TestGolden(t *testing.T) {
	var lines []string
	sr := newSimRun(t, 7, 3, func(l string) { lines = append(lines, l) })
	sr.run(60, true)
	sr.check()
	sim.Golden(t, "kafka", lines)
}
