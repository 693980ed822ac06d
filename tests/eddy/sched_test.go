package eddy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/internal/gobuild"
)

// sent is one op the client schedule issued: when (from the schedule's
// start) and to which thread.
type sent struct {
	at     time.Duration
	thread int
}

func (s sent) String() string { return fmt.Sprintf("%v@t%d", s.at, s.thread) }

// runSchedule runs issueOps in a synctest bubble, so on virtual time: n
// threads, the gaps of s, op k keeping its thread busy for busy(k), until
// limit. It returns the ops in the order they went out.
func runSchedule(t *testing.T, n int, s *stagger, busy func(k int) time.Duration, limit time.Duration) []sent {
	t.Helper()
	s.sleep = sleepUntil // a nanosleep would not move the virtual clock
	var out []sent
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := newPool(n)
		var workers sync.WaitGroup
		issued := issueOps(context.Background(), p, s, start.Add(limit), func(th int) bool {
			d := busy(len(out))
			out = append(out, sent{at: time.Since(start), thread: th})
			workers.Go(func() {
				time.Sleep(d)
				p.put(th)
			})
			return true
		})
		require.Equal(t, len(out), issued)
		workers.Wait()
	})
	return out
}

// fixedGaps draws gaps of the given lengths in turn from a stagger whose
// largest gap is gapMax.
func fixedGaps(gapMax time.Duration, gaps ...time.Duration) *stagger {
	i := 0
	return &stagger{gapMax: gapMax, sleep: sleepUntil, draw: func() float64 {
		g := gaps[min(i, len(gaps)-1)]
		i++
		return float64(g) / float64(gapMax)
	}}
}

// An op goes out at the later of its scheduled time and the moment a thread
// is free; the next is scheduled from when it went out. Worked by hand:
// two threads, rate 10 (gaps below 200 ms), deadline 1 s.
func TestScheduleWaitsForThreadsAndNeverCatchesUp(t *testing.T) {
	ms := time.Millisecond
	s := fixedGaps(200*ms, 50*ms, 50*ms, 150*ms, 20*ms, 20*ms, 20*ms, 100*ms, 190*ms, 190*ms, 190*ms)
	busy := []time.Duration{130 * ms, 70 * ms, 300 * ms, 30 * ms, 30 * ms, 400 * ms, 30 * ms, 30 * ms, 30 * ms, 30 * ms}
	got := runSchedule(t, 2, s, func(k int) time.Duration { return busy[k] }, time.Second)
	want := []sent{
		{0, 0},        // thread pointer 0 -> 1; thread 0 busy to 130
		{50 * ms, 1},  // pointer 1 -> 2; thread 1 busy to 120
		{120 * ms, 1}, // due at 100, both busy: waits for thread 1; pointer 2 (the nemesis's place) wraps to thread 0, busy, so thread 1; next due 120+150
		{270 * ms, 0}, // pointer 0 -> 1; busy to 300
		{300 * ms, 0}, // due at 290, waits for thread 0 (thread 1 busy to 420)
		{330 * ms, 0}, // due at 320, waits for thread 0 again; busy to 730
		{420 * ms, 1}, // due at 350, waits for thread 1
		{520 * ms, 1}, // pointer 1: thread 1
		{710 * ms, 1}, // pointer 2 wraps; thread 0 busy to 730, so thread 1
		{900 * ms, 0}, // the next would be due at 1090, past the deadline
	}
	require.Equal(t, want, got)
}

// scheduleModel is the rule written as a formula over the same inputs:
// op k goes out at T(k) = max(T(k-1) + gap(k-1), the first time a thread is
// free), to the first thread free then at or after the pointer.
func scheduleModel(n int, gaps func() time.Duration, busy func(k int) time.Duration, limit time.Duration) []sent {
	return lateScheduleModel(n, gaps, busy, 0, limit)
}

