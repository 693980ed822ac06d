package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/history"
)

// kafkaOpts is a short kafka run on one kafkafix node.
func kafkaOpts(t *testing.T, args ...string) eddy.Options {
	o := opts(t, "kafka", "kafkafix", args...)
	o.NodeCount = 1
	o.Concurrency = "4"
	o.Rate = 50
	o.TimeLimit = 3 * time.Second
	o.Recovery = 0
	return o
}

// keywords turns a results list of keywords into strings.
func keywords(t *testing.T, v any) []string {
	t.Helper()
	xs, ok := v.(history.List)
	require.True(t, ok, "%v is not a list", v)
	out := make([]string, len(xs))
	for i, x := range xs {
		k, ok := x.(history.Keyword)
		require.True(t, ok, "%v is not a keyword", x)
		out[i] = string(k)
	}
	return out
}

// TestKafkaFixtures runs every kafkafix variant on eddy's kafka workload:
// the correct node passes, each broken one fails with its anomaly, and
// kafka-anomalies.txt explains it.
func TestKafkaFixtures(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string // anomalies that must be among :bad-error-types
	}{
		{name: "correct", args: []string{"correct"}},
		{name: "reuse-offsets", args: []string{"reuse-offsets"}, want: []string{"inconsistent-offsets"}},
		{name: "skip-polls", args: []string{"skip-polls"}, want: []string{"int-poll-skip", "lost-write"}},
		{name: "poll-disorder", args: []string{"poll-disorder"}, want: []string{"int-nonmonotonic-poll"}},
		{name: "lose-sends", args: []string{"lose-sends", "2"}, want: []string{"lost-write"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := kafkaOpts(t, tc.args...)
			res := run(t, o)
			bad := keywords(t, get(t, res, "workload", "bad-error-types"))
			explained := filepath.Join(res.Dir, "kafka-anomalies.txt")
			if tc.want == nil {
				require.Empty(t, bad, "%s", res.Dir)
				require.Equal(t, true, res.Valid, "%s", res.Dir)
				require.NoFileExists(t, explained)
			} else {
				anomalies, err := os.ReadFile(explained)
				require.NoError(t, err)
				require.Subset(t, bad, tc.want, "%s", res.Dir)
				require.Equal(t, false, get(t, res, "workload", "valid?"))
				require.Equal(t, false, res.Valid)
				for _, a := range tc.want {
					require.Contains(t, string(anomalies), a)
				}
			}

			// Crashes stay in :stats :by-f, never :ok, without failing it.
			require.Equal(t, false, get(t, res, "stats", "by-f", "crash", "valid?"))
			require.Equal(t, true, get(t, res, "stats", "valid?"))

			// Every thread ran the final phase: a crash, then the assign
			// from offset 0 of every key.
			finals := 0
			for _, op := range res.History {
				if op.Type == history.OK && op.F == "assign" && op.Final {
					finals++
				}
			}
			require.Equal(t, 4, finals)
		})
	}
}
