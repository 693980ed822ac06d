package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/counter"
	"maelkit/lib/crdt"
	"maelkit/tests/eddy"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// counterRun is one eddy run of a counter binary with what we assert.
type counterRun struct {
	name      string
	workload  string // g-counter or pn-counter (also the binary's name)
	nodes     int
	latencyMs int64
	// mpoMax bounds net.servers.msgs-per-op (0: not checked).
	mpoMax float64
}

// counterOpts are the run's options: partitions, total availability.
func counterOpts(t *testing.T, c counterRun) eddy.Options {
	o := opts(t, c.workload, c.workload)
	o.NodeCount = c.nodes
	o.LatencyMs = c.latencyMs
	o.Rate = 100
	o.Nemesis = []string{"partition"}
	o.Availability = "total"
	return o
}

// TestCounters runs both counter binaries on eddy with partitions and total
// availability, short: every run is valid, every op succeeded, every final
// read is the one acceptable value, and the replayed replicas agree on it.
// How long after the heal they came to agree is a timing figure, logged
// here and measured by TestCounterMeasure and scripts/measure/counters.sh
// (conv-ms).
func TestCounters(t *testing.T) {
	runs := []counterRun{
		// Under one message per op (level d's bound): gossip follows time
		// while a starved client issues fewer ops, so on a loaded host the
		// figure rises (0.304 once); its 0.3 target is measured by
		// TestCounterMeasure and scripts/measure/counters.sh.
		{name: "g-counter, 3 nodes", workload: "g-counter", nodes: 3, mpoMax: 1},
		{name: "pn-counter, 3 nodes", workload: "pn-counter", nodes: 3, mpoMax: 1},
		{name: "g-counter, 5 nodes, latency 100", workload: "g-counter", nodes: 5, latencyMs: 100},
		{name: "pn-counter, 25 nodes, latency 100", workload: "pn-counter", nodes: 25, latencyMs: 100},
	}
	for _, c := range runs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := counterOpts(t, c)
			o.TimeLimit = 6 * time.Second
			o.NemesisInterval = time.Second
			o.Recovery = 4 * time.Second
			res := run(t, o)
			m := checkCounterRun(t, c, res)
			t.Logf("seed %d: msgs-per-op %.3f, agreed %v after the heal", res.Seed, m.mpo, m.agreed)
		})
	}
}

// counterFigures are one run's measurements.
type counterFigures struct {
	mpo    float64
	agreed time.Duration // from the final heal until all replicas agreed
}

// checkCounterRun asserts what every counter run must satisfy and returns
// its figures.
func checkCounterRun(t *testing.T, c counterRun, res *eddy.Result) counterFigures {
	t.Helper()
	require.Equal(t, true, res.Valid, "verdict (seed %d, results in %s)", res.Seed, res.Dir)
	require.Equal(t, history.Float(1), get(t, res, "availability", "ok-fraction"), "seed %d", res.Seed)
	acceptable, ok := get(t, res, "workload", "acceptable").(history.List)
	require.True(t, ok && len(acceptable) == 1, "no :info adds, so one acceptable value (seed %d): %v", res.Seed, acceptable)
	bounds, ok := acceptable[0].([]any)
	require.True(t, ok && len(bounds) == 2 && bounds[0] == bounds[1], "one acceptable value: %v", acceptable)
	want, ok := bounds[0].(int64)
	require.True(t, ok, "acceptable %v", acceptable)
	finals, ok := get(t, res, "workload", "final-reads").(history.List)
	require.True(t, ok, "final reads")
	require.Len(t, finals, c.nodes, "seed %d", res.Seed)
	for _, f := range finals {
		require.Equal(t, want, f, "seed %d: final reads %v", res.Seed, finals)
	}
	f, ok := get(t, res, "net", "servers", "msgs-per-op").(history.Float)
	require.True(t, ok, "msgs-per-op")
	mpo := float64(f)
	if c.mpoMax > 0 {
		require.LessOrEqual(t, mpo, c.mpoMax, "seed %d", res.Seed)
	}
	var agreed time.Duration
	var value int64
	if c.workload == "g-counter" {
		agreed, value = agreement(t, res, crdt.NewGCounter)
	} else {
		agreed, value = agreement(t, res, crdt.NewPNCounter)
	}
	require.Equal(t, want, value, "the replayed replicas agree on the final reads (seed %d)", res.Seed)
	return counterFigures{mpo: mpo, agreed: agreed}
}

