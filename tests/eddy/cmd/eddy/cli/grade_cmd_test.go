package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/internal/gobuild"
)

// buildMaelfix compiles the fixture node into a temp dir.
func buildMaelfix(t *testing.T) string {
	return gobuild.Build(t, "maelkit/tests/fixtures/maelfix")
}

const echoSuite = `{"workload": "echo", "scenarios": [
  {"name": "quick", "title": "echo, one node", "flags": ["--node-count", "1", "--time-limit", "2", "--rate", "20"], "args": ["%s"], "seeds": [1],
   "checks": [{"figure": "valid?", "op": "==", "target": true}, {"figure": "net/all/msgs-per-op", "op": "<", "target": 3}]}]}`

func TestGradeMainPassAndFail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eddy")
	}
	bin := buildMaelfix(t)
	for _, tc := range []struct {
		mode string
		code int
		want []string
	}{
		{mode: "echo", code: eddy.ExitValid, want: []string{"PASS: every required scenario passed"}},
		{mode: "echo-alter", code: eddy.ExitInvalid, want: []string{"FAIL echo quick (required): valid? = false, target == true"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			suite := filepath.Join(dir, "suite.json")
			require.NoError(t, os.WriteFile(suite, []byte(strings.Replace(echoSuite, "%s", tc.mode, 1)), 0o644))
			out := filepath.Join(dir, "out")
			var stdout, stderr bytes.Buffer
			code := GradeMain(context.Background(), []string{"--suite", suite, "--bin", bin, "--out", out}, &stdout, &stderr)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, w := range tc.want {
				require.Contains(t, stdout.String(), w)
			}
			for _, f := range []string{"scorecard.json", "scorecard.md"} {
				_, err := os.Stat(filepath.Join(out, f))
				require.NoError(t, err)
			}
			page, err := os.ReadFile(filepath.Join(out, "store", "echo", "latest", "report.html"))
			require.NoError(t, err)
			if tc.code == eddy.ExitInvalid {
				require.Contains(t, string(page), "workload: valid? false")
			}
			var idx bytes.Buffer
			require.Equal(t, 0, ServeMain(context.Background(), []string{"--store", filepath.Join(out, "store"), "--index-only"}, &idx, &stderr))
			index, err := os.ReadFile(filepath.Join(out, "store", "index.html"))
			require.NoError(t, err)
			require.Contains(t, string(index), "report.html")
		})
	}
}

func TestGradeMainUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"workload":"echo","scenarios":[{"name":"a","flags":["--rate","x"],"checks":[{"figure":"valid?","op":"==","target":true}]}]}`), 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: nil, want: "-w and --bin are required"},
		{args: []string{"-w", "echo"}, want: "-w and --bin are required"},
		{args: []string{"-w", "no-such-workload", "--bin", "x"}, want: "no built-in suite"},
		{args: []string{"-w", "echo", "--bin", "x", "--seeds", "0"}, want: "--seeds"},
		{args: []string{"-w", "echo", "--bin", "x", "--frob", "1"}, want: "unknown option"},
		{args: []string{"-w", "lin-kv", "--bin", "x", "--suite", bad}, want: "not lin-kv"},
		{args: []string{"--bin", "x", "--suite", bad}, want: "--rate takes a number"},
		{args: []string{"--bin", "x", "--suite", filepath.Join(dir, "missing.json")}, want: "no such file"},
	} {
		var out, errOut bytes.Buffer
		require.Equal(t, eddy.ExitUsage, GradeMain(context.Background(), tc.args, &out, &errOut), "%v", tc.args)
		require.Contains(t, errOut.String(), tc.want, "%v", tc.args)
	}
}

func TestServeMainUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: []string{"--store", filepath.Join(dir, "nope")}, want: "not a directory"},
		{args: []string{"--store", dir, "--addr", "0.0.0.0:8080"}, want: "not a loopback address"},
		{args: []string{"--bogus"}, want: "unknown option"},
	} {
		var out, errOut bytes.Buffer
		require.Equal(t, eddy.ExitUsage, ServeMain(context.Background(), tc.args, &out, &errOut), "%v", tc.args)
		require.Contains(t, errOut.String(), tc.want)
	}
}

func TestServeMainServesUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() { done <- ServeMain(ctx, []string{"--store", dir, "--addr", "127.0.0.1:0"}, &out, &errOut) }()
	cancel()
	require.Equal(t, 0, <-done, errOut.String())
	_, err := os.Stat(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
}
