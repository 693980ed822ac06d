package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPaxosRegister runs paxos-register on eddy: linearizable with
// partitions on three and five nodes (also with forwarding off and with
// thrifty sends), available, and cheap in messages when calm.
func TestPaxosRegister(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		nodes     int
		latencyMs int64
		dist      string
		nemesis   bool
		minOK     float64 // availability ok-fraction floor
		maxMsgs   float64 // net.servers.msgs-per-op ceiling (0: unchecked)
	}{
		{name: "3 nodes partitions", nodes: 3, nemesis: true, minOK: 0.3},
		{name: "5 nodes exponential latency partitions", nodes: 5, latencyMs: 10, dist: "exponential", nemesis: true, minOK: 0.3},
		{name: "3 nodes partitions no forwarding", args: []string{"-forward=false"}, nodes: 3, nemesis: true, minOK: 0.3},
		{name: "5 nodes partitions thrifty", args: []string{"-thrifty"}, nodes: 5, nemesis: true, minOK: 0.3},
		{name: "3 nodes calm", nodes: 3, minOK: 0.5, maxMsgs: 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "lin-kv", "paxos-register", tc.args...)
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
			ok := toFloat(t, get(t, res, "availability", "ok-fraction"))
			require.GreaterOrEqual(t, ok, tc.minOK, "ok-fraction (seed %d, %s)", res.Seed, res.Dir)
			require.Greater(t, get(t, res, "stats", "by-f", "write", "ok-count").(int64), int64(0))
			if tc.maxMsgs > 0 {
				msgs := toFloat(t, get(t, res, "net", "servers", "msgs-per-op"))
				require.LessOrEqual(t, msgs, tc.maxMsgs, "msgs-per-op (seed %d, %s)", res.Seed, res.Dir)
			}
		})
	}
}
