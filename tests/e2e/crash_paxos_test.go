package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/nemesis"
)

// TestPaxosRegisterCrashRecovery runs paxos-register on eddy under
// partitions, kills and pauses, with the disk kept across a kill and with
// it wiped (amnesia): every history is linearizable with no key forgotten
// (checked strict), nodes were killed and restarted, and writes still
// succeed. A kill of every node at once makes a run's Jepsen :stats (an ok
// per function) a matter of schedule, so the verdict checked is the
// linearizability checker's.
func TestPaxosRegisterCrashRecovery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes int
		wipe  bool
	}{
		{"3 nodes", 3, false},
		{"5 nodes", 5, false},
		{"3 nodes kill wipes disk", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "lin-kv", "paxos-register")
			o.NodeCount = tc.nodes
			o.Concurrency = "4n"
			o.Rate = 50
			o.TimeLimit = 6 * time.Second
			o.Recovery = 2 * time.Second
			o.Nemesis = []string{"partition", "kill", "pause"}
			o.NemesisInterval = time.Second
			o.KillWipesDisk = tc.wipe
			o.Strict = true // no key read as missing after an acknowledged write
			if tc.wipe {
				o.Args = []string{"-amnesia"} // told to expect wiped disks
			}
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			require.Equal(t, true, get(t, res, "workload", "valid?"), "linearizable, nothing forgotten (seed %d, %s)", res.Seed, res.Dir)
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FKill), "killed"), "nodes were killed")
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FStartNode), "started"), "and restarted")
			require.Positive(t, get(t, res, "stats", "by-f", "write", "ok-count").(int64), "writes succeed")
		})
	}
}
