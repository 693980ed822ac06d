package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
	"maelkit/tests/eddy/nemesis"
)

// faultOpts is a short run of a maelfix mode under the given faults, with
// a nemesis op every half second on average. An op sent to a dead node
// holds its thread for Maelstrom's 5 s client timeout, so 50 threads keep
// ops flowing around the kills.
func faultOpts(t *testing.T, workload string, nodes int, faults []string, mode string) eddy.Options {
	o := opts(t, workload, "maelfix", mode)
	o.NodeCount = nodes
	o.Concurrency = "50"
	o.TimeLimit = 4 * time.Second
	o.Rate = 30
	o.Nemesis = faults
	o.NemesisInterval = 500 * time.Millisecond
	return o
}

// nodeOpResults returns, for the completions of nemesis ops f, every
// node's result, in history order.
func nodeOpResults(h history.History, f string) []history.Keyword {
	var out []history.Keyword
	for _, op := range h {
		if op.IsClient() || op.F != f {
			continue
		}
		m, ok := op.Value.(*history.Map)
		if !ok {
			continue // the invocation: a node spec
		}
		for _, k := range m.Keys() {
			v, _ := m.Get(k)
			out = append(out, v.(history.Keyword))
		}
	}
	return out
}

func count(ks []history.Keyword, k history.Keyword) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// requireHealedAtEnd: the run's last nemesis ops are the final phase's:
// the network healed, every node resumed and restarted, in Jepsen's order.
func requireHealedAtEnd(t *testing.T, h history.History, faults nemesis.Faults) {
	t.Helper()
	var ops []history.Op
	for _, op := range h {
		if !op.IsClient() {
			ops = append(ops, op)
		}
	}
	require.Zero(t, len(ops)%2, "nemesis ops come in invocation/completion pairs")
	var fs []string
	for i := 0; i < len(ops); i += 2 {
		require.Equal(t, ops[i].F, ops[i+1].F)
		fs = append(fs, ops[i].F)
	}
	var want []string
	for _, s := range nemesis.Final(faults) {
		want = append(want, s.F)
	}
	require.GreaterOrEqual(t, len(fs), len(want))
	require.Equal(t, want, fs[len(fs)-len(want):])
}

// TestCounterInMemoryUnderPauseAndKill: a g-counter kept only in memory
// on one node stays valid while paused (it loses nothing) and is invalid
// once killed (the acknowledged increments die with it).
func TestCounterInMemoryUnderPauseAndKill(t *testing.T) {
	t.Parallel()
	t.Run("pause", func(t *testing.T) {
		t.Parallel()
		res := run(t, faultOpts(t, "g-counter", 1, []string{"pause"}, "g-counter"))
		require.Equal(t, true, res.Valid, "seed %d", res.Seed)
		require.Positive(t, count(nodeOpResults(res.History, nemesis.FPause), "paused"), "the node was paused")
		requireHealedAtEnd(t, res.History, nemesis.Faults{Pause: true})
	})
	t.Run("kill", func(t *testing.T) {
		t.Parallel()
		res := run(t, faultOpts(t, "g-counter", 1, []string{"kill"}, "g-counter"))
		require.Equal(t, false, res.Valid, "seed %d", res.Seed)
		require.Equal(t, false, get(t, res, "workload", "valid?"), "the counter checker fails it")
		require.Positive(t, count(nodeOpResults(res.History, nemesis.FKill), "killed"))
		require.Positive(t, count(nodeOpResults(res.History, nemesis.FStartNode), "started"), "restarted")
		requireHealedAtEnd(t, res.History, nemesis.Faults{Kill: true})
	})
}

// TestCounterOnDisk: the counter that saves its entries (fsync before
// add_ok) under its node id survives kills; with --kill-wipes-disk
// (amnesia) it fails like the in-memory one.
func TestCounterOnDisk(t *testing.T) {
	t.Parallel()
	t.Run("kill", func(t *testing.T) {
		t.Parallel()
		res := run(t, faultOpts(t, "g-counter", 1, []string{"kill"}, "counter-disk"))
		require.Equal(t, true, res.Valid, "seed %d", res.Seed)
		require.Positive(t, count(nodeOpResults(res.History, nemesis.FStartNode), "started"), "restarted")
	})
	t.Run("kill with partitions, three nodes", func(t *testing.T) {
		t.Parallel()
		o := faultOpts(t, "g-counter", 3, []string{"partition", "kill"}, "counter-disk")
		o.Recovery = 2 * time.Second
		res := run(t, o)
		require.Equal(t, true, res.Valid, "seed %d", res.Seed)
		require.Positive(t, count(nodeOpResults(res.History, nemesis.FKill), "killed"))
		requireHealedAtEnd(t, res.History, nemesis.Faults{Partition: true, Kill: true})
	})
	t.Run("kill wipes disk", func(t *testing.T) {
		t.Parallel()
		o := faultOpts(t, "g-counter", 1, []string{"kill"}, "counter-disk")
		o.KillWipesDisk = true
		res := run(t, o)
		require.Equal(t, false, res.Valid, "seed %d", res.Seed)
	})
}

