package gset

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// seed returns a fresh seed and makes sure a failure prints it.
func seed(t *testing.T) uint64 {
	s := rand.Uint64()
	t.Logf("seed %d", s)
	return s
}

func TestRangesTable(t *testing.T) {
	cases := []struct {
		name string
		add  []int64
		want string
	}{
		{name: "empty", want: ""},
		{name: "dense", add: []int64{1, 2, 3}, want: "1-3"},
		{name: "reversed", add: []int64{3, 2, 1}, want: "1-3"},
		{name: "hole filled", add: []int64{1, 3, 2}, want: "1-3"},
		{name: "holes", add: []int64{1, 3, 5}, want: "1,3,5"},
		{name: "duplicates", add: []int64{2, 2, 2}, want: "2"},
		{name: "non-positive ignored", add: []int64{0, -1, 1}, want: "1"},
		{name: "bridge", add: []int64{1, 2, 6, 7, 4, 3, 5}, want: "1-7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Ranges
			for _, x := range tc.add {
				r.Add(x)
			}
			require.Equal(t, tc.want, r.String())
		})
	}
}

func TestRangesOf(t *testing.T) {
	r, err := RangesOf(Range{Lo: 5, Hi: 9}, Range{Lo: 1, Hi: 2}, Range{Lo: 3, Hi: 4})
	require.NoError(t, err)
	require.Equal(t, "1-9", r.String())
	_, err = RangesOf(Range{Lo: 0, Hi: 2})
	require.Error(t, err)
	_, err = RangesOf(Range{Lo: 3, Hi: 2})
	require.Error(t, err)
}

// model is the naive version of Ranges the property test checks against.
type model map[int64]bool

func (m model) sorted() []int64 {
	var out []int64
	for x := range m {
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

func elems(r Ranges) []int64 {
	var out []int64
	for _, x := range r.Intervals() {
		for v := x.Lo; v <= x.Hi; v++ {
			out = append(out, v)
		}
	}
	return out
}

// wellFormed checks the representation invariant: sorted, disjoint,
// non-adjacent, positive intervals.
func wellFormed(t *testing.T, r Ranges) {
	t.Helper()
	for i, x := range r.Intervals() {
		require.True(t, x.Lo >= 1 && x.Lo <= x.Hi, "interval %d %v", i, x)
		if i > 0 {
			require.Greater(t, x.Lo, r.Intervals()[i-1].Hi+1, "intervals %d and %d touch", i-1, i)
		}
	}
}

// TestRangesProperty checks Ranges against a map model on random
// operations: Add, AddRange, Union, Minus, Covers, Take, Count, Contains.
func TestRangesProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 1))
	randSet := func() (Ranges, model) {
		var r Ranges
		m := model{}
		for range rng.IntN(12) {
			lo := 1 + rng.Int64N(40)
			hi := lo + rng.Int64N(4)
			if rng.IntN(2) == 0 {
				r.Add(lo)
				m[lo] = true
				continue
			}
			r.AddRange(lo, hi)
			for v := lo; v <= hi; v++ {
				m[v] = true
			}
		}
		return r, m
	}
	for range 2000 {
		a, am := randSet()
		b, bm := randSet()
		wellFormed(t, a)
		require.Equal(t, fmt.Sprint(am.sorted()), fmt.Sprint(elems(a)))
		require.Equal(t, int64(len(am)), a.Count())
		for v := int64(0); v <= 46; v++ {
			require.Equal(t, am[v], a.Contains(v))
		}
		d := a.Minus(b)
		wellFormed(t, d)
		dm := model{}
		for v := range am {
			if !bm[v] {
				dm[v] = true
			}
		}
		require.Equal(t, fmt.Sprint(dm.sorted()), fmt.Sprint(elems(d)), "%v minus %v", a, b)
		u := a.Clone()
		u.Union(b)
		wellFormed(t, u)
		require.True(t, u.Covers(a) && u.Covers(b))
		require.Equal(t, len(dm) == 0, a.Minus(b).Empty())
		require.Equal(t, len(dm) == 0, b.Covers(a))
		n := rng.Int64N(10)
		tk := a.Take(n)
		wellFormed(t, tk)
		want := am.sorted()
		if int64(len(want)) > n {
			want = want[:n]
		}
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(elems(tk)))
	}
}

