package cli

import (
	"bytes"
	"context"
	"errors"
	"maelkit/tests/eddy"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTestFollowsMaelstromCLI(t *testing.T) {
	s, _, err := parseTest([]string{"-w", "broadcast", "--bin", "bin/b", "--node-count=25", "--time-limit", "20",
		"--rate", "100.5", "--latency", "100", "--latency-dist", "exponential", "--nemesis", "partition",
		"--nemesis-interval", "2.5", "--topology", "tree4", "--availability", "total", "--log-stderr", "--seed", "7",
		"--partition-shapes", "majorities-ring,one"})
	require.NoError(t, err)
	o := s.o
	require.Equal(t, []string{"majorities-ring", "one"}, o.PartitionShapes)
	require.Equal(t, "broadcast", o.Workload)
	require.Equal(t, "bin/b", o.Bin)
	require.Equal(t, 25, o.NodeCount)
	require.Equal(t, 20*time.Second, o.TimeLimit)
	require.Equal(t, 100.5, o.Rate)
	require.Equal(t, int64(100), o.LatencyMs)
	require.Equal(t, "exponential", o.LatencyDist)
	require.Equal(t, []string{"partition"}, o.Nemesis)
	require.Equal(t, 2500*time.Millisecond, o.NemesisInterval)
	require.Equal(t, "tree4", o.Topology)
	require.Equal(t, "total", o.Availability)
	require.True(t, o.LogStderr)
	require.Equal(t, int64(7), o.Seed)
	require.Empty(t, o.Args)
}

func TestParseTestDefaults(t *testing.T) {
	s, _, err := parseTest([]string{"--bin", "x"})
	require.NoError(t, err)
	require.Equal(t, eddy.Defaults().Workload, s.o.Workload)
	require.Equal(t, "lin-kv", s.o.Workload, "Maelstrom's default workload")
	require.Equal(t, 60*time.Second, s.o.TimeLimit)
	require.Equal(t, 5.0, s.o.Rate)
	require.Equal(t, "1n", s.o.Concurrency)
	require.Equal(t, 10*time.Second, s.o.NemesisInterval)
	require.Equal(t, 10*time.Second, s.o.Recovery)
	require.Equal(t, 1, s.testCount)
}

// TestPositionalArgumentsReachTheBinary pins Maelstrom's behaviour with
// Fly.io's 6c typo: "–-nemesis" (en-dash) is not an option, so it and the
// word after it go to the binary, and the run has no partitions.
func TestPositionalArgumentsReachTheBinary(t *testing.T) {
	s, _, err := parseTest([]string{"-w", "echo", "read-committed", "--bin", "b", "–-nemesis", "partition", "--rate", "3"})
	require.NoError(t, err)
	require.Equal(t, []string{"read-committed", "–-nemesis", "partition"}, s.o.Args)
	require.Empty(t, s.o.Nemesis)
	require.Equal(t, 3.0, s.o.Rate)

	s, _, err = parseTest([]string{"--bin", "b", "--", "--batch-ms", "5"})
	require.NoError(t, err)
	require.Equal(t, []string{"--batch-ms", "5"}, s.o.Args)
}

func TestParseTestErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bin"},
		{"--bogus", "1"},
		{"--node-count", "x"},
		{"--node-count", "0"},
		{"--time-limit", "1.5"},
		{"--rate", "fast"},
		{"--log-stderr=yes"},
		{"--test-count", "0"},
	} {
		_, _, err := parseTest(args)
		var u *eddy.UsageError
		require.True(t, errors.As(err, &u), "%v: want a usage error, got %v", args, err)
	}
}

func TestMainExitCodes(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, eddy.ExitUsage, Main(context.Background(), nil, &out, &errOut))
	require.Equal(t, 0, Main(context.Background(), []string{"help"}, &out, &errOut))
	require.Contains(t, out.String(), "--nemesis-interval")
	require.Equal(t, eddy.ExitUsage, Main(context.Background(), []string{"bogus"}, &out, &errOut))
	require.Equal(t, eddy.ExitUsage, Main(context.Background(), []string{"test", "--bin", "x", "-w", "nope"}, &out, &errOut))
	// Uniform latency with mean 0 hangs Maelstrom; eddy refuses it.
	errOut.Reset()
	code := Main(context.Background(), []string{"test", "-w", "echo", "--bin", "/bin/cat", "--latency-dist", "uniform",
		"--store", t.TempDir()}, &out, &errOut)
	require.Equal(t, eddy.ExitUsage, code, errOut.String())
}

