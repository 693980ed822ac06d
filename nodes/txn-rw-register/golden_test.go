package main

import (
	"testing"

	"maelkit/lib/sim"
	"maelkit/lib/txn"
)

// TestGoldenStrict pins every Raft message and every client outcome of a
// seeded strict-serializable run (raftnode.Core over the RSM and
// txn.Machine) under partitions, crashes and restarts, then the heal: a
// change in any decision Raft or the adapter core makes shows as a diff of
// testdata/strict.trace.
func TestGoldenStrict(t *testing.T) {
	var lines []string
	sr := newJournaledRun(t, 2, 3, txn.Write, func(l string) { lines = append(lines, l) })
	sr.workload(150)
	sr.settle()
	sim.Golden(t, "strict", lines)
}
