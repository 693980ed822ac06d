package kafka

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// fakeClock is a settable test clock.
type fakeClock struct{ now time.Duration }

func (c *fakeClock) get() time.Duration { return c.now }

func newGen(t *testing.T, seed uint64, clock *fakeClock, concurrency int) *Generator {
	t.Helper()
	g, err := NewGenerator(Params{Concurrency: concurrency, Rand: rand.New(rand.NewPCG(seed, 1)), Clock: clock.get})
	require.NoError(t, err)
	return g
}

// TestGeneratorMix: one micro-op per op, sends of 1..16 per key with
// string keys, about half polls, about 1/64 assigns; a crash first, then
// none until the clock moves.
func TestGeneratorMix(t *testing.T) {
	clock := &fakeClock{}
	g := newGen(t, 1, clock, 5)
	op, more := g.Next(0)
	require.True(t, more)
	require.Equal(t, Op{F: FCrash}, op)
	counts := map[string]int{}
	last := map[string]int64{}
	const n = 32000
	for i := 0; i < n; i++ {
		op, _ := g.Next(i % 5)
		counts[op.F]++
		switch op.F {
		case FSend:
			mop := op.Value.([]any)[0].([]any)
			require.Equal(t, history.Keyword("send"), mop[0])
			k := mop[1].(string)
			_, err := strconv.ParseInt(k, 10, 64)
			require.NoError(t, err)
			v := mop[2].(int64)
			require.Equal(t, last[k]+1, v, "key %s", k)
			require.LessOrEqual(t, v, int64(DefaultMaxWritesPerKey))
			last[k] = v
		case FPoll:
			require.Equal(t, []any{[]any{history.Keyword("poll")}}, op.Value)
		case FAssign:
			require.Len(t, op.Value, 1)
			require.False(t, op.Final)
		default:
			t.Fatalf("unexpected op %+v", op)
		}
	}
	require.InDelta(t, n/2, counts[FPoll], n/20)
	require.InDelta(t, n/64, counts[FAssign], n/64/4)
	require.Greater(t, len(last), DefaultKeyCount, "spent keys are replaced by fresh ones")
}

// TestGeneratorCrashes: crashes come at random intervals averaging
// 30 s / concurrency.
func TestGeneratorCrashes(t *testing.T) {
	clock := &fakeClock{}
	g := newGen(t, 2, clock, 6)
	crashes := 0
	for clock.now = 0; clock.now < 1000*time.Second; clock.now += 10 * time.Millisecond {
		if op, _ := g.Next(0); op.F == FCrash {
			crashes++
		}
	}
	// 1000 s at one crash per 5 s on average.
	require.InDelta(t, 200, crashes, 40)
}

// TestGeneratorAssignsUnseen: once a send's offset is known and no poll
// has reached it, a third of the assigns also take that key.
func TestGeneratorAssignsUnseen(t *testing.T) {
	clock := &fakeClock{}
	g := newGen(t, 3, clock, 1)
	g.Next(0) // the first crash
	send := Op{F: FSend, Value: sendInv("42", 1)}
	g.Update(send, Outcome{Type: history.OK, Value: sendOK("42", 3, 1)})
	with, assigns := 0, 0
	for i := 0; i < 20000; i++ {
		op, _ := g.Next(0)
		if op.F != FAssign {
			continue
		}
		assigns++
		keys := op.Value.([]any)
		if len(keys) == 2 && keys[1] == "42" {
			with++
		}
	}
	require.InDelta(t, float64(assigns)/3, with, float64(assigns)/8)

	// A poll that reaches offset 3 catches up: no more extra keys.
	g.Update(Op{F: FPoll}, Outcome{Type: history.OK, Value: pollOK(pm("42", [][2]int64{{3, 1}}))})
	for i := 0; i < 5000; i++ {
		if op, _ := g.Next(0); op.F == FAssign {
			require.Len(t, op.Value, 1)
		}
	}
	require.Equal(t, map[string]int64{"42": 3}, g.Targets())
}

// TestFinalPhase: each thread crashes, assigns every key from the start,
// then polls until it has reached every target, and stops.
func TestFinalPhase(t *testing.T) {
	clock := &fakeClock{now: time.Minute}
	f := NewFinal(map[string]int64{"10": 4, "2": 1}, rand.New(rand.NewPCG(4, 1)), clock.get)
	op, wait, more := f.Next(0)
	require.True(t, more)
	require.Equal(t, Op{F: FCrash}, op)
	require.Zero(t, wait)
	op, _, _ = f.Next(0)
	require.Equal(t, Op{F: FAssign, Value: []any{"2", "10"}, Final: true}, op)
	op, wait, more = f.Next(0)
	require.True(t, more)
	require.Equal(t, FPoll, op.F)
	require.Zero(t, wait)
	f.Update(0, op, Outcome{Type: history.OK, Value: pollOK(pm("2", seq(0, 1), "10", seq(0, 2)))})
	op, wait, more = f.Next(0)
	require.True(t, more)
	require.Equal(t, FPoll, op.F)
	require.Less(t, wait, 2*FinalPollInterval)
	f.Update(0, op, Outcome{Type: history.OK, Value: pollOK(pm("10", seq(3, 4)))})
	_, _, more = f.Next(0)
	require.False(t, more, "every target reached")

	// Thread 1 never catches up: it stops when the 10 s are up.
	op, _, _ = f.Next(1)
	require.Equal(t, FCrash, op.F)
	clock.now += FinalLimit
	_, _, more = f.Next(1)
	require.False(t, more)

	// Nothing to poll: no final ops at all.
	_, _, more = NewFinal(map[string]int64{}, rand.New(rand.NewPCG(4, 1)), clock.get).Next(0)
	require.False(t, more)
}

func TestGeneratorParams(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	clock := func() time.Duration { return 0 }
	for _, p := range []Params{
		{Concurrency: 0, Rand: r, Clock: clock},
		{Concurrency: 1, Clock: clock},
		{Concurrency: 1, Rand: r},
		{Concurrency: 1, Rand: r, Clock: clock, KeyCount: 1001},
		{Concurrency: 1, Rand: r, Clock: clock, MaxWritesPerKey: -1},
	} {
		_, err := NewGenerator(p)
		require.Error(t, err, "%+v", p)
	}
}