// agreement replays the run's message journal into one counter per node
// (each add a client delivered goes into that node's own entry, each sync
// delivered is merged, exactly as the nodes do) and returns how long after
// the final heal the replicas last came to agree (0 if they already agreed
// then), and the value they agreed on.
func agreement[C crdt.Counter[C]](t *testing.T, res *eddy.Result, empty func() C) (time.Duration, int64) {
	t.Helper()
	var healNs int64
	for _, op := range res.History {
		if op.F == "stop-partition" {
			healNs = max(healNs, op.Time)
		}
	}
	// A node counts under its own entry: its id, or id@incarnation for a
	// durable node started from an empty disk (lib/counter); the key is
	// the one of its own it sends.
	own := map[string]string{}
	for i := range res.Journal {
		e := &res.Journal[i]
		if e.Kind != journal.Recv || journal.IsClient(e.Src) || own[e.Src] != "" {
			continue
		}
		var m struct {
			Type    string           `json:"type"`
			Entries *json.RawMessage `json:"entries"`
		}
		if json.Unmarshal(e.Body, &m) != nil || m.Type != counter.SyncType || m.Entries == nil {
			continue
		}
		var s counter.Sync[C]
		require.NoError(t, json.Unmarshal(e.Body, &s))
		for _, id := range s.Entries.IDs() {
			if id == e.Src || strings.HasPrefix(id, e.Src+"@") {
				own[e.Src] = id
			}
		}
	}
	replicas := map[string]C{}
	agreedNs := int64(-1) // when the current run of agreement began; -1: they disagree
	for i := range res.Journal {
		e := &res.Journal[i]
		if e.Kind != journal.Recv || journal.IsClient(e.Dest) {
			continue
		}
		r, ok := replicas[e.Dest]
		if !ok {
			r = empty()
			replicas[e.Dest] = r
		}
		var head struct {
			Type  string `json:"type"`
			Delta int64  `json:"delta"`
		}
		require.NoError(t, json.Unmarshal(e.Body, &head))
		switch {
		case journal.IsClient(e.Src) && head.Type == "add":
			entry := own[e.Dest]
			if entry == "" {
				entry = e.Dest
			}
			require.NoError(t, r.Add(entry, head.Delta))
		case !journal.IsClient(e.Src) && head.Type == counter.SyncType:
			var m counter.Sync[C]
			require.NoError(t, json.Unmarshal(e.Body, &m))
			r.Merge(m.Entries)
		default:
			continue
		}
		if allEqual(replicas) {
			if agreedNs < 0 {
				agreedNs = e.Time
			}
		} else {
			agreedNs = -1
		}
	}
	require.GreaterOrEqual(t, agreedNs, int64(0), "replicas never agreed (seed %d)", res.Seed)
	var value int64
	for _, r := range replicas {
		value = r.Value()
	}
	return time.Duration(max(0, agreedNs-healNs)), value
}

func allEqual[C crdt.Counter[C]](replicas map[string]C) bool {
	first, v := true, int64(0)
	for _, r := range replicas {
		if first {
			first, v = false, r.Value()
		} else if r.Value() != v {
			return false
		}
	}
	return true
}

// TestCounterMeasure runs the full-length commands the README reports:
// Fly.io's challenge 4 and the 5- and 25-node runs at 100 ms latency, with
// total availability, for seeds 1..MAELKIT_COUNTER_SEEDS (skipped when
// unset; each run takes about 31 s), and logs msgs-per-op and the time from
// the final heal to agreement, per seed and as min/median/max.
func TestCounterMeasure(t *testing.T) {
	seeds, err := strconv.Atoi(os.Getenv("MAELKIT_COUNTER_SEEDS"))
	if err != nil || seeds < 1 {
		t.Skip("a measurement: set MAELKIT_COUNTER_SEEDS to the number of seeds to run")
	}
	runs := []counterRun{
		{name: "challenge 4 (g-counter, 3 nodes)", workload: "g-counter", nodes: 3, mpoMax: 0.3},
		{name: "pn-counter, 3 nodes", workload: "pn-counter", nodes: 3, mpoMax: 0.3},
		{name: "g-counter, 5 nodes, latency 100", workload: "g-counter", nodes: 5, latencyMs: 100},
		{name: "pn-counter, 5 nodes, latency 100", workload: "pn-counter", nodes: 5, latencyMs: 100},
		{name: "g-counter, 25 nodes, latency 100", workload: "g-counter", nodes: 25, latencyMs: 100},
		{name: "pn-counter, 25 nodes, latency 100", workload: "pn-counter", nodes: 25, latencyMs: 100},
	}
	if only := os.Getenv("MAELKIT_COUNTER_ONLY"); only != "" {
		runs = slices.DeleteFunc(runs, func(c counterRun) bool { return c.name != only })
	}
	for _, c := range runs {
		t.Run(c.name, func(t *testing.T) {
			var mpos []float64
			var agreed []time.Duration
			for seed := 1; seed <= seeds; seed++ {
				o := counterOpts(t, c)
				o.TimeLimit = 20 * time.Second
				o.Recovery = 10 * time.Second
				o.Seed = int64(seed)
				m := checkCounterRun(t, c, run(t, o))
				t.Logf("seed %d: msgs-per-op %.4f, agreed %v after the heal", seed, m.mpo, m.agreed)
				mpos = append(mpos, m.mpo)
				agreed = append(agreed, m.agreed)
			}
			slices.Sort(mpos)
			slices.Sort(agreed)
			t.Logf("%s, %d seeds, all valid: msgs-per-op min %.4f median %.4f max %.4f; agreed after heal min %v median %v max %v",
				c.name, seeds, mpos[0], mpos[len(mpos)/2], mpos[len(mpos)-1],
				agreed[0], agreed[len(agreed)/2], agreed[len(agreed)-1])
		})
	}
}
