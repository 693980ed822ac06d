// Package gobuild compiles the repository's fixture binaries for tests.
package gobuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// Shared builds packages once per test binary, into one temp dir (mode
// 0700, so only its owner enters it) that outlives the tests using it.
type Shared struct {
	once sync.Once
	dir  string
	err  error
}

// Dir builds pkgs on its first call and returns the directory holding
// their binaries; the test fails when the build did.
func (s *Shared) Dir(t testing.TB, prefix string, pkgs ...string) string {
	t.Helper()
	s.once.Do(func() {
		dir, err := os.MkdirTemp("", prefix)
		if err != nil {
			s.err = err
			return
		}
		out, err := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...).CombinedOutput()
		if err != nil {
			s.err = fmt.Errorf("go build %v: %v\n%s", pkgs, err, out)
			return
		}
		s.dir = dir
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.dir
}
