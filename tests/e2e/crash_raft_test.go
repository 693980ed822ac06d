package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/nemesis"
)

// TestCrashRaft runs the Raft nodes under partitions, kills and pauses,
// with a nemesis op every 700 ms on average: a killed node restarts from
// its disk (term, vote, log, snapshots), so every acknowledged write
// survives and the history stays linearizable with no key forgotten
// (lin-kv-raft, checked strict) or strict serializable
// (txn-rw-register); with --kill-wipes-disk a killed node
// restarts empty and rejoins before it votes. The workload checker must
// pass; the stats checker (an ok of every kind) is left out: a kill of
// every node can leave a short run without one. Some op completes ok
// after a node restarted.
func TestCrashRaft(t *testing.T) {
	cases := []struct {
		name, workload, bin string
		wipe                bool
	}{
		{name: "lin-kv", workload: "lin-kv", bin: "lin-kv-raft"},
		{name: "lin-kv wipes", workload: "lin-kv", bin: "lin-kv-raft", wipe: true},
		{name: "txn", workload: "txn-rw-register", bin: "txn-rw-register"},
		{name: "txn wipes", workload: "txn-rw-register", bin: "txn-rw-register", wipe: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, tc.workload, tc.bin)
			o.Concurrency = "2n"
			o.Rate = 50
			o.TimeLimit = 6 * time.Second
			o.Nemesis = []string{"partition", "kill", "pause"}
			o.NemesisInterval = 700 * time.Millisecond
			o.KillWipesDisk = tc.wipe
			// lin-kv: no key read as missing after an acknowledged write.
			o.Strict = tc.workload == "lin-kv"
			if tc.wipe {
				o.Args = []string{"-amnesia"} // told to expect wiped disks
			}
			o.Seed = 7
			if tc.workload != "lin-kv" {
				o.ConsistencyModels = []string{"strict-serializable"}
				o.TimeLimit = 4 * time.Second // Elle's analysis takes longer
			}
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			require.Equal(t, true, get(t, res, "workload", "valid?"), "workload (seed %d, %s): %v", res.Seed, res.Dir, get(t, res, "workload"))
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FKill), "killed"), "a node was killed")
			require.True(t, okAfterRestart(res.History), "some op completed ok after a node restarted (%s)", res.Dir)
		})
	}
}

// okAfterRestart says whether a client op completed ok after the first
// nemesis op that started a killed node.
func okAfterRestart(h history.History) bool {
	restarted := false
	for _, op := range h {
		switch {
		case !op.IsClient() && op.F == nemesis.FStartNode && op.Type == history.Info:
			if m, ok := op.Value.(*history.Map); ok {
				for _, k := range m.Keys() {
					if v, _ := m.Get(k); v == history.Keyword("started") {
						restarted = true
					}
				}
			}
		case restarted && op.IsClient() && op.Type == history.OK:
			return true
		}
	}
	return false
}