// The node options merge as Jepsen's parse-nodes does after Maelstrom's
// --node-count: --nodes splits on a comma and the spaces after it,
// --node-count replaces --nodes, and -n and --nodes-file add to either.
func TestNodeOptionsMergeAsMaelstrom(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nodes")
	require.NoError(t, os.WriteFile(file, []byte("f1\n  f2 \n\n"), 0o600))
	for _, tc := range []struct {
		args  []string
		count int
		nodes []string
	}{
		{args: nil},
		{args: []string{"--nodes", "a,b, c,  d"}, nodes: []string{"a", "b", "c", "d"}},
		{args: []string{"--nodes", "a ,b,"}, nodes: []string{"a ", "b"}},
		{args: []string{"--nodes", "a,b", "--nodes", "x"}, nodes: []string{"x"}},
		{args: []string{"-n", "a", "--node", "b"}, nodes: []string{"a", "b"}},
		{args: []string{"-n", "z", "--nodes", "a,b"}, nodes: []string{"a", "b", "z"}},
		{args: []string{"--node-count", "3", "--nodes", "a,b"}, count: 3},
		{args: []string{"--nodes", "a,b", "--node-count", "2"}, count: 2},
		{args: []string{"--node-count", "2", "-n", "x"}, nodes: []string{"n0", "n1", "x"}},
		{args: []string{"--nodes-file", file}, nodes: []string{"f1", "f2"}},
		{args: []string{"--nodes-file", file, "--nodes", "a", "-n", "b"}, nodes: []string{"f1", "f2", "a", "b"}},
		{args: []string{"--nodes-file", file, "--node-count", "1"}, nodes: []string{"f1", "f2", "n0"}},
	} {
		s, _, err := parseTest(append([]string{"--bin", "b"}, tc.args...))
		require.NoError(t, err, "%v", tc.args)
		require.Equal(t, tc.count, s.o.NodeCount, "%v", tc.args)
		require.Equal(t, tc.nodes, s.o.Nodes, "%v", tc.args)
	}
	for _, args := range [][]string{
		{"--nodes", ","},
		{"--nodes-file", filepath.Join(t.TempDir(), "absent")},
	} {
		_, _, err := parseTest(append([]string{"--bin", "b"}, args...))
		var u *eddy.UsageError
		require.True(t, errors.As(err, &u), "%v: want a usage error, got %v", args, err)
	}
}

func TestNemesisSplitsAsMaelstrom(t *testing.T) {
	s, _, err := parseTest([]string{"--bin", "b", "--nemesis", "partition , partition,"})
	require.NoError(t, err)
	require.Equal(t, []string{"partition", "partition"}, s.o.Nemesis)
}

// `eddy test --help` (or -h, anywhere, even beside a bad option) prints the
// test's usage on stdout and exits 0, as Jepsen's CLI does.
func TestTestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"test", "--help"},
		{"test", "-h"},
		{"test", "-w", "echo", "--bogus", "-h"},
		{"test", "--bin", "x", "--node-count", "0", "--help"},
	} {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, Main(context.Background(), args, &out, &errOut), "%v", args)
		require.True(t, strings.HasPrefix(out.String(), "Usage: eddy test"), "%v: %s", args, out.String())
		require.Contains(t, out.String(), "--nodes-file")
		require.Empty(t, errOut.String(), "%v", args)
	}
	// After --, -h belongs to the binary.
	s, help, err := parseTest([]string{"--bin", "b", "--", "-h"})
	require.NoError(t, err)
	require.False(t, help)
	require.Equal(t, []string{"-h"}, s.o.Args)
}

// -q prints nothing at all for a run that completes; errors still reach
// stderr.
func TestQuietPrintsNothingButErrors(t *testing.T) {
	if _, err := os.Stat("/bin/true"); err != nil {
		t.Skip("needs /bin/true")
	}
	var out, errOut bytes.Buffer
	// A node that exits at once crashes the run: an error, which -q prints.
	code := Main(context.Background(), []string{"test", "-q", "-w", "echo", "--bin", "/bin/true", "--node-count", "1",
		"--time-limit", "1", "--store", t.TempDir()}, &out, &errOut)
	require.Equal(t, eddy.ExitCrash, code)
	require.Empty(t, out.String())
	require.Contains(t, errOut.String(), "eddy: the test crashed")
	if testing.Short() {
		return
	}
	bin := buildMaelfix(t)
	for _, mode := range []string{"echo", "echo-alter"} {
		out.Reset()
		errOut.Reset()
		code = Main(context.Background(), []string{"test", "-q", "-w", "echo", "--bin", bin, "--node-count", "1",
			"--time-limit", "1", "--rate", "20", "--log-net-send", "--log-stderr", "--store", t.TempDir(), mode}, &out, &errOut)
		require.Equal(t, map[string]int{"echo": eddy.ExitValid, "echo-alter": eddy.ExitInvalid}[mode], code, "%s: %s", mode, errOut.String())
		require.Empty(t, out.String(), mode)
		require.Empty(t, errOut.String(), mode)
	}
}

func TestParseFaults(t *testing.T) {
	s, _, err := parseTest([]string{"--nemesis", "partition,kill", "--kill-wipes-disk", "--loss-rate", "0.2",
		"--duplicate-rate=0.05", "--partition-shapes", "one-way"})
	require.NoError(t, err)
	require.Equal(t, []string{"partition", "kill"}, s.o.Nemesis)
	require.True(t, s.o.KillWipesDisk)
	require.Equal(t, [2]float64{0.2, 0.05}, [2]float64{s.o.LossRate, s.o.DuplicateRate})
	for _, bad := range [][]string{{"--loss-rate", "0"}, {"--loss-rate", "x"}, {"--duplicate-rate", "2"}} {
		_, _, err := parseTest(bad)
		require.Error(t, err, "%v", bad)
	}
}
