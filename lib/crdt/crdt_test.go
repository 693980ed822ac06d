package crdt

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// kind bundles what the generic property tests need to know about one
// counter type.
type kind[C Counter[C]] struct {
	name  string
	empty func() C
	equal func(a, b C) bool
	delta func(r *rand.Rand) int64 // a random delta this counter accepts
}

var (
	gKind = kind[*GCounter]{
		name:  "g-counter",
		empty: NewGCounter,
		equal: func(a, b *GCounter) bool { return a.Equal(b) },
		delta: func(r *rand.Rand) int64 { return r.Int64N(5) }, // Maelstrom's 0..4
	}
	pnKind = kind[*PNCounter]{
		name:  "pn-counter",
		empty: NewPNCounter,
		equal: func(a, b *PNCounter) bool { return a.Equal(b) },
		delta: func(r *rand.Rand) int64 { return r.Int64N(10) - 5 }, // Maelstrom's -5..4
	}
)

// universe is a seeded random run: each replica's own sequence of deltas.
// A replica state is any choice of prefix per owner, which is exactly the
// set of states replicas of a real run can hold.
type universe struct {
	ids    []string
	deltas map[string][]int64
}

func newUniverse[C Counter[C]](r *rand.Rand, k kind[C]) universe {
	u := universe{deltas: map[string][]int64{}}
	for i := range 1 + r.IntN(6) {
		id := fmt.Sprintf("n%d", i)
		u.ids = append(u.ids, id)
		for range r.IntN(20) {
			u.deltas[id] = append(u.deltas[id], k.delta(r))
		}
	}
	return u
}

// state builds the counter holding a random prefix of each owner's deltas.
func state[C Counter[C]](t *testing.T, r *rand.Rand, k kind[C], u universe) C {
	c := k.empty()
	for _, id := range u.ids {
		for _, d := range u.deltas[id][:r.IntN(len(u.deltas[id])+1)] {
			require.NoError(t, c.Add(id, d))
		}
	}
	return c
}

func merged[C Counter[C]](a, b C) C {
	out := a.Clone()
	out.Merge(b)
	return out
}

// checkLaws runs the join laws and the delta law over seeded random states.
func checkLaws[C Counter[C]](t *testing.T, k kind[C]) {
	for seed := uint64(1); seed <= 500; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		u := newUniverse(r, k)
		a, b, c := state(t, r, k, u), state(t, r, k, u), state(t, r, k, u)
		msg := fmt.Sprintf("%s seed %d: a=%v b=%v c=%v", k.name, seed, a, b, c)

		require.True(t, k.equal(merged(a, b), merged(b, a)), "commutative: "+msg)
		require.True(t, k.equal(merged(merged(a, b), c), merged(a, merged(b, c))), "associative: "+msg)
		require.True(t, k.equal(merged(a, a), a), "idempotent: "+msg)
		require.False(t, a.Clone().Merge(a), "self-merge reports a change: "+msg)

		// The join is an upper bound: no entry goes back.
		ab := merged(a, b)
		for _, id := range u.ids {
			require.GreaterOrEqual(t, ab.Version(id), max(a.Version(id), b.Version(id)), msg)
		}

		// Delta law: merging only the entries where b is newer equals
		// merging all of b.
		var newer []string
		for _, id := range b.IDs() {
			if b.Version(id) > a.Version(id) {
				newer = append(newer, id)
			}
		}
		viaDelta := a.Clone()
		require.Equal(t, len(newer) > 0, viaDelta.Merge(b.Restrict(newer)), msg)
		require.True(t, k.equal(viaDelta, ab), "delta: "+msg)
	}
}

func TestMergeLawsGCounter(t *testing.T)  { checkLaws(t, gKind) }
func TestMergeLawsPNCounter(t *testing.T) { checkLaws(t, pnKind) }

// checkSum: replicas that each apply their own deltas and then exchange
// states in a random order, each message a random subset, end up agreeing
// on the exact sum, and every non-zero Add raised the entry's version.
func checkSum[C Counter[C]](t *testing.T, k kind[C]) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		u := newUniverse(r, k)
		reps := map[string]C{}
		var want int64
		for _, id := range u.ids {
			reps[id] = k.empty()
			for _, d := range u.deltas[id] {
				before := reps[id].Version(id)
				require.NoError(t, reps[id].Add(id, d))
				if d != 0 {
					require.Greater(t, reps[id].Version(id), before, "seed %d", seed)
				}
				want += d
			}
		}
		// Random partial exchanges, then one full round so all meet.
		for range 50 {
			from, to := u.ids[r.IntN(len(u.ids))], u.ids[r.IntN(len(u.ids))]
			var some []string
			for _, id := range reps[from].IDs() {
				if r.IntN(2) == 0 {
					some = append(some, id)
				}
			}
			reps[to].Merge(reps[from].Restrict(some))
		}
		for _, from := range u.ids {
			for _, to := range u.ids {
				reps[to].Merge(reps[from].Clone())
			}
		}
		for _, id := range u.ids {
			require.Equal(t, want, reps[id].Value(), "%s seed %d replica %s", k.name, seed, id)
		}
	}
}

