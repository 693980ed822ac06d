package linear

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// synthLinKV simulates Maelstrom's lin-kv workload against a linearizable
// store: n ops at rate 100 from conc threads forming one group (half
// readers, half write/cas with values 0..4), each op taking effect at a
// random instant inside its interval. A writer's op times out with
// probability infoRate: it completes :info after 1 s and takes effect, or
// not, at a random instant up to 2 s after its invocation. A key is
// retired once 20 processes touched it, as the generator does.
func synthLinKV(seed uint64, n, conc int, infoRate float64) history.History {
	return synthLinKVLatency(seed, n, conc, infoRate, 5*time.Millisecond)
}

// synthLinKVLatency is synthLinKV with ops lasting 1 ms plus an exponential
// time of the given mean.
func synthLinKVLatency(seed uint64, n, conc int, infoRate float64, mean time.Duration) history.History {
	ops := synthSchedule(rand.New(rand.NewPCG(seed, 3)), n, conc, infoRate, mean)
	synthApply(ops)
	return synthHistory(ops)
}

// synthOp is one synthetic lin-kv op.
type synthOp struct {
	process  int64
	f        string
	key      int64
	a, b     int64
	call     int64
	ret      int64
	at       int64 // when it takes effect; -1 never
	info     bool
	okResult bool
	read     any
}

// synthSchedule draws n ops over conc threads at rate 100, keys retired
// after 20 processes.
func synthSchedule(rng *rand.Rand, n, conc int, infoRate float64, mean time.Duration) []*synthOp {
	ops := make([]*synthOp, 0, n)
	free := make([]int64, conc)
	procs := make([]int64, conc)
	for i := range procs {
		procs[i] = int64(i)
	}
	key := int64(0)
	seen := map[int64]bool{}
	now := int64(0)
	for len(ops) < n {
		now += rng.Int64N(20_000_000) // rate 100: gaps uniform in [0, 20 ms)
		var idle []int
		for th, f := range free {
			if f <= now {
				idle = append(idle, th)
			}
		}
		if len(idle) == 0 {
			continue
		}
		th := idle[rng.IntN(len(idle))]
		for _, p := range procs {
			seen[p] = true
		}
		if len(seen) > 20 {
			key++
			seen = map[int64]bool{}
		}
		o := &synthOp{process: procs[th], key: key, call: now}
		switch {
		case th < conc/2:
			o.f = "read"
		case rng.IntN(3) == 0:
			o.f, o.a = "write", rng.Int64N(5)
		default:
			o.f, o.a, o.b = "cas", rng.Int64N(5), rng.Int64N(5)
		}
		d := 1_000_000 + int64(rng.ExpFloat64()*float64(mean))
		o.ret = now + d
		o.at = now + rng.Int64N(d)
		if o.f != "read" && rng.Float64() < infoRate {
			o.info = true
			o.ret = now + int64(time.Second)
			o.at = -1
			if rng.IntN(2) == 0 {
				o.at = now + rng.Int64N(2*int64(time.Second))
			}
			procs[th] += int64(conc)
		}
		free[th] = o.ret + 1
		ops = append(ops, o)
	}
	return ops
}

// synthApply plays the ops on registers in the order they take effect,
// setting each one's outcome.
func synthApply(ops []*synthOp) {
	byAt := slices.Clone(ops)
	slices.SortFunc(byAt, func(a, b *synthOp) int { return int(a.at - b.at) })
	state := map[int64]int64{}
	for _, o := range byAt {
		if o.at < 0 {
			continue
		}
		cur, exists := state[o.key]
		switch o.f {
		case "read":
			o.okResult, o.read = exists, cur
		case "write":
			state[o.key], o.okResult = o.a, true
		case "cas":
			if exists && cur == o.a {
				state[o.key], o.okResult = o.b, true
			}
		}
	}
}

// synthHistory renders the ops as invocations and completions in time
// order.
func synthHistory(ops []*synthOp) history.History {
	type event struct {
		at     int64
		o      *synthOp
		invoke bool
	}
	var evs []event
	for _, o := range ops {
		evs = append(evs, event{at: o.call, o: o, invoke: true}, event{at: o.ret, o: o})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
	var h history.History
	for _, e := range evs {
		o := e.o
		var v any
		switch o.f {
		case "read":
			v = []any{o.key, nil}
		case "write":
			v = []any{o.key, o.a}
		default:
			v = []any{o.key, []any{o.a, o.b}}
		}
		t := history.Invoke
		if !e.invoke {
			switch {
			case o.info:
				t = history.Info
			case o.okResult:
				t = history.OK
				if o.f == "read" {
					v = []any{o.key, o.read}
				}
			default:
				t = history.Fail
			}
		}
		h = append(h, history.Op{Index: int64(len(h)), Time: e.at, Type: t, Process: o.process, F: o.f, Value: v})
	}
	return h
}

func TestSynthesizedLinKV(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, uint64(time.Now().UnixNano())} {
		h := synthLinKV(seed, 3000, 10, 0.02)
		res := Check(h, Options{})
		require.Equal(t, true, valid(t, res), "seed %d: %s", seed, render(res))
	}
}

// TestSixtySecondHistory is the bound: a 60 s, rate-100,
// concurrency-10 history (6000 ops) checks in under 5 s.
func TestSixtySecondHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	for _, mean := range []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond} {
		for _, infoRate := range []float64{0, 0.01, 0.05} {
			h := synthLinKVLatency(7, 6000, 10, infoRate, mean)
			start := time.Now()
			res := Check(h, Options{})
			took := time.Since(start)
			t.Logf("mean op %v, info rate %.2f: %d events, %d keys, checked in %v", mean, infoRate, len(h), get(t, res, "results").(*history.Map).Len(), took)
			require.Equal(t, true, valid(t, res))
			require.Less(t, took, 5*time.Second)
		}
	}
}

func benchLinKV(b *testing.B, infoRate float64) {
	h := synthLinKVLatency(7, 6000, 10, infoRate, 50*time.Millisecond)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Check(h, Options{})
	}
}

func BenchmarkLinKV6000Ops(b *testing.B)         { benchLinKV(b, 0) }
func BenchmarkLinKV6000OpsInfo1pct(b *testing.B) { benchLinKV(b, 0.01) }
func BenchmarkLinKV6000OpsInfo5pct(b *testing.B) { benchLinKV(b, 0.05) }

// TestCorruptedReadInLongHistory: one impossible read in a 6000-op history
// is found, and the stretch around it is short.
func TestCorruptedReadInLongHistory(t *testing.T) {
	h := synthLinKVLatency(11, 6000, 10, 0.01, 50*time.Millisecond)
	var target int
	for i := len(h) / 2; i < len(h); i++ {
		if h[i].Type == history.OK && h[i].F == "read" {
			target = i
			break
		}
	}
	k := h[target].Value.([]any)[0]
	h[target].Value = []any{k, int64(99)}
	start := time.Now()
	res := Check(h, Options{})
	t.Logf("checked in %v", time.Since(start))
	require.Equal(t, false, valid(t, res))
	failures := get(t, res, "failures").([]any)
	require.Equal(t, []any{k}, failures)
	key := history.Key(k)
	st := get(t, res, "results", key, "linearizable", "stretch").(*history.Map)
	require.Equal(t, int64(target), get(t, st, "to-index"))
	require.LessOrEqual(t, get(t, st, "op-count").(int64), int64(16), "%s", render(st))
}
