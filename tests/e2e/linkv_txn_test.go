package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/cmd/eddy/cli"
	"maelkit/tests/eddy/history"
)

// TestLinKVVerdicts runs maelfix's lin-kv proxy against each KV service:
// through lin-kv it is linearizable even with partitions (the service is
// never partitioned); through seq-kv or lww-kv it is not, and the failing
// key gets porcupine's visualization.
func TestLinKVVerdicts(t *testing.T) {
	cases := []struct {
		name    string
		service string
		nodes   int
		want    any
	}{
		{name: "lin-kv with partitions", service: "lin-kv", nodes: 3, want: true},
		{name: "seq-kv", service: "seq-kv", nodes: 5, want: false},
		{name: "lww-kv", service: "lww-kv", nodes: 3, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "lin-kv", "maelfix", "lin-kv-proxy", tc.service)
			o.NodeCount = tc.nodes
			o.Concurrency = "2n"
			o.Rate = 100
			o.TimeLimit = 4 * time.Second
			if tc.want == true {
				o.Nemesis = []string{"partition"}
				o.NemesisInterval = 700 * time.Millisecond
			}
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			require.Equal(t, tc.want, get(t, res, "workload", "valid?"), "workload verdict (seed %d, %s)", res.Seed, res.Dir)
			require.Equal(t, tc.want, res.Valid, "verdict (seed %d, %s)", res.Seed, res.Dir)
			results := get(t, res, "workload", "results").(*history.Map)
			require.NotZero(t, results.Len())
			if tc.want == true {
				require.Greater(t, get(t, res, "stats", "by-f", "cas", "ok-count").(int64), int64(0))
				return
			}
			failures := get(t, res, "workload", "failures").([]any)
			require.NotEmpty(t, failures)
			key := history.Key(failures[0])
			file := get(t, res, "workload", "results", key, "linearizable", "file").(string)
			require.Equal(t, "independent/"+key+"/linear.html", file)
			html, err := os.ReadFile(filepath.Join(res.Dir, file))
			require.NoError(t, err)
			require.Contains(t, string(html), "shortest non-linearizable stretch")
			st := get(t, res, "workload", "results", key, "linearizable", "stretch").(*history.Map)
			from, _ := st.Get("from-index")
			to, _ := st.Get("to-index")
			require.LessOrEqual(t, from.(int64), to.(int64))
		})
	}
}

// TestTxnVerdicts runs maelfix's transactional stores on one node.
func TestTxnVerdicts(t *testing.T) {
	cases := []struct {
		name     string
		workload string
		mode     string
		models   []string
		want     any
		anomaly  string // must be among the anomaly types
	}{
		{name: "serial list-append", workload: "txn-list-append", mode: "txn-serial", want: true},
		{name: "serial rw-register", workload: "txn-rw-register", mode: "txn-serial", want: true},
		{name: "no isolation list-append, serializable", workload: "txn-list-append", mode: "txn-noisolation",
			models: []string{"serializable"}, want: false},
		{name: "no isolation rw-register, serializable", workload: "txn-rw-register", mode: "txn-noisolation",
			models: []string{"serializable"}, want: false},
		{name: "abort after write list-append", workload: "txn-list-append", mode: "txn-abort-after-write",
			want: false, anomaly: "G1a"},
		{name: "abort after write rw-register, read-committed", workload: "txn-rw-register", mode: "txn-abort-after-write",
			models: []string{"read-committed"}, want: false, anomaly: "G1a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, tc.workload, "maelfix", tc.mode)
			o.NodeCount = 1
			o.Concurrency = "10n"
			o.Rate = 200
			o.TimeLimit = 3 * time.Second
			o.ConsistencyModels = tc.models
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			w := get(t, res, "workload").(*history.Map)
			require.Equal(t, tc.want, get(t, res, "workload", "valid?"), "workload (seed %d, %s): %v", res.Seed, res.Dir, w)
			require.Equal(t, tc.want, res.Valid, "verdict (seed %d, %s)", res.Seed, res.Dir)
			if tc.want == true {
				return
			}
			var types []string
			for _, a := range get(t, res, "workload", "anomaly-types").([]any) {
				types = append(types, string(a.(history.Keyword)))
			}
			if tc.anomaly != "" {
				require.Contains(t, types, tc.anomaly)
			}
			require.NotEmpty(t, get(t, res, "workload", "not"))
			// Every reported anomaly type has its explanations in elle/.
			for _, typ := range types {
				text, err := os.ReadFile(filepath.Join(res.Dir, "elle", typ+".txt"))
				require.NoError(t, err, typ)
				require.Contains(t, string(text), typ+" #0")
			}
		})
	}
}

// TestTxnAndLinKVOptions covers the option plumbing: lin-kv's concurrency
// rule, consistency model names in Maelstrom's "a , b" form and as "a,b",
// and the txn generator options reaching the workload.
func TestTxnAndLinKVOptions(t *testing.T) {
	t.Parallel()
	o := opts(t, "lin-kv", "maelfix", "lin-kv-proxy")
	o.Concurrency = "1n"
	_, err := eddy.Run(context.Background(), o)
	var usage *eddy.UsageError
	require.True(t, errors.As(err, &usage), "got %v", err)
	require.Contains(t, err.Error(), "multiple of 2 × the node count")

	o = opts(t, "txn-rw-register", "maelfix", "txn-serial")
	o.ConsistencyModels = []string{"snapshot-isolation-ish"}
	_, err = eddy.Run(context.Background(), o)
	require.True(t, errors.As(err, &usage), "got %v", err)

	for _, models := range []string{"serializable , read-committed", "serializable,read-committed"} {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), []string{"test", "-w", "txn-list-append", "--bin", bin("maelfix"),
			"--node-count", "1", "--time-limit", "1", "--rate", "50", "--concurrency", "4n",
			"--consistency-models", models, "--key-count", "3", "--max-txn-length", "2", "--max-writes-per-key", "4",
			"--store", t.TempDir(), "--seed", "3", "-q", "txn-serial"}, &out, &errOut)
		require.Equal(t, eddy.ExitValid, code, "%s: %s", models, errOut.String())
	}
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"test", "-w", "txn-list-append", "--bin", bin("maelfix"),
		"--consistency-models", "serializible", "txn-serial"}, &out, &errOut)
	require.Equal(t, eddy.ExitUsage, code)
	require.Contains(t, errOut.String(), `unknown consistency model "serializible"`)
}

// TestTxnGeneratorOptionsReachTheHistory checks --key-count,
// --max-txn-length and --max-writes-per-key in the recorded history.
func TestTxnGeneratorOptionsReachTheHistory(t *testing.T) {
	t.Parallel()
	o := opts(t, "txn-rw-register", "maelfix", "txn-serial")
	o.NodeCount = 1
	o.Rate = 100
	o.TimeLimit = 2 * time.Second
	o.KeyCount, o.MaxTxnLength, o.MaxWritesPerKey = 2, 2, 3
	res := run(t, o)
	require.Equal(t, true, res.Valid)
	keys := map[int64]bool{}
	for _, op := range res.History {
		if op.Type != history.Invoke {
			continue
		}
		txn := op.Value.([]any)
		require.LessOrEqual(t, len(txn), 2)
		for _, m := range txn {
			mop := m.([]any)
			keys[mop[1].(int64)] = true
			if v, ok := mop[2].(int64); ok {
				require.LessOrEqual(t, v, int64(3))
			}
		}
	}
	require.Greater(t, len(keys), 2, "keys retire after 3 writes")
}
