package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives every run of the node a store directory of its own, so
// that the tests write nothing into the source tree and concurrent nodes
// of one id never share a store.
func TestMain(m *testing.M) {
	base, err := os.MkdirTemp("", "maelkit-store-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	storeDir = func() string {
		d, err := os.MkdirTemp(base, "node-")
		if err != nil {
			panic(err)
		}
		return d
	}
	code := m.Run()
	_ = os.RemoveAll(base)
	os.Exit(code)
}
