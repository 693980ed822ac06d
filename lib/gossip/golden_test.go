package gossip

import (
	"testing"

	"maelkit/lib/sim"
)

// describeSim renders a simulated message for a golden trace: a client's
// add and its acknowledgement by value, a gossip message as its wire JSON.
func describeSim(x any) string {
	m := x.(simMsg)
	switch {
	case m.Gossip != nil:
		return sim.JSON(*m.Gossip)
	case m.AddOK:
		return "add_ok " + string(m.Add)
	default:
		return "add " + string(m.Add)
	}
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
		w.s.Note("%s hub=%s set=%s", id, w.cores[id].c.Hub(), w.cores[id].c.Set().AppendJSON(nil))
	}
	sim.Golden(t, "faults", lines)
}
