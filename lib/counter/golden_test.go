package counter

import (
	"strings"
	"testing"

	"maelkit/lib/crdt"
	"maelkit/lib/sim"
)

// TestGoldenRough pins every message of a short seeded run on the rough
// network (loss, duplication, reordering, partitions), for each counter:
// a change in any decision the core makes shows as a diff of
// testdata/<counter>_rough.trace.
func TestGoldenRough(t *testing.T) {
	for _, kind := range []string{"g", "pn"} {
		t.Run(kind, func(t *testing.T) {
			var lines []string
			sc := rough
			sc.durationMs, sc.nemesisMs = 2000, 500
			// The trace keeps the peer messages and the client adds; the
			// replies (add_ok at once, from local state) decide nothing.
			sc.journal = func(l string) {
				if !strings.Contains(l, " out ") {
					lines = append(lines, l)
				}
			}
			if kind == "g" {
				sc.addFrac, sc.delta = 1.0/3, gDelta
				runScenario(t, 3, sc, crdt.NewGCounter)
			} else {
				sc.addFrac, sc.delta = 0.5, pnDelta
				runScenario(t, 3, sc, crdt.NewPNCounter)
			}
			sim.Golden(t, kind+"_rough", lines)
		})
	}
}
