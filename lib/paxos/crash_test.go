package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/sim"
	"maelkit/lib/testenv"
)

// TestCrashSimulation kills nodes at random points with their disks: a
// process death (what was written survives), a power loss (what was not
// synced is dropped or torn), a death within the next few disk operations
// (between a write and its fsync, or in a snapshot), and, with amnesia, a
// wiped disk. After every event the Paxos invariants hold (an acceptor's
// promise and acceptance never go back across a restart, one state per
// ballot, chosen states descend from each other), every history is
// linearizable (no acknowledged write lost), and after the final heal
// every client makes progress. A small CompactMin makes snapshots
// frequent, so crashes hit them too. 1,000 seeds per scenario with -long.
func TestCrashSimulation(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   scenario
	}{
		{"3 nodes disk faults", scenario{nodes: 3, clients: 6, keys: 3, durationMs: 3000, loss: 0.05, dup: 0.05, latMaxMs: 20,
			faults: true, diskFaults: true, forward: true, relay: true, thrifty: true}},
		{"5 nodes disk faults", scenario{nodes: 5, clients: 8, keys: 3, durationMs: 3000, loss: 0.05, dup: 0.05, latMaxMs: 30,
			faults: true, diskFaults: true, forward: true, relay: true}},
		{"3 nodes amnesia", scenario{nodes: 3, clients: 6, keys: 3, durationMs: 3000, loss: 0.05, dup: 0.05, latMaxMs: 20,
			faults: true, diskFaults: true, amnesia: true, forward: true, relay: true, thrifty: true}},
		{"5 nodes amnesia", scenario{nodes: 5, clients: 8, keys: 3, durationMs: 3000, loss: 0.05, dup: 0.05, latMaxMs: 30,
			faults: true, diskFaults: true, amnesia: true, forward: true, relay: true}},
		// A first start: every node blank, crashes from the start, so
		// that a node dies before its peers have all heard from it
		// (vouching, amnesia.go).
		{"3 nodes amnesia blank start", scenario{nodes: 3, clients: 6, keys: 3, durationMs: 3000, loss: 0.05, dup: 0.05, latMaxMs: 20,
			faults: true, diskFaults: true, amnesia: true, blankStart: true, forward: true, relay: true, thrifty: true}},
		{"5 nodes amnesia blank start", scenario{nodes: 5, clients: 8, keys: 3, durationMs: 3000, loss: 0.05, dup: 0.05, latMaxMs: 30,
			faults: true, diskFaults: true, amnesia: true, blankStart: true, forward: true, relay: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.sc.compactMin = 8
			var wiped, crashes, midWrite int
			for _, seed := range sim.Seeds(t, testenv.Pick(4, 1000)) {
				res := runScenario(t, seed, tc.sc)
				if t.Failed() {
					return
				}
				for i, d := range res.tailDone {
					require.Positive(t, d, "seed %d: client %d made no progress after the heal", seed, i)
				}
				require.Zero(t, res.stuck, "seed %d: nodes still recovering after the heal", seed)
				wiped += res.wiped
				crashes += res.crashes
				midWrite += res.midWrite
			}
			t.Logf("crashes %d, of which mid-write %d; disks wiped %d", crashes, midWrite, wiped)
			require.Positive(t, midWrite, "no death between a write and its fsync")
			if tc.sc.amnesia {
				require.Positive(t, wiped, "no disk was wiped")
			}
		})
	}
}
