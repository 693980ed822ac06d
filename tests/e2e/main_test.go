// Package e2e runs real node binaries on eddy and asserts on the verdicts:
// our own nodes must pass, and the deliberately broken fixtures must get the
// verdict Maelstrom would give them.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maelkit/tests/eddy"
)

// binDir holds the binaries built once for the whole package.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "maelkit-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go env GOMOD:", err)
		return 1
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./nodes/...", "./tests/fixtures/...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building binaries: %v\n%s", err, out)
		return 1
	}
	binDir = dir
	return m.Run()
}

func bin(name string) string { return filepath.Join(binDir, name) }

// opts are short-run defaults: three nodes, 3 s, rate 20, a 1 s recovery.
func opts(t *testing.T, workload, binary string, args ...string) eddy.Options {
	o := eddy.Defaults()
	o.Workload = workload
	o.Bin = bin(binary)
	o.Args = args
	o.NodeCount = 3
	o.TimeLimit = 3 * time.Second
	o.Rate = 20
	o.Recovery = time.Second
	o.StoreRoot = t.TempDir()
	o.Seed = 42
	return o
}

// run runs eddy and fails the test on anything but a finished analysis.
func run(t *testing.T, o eddy.Options) *eddy.Result {
	t.Helper()
	res, err := eddy.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("eddy run (seed %d): %v", o.Seed, err)
	}
	return res
}

// crash runs eddy and returns the crash it must end with.
func crash(t *testing.T, o eddy.Options) *eddy.CrashError {
	t.Helper()
	res, err := eddy.Run(context.Background(), o)
	var ce *eddy.CrashError
	if !errors.As(err, &ce) {
		t.Fatalf("want a crashed run, got result %v, error %v", res, err)
	}
	return ce
}

// get walks a results map by keys.
func get(t *testing.T, res *eddy.Result, path ...string) any {
	t.Helper()
	var v any = res.Results
	for _, k := range path {
		m, ok := v.(interface{ Get(string) (any, bool) })
		if !ok {
			t.Fatalf("results: %v is not a map at %q", v, k)
		}
		if v, ok = m.Get(k); !ok {
			t.Fatalf("results: no key %q in path %v", k, path)
		}
	}
	return v
}
