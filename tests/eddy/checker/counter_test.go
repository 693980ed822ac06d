package checker

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// acceptable builds the expected :acceptable list.
func acceptable(pairs ...[2]int64) history.List {
	out := history.List{}
	for _, p := range pairs {
		out = append(out, []any{p[0], p[1]})
	}
	return out
}

func TestCounter(t *testing.T) {
	type want struct {
		valid      any
		errs       []int64 // indexes of bad reads; nil: :errors nil
		finals     history.List
		acceptable history.List
	}
	cases := []struct {
		name string
		h    history.History
		want want
	}{
		{
			name: "no final reads is trivially valid",
			h:    newHB().add("add", 0, int64(3), 0, 1).read(1, 2, 3, 99).h,
			want: want{valid: true, finals: history.List{}, acceptable: acceptable([2]int64{3, 3})},
		},
		{
			name: "definite sum of ok adds, negative deltas included",
			h: newHB().add("add", 0, int64(3), 0, 1).add("add", 0, int64(-5), 2, 3).
				inv(4, 1, "read", nil).ok(5, 1, "read", int64(-2)).final().h,
			want: want{valid: true, finals: list(-2), acceptable: acceptable([2]int64{-2, -2})},
		},
		{
			name: "info adds expand the set both ways, fail adds are excluded",
			// definite 3; maybe +5 and -2: {1, 3, 6, 8}.
			h: newHB().add("add", 0, int64(1), 0, 1).add("add", 0, int64(2), 2, 3).
				inv(4, 0, "add", int64(5)).info(5, 0, "add", int64(5)).
				inv(6, 2, "add", int64(-2)).info(7, 2, "add", int64(-2)).
				inv(8, 3, "add", int64(100)).fail(9, 3, "add", int64(100)).
				inv(10, 1, "read", nil).ok(11, 1, "read", int64(6)).final().
				inv(12, 1, "read", nil).ok(13, 1, "read", int64(4)).final().
				inv(14, 1, "read", nil).ok(15, 1, "read", int64(103)).final().h,
			want: want{valid: false, errs: []int64{13, 15}, finals: list(6, 4, 103),
				acceptable: acceptable([2]int64{1, 1}, [2]int64{3, 3}, [2]int64{6, 6}, [2]int64{8, 8})},
		},
		{
			name: "adjacent values merge into one interval",
			h: newHB().add("add", 0, int64(3), 0, 1).
				inv(2, 0, "add", int64(1)).info(3, 0, "add", int64(1)).
				inv(4, 2, "add", int64(1)).info(5, 2, "add", int64(1)).
				inv(6, 1, "read", nil).ok(7, 1, "read", int64(5)).final().h,
			want: want{valid: true, finals: list(5), acceptable: acceptable([2]int64{3, 5})},
		},
		{
			name: "an add that never completed is indeterminate",
			h: newHB().inv(0, 0, "add", int64(4)).
				inv(6, 1, "read", nil).ok(7, 1, "read", int64(4)).final().h,
			want: want{valid: true, finals: list(4), acceptable: acceptable([2]int64{0, 0}, [2]int64{4, 4})},
		},
		{
			name: "non-final and non-ok reads are ignored; final flag on the invocation counts",
			h: newHB().add("add", 0, int64(2), 0, 1).
				read(1, 2, 3, 50).
				inv(4, 1, "read", nil).final().info(5, 1, "read", nil).final().
				inv(6, 1, "read", nil).final().ok(7, 1, "read", int64(2)).h,
			want: want{valid: true, finals: list(2), acceptable: acceptable([2]int64{2, 2})},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Counter(tc.h)
			require.Equal(t, []string{"valid?", "errors", "final-reads", "acceptable"}, r.Keys())
			require.Equal(t, tc.want.valid, get(t, r, "valid?"))
			errs := get(t, r, "errors")
			if tc.want.errs == nil {
				require.Nil(t, errs)
			} else {
				var idx []int64
				for _, e := range errs.(history.List) {
					idx = append(idx, get(t, e.(*history.Map), "index").(int64))
				}
				require.Equal(t, tc.want.errs, idx)
			}
			requireSame(t, tc.want.finals, get(t, r, "final-reads"))
			requireSame(t, tc.want.acceptable, get(t, r, "acceptable"))
		})
	}
}

