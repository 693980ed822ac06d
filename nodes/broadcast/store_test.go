package main

import (
	"testing"

	"maelkit/lib/node/nodetest"
)

// TestMain gives every in-process node a store directory of its own.
func TestMain(m *testing.M) { nodetest.MainWithStores(m, &storeDir) }
