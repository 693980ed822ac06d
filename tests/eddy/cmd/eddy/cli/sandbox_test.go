package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/internal/gobuild"
	"maelkit/tests/eddy/process"
)

var hostileBuild gobuild.Shared

// buildHostile compiles tests/fixtures/hostile once for the package's
// tests, into a directory that only root can enter: the sandbox must copy
// it where the nodes' uids can run it.
func buildHostile(t *testing.T) string {
	return filepath.Join(hostileBuild.Dir(t, "eddy-hostile-", "maelkit/tests/fixtures/hostile"), "hostile")
}

// requireRoot skips tests of the uid and cgroup sandbox where eddy is not
// root; README "Sandbox" says what eddy does then.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the full sandbox (a uid and a cgroup per node) needs root")
	}
}

// openTempDir is a t.TempDir that others may enter, as a user's store or
// grade output usually is, so that what stops a node is the sandbox and
// not the test's private temporary directory.
func openTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	return dir
}

// leftovers lists the processes whose command line holds marker.
func leftovers(t *testing.T, marker string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var found []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, marker) {
			found = append(found, e.Name()+": "+cmd)
		}
	}
	return found
}

// eddyNotes reads the :eddy map of a run's results.json.
type eddyNotesJSON struct {
	Valid any `json:"valid?"`
	Eddy  struct {
		Limits   []string `json:"limits"`
		Warnings []string `json:"warnings"`
	} `json:"eddy"`
}

func readNotes(t *testing.T, runDir string) eddyNotesJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, "results.json"))
	require.NoError(t, err)
	var n eddyNotesJSON
	require.NoError(t, json.Unmarshal(b, &n))
	return n
}

// nodeLogs is every node's stderr log of the run, concatenated.
func nodeLogs(t *testing.T, runDir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(runDir, "node-logs", "*.log"))
	require.NoError(t, err)
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		b.Write(data)
	}
	return b.String()
}

func anyContains(xs []string, sub string) bool {
	for _, x := range xs {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}

// TestSandboxHostileNodes runs each attack of the hostile fixture under
// eddy test and checks that it was stopped or bounded, that the bound is
// in the results, and that no process of the run is left.
func TestSandboxHostileNodes(t *testing.T) {
	requireRoot(t)
	bin := buildHostile(t)
	for _, tc := range []struct {
		mode  string
		flags []string
		code  int  // -1: any verdict (0, 1 or 2)
		store bool // the attack gets only the store as its path
		check func(t *testing.T, n eddyNotesJSON, logs string)
	}{
		{mode: "setsid-escape", code: eddy.ExitValid},
		{mode: "double-fork", code: eddy.ExitValid},
		{mode: "fork-bomb", flags: []string{"--max-procs", "32"}, code: eddy.ExitValid, check: func(t *testing.T, n eddyNotesJSON, _ string) {
			require.True(t, anyContains(n.Eddy.Limits, "the bound of 32 processes was reached"), "%v", n.Eddy.Limits)
		}},
		{mode: "read-other", code: eddy.ExitValid, check: func(t *testing.T, _ eddyNotesJSON, logs string) {
			require.Contains(t, logs, "denied read")
			require.Contains(t, logs, "denied write")
		}},
		{mode: "write-into", code: eddy.ExitValid, check: func(t *testing.T, _ eddyNotesJSON, logs string) {
			require.Contains(t, logs, "denied create")
		}},
		{mode: "read-into", code: eddy.ExitValid, store: true, check: func(t *testing.T, _ eddyNotesJSON, logs string) {
			require.Contains(t, logs, "denied walk")
		}},
		{mode: "mem-hog", flags: []string{"--memory-limit-mb", "200"}, code: eddy.ExitValid, check: func(t *testing.T, n eddyNotesJSON, logs string) {
			require.True(t, anyContains(n.Eddy.Limits, "the memory bound of 200 MiB (all its processes together) was reached"), "%v", n.Eddy.Limits)
			require.Contains(t, logs, "a hog ended: signal: killed")
		}},
		// 1 MiB, not more: a flood starved by a loaded host printed less
		// than 8 MiB in the 1 s run.
		{mode: "flood", flags: []string{"--max-output-mb", "1"}, code: -1, check: func(t *testing.T, n eddyNotesJSON, _ string) {
			require.True(t, anyContains(n.Eddy.Limits, "the run's total of 1 MiB of node output"), "%v", n.Eddy.Limits)
		}},
		{mode: "forge-src", code: eddy.ExitValid, check: func(t *testing.T, n eddyNotesJSON, _ string) {
			require.True(t, anyContains(n.Eddy.Warnings, `sent a message with src "n0", not its own id`), "%v", n.Eddy.Warnings)
		}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			dir := openTempDir(t)
			store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
			require.NoError(t, os.MkdirAll(out, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(out, "scorecard.md"), []byte("FAIL\n"), 0o644))
			marker := fmt.Sprintf("hostile-marker-%s-%d", tc.mode, os.Getpid())
			args := append([]string{"test", "-w", "echo", "--bin", bin, "--node-count", "2", "--time-limit", "1", "--rate", "20",
				"--store", store}, tc.flags...)
			args = append(args, "--", tc.mode, marker)
			if !tc.store {
				args = append(args, out)
			}
			args = append(args, store)
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), args, &stdout, &stderr)
			if tc.code >= 0 {
				require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			} else {
				require.Contains(t, []int{eddy.ExitValid, eddy.ExitInvalid, eddy.ExitUnknown}, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			require.Empty(t, leftovers(t, marker), "processes of the run outlived it")
			runDir := filepath.Join(store, "echo", "latest")
			logs := nodeLogs(t, runDir)
			require.NotContains(t, logs, "LEAK")
			n := readNotes(t, runDir)
			if tc.check != nil {
				tc.check(t, n, logs)
			}
			md, err := os.ReadFile(filepath.Join(out, "scorecard.md"))
			require.NoError(t, err)
			require.Equal(t, "FAIL\n", string(md))
			planted, _ := filepath.Glob(filepath.Join(out, "planted*"))
			require.Empty(t, planted)
		})
	}
}

