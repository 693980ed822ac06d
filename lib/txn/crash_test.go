package txn

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/sim"
	"maelkit/lib/testenv"
	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/history"
)

// commitID is one writing transaction's commit: its origin and sequence
// number there.
type commitID struct {
	origin string
	seq    int64
}

// crashRun is one seeded crash simulation of durable read-committed cores.
type crashRun struct {
	*simRun
	boots int64
	// acked are the commits of transactions a client heard txn_ok for.
	acked []commitID
	// wipes counts disk wipes, snaps the snapshots delivered.
	wipes, snaps int
}

func newCrashRun(t *testing.T, seed uint64, nodeCount int, write Fn) *crashRun {
	var nodes []string
	for i := range nodeCount {
		nodes = append(nodes, fmt.Sprintf("n%d", i))
	}
	cr := &crashRun{simRun: &simRun{t: t, nodes: nodes, r: rand.New(rand.NewPCG(seed, 98)), next: map[int64]int64{}, write: write}}
	cfg := sim.Config{Seed: seed, Nodes: nodes, TickMs: simTickMs, LatencyMinMs: 1, LatencyMaxMs: 60,
		Loss: 0.05, Duplicate: 0.05, Clone: func(x any) any { return x.(Message).Clone() }, Describe: func(x any) string {
			if m, ok := x.(Message); ok {
				if m.Snap != nil {
					cr.snaps++
				}
				return m.String()
			}
			return fmt.Sprint(x)
		}}
	cr.s = sim.NewDurable(cfg, func(id string, rec core.Recovered) core.Core[Message, Txn, Answer] {
		cr.boots++
		c := Defaults(id, nodes, simTickMs)
		// Small, to exercise windows, retransmission and snapshots.
		c.BatchMax, c.WindowMax, c.SnapshotEvery = 8, 16, 16
		// Every boot's fresh clock is above every Lamport time a run of
		// fewer than a million commits can reach before it.
		c.Incarnation, c.FreshClock = cr.boots, cr.boots*1_000_000
		core, err := NewDurable(c, rec)
		require.NoError(t, err, "seed %d", seed)
		return core
	})
	return cr
}

// command runs one random transaction on node id through the simulator,
// so that its reply leaves only once its Output's writes are durable, and
// records it: ok, or info when the node died before answering.
func (cr *crashRun) command(p int64, id string, msgID int64) {
	if cr.s.Down(id) {
		return
	}
	t := cr.randTxn()
	now := cr.s.Now() * 1_000_000
	inv := history.Op{Index: int64(len(cr.h)), Time: now, Type: history.Invoke, Process: p, F: "txn", Value: toHistory(t, false)}
	cr.h = append(cr.h, inv)
	c := cr.core(id)
	cr.s.Command(id, core.Command[Txn]{Client: fmt.Sprintf("c%d", p), MsgID: msgID, Body: t})
	if rs := cr.s.Replies(); len(rs) > 0 {
		r := rs[0] // one command, one reply
		require.Equal(cr.t, msgID, r.InReplyTo, "seed %d", cr.s.Seed())
		require.NoError(cr.t, r.Body.Err, "seed %d", cr.s.Seed())
		cr.h = append(cr.h, history.Op{Index: int64(len(cr.h)), Time: now + 1, Type: history.OK, Process: p, F: "txn", Value: toHistory(r.Body.Txn, true)})
		if writes(t) {
			cr.acked = append(cr.acked, commitID{origin: c.Origin(), seq: c.Applied(c.Origin())})
		}
		return
	}
	// Killed inside its write: the transaction may or may not be durable.
	cr.h = append(cr.h, history.Op{Index: int64(len(cr.h)), Time: now + 1, Type: history.Info, Process: p, F: "txn", Value: inv.Value})
}

func writes(t Txn) bool {
	return slices.ContainsFunc(t, func(m Mop) bool { return m.F != Read })
}

