package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the stores of in-process nodes out of the source tree:
// each node gets a fresh directory under one removed at the end.
func TestMain(m *testing.M) {
	base, err := os.MkdirTemp("", "txn-rw-register-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = func() string {
		d, err := os.MkdirTemp(base, "node")
		if err != nil {
			panic(err)
		}
		return d
	}
	code := m.Run()
	_ = os.RemoveAll(base)
	os.Exit(code)
}
