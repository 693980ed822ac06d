package txn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/sim"
	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/history"
)

// waitSim runs list-append transactions through Command (the way clients
// reach a node) under partitions, loss and duplication, on cores with
// WaitOwnReads set as given, and returns the history: answered
// transactions ok, unanswered ones info.
func waitSim(t *testing.T, seed uint64, nodeCount int, wait bool) history.History {
	var nodes []string
	for i := range nodeCount {
		nodes = append(nodes, string(rune('a'+i)))
	}
	s := sim.New(sim.Config{Seed: seed, Nodes: nodes, TickMs: simTickMs, LatencyMinMs: 1, LatencyMaxMs: 60,
		Loss: 0.1, Duplicate: 0.1, Clone: func(x any) any { return x.(Message).Clone() }},
		func(id string) core.Core[Message, Txn, Answer] {
			c := Defaults(id, nodes, simTickMs)
			c.WaitOwnReads = wait
			core, err := New(c)
			require.NoError(t, err)
			return core
		})
	sr := &simRun{t: t, s: s, nodes: nodes, r: rand.New(rand.NewPCG(seed, 7)), next: map[int64]int64{}, write: Append}
	type call struct {
		p   int64
		txn Txn
	}
	pending := map[int64]call{} // by msg id
	busy := map[int64]bool{}
	var h history.History
	add := func(typ history.Type, p int64, v []any) {
		h = append(h, history.Op{Index: int64(len(h)), Time: s.Now() * 1_000_000, Type: typ, Process: p, F: "txn", Value: v})
	}
	collect := func() {
		for _, r := range s.Replies() {
			c, ok := pending[r.InReplyTo]
			require.True(t, ok, "seed %d: a reply to no request", seed)
			require.NoError(t, r.Body.Err)
			delete(pending, r.InReplyTo)
			busy[c.p] = false
			add(history.OK, c.p, toHistory(r.Body.Txn, true))
		}
	}
	var msgID int64
	for i := range 400 {
		if i%50 == 0 {
			switch sr.r.IntN(4) {
			case 0, 1:
				s.Heal()
			case 2:
				s.Isolate(nodes[sr.r.IntN(len(nodes))])
			default:
				s.Partition(sim.RandomSplit(sr.r, nodes))
			}
		}
		s.RunFor(sr.r.Int64N(20))
		collect()
		// Many processes: a waiting transaction holds its process through
		// a partition.
		p := sr.r.Int64N(int64(8 * len(nodes)))
		if busy[p] {
			continue
		}
		tx := sr.randTxn()
		if sr.r.IntN(2) == 0 { // often a read after an append of the same key
			for _, m := range slices.Clone(tx) {
				if m.F == Append {
					tx = append(tx, Mop{F: Read, K: m.K})
				}
			}
		}
		msgID++
		busy[p] = true
		pending[msgID] = call{p: p, txn: tx}
		add(history.Invoke, p, toHistory(tx, false))
		s.Command(nodes[p%int64(len(nodes))], core.Command[Txn]{Client: "c", MsgID: msgID, Body: tx})
		collect()
	}
	s.Heal()
	s.RunFor(5_000)
	collect()
	for _, id := range slices.Sorted(func(yield func(int64) bool) {
		for id := range pending {
			if !yield(id) {
				return
			}
		}
	}) {
		add(history.Info, pending[id].p, toHistory(pending[id].txn, false))
	}
	return h
}

// readsOfOwnAppends counts the reads of a completed transaction (history
// form) that show a value the transaction appended before them.
func readsOfOwnAppends(mops []any) int {
	n := 0
	appended := map[int64][]int64{}
	for _, m := range mops {
		mop := m.([]any)
		k := mop[1].(int64)
		switch mop[0] {
		case history.Keyword("append"):
			appended[k] = append(appended[k], mop[2].(int64))
		case history.Keyword("r"):
			l, _ := mop[2].([]any)
			if len(appended[k]) > 0 && len(l) > 0 && l[len(l)-1] == any(appended[k][len(appended[k])-1]) {
				n++
			}
		}
	}
	return n
}

// anomalyTypes is the anomaly types of an Elle result.
func anomalyTypes(res *history.Map) []string {
	var out []string
	v, _ := res.Get("anomaly-types")
	if l, ok := v.([]any); ok {
		for _, a := range l {
			out = append(out, fmt.Sprint(a))
		}
	}
	return out
}

// TestSimWaitOwnReads: with WaitOwnReads, list-append histories under
// partitions are read committed and free of "internal", and once the
// network heals every transaction is answered; without it, the same
// workload shows "internal" (which read committed allows).
func TestSimWaitOwnReads(t *testing.T) {
	internalWithout := 0
	for seed := uint64(1); seed <= 5; seed++ {
		for _, wait := range []bool{true, false} {
			h := waitSim(t, seed, 2+int(seed%3), wait)
			rc := elle.Check(h, elle.Options{Kind: elle.ListAppend, Models: []string{"read-committed"}, Strict: true})
			valid, _ := rc.Get("valid?")
			require.Equal(t, true, valid, "seed %d wait %v: %v", seed, wait, rc)
			all := elle.Check(h, elle.Options{Kind: elle.ListAppend, Models: []string{"strict-serializable"}})
			types := anomalyTypes(all)
			t.Logf("seed %d wait %v: %v, %d ops", seed, wait, types, len(h))
			if wait {
				require.NotContains(t, types, "internal", "seed %d", seed)
				ownSeen := 0
				for _, op := range h {
					require.NotEqual(t, history.Info, op.Type, "seed %d: unanswered after the heal", seed)
					if op.Type == history.OK {
						ownSeen += readsOfOwnAppends(op.Value.([]any))
					}
				}
				require.Positive(t, ownSeen, "seed %d: no read showed its txn's own append", seed)
			} else if slices.Contains(types, "internal") {
				internalWithout++
			}
		}
	}
	require.Positive(t, internalWithout, "the workload reads its own appends")
}
