package nodetest

import (
	"fmt"
	"os"
	"testing"
)

// MainWithStores runs a node package's tests (call it from TestMain) with
// *dir set to a function that gives every in-process node a fresh store
// directory under one temporary base, removed at the end: the tests write
// nothing into the source tree, and two nodes of one id never share a store.
func MainWithStores(m *testing.M, dir *func() string) {
	base, err := os.MkdirTemp("", "maelkit-store-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*dir = func() string {
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
