package eddy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The rate Maelstrom's schedule reaches on Fly.io's kafka commands (--rate
// 1000 --time-limit 20, 2 client threads on 5a, 4 on 5b), worked out on the
// model of the rule (lateScheduleModel) rather than measured: every op keeps
// its thread for a constant latency and goes out late by a constant
// lateness after it is due (or after a thread frees up). Jepsen 0.3.7's
// interpreter re-asks gen/stagger when an op's time comes, and the op that
// then goes out schedules the next one a fresh gap after the moment it was
// asked, so lateness is never made up; eddy follows the same rule. The
// table (go test ./tests/eddy -run TestScheduleRateModel -v) gives ops/s,
// the mean of seeds 1-10, by latency (rows) and lateness (columns).
func TestScheduleRateModel(t *testing.T) {
	const rate, limit, seeds = 1000.0, 20 * time.Second, 10
	us := time.Microsecond
	latencies := []time.Duration{0, 100 * us, 250 * us, 500 * us, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond}
	lates := []time.Duration{0, 5 * us, 10 * us, 25 * us, 50 * us, 100 * us, 200 * us}
	for _, threads := range []int{2, 4} {
		var tab strings.Builder
		fmt.Fprintf(&tab, "%d threads, ops/s: latency \\ lateness", threads)
		for _, l := range lates {
			fmt.Fprintf(&tab, "\t%v", l)
		}
		// count[seed][latency][lateness]
		count := make([][][]int, seeds+1)
		for seed := 1; seed <= seeds; seed++ {
			count[seed] = make([][]int, len(latencies))
			for i, lat := range latencies {
				count[seed][i] = make([]int, len(lates))
				for j, late := range lates {
					s := newStagger(rate, rng(int64(seed), streamThreads))
					count[seed][i][j] = len(lateScheduleModel(threads, s.gap, func(int) time.Duration { return lat }, late, limit))
				}
			}
		}
		for i, lat := range latencies {
			fmt.Fprintf(&tab, "\n%v", lat)
			for j := range lates {
				sum := 0
				for seed := 1; seed <= seeds; seed++ {
					sum += count[seed][i][j]
				}
				fmt.Fprintf(&tab, "\t%.0f", float64(sum)/seeds/limit.Seconds())
			}
		}
		t.Log(tab.String())

		for seed := 1; seed <= seeds; seed++ {
			c := count[seed]
			// No delay at all: the seed's own gaps, every one of them.
			require.Equal(t, idealOps(int64(seed), rate, limit), c[0][0], "seed %d", seed)
			for i := range latencies {
				for j := range lates {
					// Each op can only go out later when ops take longer
					// or go out later, so the count never grows.
					if i > 0 {
						require.LessOrEqual(t, c[i][j], c[i-1][j], "seed %d, latency %v, lateness %v", seed, latencies[i], lates[j])
					}
					if j > 0 {
						require.Less(t, c[i][j], c[i][j-1], "seed %d, latency %v, lateness %v", seed, latencies[i], lates[j])
					}
				}
			}
		}
		// Below a quarter of the mean gap, waiting for a thread is rare,
		// and lateness costs what it adds to each gap: rate/(1+rate*late).
		for j, late := range lates {
			sum := 0
			for seed := 1; seed <= seeds; seed++ {
				sum += count[seed][2][j]
			}
			got := float64(sum) / seeds / limit.Seconds()
			want := rate / (1 + rate*late.Seconds())
			require.InDelta(t, want, got, want*0.01, "%d threads, latency 250µs, lateness %v", threads, late)
		}
	}
}

// idealOps is how many ops the gaps of seed's schedule fit in limit when
// nothing delays them.
func idealOps(seed int64, rate float64, limit time.Duration) int {
	s := newStagger(rate, rng(seed, streamThreads))
	n := 0
	for at := time.Duration(0); at < limit; at += s.gap() {
		n++
	}
	return n
}

// The first gaps of seed 1 at rate 1000, pinned: scripts/measure/
// kafka-sched.py draws the same ones (it checks these values) to split a
// stored run's lost rate into thread waits and lateness.
func TestStaggerGapsPinned(t *testing.T) {
	s := newStagger(1000, rng(1, streamThreads))
	require.Equal(t, []time.Duration{1352911, 922772, 1017094}, []time.Duration{s.gap(), s.gap(), s.gap()})
}