func TestContextDigestRoundTrip(t *testing.T) {
	var c Context
	for _, d := range []Dot{{"n1", 1}, {"n1", 2}, {"n1", 5}, {"n2", 3}, {"n0", 1}} {
		require.True(t, c.Add(d))
	}
	require.False(t, c.Add(Dot{"n1", 2}))
	require.False(t, c.Add(Dot{"n1", 0}))
	require.Equal(t, "n0:1 n1:1-2,5 n2:3", c.String())
	dg := c.Digest(0)
	raw, err := json.Marshal(dg)
	require.NoError(t, err)
	require.JSONEq(t, `[{"o":"n0","r":[1,1]},{"o":"n1","r":[1,2,5,5]},{"o":"n2","r":[3,3]}]`, string(raw))
	back, err := dg.Context()
	require.NoError(t, err)
	require.True(t, back.Covers(&c) && c.Covers(&back))

	// Truncation keeps the lowest intervals: it under-reports, never lies.
	tr, err := c.Digest(1).Context()
	require.NoError(t, err)
	require.Equal(t, "n0:1 n1:1-2 n2:3", tr.String())

	for _, bad := range []Digest{
		{{Origin: "", Ranges: []int64{1, 1}}},
		{{Origin: "n1", Ranges: []int64{1}}},
		{{Origin: "n1", Ranges: []int64{0, 3}}},
		{{Origin: "n1", Ranges: []int64{4, 3}}},
	} {
		_, err := bad.Context()
		require.Error(t, err, "%v", bad)
	}
}

func TestContextOps(t *testing.T) {
	var a, b Context
	for s := int64(1); s <= 5; s++ {
		a.Add(Dot{"n1", s})
	}
	a.Add(Dot{"n2", 1})
	b.Add(Dot{"n1", 2})
	b.Add(Dot{"n3", 1})
	m := a.Minus(&b)
	require.Equal(t, "n1:1,3-5 n2:1", m.String())
	require.Equal(t, int64(5), m.Count())
	tk := m.Take(3)
	require.Equal(t, "n1:1,3-4", tk.String())
	var seen []string
	m.Each(func(d Dot) bool { seen = append(seen, d.String()); return len(seen) < 2 })
	require.Equal(t, []string{"n1:1", "n1:3"}, seen)
	c := a.Clone()
	c.Subtract(&a)
	require.True(t, c.Empty())
	require.False(t, a.Empty(), "Clone must not share memory")
	a.Union(&b)
	require.Equal(t, []string{"n1", "n2", "n3"}, a.Origins())
}

func TestCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{in: `12`, want: `12`},
		{in: `-7`, want: `-7`},
		{in: ` 12 `, want: `12`},
		{in: `1.0`, want: `1.0`},
		{in: `9007199254740993`, want: `9007199254740993`},
		{in: `123456789012345678901234567890`, want: `123456789012345678901234567890`},
		{in: `"a<b>"`, want: `"a<b>"`},
		{in: `{"b":1, "a":[true,null,{"d":2,"c":"x"}]}`, want: `{"a":[true,null,{"c":"x","d":2}],"b":1}`},
		{in: `null`, want: `null`},
	}
	for _, tc := range cases {
		got, err := Canonical(json.RawMessage(tc.in))
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{``, `{`, `1 2`, `[1,]`, `nul`} {
		_, err := Canonical(json.RawMessage(bad))
		require.Error(t, err, "%q", bad)
	}
}

