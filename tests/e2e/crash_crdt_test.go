package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/flakeid"
	"maelkit/tests/eddy"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/nemesis"
)

// crashOpts is a short run of one of our binaries under partitions, kills
// and pauses, a nemesis op about every 1.5 s, with a recovery long enough
// for the gossip core's retransmission backoff (3 s at most). An op sent to
// a dead node holds its thread for Maelstrom's 5 s client timeout, so 50
// threads keep ops flowing around the kills.
func crashOpts(t *testing.T, workload, binary string, nodes int) eddy.Options {
	o := opts(t, workload, binary)
	o.NodeCount = nodes
	o.TimeLimit = 6 * time.Second
	o.Rate = 30
	o.Concurrency = "50"
	o.Nemesis = []string{"partition", "kill", "pause"}
	o.NemesisInterval = 1500 * time.Millisecond
	o.Recovery = 3 * time.Second
	return o
}

// TestCRDTsSurviveKills: the counters, g-set and broadcast keep what they
// acknowledged on disk (lib/counter, lib/gossip: NewDurable) and relearn
// the rest from their peers, so runs with kills stay valid, with the
// disks kept and, for the CRDTs, wiped (--kill-wipes-disk: nodes restarted
// from nothing count and add under a new entry or origin). unique-ids
// persists nothing and stays unique across restarts by its boot token:
// under kills alone, a node hands out ids of two processes.
func TestCRDTsSurviveKills(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, workload, binary string
		nodes                  int
		wipe                   bool
	}{
		{name: "g-counter", workload: "g-counter", binary: "g-counter", nodes: 3},
		{name: "pn-counter", workload: "pn-counter", binary: "pn-counter", nodes: 3},
		{name: "g-set", workload: "g-set", binary: "g-set", nodes: 3},
		{name: "broadcast", workload: "broadcast", binary: "broadcast", nodes: 5},
		{name: "unique-ids", workload: "unique-ids", binary: "unique-ids", nodes: 5},
		{name: "g-counter, wiped disks", workload: "g-counter", binary: "g-counter", nodes: 3, wipe: true},
		{name: "broadcast, wiped disks", workload: "broadcast", binary: "broadcast", nodes: 3, wipe: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := crashOpts(t, c.workload, c.binary, c.nodes)
			o.KillWipesDisk = c.wipe
			if c.workload == "unique-ids" {
				// Kills alone, one a second, over 8 s, on 5 nodes (on 3 a
				// minority-third kill targets no node): nodes serve ids
				// again after their restarts.
				o.Nemesis = []string{"kill"}
				o.NemesisInterval = time.Second
				o.TimeLimit = 8 * time.Second
				o.Recovery = time.Second
			}
			res := run(t, o)
			for _, k := range []string{"workload", "stats", "availability", "exceptions", "net"} {
				require.Equal(t, true, get(t, res, k, "valid?"), "seed %d: %s", res.Seed, k)
			}
			require.Equal(t, true, res.Valid, "seed %d", res.Seed)
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FKill), "killed"), "a node was killed")
			require.Positive(t, count(nodeOpResults(res.History, nemesis.FStartNode), "started"), "and restarted")
			if c.workload == "unique-ids" {
				require.Greater(t, bootsOfOneNode(t, res.History), 1, "ids from two processes of one node")
			}
		})
	}
}

// bootsOfOneNode is the most boot tokens any node put in the ids it
// generated: above 1, a node was restarted and went on with a new token.
func bootsOfOneNode(t *testing.T, h history.History) int {
	boots := map[string]map[uint64]bool{}
	for _, op := range h {
		if !op.IsClient() || op.Type != history.OK || op.F != "generate" {
			continue
		}
		v, ok := op.Value.(history.JSON)
		require.True(t, ok, "an id is JSON: %v", op.Value)
		var id string
		require.NoError(t, json.Unmarshal([]byte(v), &id))
		node, boot, _, err := flakeid.Parse(id)
		require.NoError(t, err)
		if boots[node] == nil {
			boots[node] = map[uint64]bool{}
		}
		boots[node][boot] = true
	}
	most := 0
	for _, b := range boots {
		most = max(most, len(b))
	}
	return most
}
