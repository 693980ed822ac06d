// Package testenv is the one switch between the default test run and the
// long one. scripts/test.sh runs the default; scripts/test.sh -long sets
// MAELKIT_LONG=1, and the soaks and seed sweeps that the default run keeps
// short (or leaves out) run in full. Every long test keeps a short version
// in the default run when it guards something the rest does not.
package testenv

import (
	"os"
	"testing"
)

// Var is the environment variable that turns the long mode on: any value
// but empty or "0".
const Var = "MAELKIT_LONG"

// Long reports whether the long mode is on.
func Long() bool {
	v := os.Getenv(Var)
	return v != "" && v != "0"
}

// Pick returns long in the long mode and short otherwise.
func Pick[T any](short, long T) T {
	if Long() {
		return long
	}
	return short
}

// SkipUnlessLong skips a test that runs only in the long mode.
func SkipUnlessLong(t testing.TB) {
	t.Helper()
	if !Long() {
		t.Skipf("long mode only: set %s=1 (scripts/test.sh -long)", Var)
	}
}
