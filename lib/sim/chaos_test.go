package sim

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/testenv"
)

// chaosJournals runs a Chaos schedule over three journal nodes (durable.go's
// toy core), checking after every event that every value acknowledged by an
// up node since its disk was last wiped is in its journal. With wipes, a
// node may be wiped whenever the schedule draws it.
func chaosJournals(t *testing.T, seed uint64, wipes bool) (*Sim[int, int, int], error) {
	ids := []string{"n0", "n1", "n2"}
	s := NewDurable(Config{Seed: seed, Nodes: ids, TickMs: 10}, newJournal)
	acked := map[string][]int{}
	check := func(event string) {
		for _, id := range ids {
			if s.Down(id) {
				continue
			}
			have := map[int]bool{}
			for _, v := range s.Core(id).(*journal).vals {
				have[v] = true
			}
			for _, v := range acked[id] {
				require.True(t, have[v], "seed %d after %s: %s lost acknowledged %d", seed, event, id, v)
			}
		}
	}
	ch := Chaos{UntilMs: 5000, GapMaxMs: 50, Check: check, Op: func(i int64, id string) {
		s.Command(id, core.Command[int]{Client: "c", MsgID: i, Body: int(i)})
		for _, r := range s.Replies() {
			acked[r.From] = append(acked[r.From], r.Body)
		}
	}}
	if wipes {
		ch.Replicated = func(id string) bool {
			delete(acked, id) // its disk is about to go
			return true
		}
	}
	err := s.RunChaos(ch)
	if err == nil {
		err = s.RecoverAll()
	}
	check("the recovery of every node")
	return s, err
}

// A Chaos schedule kills nodes in every way it draws, and every value a
// node acknowledged survives every fault but a wiped disk; RecoverAll ends
// with every node up.
func TestChaosKeepsAcknowledged(t *testing.T) {
	for _, wipes := range []bool{false, true} {
		var all Faults
		for _, seed := range Seeds(t, testenv.Pick(20, 1000)) {
			s, err := chaosJournals(t, seed, wipes)
			require.NoError(t, err, "seed %d", seed)
			for _, id := range s.Nodes() {
				require.False(t, s.Down(id), "seed %d: %s down after RecoverAll", seed, id)
			}
			all.Add(s.Faults())
		}
		LogFaults(t, fmt.Sprintf("journals, wipes %t", wipes), all)
		require.Positive(t, all.MidWrite, "no node died inside its writes")
		if wipes {
			require.Positive(t, all.Wipes)
		} else {
			require.Zero(t, all.Wipes)
		}
	}
}

func TestChaosSameSeedSameTrace(t *testing.T) {
	a, err := chaosJournals(t, 7, true)
	require.NoError(t, err)
	b, err := chaosJournals(t, 7, true)
	require.NoError(t, err)
	require.Equal(t, a.TraceHash(), b.TraceHash())
	require.Equal(t, a.Faults(), b.Faults())
}

func TestFaultsAdd(t *testing.T) {
	var f Faults
	f.Add(Faults{Runs: 1, Deaths: 3, MidWrite: 1, Wipes: 2})
	f.Add(Faults{Runs: 1, Deaths: 1})
	require.Equal(t, Faults{Runs: 2, Deaths: 4, MidWrite: 1, Wipes: 2}, f)
	require.Equal(t, "2 runs, 4 deaths (1 mid-write), 2 disks wiped", f.String())
}
