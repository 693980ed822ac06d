package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/kafka"
	"maelkit/tests/eddy/nemesis"
)

// TestCrashKafka runs the kafka node (lib/kafkalog) on three nodes under
// partitions, kills and pauses, a nemesis op every 700 ms on average: a
// killed node restarts from its disk (Raft's term, vote, log and the
// state machine's snapshots), so every acknowledged send and commit
// survives; with --kill-wipes-disk a killed node restarts empty and
// rejoins as a learner of its peers' state before it votes (the Raft
// shell's amnesia guard). Jepsen's kafka checker must find nothing; the
// stats checker is left out (a kill of every node can leave a short run
// without an ok assign). Some op completes ok after a node restarted.
//
// That op is tried for certain only in the final phase: after the final
// heal, the restart of every node and the recovery wait, each thread
// reads every key, with a fresh client, up to the offsets the main phase
// saw; with no send acknowledged in the main phase it reads nothing. The
// test asserts that premise, and the disks-kept run lasts 10 s to make
// it hold: each thread's first op goes out within 0.2 s, as the first
// kill or partition lands, and may hold its thread for Maelstrom's 5 s
// client timeout; on a loaded host a nemesis op that runs past the next
// one's time changes the draws after it, and a 5 s run of seed 7 whose
// restart took 1.4 s paused a majority next and acknowledged nothing.
//
// The recovery wait is 5 s, not 1: the final phase reads a key only if
// the commit that ends its first poll succeeds (a failed one reopens the
// client, which then holds no key, in Maelstrom as here), so a leader
// must be in place by then, and after a pause of a majority the election
// takes a few seconds. The wiped run's seed kills one node, the same one
// each time (eddy's nemesis draws from a stream of its own, so the
// schedule is the seed's as long as no nemesis op runs past the next
// one's time): at most one node lacks its state at any time. Two at
// once, in three nodes, is beyond what the Raft shell's amnesia guard can
// do: a wiped node votes only once a leader caught it up, so two wiped
// nodes wait for each other (the README's crash recovery section), and a
// wipe of a majority at once loses what only they held, whatever the
// protocol. The test checks that premise; a longer run would kill
// another node.
func TestCrashKafka(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wipe      bool
		seed      int64
		timeLimit time.Duration
	}{{"disks kept", false, 7, 10 * time.Second}, {"disks wiped", true, 15, 5 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts(t, "kafka", "kafka")
			o.NodeCount = 3
			o.Concurrency = "2n"
			o.Rate = 100
			o.TimeLimit = tc.timeLimit
			o.Recovery = 5 * time.Second
			o.Nemesis = []string{"partition", "kill", "pause"}
			o.NemesisInterval = 700 * time.Millisecond
			o.KillWipesDisk = tc.wipe
			if tc.wipe {
				o.Args = []string{"-amnesia"} // told to expect wiped disks
			}
			o.Seed = tc.seed
			res := run(t, o)
			t.Logf("seed %d, valid? %v, folder %s", res.Seed, res.Valid, res.Dir)
			killed := nodeOpResults(res.History, nemesis.FKill)
			require.Positive(t, count(killed, "killed"), "a node was killed")
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FStartNode), "started"), "and restarted")
			require.Positive(t, acked(res.History, kafka.FSend), "the premise: the main phase acknowledged a send, so the final phase reads (%s)", res.Dir)
			if tc.wipe {
				require.Len(t, killedNodes(res.History), 1, "the premise: one node wiped, alone (%s)", res.Dir)
			}
			require.Equal(t, true, get(t, res, "workload", "valid?"), "workload (seed %d, %s): %v", res.Seed, res.Dir, get(t, res, "workload"))
			require.Empty(t, keywords(t, get(t, res, "workload", "bad-error-types")), "%s", res.Dir)
			require.True(t, okAfterRestart(res.History), "some op completed ok after a node restarted (%s)", res.Dir)
		})
	}
}

// killedNodes are the nodes the nemesis killed, and, for a kill of
// several at once, "several".
func killedNodes(h history.History) map[string]bool {
	out := map[string]bool{}
	for _, op := range h {
		if op.IsClient() || op.F != nemesis.FKill {
			continue
		}
		m, ok := op.Value.(*history.Map)
		if !ok {
			continue // the invocation: a node spec
		}
		n := 0
		for _, k := range m.Keys() {
			if v, _ := m.Get(k); v == history.Keyword("killed") {
				out[fmt.Sprint(k)] = true
				n++
			}
		}
		if n > 1 {
			out["several"] = true
		}
	}
	return out
}

// acked counts the client ops of function f that completed ok.
func acked(h history.History, f string) int {
	n := 0
	for _, op := range h {
		if op.IsClient() && op.F == f && op.Type == history.OK {
			n++
		}
	}
	return n
}