// TestBroadcastIgnoringRestartsLosesValues: maelfix's broadcast keeps
// values in memory and never asks its peers for what it missed. On one
// node a kill loses every value it had: the run is invalid with values
// lost. On five, a killed and restarted node's final reads miss values
// that its own reads returned before the kill (whether set-full calls them
// lost depends on which node's final read comes last).
func TestBroadcastIgnoringRestartsLosesValues(t *testing.T) {
	t.Parallel()
	t.Run("one node", func(t *testing.T) {
		t.Parallel()
		res := run(t, faultOpts(t, "broadcast", 1, []string{"kill"}, "broadcast"))
		require.Equal(t, false, res.Valid, "seed %d", res.Seed)
		lost, ok := history.Int(get(t, res, "workload", "lost-count"))
		require.True(t, ok)
		require.Positive(t, lost, "seed %d", res.Seed)
	})
	t.Run("five nodes", func(t *testing.T) {
		t.Parallel()
		o := faultOpts(t, "broadcast", 5, []string{"kill"}, "broadcast")
		res := run(t, o)
		require.Positive(t, forgotten(t, res.History, 50, []string{"n0", "n1", "n2", "n3", "n4"}), "seed %d", res.Seed)
	})
}

// forgotten counts the values a node's read returned before the node was
// killed that are missing from a final read of that node.
func forgotten(t *testing.T, h history.History, concurrency int, nodes []string) int {
	t.Helper()
	nodeOf := func(process int64) string { return nodes[int(process%int64(concurrency))%len(nodes)] }
	seen := map[string]map[int64]int64{} // node -> value -> first time read there
	lastKill := map[string]int64{}
	finals := map[string][]map[int64]bool{}
	for _, op := range h {
		if !op.IsClient() {
			if m, ok := op.Value.(*history.Map); ok && op.F == nemesis.FKill {
				for _, n := range m.Keys() {
					lastKill[n] = op.Time
				}
			}
			continue
		}
		if op.Type != history.OK || op.F != "read" {
			continue
		}
		vals, ok := op.Value.([]any)
		require.True(t, ok, "read value %v", op.Value)
		n := nodeOf(op.Process)
		set := map[int64]bool{}
		for _, v := range vals {
			x, ok := history.Int(v)
			require.True(t, ok)
			set[x] = true
			if seen[n] == nil {
				seen[n] = map[int64]int64{}
			}
			if _, ok := seen[n][x]; !ok {
				seen[n][x] = op.Time
			}
		}
		if op.Final {
			finals[n] = append(finals[n], set)
		}
	}
	missing := 0
	for n, kill := range lastKill {
		for x, at := range seen[n] {
			if at >= kill {
				continue
			}
			for _, f := range finals[n] {
				if !f[x] {
					missing++
				}
			}
		}
	}
	return missing
}

// TestLossAndDuplication: the correct broadcast retries until acked, so
// lost and duplicated messages cost it nothing; the net checker sees the
// duplicates as extra receives of the same message ids.
func TestLossAndDuplication(t *testing.T) {
	t.Parallel()
	o := faultOpts(t, "broadcast", 3, []string{"loss", "duplicate"}, "broadcast")
	o.LossRate, o.DuplicateRate = 0.2, 0.2
	res := run(t, o)
	require.Equal(t, true, res.Valid, "seed %d", res.Seed)
	recvs := map[int64]int{}
	var serverSends []int64
	for _, e := range res.Journal {
		if e.Kind == journal.Send {
			if !e.ClientTraffic() {
				serverSends = append(serverSends, e.ID)
			}
			continue
		}
		recvs[e.ID]++
	}
	var dups, lost int
	for _, id := range serverSends {
		switch recvs[id] {
		case 0:
			lost++
		case 2:
			dups++
		}
	}
	require.Positive(t, dups, "some message was delivered twice")
	require.Positive(t, lost, "some message was lost")
	var packetOps int
	for _, op := range res.History {
		if op.F == nemesis.FStartPacket {
			packetOps++
		}
	}
	require.Positive(t, packetOps)
	requireHealedAtEnd(t, res.History, nemesis.Faults{Loss: true, Duplicate: true})
}
