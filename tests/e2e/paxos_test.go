package e2e

import "testing"

// TestPaxosRegister runs paxos-register on eddy: linearizable with
// partitions on three and five nodes (also with forwarding off, with
// thrifty sends on five, and in the three-node one-way ring), serving
// throughout the run, and cheap in messages when calm.
func TestPaxosRegister(t *testing.T) {
	runLinKV(t, "paxos-register", []linKVCase{
		{name: "3 nodes partitions", nodes: 3, nemesis: true},
		{name: "5 nodes exponential latency partitions", nodes: 5, latencyMs: 10, dist: "exponential", nemesis: true},
		{name: "3 nodes partitions no forwarding", args: []string{"-forward=false"}, nodes: 3, nemesis: true},
		{name: "5 nodes partitions thrifty", args: []string{"-thrifty"}, nodes: 5, nemesis: true},
		// At most a full two-phase round to both peers per op (8
		// messages): the figure itself (about 4, more on a loaded host,
		// where rounds collide) is scripts/measure/lin-kv.sh's.
		{name: "3 nodes calm", nodes: 3, maxMsgs: 8},
		// Every link works one way only while partitioned: relaying
		// answers ops while the ring is in place (about 75 on this seed;
		// with -relay=false none is answered before the heal).
		{name: "3 nodes one-way ring", nodes: 3, nemesis: true, shapes: []string{"majorities-ring"}, servesPartitioned: true},
	})
}