// lateScheduleModel is scheduleModel with every op going out late by late
// after the later of its due time and a free thread: the wake-up and
// dispatch time of a real scheduler (eddy's, or Jepsen's interpreter).
func lateScheduleModel(n int, gaps func() time.Duration, busy func(k int) time.Duration, late, limit time.Duration) []sent {
	freeAt := make([]time.Duration, n)
	var out []sent
	due, ptr := time.Duration(0), 0
	for k := 0; ; k++ {
		at := max(due, slices.Min(freeAt)) + late
		if k == 0 {
			at = 0 // the first op is due at once and timed from there
		}
		if at >= limit {
			return out
		}
		th := -1
		for i := range n {
			j := (ptr + i) % (n + 1)
			if j < n && freeAt[j] <= at {
				th = j
				break
			}
		}
		if th < 0 { // the pointer was on the nemesis's place
			for j := range n {
				if freeAt[j] <= at {
					th = j
					break
				}
			}
		}
		ptr = (ptr + 1) % (n + 1)
		freeAt[th] = at + busy(k)
		out = append(out, sent{at: at, thread: th})
		due = at + gaps()
	}
}

// catchUpCount is how many ops the schedule eddy had before issues with the
// same inputs: op k due at the sum of the first k gaps however late the
// ops before it went out.
func catchUpCount(n int, gaps func() time.Duration, busy func(k int) time.Duration, limit time.Duration) int {
	freeAt := make([]time.Duration, n)
	sched := time.Duration(0)
	for k := 0; ; k++ {
		th := 0
		for i := range freeAt {
			if freeAt[i] < freeAt[th] {
				th = i
			}
		}
		at := max(sched, freeAt[th])
		if at >= limit {
			return k
		}
		freeAt[th] = at + busy(k)
		sched += gaps()
	}
}

// slowBusy draws op durations from a seeded stream: mostly quick, one in
// four slower than the rate's mean gap times the thread count, so threads
// are often all busy.
func slowBusy(seed uint64, n int, rate float64) func(k int) time.Duration {
	r := rand.New(rand.NewPCG(seed, 99))
	var ds []time.Duration
	mean := time.Duration(float64(time.Second) / rate)
	return func(k int) time.Duration {
		for len(ds) <= k {
			d := time.Duration(r.Int64N(int64(mean)))
			if r.IntN(4) == 0 {
				d = time.Duration(n+1)*mean + time.Duration(r.Int64N(int64(4*mean)))
			}
			ds = append(ds, d)
		}
		return ds[k]
	}
}

// The loop issues exactly the ops of the formula, op for op, over seeded
// gaps and slow workers; and it issues fewer than the catch-up schedule.
func TestScheduleMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		n := 1 + int(seed%4)
		rate := 100.0
		limit := 2 * time.Second
		got := runSchedule(t, n, newStagger(rate, rand.New(rand.NewPCG(seed, 1))), slowBusy(seed, n, rate), limit)
		want := scheduleModel(n, newStagger(rate, rand.New(rand.NewPCG(seed, 1))).gap, slowBusy(seed, n, rate), limit)
		require.Equal(t, want, got, "seed %d, %d threads", seed, n)
		catchUp := catchUpCount(n, newStagger(rate, rand.New(rand.NewPCG(seed, 1))).gap, slowBusy(seed, n, rate), limit)
		require.Less(t, len(got), catchUp, "seed %d, %d threads", seed, n)
	}
}

// The op count of one slow run, pinned: seed 7, two threads at rate 100 for
// 2 s, one op in four keeping its thread 30 to 70 ms. The rate alone gives
// about 200 ops; waiting for busy threads costs 41 of them, which the
// catch-up schedule would have made up (199).
func TestScheduleOpCountPinned(t *testing.T) {
	const seed, n, rate, limit = 7, 2, 100.0, 2 * time.Second
	got := runSchedule(t, n, newStagger(rate, rand.New(rand.NewPCG(seed, 1))), slowBusy(seed, n, rate), limit)
	catchUp := catchUpCount(n, newStagger(rate, rand.New(rand.NewPCG(seed, 1))).gap, slowBusy(seed, n, rate), limit)
	require.Equal(t, 158, len(got))
	require.Equal(t, 199, catchUp)
}

// With every thread free the pointer rotates through the threads and, once
// a round, the nemesis's place, which sends that op to thread 0 again.
func TestPoolTakeRotates(t *testing.T) {
	p := newPool(3)
	var got []int
	for range 8 {
		th, ok := p.take()
		require.True(t, ok)
		got = append(got, th)
		p.put(th)
	}
	require.Equal(t, []int{0, 1, 2, 0, 0, 1, 2, 0}, got)
	for range 3 {
		_, ok := p.take()
		require.True(t, ok)
	}
	_, ok := p.take()
	require.False(t, ok, "every thread is busy")
}

