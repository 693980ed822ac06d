package gossip

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/sim"
	"maelkit/lib/testenv"
)

// crashWorld is a cluster of durable gossip cores in the simulator, with
// nodes killed (process death, power loss, inside their writes, wiped
// disks) at random points.
type crashWorld struct {
	t     *testing.T
	seed  uint64
	s     *gossipSim
	nodes []string
	cores map[string]*Core
	boots int64
	next  int64
	acked map[string]bool // values acknowledged to a client
	tried map[string]bool // values sent to a node at all
}

func newCrashWorld(t *testing.T, seed uint64, n int) *crashWorld {
	w := &crashWorld{t: t, seed: seed, cores: map[string]*Core{}, acked: map[string]bool{}, tried: map[string]bool{}}
	for i := range n {
		w.nodes = append(w.nodes, fmt.Sprintf("n%d", i))
	}
	cfg := Defaults("", w.nodes, tickMs)
	w.s = sim.NewDurable(sim.Config{Seed: seed, Nodes: w.nodes, TickMs: tickMs, LatencyMinMs: 1, LatencyMaxMs: 50,
		Loss: 0.05, Duplicate: 0.05, Clone: checkedClone(cfg.BatchMax)},
		func(id string, rec core.Recovered) core.Core[Message, Command, Result] {
			w.boots++
			cfg := Defaults(id, w.nodes, tickMs)
			cfg.Incarnation = w.boots
			c, err := NewDurable(cfg, rec)
			require.NoError(t, err, "seed %d", seed)
			w.cores[id] = c
			return c
		})
	return w
}

func (w *crashWorld) add(id string) {
	v := strconv.FormatInt(w.next, 10)
	w.next++
	if !w.s.Down(id) {
		w.tried[v] = true
	}
	w.s.Command(id, core.Command[Command]{Client: "c1", MsgID: w.next, Body: Command{Value: json.RawMessage(v)}})
	for _, r := range w.s.Replies() {
		if !r.Body.Read && r.Body.Err == nil {
			w.acked[string(r.Body.Value)] = true
		}
	}
}

// check, after every event: a value acknowledged on a node that is up is
// in its set, and no node holds a value never added.
func (w *crashWorld) check(event string) {
	w.t.Helper()
	for _, id := range w.nodes {
		if w.s.Down(id) {
			continue
		}
		for _, raw := range w.cores[id].Set().Values() {
			if !w.tried[string(raw)] {
				w.t.Fatalf("seed %d after %s: %s holds %s, never added", w.seed, event, id, raw)
			}
		}
	}
}

// runGossipCrash adds values at random nodes while partitions come and go
// and nodes die and come back; at the end every node is up, the network
// healed, and every node must hold every acknowledged value and the same
// set. With wipes, a node's disk is wiped only once its own values have
// reached a peer (an acknowledged value on a wiped node alone is lost, and
// no protocol brings it back): what is tested is that a Fresh node's new
// values are not hidden behind its earlier process's dots.
func runGossipCrash(t *testing.T, seed uint64, n int, wipes bool) sim.Faults {
	w := newCrashWorld(t, seed, n)
	s := w.s
	ch := sim.Chaos{UntilMs: 8000, GapMaxMs: 40, Check: w.check,
		Op: func(_ int64, id string) { w.add(id) }}
	if wipes {
		ch.Replicated = w.ownReplicated
	}
	require.NoError(t, s.RunChaos(ch), "seed %d", seed)
	require.NoError(t, s.RecoverAll(), "seed %d", seed)
	done := func() bool {
		ref := w.cores[w.nodes[0]].Set()
		for _, id := range w.nodes {
			if !w.cores[id].Set().Equal(ref) {
				return false
			}
		}
		for v := range w.acked {
			if !ref.Contains(json.RawMessage(v)) {
				return false
			}
		}
		return true
	}
	if !s.RunUntil(done, 120000) {
		var missing []string
		for v := range w.acked {
			for _, id := range w.nodes {
				if !w.cores[id].Set().Contains(json.RawMessage(v)) {
					missing = append(missing, id+":"+v)
				}
			}
		}
		tr := s.Trace()
		t.Fatalf("seed %d: no convergence on every acknowledged value; missing %v\n%v", seed, missing, tr[max(0, len(tr)-30):])
	}
	return s.Faults()
}

// ownReplicated: some other node that is up holds every value node id holds.
func (w *crashWorld) ownReplicated(id string) bool {
	mine := w.cores[id].Set()
	for _, other := range w.nodes {
		if other == id || w.s.Down(other) {
			continue
		}
		all := true
		for _, v := range mine.Values() {
			if !w.cores[other].Set().Contains(v) {
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

func gossipCrashSeeds(t *testing.T) []uint64 { return sim.Seeds(t, testenv.Pick(10, 1000)) }

// TestCrashGossip runs three and five nodes, each over its own seeds.
func TestCrashGossip(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			var st sim.Faults
			for _, seed := range sim.Seeds(t, testenv.Pick(5, 1000)) {
				st.Add(runGossipCrash(t, seed, n, false))
			}
			sim.LogFaults(t, fmt.Sprintf("gossip, %d nodes", n), st)
		})
	}
}

func TestCrashGossipWipedDisk(t *testing.T) {
	var st sim.Faults
	for _, seed := range gossipCrashSeeds(t) {
		st.Add(runGossipCrash(t, seed, 3, true))
	}
	sim.LogFaults(t, "gossip, 3 nodes, wiped disks", st)
	require.Positive(t, st.Wipes, "some disks were wiped")
}
