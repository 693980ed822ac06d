package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/nemesis"
)

// TestLinKVRaft runs lin-kv-raft on eddy: linearizable with partitions on
// three and five nodes, at --latency 0 and with exponential latency, and
// serving throughout the run, with and without partitions.
func TestLinKVRaft(t *testing.T) {
	runLinKV(t, "lin-kv-raft", []linKVCase{
		{name: "3 nodes partitions", nodes: 3, nemesis: true},
		// Without -amnesia a first boot votes at once, so a partition at
		// the start of these 4 s runs leaves a majority that can elect.
		{name: "5 nodes exponential latency partitions", nodes: 5, latencyMs: 10, dist: "exponential", nemesis: true},
		{name: "3 nodes calm", nodes: 3},
	})
}

// linKVCase is one lin-kv run of a node binary on eddy and what it must
// show besides validity.
type linKVCase struct {
	name      string
	args      []string // arguments for the binary
	nodes     int
	latencyMs int64
	dist      string
	nemesis   bool
	shapes    []string // partition shapes to draw from (empty: all)
	// servesPartitioned: some op invoked while a partition was in place
	// completed ok before it healed.
	servesPartitioned bool
	maxMsgs           float64 // net.servers.msgs-per-op ceiling (0: unchecked)
}

// runLinKV runs each case in parallel (2n clients, rate 50, 4 s,
// partitions every second when asked) and checks the verdict, that the
// nodes kept serving (an op completed ok before and after the first heal,
// or in each half of a calm run; a read and a write completed ok) and the
// message ceiling. The ok-fraction is a
// timing figure, logged here: it falls with the host's load (0.21 once on
// five nodes while CI's other packages ran, 0.66 alone), and
// scripts/measure/lin-kv.sh measures it.
func runLinKV(t *testing.T, bin string, cases []linKVCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "lin-kv", bin, tc.args...)
			o.NodeCount = tc.nodes
			o.Concurrency = "2n"
			o.Rate = 50
			o.TimeLimit = 4 * time.Second
			o.LatencyMs = tc.latencyMs
			if tc.dist != "" {
				o.LatencyDist = tc.dist
			}
			if tc.nemesis {
				o.Nemesis = []string{"partition"}
				o.NemesisInterval = time.Second
				o.PartitionShapes = tc.shapes
			}
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			require.Equal(t, true, res.Valid, "verdict (seed %d, %s)", res.Seed, res.Dir)
			before, after, split := okAround(res.History, o.TimeLimit)
			partitioned := okWhilePartitioned(res.History)
			t.Logf("ok-fraction %.3f, servers msgs-per-op %.2f, ok ops before / after %.2f s: %d / %d, answered within a partition %d",
				toFloat(t, get(t, res, "availability", "ok-fraction")), toFloat(t, get(t, res, "net", "servers", "msgs-per-op")), split, before, after, partitioned)
			require.Positive(t, before, "an op completed ok before %.2f s (%s)", split, res.Dir)
			require.Positive(t, after, "an op completed ok after %.2f s (%s)", split, res.Dir)
			require.Positive(t, get(t, res, "stats", "by-f", "write", "ok-count").(int64), "a write completed ok")
			require.Positive(t, get(t, res, "stats", "by-f", "read", "ok-count").(int64), "a read completed ok")
			if tc.servesPartitioned {
				require.Positive(t, partitioned, "an op invoked while partitioned completed ok before the heal (%s)", res.Dir)
			}
			if tc.maxMsgs > 0 {
				msgs := toFloat(t, get(t, res, "net", "servers", "msgs-per-op"))
				require.LessOrEqual(t, msgs, tc.maxMsgs, "msgs-per-op (seed %d, %s)", res.Seed, res.Dir)
			}
		})
	}
}

// okAround counts the client ops that completed ok before and after a
// split: the first heal of a partition if the history has one (so both
// sides positive means the majority side served while partitioned and
// the cluster served again once healed), else the middle of a main phase
// of the given length, which starts at the first client op. It returns
// the split, in seconds since the test started.
func okAround(h history.History, limit time.Duration) (before, after int, split float64) {
	at := int64(-1)
	for _, op := range h {
		if !op.IsClient() && op.F == nemesis.FStop && op.Value == history.Keyword("network-healed") {
			at = op.Time
			break
		}
	}
	if at < 0 {
		for _, op := range h {
			if op.IsClient() {
				at = op.Time + int64(limit/2)
				break
			}
		}
	}
	for _, op := range h {
		if !op.IsClient() || op.Type != history.OK {
			continue
		}
		if op.Time < at {
			before++
		} else {
			after++
		}
	}
	return before, after, float64(at) / 1e9
}

// okWhilePartitioned counts the client ops invoked while a partition was
// in place that completed ok before the network healed (a partition still
// in place when the history ends counts to its end).
func okWhilePartitioned(h history.History) int {
	// heal[i]: the index of the first heal at or after op i, or len(h).
	heal := make([]int, len(h)+1)
	heal[len(h)] = len(h)
	for i := len(h) - 1; i >= 0; i-- {
		heal[i] = heal[i+1]
		if op := h[i]; !op.IsClient() && op.F == nemesis.FStop && op.Value == history.Keyword("network-healed") {
			heal[i] = i
		}
	}
	n := 0
	partitioned := false
	pairs := h.Pair()
	for i, op := range h {
		if !op.IsClient() {
			switch {
			case op.F == nemesis.FStart && op.Type == history.Info:
				if _, grudge := op.Value.([]any); grudge {
					partitioned = true
				}
			case op.F == nemesis.FStop:
				partitioned = false
			}
			continue
		}
		if !partitioned || op.Type != history.Invoke {
			continue
		}
		if done := pairs[op.Index]; done >= 0 && h[done].Type == history.OK && int(done) < heal[i] {
			n++
		}
	}
	return n
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case history.Float:
		return float64(x)
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}
