package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/cmd/eddy/cli"
	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// TestAnalyzeAgreesWithTheRun runs fixtures of every value shape (opaque
// echo and unique-ids values, data values, lin-kv tuples, transactions,
// kafka's sends and polls), valid and invalid, then re-checks each stored
// run folder with `eddy analyze`: the verdict, the exit code and the whole
// results map must be the ones the run printed.
func TestAnalyzeAgreesWithTheRun(t *testing.T) {
	cases := []struct {
		name  string
		setup func(o *eddy.Options)
		want  any
		code  int
	}{
		{name: "echo valid", setup: wl("echo", "echo"), want: true, code: eddy.ExitValid},
		{name: "echo-alter invalid", setup: wl("echo", "echo-alter"), want: false, code: eddy.ExitInvalid},
		{name: "unique-ids-mixed unknown", setup: wl("unique-ids", "ids-mixed"), want: history.Keyword("unknown"), code: eddy.ExitUnknown},
		{name: "broadcast with partitions valid", setup: partitioned(wl("broadcast", "broadcast")), want: true, code: eddy.ExitValid},
		{name: "counter-local invalid", setup: wl("g-counter", "counter-local"), want: false, code: eddy.ExitInvalid},
		{name: "lin-kv through lww-kv invalid", setup: func(o *eddy.Options) {
			wl("lin-kv", "lin-kv-proxy", "lww-kv")(o)
			o.Concurrency = "2n"
			o.Rate = 100
		}, want: false, code: eddy.ExitInvalid},
		{name: "txn abort after write invalid", setup: func(o *eddy.Options) {
			wl("txn-rw-register", "txn-abort-after-write")(o)
			o.NodeCount = 1
			o.Concurrency = "4n"
			o.Rate = 100
			o.ConsistencyModels = []string{"read-committed"}
		}, want: false, code: eddy.ExitInvalid},
		{name: "txn no isolation rw-register invalid, with eddy-only findings", setup: func(o *eddy.Options) {
			wl("txn-rw-register", "txn-noisolation")(o)
			o.NodeCount = 1
			o.Concurrency = "10n"
			o.Rate = 200
		}, want: false, code: eddy.ExitInvalid},
		{name: "txn serial list-append valid", setup: func(o *eddy.Options) {
			wl("txn-list-append", "txn-serial")(o)
			o.NodeCount = 1
			o.Rate = 100
		}, want: true, code: eddy.ExitValid},
		{name: "kafka skip-polls invalid", setup: func(o *eddy.Options) {
			wl("kafka", "skip-polls")(o)
			o.Bin = bin("kafkafix")
			o.NodeCount = 1
			o.Concurrency = "4"
			o.Rate = 50
			o.Recovery = 0
		}, want: false, code: eddy.ExitInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "", "maelfix")
			o.TimeLimit = 2 * time.Second
			tc.setup(&o)
			res := run(t, o)
			require.Equal(t, tc.want, res.Valid, "the run's verdict (%s)", res.Dir)
			before, err := os.ReadFile(filepath.Join(res.Dir, "results.edn"))
			require.NoError(t, err)
			require.FileExists(t, filepath.Join(res.Dir, "timeline.html"))
			if o.Workload == "lin-kv" {
				keys, _ := filepath.Glob(filepath.Join(res.Dir, "independent", "*", "timeline.html"))
				require.NotEmpty(t, keys, "a timeline per lin-kv key")
			}
			require.NoError(t, os.Remove(filepath.Join(res.Dir, "report.html")))

			var out, errOut bytes.Buffer
			code := cli.Main(context.Background(), []string{"analyze", res.Dir}, &out, &errOut)
			require.Equal(t, tc.code, code, "stderr: %s", errOut.String())
			after, err := os.ReadFile(filepath.Join(res.Dir, "results.edn"))
			require.NoError(t, err)
			require.Equal(t, untimed(before), untimed(after), "analyze rewrote different results")
			want, err := edn.PrettyMarshal(res.Results)
			require.NoError(t, err)
			require.Contains(t, untimed(out.Bytes()), untimed(want))
			require.Contains(t, out.String(), eddy.FinalLine(tc.want))
			require.FileExists(t, filepath.Join(res.Dir, "report.html"))
			log, err := os.ReadFile(filepath.Join(res.Dir, "jepsen.log"))
			require.NoError(t, err)
			require.Contains(t, string(log), "eddy analyze: re-checking")
		})
	}
}

// timeMs matches how long a checker took, the one figure that differs
// between two checks of the same history.
var timeMs = regexp.MustCompile(`:time-ms \d+`)

func untimed(b []byte) string { return timeMs.ReplaceAllString(string(b), ":time-ms _") }