// check: every up node holds every acknowledged commit of its own current
// origin (a restart with its disk lost none of them).
func (cr *crashRun) check(event string) {
	cr.t.Helper()
	for _, id := range cr.nodes {
		if cr.s.Down(id) {
			continue
		}
		c := cr.core(id)
		for _, a := range cr.acked {
			if a.origin == c.Origin() && c.Applied(a.origin) < a.seq {
				cr.t.Fatalf("seed %d after %s: %s holds %d commits of %s, below the acknowledged #%d\n%s",
					cr.s.Seed(), event, id, c.Applied(a.origin), a.origin, a.seq, strings.Join(cr.s.Trace(), "\n"))
			}
		}
	}
}

// quiet says whether every peer acknowledged every commit of id.
func (cr *crashRun) quiet(id string) bool { return len(cr.core(id).own) == 0 }

// wipeMode says when run wipes disks.
type wipeMode int8

const (
	noWipes wipeMode = iota
	// quietWipes wipes a node once its peers acknowledged all its commits:
	// a commit acknowledged on a node whose disk is wiped before any peer
	// got it is lost, and no protocol that answers at once brings it back.
	quietWipes
	// anyWipes wipes at any moment: acknowledged commits may be lost, but
	// histories must stay read committed and the replicas converge.
	anyWipes
)

// run drives transactions, partitions, process deaths, power losses and
// faults inside writes for ops transactions, and disk wipes as wipes says.
func (cr *crashRun) run(ops int, wipes wipeMode) {
	s, r := cr.s, cr.r
	for i := range ops {
		s.RunFor(r.Int64N(20))
		cr.check("time passing")
		id := cr.nodes[r.IntN(len(cr.nodes))]
		switch k := r.IntN(100); {
		case k < 80:
			p := r.Int64N(int64(2 * len(cr.nodes)))
			cr.command(p, cr.nodes[p%int64(len(cr.nodes))], int64(i+1))
			cr.check("a transaction")
		case k < 84:
			s.Partition(sim.RandomSplit(r, cr.nodes))
		case k < 88:
			s.Heal()
		case k < 91:
			if s.Down(id) {
				break
			}
			f := sim.Fault(1 + r.IntN(2))
			switch {
			case wipes == anyWipes && r.IntN(2) == 0:
				f = sim.DiskWipe
				cr.wipes++
			case wipes == quietWipes && r.IntN(2) == 0:
				s.Heal()
				if s.RunUntil(func() bool { return s.Down(id) || cr.quiet(id) }, 10_000) && !s.Down(id) {
					f = sim.DiskWipe
					cr.wipes++
				}
			}
			if !s.Down(id) {
				s.Fail(id, f)
			}
		case k < 94:
			if !s.Down(id) {
				s.FailAfter(id, r.IntN(4), sim.Fault(1+r.IntN(2)))
			}
		default:
			if s.Down(id) {
				_, err := s.Recover(id)
				require.NoError(cr.t, err, "seed %d", s.Seed())
				cr.check("recover " + id)
			}
		}
	}
	for _, id := range cr.nodes {
		if s.Down(id) {
			_, err := s.Recover(id)
			require.NoError(cr.t, err, "seed %d", s.Seed())
		}
		s.FailAfter(id, -1, 0)
	}
	cr.check("the last recovery")
}