// An eddy run on a node slower than the rate: every op is answered 40 ms
// after it is sent, one thread, rate 20 (gaps below 100 ms). Replaying the
// run's own gaps (from its seed) and op durations under the catch-up rule
// gives more ops than eddy issued: the waits were not made up.
func TestRunOnSlowNodeIssuesFewerOpsThanCatchUp(t *testing.T) {
	t.Parallel()
	o := Defaults()
	o.Workload = "echo"
	o.Bin = gobuild.Build(t, "maelkit/tests/fixtures/maelfix")
	o.Args = []string{"echo-slow", "40ms"}
	o.NodeCount = 1
	o.TimeLimit = 4 * time.Second
	o.Rate = 20
	o.Recovery = time.Second
	o.StoreRoot = t.TempDir()
	o.Seed = 3
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.Equal(t, true, res.Valid)

	// One thread: its ops alternate invoke, completion.
	var invoked, took []time.Duration
	for _, op := range res.History {
		if op.Process == history.Nemesis || op.Final {
			continue
		}
		if op.Type == history.Invoke {
			invoked = append(invoked, time.Duration(op.Time))
		} else {
			require.Len(t, took, len(invoked)-1, "one op at a time")
			took = append(took, time.Duration(op.Time)-invoked[len(invoked)-1])
		}
	}
	require.NotEmpty(t, took)
	require.Len(t, took, len(invoked))

	gaps := newStagger(o.Rate, rng(o.Seed, streamThreads))
	start := invoked[0]
	end := start + o.TimeLimit
	catchUp, sched, freeAt := 0, start, start
	for k := 0; ; k++ {
		at := max(sched, freeAt)
		if at >= end {
			break
		}
		catchUp++
		freeAt = at + took[k%len(took)]
		sched += gaps.gap()
	}
	t.Logf("%d ops issued, %d under the catch-up rule", len(invoked), catchUp)
	require.Less(t, len(invoked), catchUp)
}

// A rate too low for 2/rate seconds to fit a Duration still schedules the
// next op later, never earlier.
func TestStaggerTinyRate(t *testing.T) {
	s := newStagger(1e-12, rand.New(rand.NewPCG(1, 1)))
	require.Equal(t, time.Duration(math.MaxInt64), s.gapMax)
	for range 100 {
		require.GreaterOrEqual(t, s.gap(), time.Duration(0))
	}
	require.Equal(t, 20*time.Millisecond, newStagger(100, rand.New(rand.NewPCG(1, 1))).gapMax)
}

// A thread whose generator has no more ops leaves the pool for good; the
// schedule goes on with the others and ends once none is left, before the
// deadline.
func TestScheduleRetiresThreads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := newPool(2)
		var got []sent
		left := map[int]int{0: 3, 1: 0} // ops each thread's generator still has
		issued := issueOps(context.Background(), p, fixedGaps(time.Second, 100*time.Millisecond), start.Add(time.Minute), func(th int) bool {
			if left[th] == 0 {
				return false
			}
			left[th]--
			got = append(got, sent{at: time.Since(start), thread: th})
			p.put(th)
			return true
		})
		ms := time.Millisecond
		require.Equal(t, []sent{{0, 0}, {100 * ms, 0}, {200 * ms, 0}}, got)
		require.Equal(t, 3, issued)
		require.Equal(t, 300*ms, time.Since(start), "the schedule ends when the last thread leaves")
	})
}

// waitUntil never returns before its time, whether the wait is shorter or
// longer than the part it sleeps with nanosleep, nor for a time already
// past; it returns false at once on a cancelled context.
func TestWaitUntilNeverEarly(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 0, 300 * time.Microsecond, fineWindow, fineWindow + 700*time.Microsecond, 3 * fineWindow} {
		at := time.Now().Add(d)
		require.True(t, waitUntil(context.Background(), at), "wait %v", d)
		require.False(t, time.Now().Before(at), "wait %v returned early", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.False(t, waitUntil(ctx, time.Now().Add(time.Hour)))
	require.False(t, waitUntil(ctx, time.Now()))
}
