package elle

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// synthTxns simulates conc clients running n transactions from Elle's
// generator against one store. With isolated, each transaction applies
// atomically at a random instant inside its interval (strict
// serializable); otherwise each micro-op applies at its own instant, so
// concurrent transactions interleave (no isolation at all).
func synthTxns(seed uint64, n, conc int, kind Kind, isolated bool) history.History {
	rng := rand.New(rand.NewPCG(seed, 7))
	txns, evs := synthSchedule(rng, newTestGen(rng, 10, 4, 16, kind), n, conc, isolated)
	return synthPlay(txns, evs, synthStore(kind))
}

type synthEvent struct {
	at   int64 // ns
	kind int   // 0 invoke, 1 apply, 2 complete
	id   int
	mop  int // apply: which micro-op, -1 for all
}
type synthTxn struct {
	process int64
	mops    [][]any
	outcome history.Type // fail: never applied; info: applied or not
}

// synthSchedule draws the transactions and their events in time order.
func synthSchedule(rng *rand.Rand, gen *testGen, n, conc int, isolated bool) ([]synthTxn, []synthEvent) {
	txns := make([]synthTxn, n)
	var evs []synthEvent
	clock := make([]int64, conc)
	procs := make([]int64, conc)
	for c := range procs {
		procs[c] = int64(c)
	}
	for i := 0; i < n; i++ {
		c := i % conc
		start := clock[c] + int64(rng.IntN(2_000_000))
		dur := int64(1_000_000 + rng.IntN(20_000_000))
		clock[c] = start + dur
		txns[i] = synthTxn{process: procs[c], mops: gen.next(), outcome: history.OK}
		evs = append(evs, synthEvent{at: start, kind: 0, id: i}, synthEvent{at: start + dur, kind: 2, id: i})
		switch x := rng.IntN(40); {
		case x == 0:
			txns[i].outcome = history.Fail
			continue
		case x == 1:
			txns[i].outcome = history.Info
			procs[c] += int64(conc) // a new process after :info, as Jepsen's workers
			if rng.IntN(2) == 0 {
				continue
			}
		}
		if isolated {
			evs = append(evs, synthEvent{at: start + 1 + rng.Int64N(dur-1), kind: 1, id: i, mop: -1})
			continue
		}
		for j := range txns[i].mops {
			evs = append(evs, synthEvent{at: start + 1 + rng.Int64N(dur-1), kind: 1, id: i, mop: j})
		}
	}
	slices.SortStableFunc(evs, func(a, b synthEvent) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.kind - b.kind
	})
	// Non-isolated micro-ops of one txn must still apply in order.
	if !isolated {
		next := make([]int, n)
		for i := range evs {
			if evs[i].kind == 1 {
				evs[i].mop = next[evs[i].id]
				next[evs[i].id]++
			}
		}
	}
	return txns, evs
}

// synthStore is one store of the kind: apply runs a micro-op on it and
// returns it completed.
func synthStore(kind Kind) (apply func(m []any) []any) {
	regs := map[int64]int64{}
	lists := map[int64][]any{}
	return func(m []any) []any {
		k := m[1].(int64)
		switch m[0] {
		case history.Keyword("r"):
			if kind == ListAppend {
				if l, ok := lists[k]; ok {
					return []any{m[0], k, slices.Clone(l)}
				}
				return []any{m[0], k, nil}
			}
			if v, ok := regs[k]; ok {
				return []any{m[0], k, v}
			}
			return []any{m[0], k, nil}
		case history.Keyword("append"):
			lists[k] = append(lists[k], m[2])
		default:
			regs[k] = m[2].(int64)
		}
		return m
	}
}

// synthPlay applies the events to the store and renders the history.
func synthPlay(txns []synthTxn, evs []synthEvent, apply func(m []any) []any) history.History {
	n := len(txns)
	done := make([][]any, n)
	var h history.History
	for _, e := range evs {
		t := &txns[e.id]
		switch e.kind {
		case 0:
			h = append(h, history.Op{Index: int64(len(h)), Time: e.at, Type: history.Invoke, Process: t.process, F: "txn", Value: toAny(t.mops)})
		case 1:
			if done[e.id] == nil {
				done[e.id] = make([]any, len(t.mops))
			}
			if e.mop < 0 {
				for j, m := range t.mops {
					done[e.id][j] = apply(m)
				}
			} else {
				done[e.id][e.mop] = apply(t.mops[e.mop])
			}
		case 2:
			v := any(done[e.id])
			if t.outcome != history.OK {
				v = toAny(t.mops)
			}
			h = append(h, history.Op{Index: int64(len(h)), Time: e.at, Type: t.outcome, Process: t.process, F: "txn", Value: v})
		}
	}
	return h
}