func TestCounterBadInput(t *testing.T) {
	h := newHB().inv(0, 0, "add", "x").ok(1, 0, "add", "x").h
	require.Equal(t, Unknown, get(t, Counter(h), "valid?"))
	h = newHB().inv(0, 1, "read", nil).ok(1, 1, "read", history.JSON("1.5")).final().h
	require.Equal(t, Unknown, get(t, Counter(h), "valid?"))
}

// bruteAcceptable enumerates definite + every subset sum of maybe.
func bruteAcceptable(definite int64, maybe []int64) map[int64]bool {
	set := map[int64]bool{definite: true}
	for _, d := range maybe {
		next := map[int64]bool{}
		for v := range set {
			next[v] = true
			next[v+d] = true
		}
		set = next
	}
	return set
}

func TestCounterMatchesBruteForce(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	for iter := range 500 {
		b := newHB()
		var definite int64
		var maybe []int64
		for i := range 1 + rng.IntN(12) {
			d := rng.Int64N(41) - 20
			b.inv(int64(i), 0, "add", d)
			switch rng.IntN(3) {
			case 0:
				b.ok(int64(i), 0, "add", d)
				definite += d
			case 1:
				b.info(int64(i), 0, "add", d)
				maybe = append(maybe, d)
			default:
				b.fail(int64(i), 0, "add", d)
			}
		}
		want := bruteAcceptable(definite, maybe)
		probe := definite + rng.Int64N(81) - 40
		b.inv(100, 1, "read", nil).ok(101, 1, "read", probe).final()
		r := Counter(b.h)
		got := map[int64]bool{}
		for _, iv := range get(t, r, "acceptable").(history.List) {
			p := iv.([]any)
			for v := p[0].(int64); v <= p[1].(int64); v++ {
				got[v] = true
			}
		}
		require.Equal(t, want, got, "seed %d iteration %d", seed, iter)
		require.Equal(t, want[probe], get(t, r, "valid?"), "seed %d iteration %d", seed, iter)
	}
}

func TestCounterManyInfoAddsStayFast(t *testing.T) {
	// 20000 indeterminate adds with Maelstrom's deltas collapse to one
	// interval; the check must stay linear.
	rng := rand.New(rand.NewPCG(7, 7))
	b := newHB()
	var lo, hi int64
	for i := range 20_000 {
		d := rng.Int64N(10) - 5
		b.inv(int64(i), 0, "add", d).info(int64(i), 0, "add", d)
		if d < 0 {
			lo += d
		} else {
			hi += d
		}
	}
	b.inv(30_000, 1, "read", nil).ok(30_001, 1, "read", hi).final()
	start := time.Now()
	r := Counter(b.h)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, true, get(t, r, "valid?"))
	requireSame(t, acceptable([2]int64{lo, hi}), get(t, r, "acceptable"))
}

func TestCounterIntervalCap(t *testing.T) {
	// Powers of two far apart: 2^20 distinct subset sums, far past the cap.
	b := newHB()
	for i := range 20 {
		d := int64(1) << (2*i + 10)
		b.inv(int64(i), 0, "add", d).info(int64(i), 0, "add", d)
	}
	inside := newHB()
	inside.h = append(history.History(nil), b.h...)
	inside.inv(100, 1, "read", nil).ok(101, 1, "read", int64(1<<10)).final()
	r := Counter(inside.h)
	require.Equal(t, Unknown, get(t, r, "valid?"))
	require.Contains(t, get(t, r, "error"), "over-approximated")
	require.LessOrEqual(t, len(get(t, r, "acceptable").(history.List)), maxAcceptableIntervals)

	outside := newHB()
	outside.h = append(history.History(nil), b.h...)
	outside.inv(100, 1, "read", nil).ok(101, 1, "read", int64(-1)).final()
	require.Equal(t, false, get(t, Counter(outside.h), "valid?"))
}

func TestCoarsenKeepsMembers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var set []interval
	var at int64
	for range 100 {
		at += 2 + rng.Int64N(50)
		lo := at
		at += rng.Int64N(5)
		set = append(set, interval{lo, at})
	}
	c := coarsen(set, 10)
	require.LessOrEqual(t, len(c), 10)
	require.True(t, sort.SliceIsSorted(c, func(i, j int) bool { return c[i].lo < c[j].lo }))
	for _, iv := range set {
		require.True(t, contains(c, iv.lo) && contains(c, iv.hi))
	}
}
