package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/nemesis"
)

// TestTxnReadCommittedSurvivesKills: txn-rw-register's read-committed
// mode keeps every commit it installs on disk before acknowledging it
// (lib/txn NewDurable), so a run under partitions, kills and pauses stays
// read committed and valid, with the disks kept and wiped (a node
// restarted from nothing commits under a new origin and gets the old
// commits back from its peers).
func TestTxnReadCommittedSurvivesKills(t *testing.T) {
	t.Parallel()
	for _, wipe := range []bool{false, true} {
		name := "disks kept"
		if wipe {
			name = "wiped disks"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := crashOpts(t, "txn-rw-register", "txn-rw-register", 3)
			o.Args = []string{"read-committed"}
			o.TimeLimit = 10 * time.Second
			o.ConsistencyModels = []string{"read-committed"}
			o.KillWipesDisk = wipe
			res := run(t, o)
			for _, k := range []string{"workload", "stats", "availability", "exceptions", "net"} {
				require.Equal(t, true, get(t, res, k, "valid?"), "seed %d: %s (%s)", res.Seed, k, res.Dir)
			}
			require.Equal(t, true, res.Valid, "seed %d (%s)", res.Seed, res.Dir)
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FKill), "killed"), "a node was killed")
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FStartNode), "started"), "and restarted")
		})
	}
}
