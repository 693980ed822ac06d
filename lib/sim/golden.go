package sim

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/")

// Golden compares a scenario's trace with testdata/<name>.trace in the
// calling package; go test's -update flag rewrites the file, so that a
// change in any decision a core makes shows as a reviewable diff.
func Golden(tb testing.TB, name string, lines []string) {
	tb.Helper()
	path := filepath.Join("testdata", name+".trace")
	got := strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) == got {
		return
	}
	w, g := strings.Split(string(want), "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	at := func(ls []string) string {
		if i < len(ls) {
			return ls[i]
		}
		return "(end of trace)"
	}
	tb.Fatalf("trace differs from %s at line %d (run with -update if intended):\nwant: %s\ngot:  %s", path, i+1, at(w), at(g))
}

// SeedsEnv is the one knob for every seeded simulation: a number k runs k
// times each test's usual number of seeds (a soak); @s replays seed s
// alone, with the test's most detailed logging where it has one.
const SeedsEnv = "MAELKIT_SEEDS"

// Seeds returns the seeds a simulation test runs: 1..n, 1..k·n, or the one
// seed SeedsEnv names.
func Seeds(tb testing.TB, n int) []uint64 {
	tb.Helper()
	v := os.Getenv(SeedsEnv)
	if rest, ok := strings.CutPrefix(v, "@"); ok {
		s, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			tb.Fatalf("%s=%q: want a number k or @seed", SeedsEnv, v)
		}
		return []uint64{s}
	}
	k := uint64(1)
	if v != "" {
		var err error
		if k, err = strconv.ParseUint(v, 10, 64); err != nil || k == 0 {
			tb.Fatalf("%s=%q: want a number k or @seed", SeedsEnv, v)
		}
	}
	out := make([]uint64, uint64(n)*k)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// Replaying says whether SeedsEnv names one seed to replay.
func Replaying() bool { return strings.HasPrefix(os.Getenv(SeedsEnv), "@") }

// Soaking says whether SeedsEnv asks for more seeds than usual, for
// measurements that only run then.
func Soaking() bool { v := os.Getenv(SeedsEnv); return v != "" && !Replaying() }

// JSON renders a message as its wire JSON, the form golden traces use:
// exact, and independent of the Go types a core uses internally.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("!json(%v)", err)
	}
	return string(b)
}
