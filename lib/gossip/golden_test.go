package gossip

import (
	"fmt"
	"testing"

	"maelkit/lib/sim"
)

// describeSim renders a simulated message for a golden trace: a client's
// add and its acknowledgement by value, a gossip message as its wire JSON.
func describeSim(x any) string {
	switch m := x.(type) {
	case Message:
		return sim.JSON(m)
	case Command:
		if m.Read {
			return "read"
		}
		return "add " + string(m.Value)
	case Result:
		if m.Read {
			return "read_ok " + string(m.Value)
		}
		return "add_ok " + string(m.Value)
	}
	return fmt.Sprintf("unknown %T", x)
}

// TestGoldenFaults pins every message of a seeded run with loss,
// duplication, reordering and partitions, then the heal and convergence:
// a change in any decision the core makes shows as a diff of
// testdata/faults.trace.
func TestGoldenFaults(t *testing.T) {
	var lines []string
	net := sim.Config{LatencyMinMs: 1, LatencyMaxMs: 120, Loss: 0.1, Duplicate: 0.1,
		Describe: describeSim, Journal: func(l string) { lines = append(lines, l) }}
	w := newWorld(t, 7, 5, net, nil)
	for range 2 {
		w.randomPartition()
		w.workload(600, 40, nil)
	}
	w.s.Heal()
	w.requireConverged(15000)
	for _, id := range w.nodes {
		w.s.Note("%s hub=%s set=%s", id, w.cores[id].Hub(), w.cores[id].Set().AppendJSON(nil))
	}
	sim.Golden(t, "faults", lines)
}
