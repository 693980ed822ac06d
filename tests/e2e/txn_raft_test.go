package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTxnRaft runs txn-rw-register's default mode (a Raft log of
// transactions) on both transactional workloads, three and five nodes,
// with partitions: strict serializable every time, and the majority side
// keeps committing (an op completed ok before the first heal and after
// it; the ok-fraction, a timing figure, is logged).
func TestTxnRaft(t *testing.T) {
	cases := []struct {
		workload string
		nodes    int
	}{
		{workload: "txn-rw-register", nodes: 3},
		{workload: "txn-rw-register", nodes: 5},
		{workload: "txn-list-append", nodes: 3},
		{workload: "txn-list-append", nodes: 5},
	}
	for _, tc := range cases {
		t.Run(tc.workload+"/"+string(rune('0'+tc.nodes)), func(t *testing.T) {
			t.Parallel()
			o := opts(t, tc.workload, "txn-rw-register")
			o.NodeCount = tc.nodes
			o.Concurrency = "2n"
			o.Rate = 100
			o.TimeLimit = 5 * time.Second
			o.Nemesis = []string{"partition"}
			o.NemesisInterval = time.Second
			o.ConsistencyModels = []string{"strict-serializable"}
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			require.Equal(t, true, get(t, res, "workload", "valid?"), "workload (seed %d, %s): %v", res.Seed, res.Dir, get(t, res, "workload"))
			require.Equal(t, true, res.Valid, "verdict (seed %d, %s)", res.Seed, res.Dir)
			before, after, split := okAround(res.History, o.TimeLimit)
			t.Logf("ok-fraction %.3f, ok ops before / after %.2f s: %d / %d", toFloat(t, get(t, res, "availability", "ok-fraction")), split, before, after)
			require.Positive(t, before, "an op completed ok before %.2f s (%s)", split, res.Dir)
			require.Positive(t, after, "an op completed ok after %.2f s (%s)", split, res.Dir)
		})
	}
}