func TestConvergesToSumGCounter(t *testing.T)  { checkSum(t, gKind) }
func TestConvergesToSumPNCounter(t *testing.T) { checkSum(t, pnKind) }

func TestGCounterInc(t *testing.T) {
	cases := []struct {
		name  string
		start int64
		id    string
		n     int64
		want  int64
		err   error
	}{
		{name: "from empty", id: "n1", n: 3, want: 3},
		{name: "zero is a no-op", start: 2, id: "n1", n: 0, want: 2},
		{name: "negative refused", start: 2, id: "n1", n: -1, want: 2, err: ErrNegative},
		{name: "overflow refused", start: math.MaxInt64 - 1, id: "n1", n: 2, want: math.MaxInt64 - 1, err: ErrOverflow},
		{name: "up to max", start: math.MaxInt64 - 1, id: "n1", n: 1, want: math.MaxInt64},
		{name: "empty id", id: "", n: 1, err: ErrEmptyID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g GCounter
			if tc.start > 0 {
				require.NoError(t, g.Inc(tc.id, tc.start))
			}
			require.ErrorIs(t, g.Inc(tc.id, tc.n), tc.err)
			require.Equal(t, tc.want, g.Get(tc.id))
		})
	}
}

func TestPNCounterAdd(t *testing.T) {
	var c PNCounter
	require.NoError(t, c.Add("n0", 5))
	require.NoError(t, c.Add("n0", -7))
	require.NoError(t, c.Add("n1", -1))
	require.Equal(t, int64(-3), c.Value())
	inc, dec := c.Get("n0")
	require.Equal(t, [2]int64{5, 7}, [2]int64{inc, dec})
	require.Equal(t, int64(12), c.Version("n0"))
	require.Equal(t, []string{"n0", "n1"}, c.IDs())

	require.ErrorIs(t, c.Add("n2", math.MinInt64), ErrOverflow)
	require.ErrorIs(t, c.Add("", 1), ErrEmptyID)
	require.NoError(t, c.Add("n3", math.MaxInt64-1))
	require.ErrorIs(t, c.Add("n3", -2), ErrOverflow, "the version inc+dec must not overflow")
	require.NoError(t, c.Add("n3", -1))
	require.Equal(t, int64(math.MaxInt64), c.Version("n3"))
}

func TestSaturatedValue(t *testing.T) {
	var g GCounter
	require.NoError(t, g.Inc("a", math.MaxInt64))
	require.NoError(t, g.Inc("b", 1))
	require.Equal(t, int64(math.MaxInt64), g.Value())
	var c PNCounter
	require.NoError(t, c.N.Inc("a", math.MaxInt64))
	require.NoError(t, c.N.Inc("b", math.MaxInt64))
	require.Equal(t, int64(-math.MaxInt64), c.Value(), "N saturates at MaxInt64")
}

func TestNilReadsAsEmpty(t *testing.T) {
	var g *GCounter
	var c *PNCounter
	require.Zero(t, g.Value())
	require.Zero(t, g.Len())
	require.Nil(t, g.IDs())
	require.Zero(t, c.Value())
	require.Zero(t, c.Version("n0"))
	require.Zero(t, c.Len())
	require.False(t, NewGCounter().Merge(g))
	require.False(t, NewPNCounter().Merge(c))
	require.Zero(t, g.Restrict([]string{"n0"}).Len())
	require.Zero(t, c.Clone().Len())
}