// hostileSuite is a one-scenario echo suite; its checks fail so that the
// escaped child of the escape modes has a FAIL to turn into a PASS.
const hostileSuite = `{"workload": "echo", "scenarios": [
  {"name": "hostile", "flags": ["--node-count", "2", "--time-limit", "1", "--rate", "20"], "args": [%q, %q, %q], "seeds": [1],
   "checks": [{"figure": "valid?", "op": "==", "target": %s}]}]}`

// TestSandboxUnderGrade runs the escapes, the flood and a forged src under
// eddy grade: the scorecard must be exactly what eddy wrote, with the
// bound or the violation as the reason, and nothing of the run left.
func TestSandboxUnderGrade(t *testing.T) {
	requireRoot(t)
	bin := buildHostile(t)
	for _, tc := range []struct {
		mode   string
		target string
		extra  []string
		why    string
	}{
		{mode: "setsid-escape", target: "false"},
		{mode: "double-fork", target: "false"},
		{mode: "flood", target: "true", extra: []string{"--max-output-mb", "1"}, why: "MiB of node output"},
		{mode: "forge-src", target: "true", why: "violation: node n"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			dir := openTempDir(t)
			out := filepath.Join(dir, "out")
			marker := fmt.Sprintf("hostile-grade-%s-%d", tc.mode, os.Getpid())
			suite := filepath.Join(dir, "suite.json")
			require.NoError(t, os.WriteFile(suite, []byte(fmt.Sprintf(hostileSuite, tc.mode, marker, out, tc.target)), 0o644))
			args := []string{"--suite", suite, "--bin", bin, "--out", out}
			if len(tc.extra) > 0 {
				args = append(append(args, "--"), tc.extra...)
			}
			var stdout, stderr bytes.Buffer
			code := GradeMain(context.Background(), args, &stdout, &stderr)
			require.Equal(t, eddy.ExitInvalid, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			require.Empty(t, leftovers(t, marker), "processes of the run outlived it")

			j, err := os.ReadFile(filepath.Join(out, "scorecard.json"))
			require.NoError(t, err)
			var card struct {
				Pass      bool `json:"pass"`
				Scenarios []struct {
					Pass    bool   `json:"pass"`
					Why     string `json:"why"`
					Decider struct {
						Value string `json:"value"`
					} `json:"decider"`
				} `json:"scenarios"`
			}
			require.NoError(t, json.Unmarshal(j, &card), "%s", j)
			require.False(t, card.Pass)
			require.Len(t, card.Scenarios, 1)
			sc := card.Scenarios[0]
			require.False(t, sc.Pass)
			require.Contains(t, sc.Decider.Value+" "+sc.Why, tc.why)
			md, err := os.ReadFile(filepath.Join(out, "scorecard.md"))
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(md), "# Scorecard: echo\n"), "%s", md)
			require.Contains(t, string(md), "Verdict: **FAIL**")
			require.NotContains(t, string(md), "PWNED")
			require.NotContains(t, stdout.String(), "PWNED")
		})
	}
}

