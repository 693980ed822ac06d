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
	cases := []struct {
		name      string
		nodes     int
		latencyMs int64
		dist      string
		nemesis   bool
		minOK     float64 // availability ok-fraction floor
	}{
		{name: "3 nodes partitions", nodes: 3, nemesis: true, minOK: 0.2},
		{name: "5 nodes exponential latency partitions", nodes: 5, latencyMs: 10, dist: "exponential", nemesis: true, minOK: 0.2},
		{name: "3 nodes calm", nodes: 3, minOK: 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "lin-kv", "lin-kv-raft")
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
			}
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			require.Equal(t, true, res.Valid, "verdict (seed %d, %s)", res.Seed, res.Dir)
			okFraction := get(t, res, "availability", "ok-fraction")
			require.GreaterOrEqual(t, toFloat(t, okFraction), tc.minOK, "ok-fraction (seed %d, %s)", res.Seed, res.Dir)
			require.Greater(t, get(t, res, "stats", "by-f", "write", "ok-count").(int64), int64(0))
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
