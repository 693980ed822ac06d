package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// TestLinKVRaft runs lin-kv-raft on eddy: linearizable with partitions on
// three and five nodes, at --latency 0 and with exponential latency, and
// available (most operations succeed) without partitions.
func TestLinKVRaft(t *testing.T) {
	runLinKV(t, "lin-kv-raft", []linKVCase{
		{name: "3 nodes partitions", nodes: 3, nemesis: true, minOK: 0.2},
		// Without -amnesia a first boot votes at once, so a partition at
		// the start of these 4 s runs leaves a majority that can elect.
		{name: "5 nodes exponential latency partitions", nodes: 5, latencyMs: 10, dist: "exponential", nemesis: true, minOK: 0.2},
		{name: "3 nodes calm", nodes: 3, minOK: 0.5},
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
	minOK     float64  // availability ok-fraction floor
	maxMsgs   float64  // net.servers.msgs-per-op ceiling (0: unchecked)
}

// runLinKV runs each case in parallel (2n clients, rate 50, 4 s,
// partitions every second when asked) and checks the verdict, the
// ok-fraction floor, that some write succeeded and the message ceiling.
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
			ok := toFloat(t, get(t, res, "availability", "ok-fraction"))
			t.Logf("ok-fraction %.3f, servers msgs-per-op %.2f", ok, toFloat(t, get(t, res, "net", "servers", "msgs-per-op")))
			require.GreaterOrEqual(t, ok, tc.minOK, "ok-fraction (seed %d, %s)", res.Seed, res.Dir)
			require.Greater(t, get(t, res, "stats", "by-f", "write", "ok-count").(int64), int64(0))
			if tc.maxMsgs > 0 {
				msgs := toFloat(t, get(t, res, "net", "servers", "msgs-per-op"))
				require.LessOrEqual(t, msgs, tc.maxMsgs, "msgs-per-op (seed %d, %s)", res.Seed, res.Dir)
			}
		})
	}
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