// TestBadBinIsUsage checks that a missing, non-executable or directory
// --bin exits 254 before any run folder is made, in test and in grade.
func TestBadBinIsUsage(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644))
	for _, bin := range []string{filepath.Join(dir, "missing"), plain, dir} {
		store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
		var stdout, stderr bytes.Buffer
		require.Equal(t, eddy.ExitUsage, Main(context.Background(), []string{"test", "-w", "echo", "--bin", bin, "--store", store}, &stdout, &stderr))
		require.Contains(t, stderr.String(), "--bin")
		require.Equal(t, eddy.ExitUsage, GradeMain(context.Background(), []string{"-w", "echo", "--bin", bin, "--out", out}, &stdout, &stderr))
		for _, p := range []string{store, out} {
			_, err := os.Stat(p)
			require.True(t, os.IsNotExist(err), "%s exists after a bad --bin %s", p, bin)
		}
	}
}

// TestCrashReasonInScorecard checks that a crashed run's scorecard carries
// the node's last lines whole and links the run's folder, which has no
// report.html.
func TestCrashReasonInScorecard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eddy")
	}
	bin := buildMaelfix(t)
	dir := t.TempDir()
	suite := filepath.Join(dir, "suite.json")
	require.NoError(t, os.WriteFile(suite, []byte(strings.Replace(echoSuite, `"%s"`, `"crash", "2"`, 1)), 0o644))
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	require.Equal(t, eddy.ExitInvalid, GradeMain(context.Background(), []string{"--suite", suite, "--bin", bin, "--out", out}, &stdout, &stderr),
		"stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	md, err := os.ReadFile(filepath.Join(out, "scorecard.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "Last lines of its output:\n")
	require.Contains(t, string(md), "echo_ok") // the node's output before it crashed
	require.NotContains(t, string(md), "report.html")
}

// TestSandboxInterruptedRun: a run interrupted while its nodes' escaped
// children live leaves no process and no cgroup behind.
func TestSandboxInterruptedRun(t *testing.T) {
	requireRoot(t)
	bin := buildHostile(t)
	store := filepath.Join(t.TempDir(), "store")
	marker := fmt.Sprintf("hostile-interrupted-%d", os.Getpid())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"test", "-w", "echo", "--bin", bin, "--node-count", "2", "--time-limit", "60", "--store", store,
			"--", "setsid-escape", marker}, &stdout, &stderr)
	}()
	// Two nodes and their two escaped children.
	deadline := time.Now().Add(30 * time.Second)
	for len(leftovers(t, marker)) < 4 {
		require.True(t, time.Now().Before(deadline), "the escaped children never appeared: %s", stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	require.NotEmpty(t, process.LeftoverCgroups(os.Getpid()))
	cancel()
	require.Equal(t, eddy.ExitCrash, <-done)
	require.Empty(t, leftovers(t, marker))
	require.Empty(t, process.LeftoverCgroups(os.Getpid()))
}
