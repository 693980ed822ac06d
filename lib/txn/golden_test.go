package txn

import (
	"testing"

	"maelkit/lib/sim"
)

// TestGoldenFaults pins every replication message and every client
// transaction's result of a seeded run under loss, duplication,
// partitions and pauses, then the heal and convergence: a change in any
// decision the core makes shows as a diff of testdata/*.trace.
func TestGoldenFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write Fn
	}{{"rw_faults", Write}, {"append_faults", Append}} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			sr := newJournaledRun(t, 11, 3, 0.1, 0.1, tc.write, func(l string) { lines = append(lines, l) })
			sr.workload(120, true)
			sr.converge()
			for _, id := range sr.nodes {
				snap, err := sr.core(id).Store().Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				sr.s.Note("%s store %s", id, snap)
			}
			sim.Golden(t, tc.name, lines)
		})
	}
}
