// Package gobuild compiles the repository's fixture binaries for tests.
package gobuild

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the Go package pkg into a fresh temp dir of t and returns
// the binary's path; the test fails when the build does.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+"/", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return filepath.Join(dir, filepath.Base(pkg))
}