// converge heals, then demands that every node hold the same store and
// the same version vector, and when lossless every acknowledged commit.
func (cr *crashRun) converge(lossless bool) {
	s := cr.s
	s.Heal()
	vector := func(c *Core) map[string]int64 {
		v := maps.Clone(c.applied)
		v[c.Origin()] = c.seq
		maps.DeleteFunc(v, func(_ string, n int64) bool { return n == 0 })
		return v
	}
	done := func() bool {
		first := cr.core(cr.nodes[0])
		for _, id := range cr.nodes {
			c := cr.core(id)
			if !sameData(c.Store(), first.Store()) || !maps.Equal(vector(c), vector(first)) || len(c.own) > 0 {
				return false
			}
		}
		return true
	}
	if !s.RunUntil(done, 120_000) {
		var b strings.Builder
		for _, id := range cr.nodes {
			c := cr.core(id)
			fmt.Fprintf(&b, "%s: %v own %d..%d equal %t\n", id, vector(c), c.base, c.seq, sameData(c.Store(), cr.core(cr.nodes[0]).Store()))
			for _, p := range c.peers {
				ps := c.peer[p]
				fmt.Fprintf(&b, "  %s: %+v\n", p, *ps)
			}
		}
		cr.t.Fatalf("seed %d: no convergence after the heal:\n%s%s", s.Seed(), b.String(), strings.Join(s.Trace(), "\n"))
	}
	if !lossless {
		return
	}
	c := cr.core(cr.nodes[0])
	for _, a := range cr.acked {
		require.GreaterOrEqual(cr.t, c.Applied(a.origin), a.seq, "seed %d: acknowledged commit %s #%d lost", s.Seed(), a.origin, a.seq)
	}
}

// sameData says whether two stores hold the same keys and values; their
// Lamport clocks may differ (a wiped node's starts high and rises nowhere
// else until it commits).
func sameData(a, b *Store) bool {
	x, y := *a, *b
	x.clock, y.clock = 0, 0
	return x.Equal(&y)
}

// checkHistory runs eddy's Elle-style checker for read committed.
func (cr *crashRun) checkHistory() {
	kind := elle.RWRegister
	if cr.write == Append {
		kind = elle.ListAppend
	}
	res := elle.Check(cr.h, elle.Options{Kind: kind, Models: []string{"read-committed"}, Strict: true})
	valid, _ := res.Get("valid?")
	if valid != true {
		a, _ := res.Get("anomalies")
		cr.t.Fatalf("seed %d: %v\n%s", cr.s.Seed(), mustJSON(a), strings.Join(cr.s.Trace(), "\n"))
	}
}

func crashSeeds(t *testing.T) []uint64 { return sim.Seeds(t, testenv.Pick(10, 1000)) }

// TestCrashReadCommitted: under process deaths, power losses and deaths
// inside a write, with partitions, loss and duplication, no acknowledged
// commit is lost, every history is read committed, and the replicas
// converge once all are back and healed.
func TestCrashReadCommitted(t *testing.T) {
	for _, seed := range crashSeeds(t) {
		for _, w := range []Fn{Write, Append} {
			cr := newCrashRun(t, seed, 2+int(seed%3), w)
			cr.run(400, noWipes)
			cr.converge(true)
			cr.checkHistory()
		}
	}
}

// TestCrashWipedDisk: nodes restarted from an empty disk commit under a
// new origin and get their old commits back from peers' snapshots;
// histories stay read committed and the replicas converge.
func TestCrashWipedDisk(t *testing.T) {
	wiped, snaps := 0, 0
	for _, seed := range crashSeeds(t) {
		for _, w := range []Fn{Write, Append} {
			cr := newCrashRun(t, seed, 3+int(seed%2), w)
			cr.run(400, quietWipes)
			cr.converge(true)
			cr.checkHistory()
			wiped += cr.wipes
			snaps += cr.snaps
		}
	}
	t.Logf("%d disks wiped, %d snapshots delivered", wiped, snaps)
	require.Positive(t, wiped, "some disks were wiped")
	require.Positive(t, snaps, "some wiped nodes got their state back in snapshots")
}

// sawLost says whether a read observed a list element that no final
// replica holds (an append lost with a wiped disk).
func (cr *crashRun) sawLost() bool {
	st := cr.core(cr.nodes[0]).Store()
	for _, op := range cr.h {
		if op.Type != history.OK {
			continue
		}
		for _, m := range op.Value.([]any) {
			mop := m.([]any)
			l, ok := mop[2].([]any)
			if mop[0] != history.Keyword("r") || !ok {
				continue
			}
			final := st.Get(mop[1].(int64)).List
			for _, x := range l {
				if !slices.Contains(final, x.(int64)) {
					return true
				}
			}
		}
	}
	return false
}

