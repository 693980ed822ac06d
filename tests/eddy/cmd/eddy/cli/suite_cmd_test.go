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
	"maelkit/tests/eddy/grade"
)

// `eddy suite --flags` prints a scenario's flags word by word, which
// scripts/run.sh reads; every built-in scenario's flags parse as `eddy
// test` flags.
func TestSuiteFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, Main(context.Background(), []string{"suite", "-w", "broadcast", "--flags", "3c"}, &out, &errOut), errOut.String())
	require.Equal(t, "--node-count\n5\n--time-limit\n20\n--rate\n10\n--nemesis\npartition\n", out.String())

	for _, w := range grade.Workloads() {
		s, err := grade.Builtin(w)
		require.NoError(t, err)
		for _, sc := range s.Scenarios {
			out.Reset()
			require.Equal(t, 0, SuiteMain([]string{"-w", w, "--flags", sc.Name}, &out, &errOut), errOut.String())
			words := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			require.Equal(t, sc.Flags, words, "%s %s", w, sc.Name)
			_, _, err := parseTest(append([]string{"-w", w, "--bin", "b"}, words...))
			require.NoError(t, err, "%s %s", w, sc.Name)
		}
	}

	// A teacher's suite, its arguments, and the listing.
	file := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"workload":"echo","scenarios":[{"name":"a","title":"one node","flags":["--node-count","1"],"args":["x","-y"],
		"checks":[{"figure":"valid?","op":"==","target":true}]}]}`), 0o644))
	out.Reset()
	require.Equal(t, 0, SuiteMain([]string{"--suite", file, "--args", "a"}, &out, &errOut))
	require.Equal(t, "x\n-y\n", out.String())
	out.Reset()
	require.Equal(t, 0, SuiteMain([]string{"--suite", file}, &out, &errOut))
	require.Equal(t, "a (required) one node\n  eddy test -w echo --bin BIN --node-count 1 -- x -y\n", out.String())

	for _, args := range [][]string{
		{},
		{"-w", "echo", "--suite", file},
		{"-w", "nope"},
		{"-w", "echo", "--flags", "nope"},
		{"-w", "echo", "--flags", "1", "--args", "1"},
		{"-w"},
		{"--bogus", "1"},
	} {
		errOut.Reset()
		require.Equal(t, eddy.ExitUsage, SuiteMain(args, &out, &errOut), "%v", args)
		require.NotEmpty(t, errOut.String(), "%v", args)
	}
}
