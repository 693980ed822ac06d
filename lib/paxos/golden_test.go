package paxos

import (
	"testing"

	"maelkit/lib/sim"
)

// TestGoldenFaults pins every message and client answer of short seeded
// runs: one with the fast path, forwarding, relays and one-way cuts under
// loss, duplication and crash-restarts, one with plain rounds. A change in
// any decision the core makes shows as a diff of testdata/*.trace.
func TestGoldenFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   scenario
	}{
		{"relay_forward_oneway", scenario{nodes: 3, clients: 3, keys: 2, durationMs: 1000, loss: 0.05, dup: 0.05,
			latMaxMs: 20, faults: true, oneWay: true, forward: true, relay: true, thrifty: true}},
		{"plain_faults", scenario{nodes: 5, clients: 3, keys: 1, durationMs: 1000, loss: 0.05, dup: 0.05,
			latMaxMs: 30, faults: true, fastOff: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			tc.sc.journal = func(l string) { lines = append(lines, l) }
			runScenario(t, 5, tc.sc)
			sim.Golden(t, tc.name, lines)
		})
	}
}