// TestCrashWipedAnytime: disks wiped at any moment (a wiped node's commits
// that no peer got are lost): the replicas converge on what survived, and
// histories stay read committed, for lists in the runs where no read saw
// an append lost later (such a read cannot be a prefix of later reads).
func TestCrashWipedAnytime(t *testing.T) {
	checked := 0
	for _, seed := range crashSeeds(t) {
		for _, w := range []Fn{Write, Append} {
			cr := newCrashRun(t, seed, 3+int(seed%2), w)
			cr.run(400, anyWipes)
			cr.converge(false)
			if w == Write || !cr.sawLost() {
				cr.checkHistory()
				checked++
			}
		}
	}
	t.Logf("%d histories checked", checked)
	require.Greater(t, checked, len(crashSeeds(t)), "some list histories were checked")
}

// TestDurableRejectsNoise: a durable core drops messages without an
// incarnation or with another node's origin, ignores a snapshot that does
// not decode, and refuses a stored snapshot of another node.
func TestDurableRejectsNoise(t *testing.T) {
	cfg := Defaults("n0", []string{"n0", "n1"}, 10)
	cfg.Incarnation, cfg.FreshClock = 5, 100
	c, err := NewDurable(cfg, core.Recovered{Fresh: true})
	require.NoError(t, err)
	require.Equal(t, "n0@5", c.Origin())
	w := WriteSet{Writes: []KV{{K: 1, V: 1}}}
	c.Step("n1", Message{Type: MessageType, Origin: "n1@3", Entries: []Entry{{Seq: 1, Lamport: 1, WriteSet: w}}})
	c.Step("n1", Message{Type: MessageType, Inc: 3, Origin: "n2@3", Entries: []Entry{{Seq: 1, Lamport: 1, WriteSet: w}}})
	c.Step("n1", Message{Type: MessageType, Inc: 3, Origin: "n1@x", Entries: []Entry{{Seq: 1, Lamport: 1, WriteSet: w}}})
	c.Step("n1", Message{Type: MessageType, Inc: 3, Origin: "n1@3", Snap: []byte(`{"keys":[1],"cells":[]}`)})
	require.Equal(t, Value{}, c.Store().Get(1))
	c.Step("n1", Message{Type: MessageType, Inc: 3, Origin: "n1@3", Entries: []Entry{{Seq: 1, Lamport: 1, WriteSet: w}}})
	require.Equal(t, IntValue(1), c.Store().Get(1))
	// A fresh core's first commit follows FreshClock.
	_, err = c.Txn(Txn{{F: Write, K: 2, Arg: 7}})
	require.NoError(t, err)
	require.Equal(t, int64(101), c.own[0].Lamport)

	out := c.Drain()
	require.NotEmpty(t, out.Writes)
	snap := out.Writes[len(out.Writes)-1]
	require.Equal(t, core.WriteSnapshot, snap.Kind, "the origin is on disk with the first Output")
	other := Defaults("n1", []string{"n0", "n1"}, 10)
	other.Incarnation = 6
	_, err = NewDurable(other, core.Recovered{Snapshot: &core.Snapshot{Index: snap.Index, Data: snap.Data}})
	require.Error(t, err, "n0's snapshot is not n1's")
	for _, bad := range []Config{{ID: "n0", Nodes: []string{"n0"}, FlushTicks: 1, RTOTicks: 1, StableTicks: 1, BatchMax: 1, WindowMax: 1, LogMax: 1, SnapshotEvery: 1},
		{ID: "n0", Nodes: []string{"n0"}, FlushTicks: 1, RTOTicks: 1, StableTicks: 1, BatchMax: 1, WindowMax: 1, LogMax: 1, Incarnation: 1}} {
		_, err := NewDurable(bad, core.Recovered{Fresh: true})
		require.Error(t, err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