func toAny(mops [][]any) []any {
	out := make([]any, len(mops))
	for i, m := range mops {
		out[i] = m
	}
	return out
}

// testGen is Elle's wr-txns generator (the workload package has the real
// one; this package cannot import it).
type testGen struct {
	rng       *rand.Rand
	active    []int64
	nextVal   map[int64]int64
	maxLen    int
	maxWrites int64
	kind      Kind
}

func newTestGen(rng *rand.Rand, keys, maxLen int, maxWrites int64, kind Kind) *testGen {
	g := &testGen{rng: rng, nextVal: map[int64]int64{}, maxLen: maxLen, maxWrites: maxWrites, kind: kind}
	for k := 0; k < keys; k++ {
		g.active = append(g.active, int64(k))
	}
	return g
}

func (g *testGen) next() [][]any {
	n := 1 + g.rng.IntN(g.maxLen)
	scale := (math.Pow(2, float64(len(g.active))) - 1) * 2
	var out [][]any
	for len(out) < n {
		i := int(math.Floor(math.Log2(g.rng.Float64()*scale+2) - 1))
		i = min(max(i, 0), len(g.active)-1)
		k := g.active[i]
		if g.rng.IntN(2) == 0 {
			out = append(out, []any{history.Keyword("r"), k, nil})
			continue
		}
		v := g.nextVal[k] + 1
		if v > g.maxWrites {
			g.active[i] = slices.Max(g.active) + 1
			continue
		}
		g.nextVal[k] = v
		f := history.Keyword("w")
		if g.kind == ListAppend {
			f = "append"
		}
		out = append(out, []any{f, k, v})
	}
	return out
}

func TestSynthesizedHistories(t *testing.T) {
	for _, kind := range []Kind{ListAppend, RWRegister} {
		seed := uint64(time.Now().UnixNano())
		good := synthTxns(seed, 2000, 10, kind, true)
		res := Check(good, Options{Kind: kind})
		require.Equal(t, true, get(t, res, "valid?"), "%s seed %d: %s", kind, seed, render(res))
		bad := synthTxns(seed, 2000, 10, kind, false)
		res = Check(bad, Options{Kind: kind, Models: []string{"serializable"}})
		require.Equal(t, false, get(t, res, "valid?"), "%s seed %d: %s", kind, seed, render(res))
	}
}

// TestTwentyThousandTransactions checks large synthesized histories: the
// right verdict on 20,000 transactions (5,000 under the race detector,
// which slows the checker about twentyfold). How long it takes is
// measured by the benchmarks below (BenchmarkRWRegister20kValid, ...),
// not asserted here: on a shared machine a bound on time is noise.
func TestTwentyThousandTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	n := 20_000
	if raceDetector {
		n = 5_000
	}
	for _, kind := range []Kind{ListAppend, RWRegister} {
		for _, isolated := range []bool{true, false} {
			h := synthTxns(1, n, 10, kind, isolated)
			start := time.Now()
			res := Check(h, Options{Kind: kind})
			t.Logf("%s isolated=%v: %d events checked in %v, valid? %v, types %v", kind, isolated, len(h), time.Since(start), get(t, res, "valid?"), anomalyTypes(res))
			require.Equal(t, isolated, get(t, res, "valid?"))
		}
	}
}

func benchCheck(b *testing.B, kind Kind, isolated bool) {
	h := synthTxns(1, 20_000, 10, kind, isolated)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Check(h, Options{Kind: kind})
	}
}

func BenchmarkListAppend20kValid(b *testing.B)   { benchCheck(b, ListAppend, true) }
func BenchmarkListAppend20kInvalid(b *testing.B) { benchCheck(b, ListAppend, false) }
func BenchmarkRWRegister20kValid(b *testing.B)   { benchCheck(b, RWRegister, true) }
func BenchmarkRWRegister20kInvalid(b *testing.B) { benchCheck(b, RWRegister, false) }
