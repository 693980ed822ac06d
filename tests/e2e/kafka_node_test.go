package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKafkaNode runs the kafka node (lib/kafkalog) on eddy's kafka
// workload: one node, two nodes (Fly.io's 5a and 5b shapes, short), and
// three nodes under partitions. Every run must be valid and serve before
// and after the first heal, or in each half of an unfaulted run (the
// ok-fraction, a timing figure, is logged; scripts/measure/kafka.sh
// measures it).
func TestKafkaNode(t *testing.T) {
	cases := []struct {
		nodes     int
		partition bool
	}{{1, false}, {2, false}, {3, true}}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("nodes=%d/partition=%v", tc.nodes, tc.partition), func(t *testing.T) {
			t.Parallel()
			o := opts(t, "kafka", "kafka")
			o.NodeCount = tc.nodes
			o.Concurrency = fmt.Sprint(2 * tc.nodes)
			o.Rate = 100
			o.TimeLimit = 3 * time.Second
			if tc.partition {
				o.Nemesis = []string{"partition"}
				o.NemesisInterval = time.Second
			}
			res := run(t, o)
			require.Equal(t, true, res.Valid, "%s", res.Dir)
			require.Empty(t, keywords(t, get(t, res, "workload", "bad-error-types")), "%s", res.Dir)
			before, after, split := okAround(res.History, o.TimeLimit)
			t.Logf("ok-fraction %.4f, ok ops before / after %.2f s: %d / %d", toFloat(t, get(t, res, "availability", "ok-fraction")), split, before, after)
			require.Positive(t, before, "an op completed ok before %.2f s (%s)", split, res.Dir)
			require.Positive(t, after, "an op completed ok after %.2f s (%s)", split, res.Dir)
			for _, f := range []string{"send", "poll"} {
				require.Positive(t, get(t, res, "stats", "by-f", f, "ok-count").(int64), "%s ok (%s)", f, res.Dir)
			}
		})
	}
}