func TestSetAddInsertRead(t *testing.T) {
	s := New()
	require.Equal(t, "[]", string(s.AppendJSON(nil)))
	d, ok, err := s.Add("n1", json.RawMessage(`{"b":2,"a":1}`))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, Dot{"n1", 1}, d)
	_, ok, err = s.Add("n1", json.RawMessage(`{"a":1, "b":2}`))
	require.NoError(t, err)
	require.False(t, ok, "an equal value is not added twice")
	d2, ok, _ := s.Add("n1", json.RawMessage(`"x"`))
	require.True(t, ok)
	require.Equal(t, int64(2), d2.Seq)

	// The same value under another dot: the dot is recorded, the value read once.
	added, err := s.Insert(Dot{"n2", 1}, json.RawMessage(`"x"`))
	require.NoError(t, err)
	require.True(t, added)
	added, err = s.Insert(Dot{"n2", 1}, json.RawMessage(`"y"`))
	require.NoError(t, err)
	require.False(t, added, "a known dot is not replaced")
	_, err = s.Insert(Dot{"n2", 2}, json.RawMessage(`{`))
	require.Error(t, err)
	_, err = s.Insert(Dot{"n2", 0}, json.RawMessage(`1`))
	require.Error(t, err)
	_, _, err = s.Add("", json.RawMessage(`1`))
	require.Error(t, err)

	require.Equal(t, 2, s.Len())
	require.Equal(t, `[{"a":1,"b":2},"x"]`, string(s.AppendJSON(nil)))
	require.True(t, s.Contains(json.RawMessage(`{"b":2,"a":1}`)))
	v, ok := s.Value(Dot{"n2", 1})
	require.True(t, ok)
	require.Equal(t, `"x"`, string(v))
	require.Equal(t, "n1:1-2 n2:1", s.Context().String())
}

// randomSet builds a replica with random elements of random JSON types,
// some shared with other replicas (same value, different dots).
func randomSet(rng *rand.Rand, origin string) *Set {
	s := New()
	values := []string{`1`, `"a"`, `null`, `true`, `[1,2]`, `{"k":"v"}`, `2.5`, `-3`}
	for range rng.IntN(8) {
		v := values[rng.IntN(len(values))]
		if rng.IntN(3) == 0 {
			v = fmt.Sprintf(`{"u":%d}`, rng.IntN(1000))
		}
		if _, _, err := s.Add(origin, json.RawMessage(v)); err != nil {
			panic(err)
		}
	}
	return s
}

func merged(sets ...*Set) *Set {
	out := New()
	for _, s := range sets {
		out.Merge(s)
	}
	return out
}

// TestMergeLaws: merge is commutative, associative and idempotent, on
// replicas whose states overlap (one replica merges another's state before
// adding its own elements).
func TestMergeLaws(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 2))
	for range 500 {
		a := randomSet(rng, "n1")
		b := randomSet(rng, "n2")
		b.Merge(a)
		if _, _, err := b.Add("n2", json.RawMessage(fmt.Sprintf(`%d`, rng.IntN(100)))); err != nil {
			t.Fatal(err)
		}
		c := randomSet(rng, "n3")
		require.True(t, merged(a, b).Equal(merged(b, a)), "commutative")
		require.True(t, merged(merged(a, b), c).Equal(merged(a, merged(b, c))), "associative")
		require.True(t, merged(a, a).Equal(a), "idempotent")
		all := merged(a, b, c)
		for _, s := range []*Set{a, b, c} {
			for _, v := range s.Values() {
				require.True(t, all.Contains(v), "merge keeps %s", v)
			}
		}
	}
}

func BenchmarkSetInsert(b *testing.B) {
	s := New()
	vals := make([]json.RawMessage, 1024)
	for i := range vals {
		vals[i] = json.RawMessage(fmt.Sprint(i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = s.Insert(Dot{Origin: "n1", Seq: int64(i + 1)}, vals[i%len(vals)])
	}
}

func BenchmarkDigest25(b *testing.B) {
	var c Context
	for o := range 25 {
		c.AddRanges(fmt.Sprintf("n%d", o), Ranges{r: []Range{{Lo: 1, Hi: 40}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Digest(4096)
	}
}
