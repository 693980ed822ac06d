package kafka

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// jepsenLags is Jepsen's realtime-lag series, computed the direct way:
// every key of the process's view at every :ok poll, keys sorted.
func jepsenLags(a *Analysis) []lag {
	expired := a.expiries()
	offsets := map[int64]map[string]int64{}
	var out []lag
	for _, p := range a.ops {
		if p.op.Type != history.OK {
			continue
		}
		switch p.op.F {
		case FAssign:
			next := map[string]int64{}
			for _, k := range p.op.Value.([]any) {
				if o, ok := offsets[p.op.Process][k.(string)]; ok {
					next[k.(string)] = o
				} else {
					next[k.(string)] = -1
				}
			}
			offsets[p.op.Process] = next
		case FPoll, FTxn:
			cur := offsets[p.op.Process]
			if cur == nil {
				cur = map[string]int64{}
				offsets[p.op.Process] = cur
			}
			for k, o := range maxOffsets(p) {
				if old, ok := cur[k]; !ok || o > old {
					cur[k] = o
				}
			}
			inv := a.inv[p.op.Index].Time
			for _, k := range sortedKeys(cur) {
				l := int64(0)
				if t, ok := expired.at(k, cur[k]+1); ok {
					l = max(inv-t, 0)
				}
				out = append(out, lag{time: inv, process: p.op.Process, key: k, lag: l})
			}
		}
	}
	return out
}

// TestWorstLagMatchesSeries: the heap's worst lag is the first greatest of
// Jepsen's full series, on random histories of overlapping sends, polls
// and assigns.
func TestWorstLagMatchesSeries(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		b := newHB()
		next := map[string]int64{}
		open := map[int64]bool{}
		for i := 0; i < 60; i++ {
			p := int64(r.IntN(4))
			if open[p] {
				b.end(p, ok)
				open[p] = false
				continue
			}
			k := strconv.Itoa(r.IntN(5))
			switch r.IntN(4) {
			case 0:
				b.startSend(p, k, next[k], next[k]+1)
				next[k]++
			case 1:
				from := r.Int64N(next[k] + 1)
				var ps [][2]int64
				for o := from; o < next[k] && o < from+3; o++ {
					ps = append(ps, [2]int64{o, o + 1})
				}
				b.startPoll(p, pm(k, ps))
			case 2:
				b.start(p, FAssign, []any{k, "0"}, []any{k, "0"})
			default:
				b.startPoll(p, pm())
			}
			open[p] = true
		}
		for p, o := range open {
			if o {
				b.end(p, ok)
			}
		}
		a := Analyze(b.h)
		series := jepsenLags(a)
		if len(series) == 0 {
			require.False(t, a.hasWorst)
			continue
		}
		want := series[0]
		for _, l := range series[1:] {
			if l.lag > want.lag {
				want = l
			}
		}
		require.True(t, a.hasWorst)
		require.Equal(t, want, a.worst, "seed %d", seed)
	}
}

// TestManyKeysStayFast: a process polling thousands of keys one by one
// costs its polls, not polls × keys.
func TestManyKeysStayFast(t *testing.T) {
	b := newHB()
	const n = 2000
	for i := 0; i < n; i++ {
		b.send(0, ok, strconv.Itoa(i), 0, 1)
		b.send(0, ok, strconv.Itoa(i), 1, 2)
	}
	for i := 0; i < n; i++ {
		b.poll(1, pm(strconv.Itoa(i), seq(0, 0)))
	}
	a := Analyze(b.h)
	require.True(t, a.hasWorst)
	require.Equal(t, "0", a.worst.key)
}

// TestFutureReadsStayFast: thousands of polls of messages sent only later
// form one large cycle; the search stays linear.
func TestFutureReadsStayFast(t *testing.T) {
	b := newHB()
	const n = 2000
	for i := 0; i < n; i++ {
		b.poll(1, pm(strconv.Itoa(i), seq(0, 0)))
	}
	for i := 0; i < n; i++ {
		b.send(0, ok, strconv.Itoa(i), 0, 1)
	}
	a := Analyze(b.h)
	require.Equal(t, []string{"G1c-realtime"}, a.BadTypes())
}