// TestAnalyzeStoreLatest: with --store, analyze takes the store's latest
// run; bad arguments and folders are usage errors.
func TestAnalyzeStoreLatest(t *testing.T) {
	o := opts(t, "echo", "maelfix", "echo-alter")
	o.TimeLimit = time.Second
	res := run(t, o)
	var out, errOut bytes.Buffer
	require.Equal(t, eddy.ExitInvalid, cli.Main(context.Background(), []string{"analyze", "--store", o.StoreRoot, "-q"}, &out, &errOut), errOut.String())
	require.Empty(t, out.String())
	require.Contains(t, errOut.String(), filepath.Base(res.Dir))

	for _, args := range [][]string{
		{"analyze", t.TempDir()},
		{"analyze", "--store"},
		{"analyze", "--bogus"},
		{"analyze", res.Dir, "--store", o.StoreRoot},
		{"analyze", res.Dir, res.Dir},
	} {
		errOut.Reset()
		require.Equal(t, eddy.ExitUsage, cli.Main(context.Background(), args, &out, &errOut), "%v", args)
		require.NotEmpty(t, errOut.String())
	}
}

// writeRun lays out a run folder by hand: test.json, history.jsonl (one
// op per line) and an empty journal.
func writeRun(t *testing.T, test map[string]any, ops []string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(test)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test.json"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(strings.Join(ops, "\n")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "net-journal.jsonl"), nil, 0o644))
	return dir
}

// TestZeroForUnwrittenKeysIsAWarning is Fly.io's challenge 6c answered by
// a node that reads 0 for keys nobody wrote, as a published solution
// does. Maelstrom (Elle) finds nothing wrong at read-committed; eddy's
// verdict is the same, with the reads reported as an eddy-only warning
// in the results and the report, and --strict makes the run invalid.
func TestZeroForUnwrittenKeysIsAWarning(t *testing.T) {
	test := map[string]any{"workload": "txn-rw-register", "nodes": []string{"n0", "n1"},
		"concurrency": 2, "time-limit-s": 5, "rate": 10, "consistency-models": []string{"read-committed"},
		"availability": "total", "seed": 1, "start": "2026-01-02T03:04:05Z"}
	ops := []string{
		`{"index":0,"time":1000000,"type":"invoke","process":0,"f":"txn","value":[["r",1,null],["w",2,1]]}`,
		`{"index":1,"time":2000000,"type":"ok","process":0,"f":"txn","value":[["r",1,0],["w",2,1]]}`,
		`{"index":2,"time":3000000,"type":"invoke","process":1,"f":"txn","value":[["r",2,null],["w",1,1]]}`,
		`{"index":3,"time":4000000,"type":"ok","process":1,"f":"txn","value":[["r",2,1],["w",1,1]]}`,
		`{"index":4,"time":5000000,"type":"invoke","process":0,"f":"txn","value":[["r",3,null],["r",1,null]]}`,
		`{"index":5,"time":6000000,"type":"ok","process":0,"f":"txn","value":[["r",3,0],["r",1,1]]}`,
		`{"index":6,"time":7000000,"type":"invoke","process":1,"f":"txn","value":[["w",3,1],["r",4,null]]}`,
		`{"index":7,"time":8000000,"type":"ok","process":1,"f":"txn","value":[["w",3,1],["r",4,0]]}`,
	}
	dir := writeRun(t, test, ops)
	var out, errOut bytes.Buffer
	require.Equal(t, eddy.ExitValid, cli.Main(context.Background(), []string{"analyze", dir}, &out, &errOut), "%s\n%s", out.String(), errOut.String())
	require.Contains(t, out.String(), ":eddy-only [{:anomaly :garbage-read")
	require.Contains(t, out.String(), "eddy-only findings (not counted in the verdict; --strict counts them):\n  workload: garbage-read (3 found)\n")
	require.Contains(t, out.String(), eddy.FinalLine(true))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), "Warnings (eddy only)")
	require.Contains(t, string(page), "<b>garbage-read</b>")
	var results map[string]any
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &results))
	wl := results["workload"].(map[string]any)
	require.Equal(t, true, wl["valid?"])
	require.Len(t, wl["eddy-only"], 1)

	out.Reset()
	require.Equal(t, eddy.ExitInvalid, cli.Main(context.Background(), []string{"analyze", "--strict", dir}, &out, &errOut), "%s", out.String())
	require.Contains(t, out.String(), eddy.FinalLine(false))

	// Stored with --strict, the run stays strict when analysed again.
	test["strict"] = true
	dir = writeRun(t, test, ops)
	require.Equal(t, eddy.ExitInvalid, cli.Main(context.Background(), []string{"analyze", "-q", dir}, &out, &errOut))
}