func TestJSON(t *testing.T) {
	cases := []struct {
		name   string
		kind   string // "g" or "pn"
		in     string
		want   string // re-encoded; "" when decoding must fail
		errMsg string
	}{
		{name: "g", kind: "g", in: `{"n1":5,"n0":3}`, want: `{"n0":3,"n1":5}`},
		{name: "g empty", kind: "g", in: `{}`, want: `{}`},
		{name: "g zero dropped", kind: "g", in: `{"n0":0,"n1":2}`, want: `{"n1":2}`},
		{name: "g negative", kind: "g", in: `{"n0":-1}`, errMsg: "negative"},
		{name: "g float", kind: "g", in: `{"n0":1.5}`, errMsg: "cannot unmarshal"},
		{name: "g big", kind: "g", in: `{"n0":9223372036854775808}`, errMsg: "cannot unmarshal"},
		{name: "g null", kind: "g", in: `null`, errMsg: "want an object"},
		{name: "g array", kind: "g", in: `[1]`, errMsg: "cannot unmarshal"},
		{name: "g empty id", kind: "g", in: `{"":1}`, errMsg: "empty replica id"},
		{name: "pn", kind: "pn", in: `{"n":{"n0":2},"p":{"n0":5}}`, want: `{"p":{"n0":5},"n":{"n0":2}}`},
		{name: "pn half", kind: "pn", in: `{"n":{"n0":2}}`, want: `{"p":{},"n":{"n0":2}}`},
		{name: "pn unknown field", kind: "pn", in: `{"p":{},"x":{}}`, errMsg: "unknown field"},
		{name: "pn null half", kind: "pn", in: `{"p":null}`, errMsg: "want an object"},
		{name: "pn version overflow", kind: "pn", in: `{"p":{"a":9223372036854775807},"n":{"a":1}}`, errMsg: "overflows"},
		{name: "pn not object", kind: "pn", in: `3`, errMsg: "cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v json.Marshaler
			var err error
			if tc.kind == "g" {
				var g GCounter
				err = json.Unmarshal([]byte(tc.in), &g)
				v = g
			} else {
				var c PNCounter
				err = json.Unmarshal([]byte(tc.in), &c)
				v = jsonOf{&c}
			}
			if tc.errMsg != "" {
				require.ErrorContains(t, err, tc.errMsg)
				return
			}
			require.NoError(t, err)
			got, err := json.Marshal(v)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got))
			require.Equal(t, tc.want, string(got), "key order")
		})
	}
}

// jsonOf marshals a value with the default encoder (PNCounter has no
// MarshalJSON of its own).
type jsonOf struct{ v any }

func (j jsonOf) MarshalJSON() ([]byte, error) { return json.Marshal(j.v) }

func TestString(t *testing.T) {
	var c PNCounter
	require.NoError(t, c.Add("n1", 2))
	require.NoError(t, c.Add("n0", -1))
	require.Equal(t, "{p:{n1:2} n:{n0:1}}", c.String())
}

// FuzzGCounterJSON: decoding arbitrary bytes never panics, and whatever
// decodes re-encodes to a value that decodes to the same counter.
func FuzzGCounterJSON(f *testing.F) {
	for _, s := range []string{`{"n0":3}`, `{}`, `{"a":-1}`, `null`, `{"n0":1e3}`, `{"x":9223372036854775807}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var g GCounter
		if json.Unmarshal(data, &g) != nil {
			return
		}
		out, err := json.Marshal(g)
		require.NoError(t, err)
		var back GCounter
		require.NoError(t, json.Unmarshal(out, &back))
		require.True(t, g.Equal(&back))
	})
}

// FuzzPNCounterJSON: the same for the pn-counter.
func FuzzPNCounterJSON(f *testing.F) {
	for _, s := range []string{`{"p":{"n0":3},"n":{"n1":2}}`, `{}`, `{"p":{}}`, `{"q":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c PNCounter
		if json.Unmarshal(data, &c) != nil {
			return
		}
		out, err := json.Marshal(&c)
		require.NoError(t, err)
		var back PNCounter
		require.NoError(t, json.Unmarshal(out, &back))
		require.True(t, c.Equal(&back))
		_ = c.Value()
	})
}

// twentyFive builds a 25-replica pn-counter, the size of the largest run.
func twentyFive(shift int64) *PNCounter {
	c := NewPNCounter()
	for i := range 25 {
		id := fmt.Sprintf("n%d", i)
		_ = c.Add(id, int64(i)+shift)
		_ = c.Add(id, -int64(i))
	}
	return c
}

func BenchmarkPNMerge25(b *testing.B) {
	a, o := twentyFive(0), twentyFive(3)
	for b.Loop() {
		a.Clone().Merge(o)
	}
}

func BenchmarkPNRestrictMarshal3(b *testing.B) {
	c := twentyFive(1)
	ids := []string{"n3", "n7", "n20"}
	for b.Loop() {
		if _, err := json.Marshal(c.Restrict(ids)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPNUnmarshal25(b *testing.B) {
	data, err := json.Marshal(twentyFive(1))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var c PNCounter
		if err := json.Unmarshal(data, &c); err != nil {
			b.Fatal(err)
		}
	}
}
