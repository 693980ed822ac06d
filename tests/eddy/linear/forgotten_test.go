package linear

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

// missing completes p's open op as a failure with Maelstrom's error 20.
func (b *hb) missing(p int64) *hb {
	b.done(p, history.Fail)
	b.h[len(b.h)-1].Error = []any{history.Keyword("key-does-not-exist"), "key does not exist"}
	return b
}

func TestForgottenKey(t *testing.T) {
	ok, fail, info := history.OK, history.Fail, history.Info
	cases := []struct {
		name  string
		build func(b *hb)
		count int64 // forgotten-key cases; 0 for no finding
	}{
		{name: "error 20 before any write", build: func(b *hb) {
			b.read(1).missing(1).write(0, 1).done(0, ok).read(1).readOK(1, int64(1))
		}},
		{name: "error 20 after an acknowledged write", count: 1, build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).missing(1)
		}},
		{name: "cas error 20 after an acknowledged cas", count: 1, build: func(b *hb) {
			b.write(0, 1).done(0, info).cas(2, 1, 2).done(2, ok).cas(1, 2, 3).missing(1)
		}},
		{name: "nil read after an acknowledged write", count: 1, build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).readOK(1, nil)
		}},
		{name: "read concurrent with the first write", build: func(b *hb) {
			b.write(0, 1).read(1).missing(1).done(0, ok)
		}},
		{name: "read invoked before the write completed", build: func(b *hb) {
			b.write(0, 1).read(1).done(0, ok).readOK(1, nil)
		}},
		{name: "indeterminate and failed writes acknowledge nothing", build: func(b *hb) {
			b.write(0, 1).done(0, info).write(2, 2).done(2, fail).read(1).missing(1)
		}},
		{name: "a timed-out read is not a missing key", build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).done(1, fail)
		}},
		{name: "each forgetting counts", count: 3, build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).missing(1).read(2).missing(2).cas(1, 1, 2).missing(1)
		}},
		{name: "another key's write does not count", build: func(b *hb) {
			b.push(history.Invoke, 0, "write", kv(1, int64(5))).push(ok, 0, "write", kv(1, int64(5)))
			b.read(1).missing(1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &hb{}
			tc.build(b)
			res := Check(b.h, Options{})
			found := checker.EddyOnly(res)
			if tc.count == 0 {
				require.Empty(t, found)
				return
			}
			require.Len(t, found, 1)
			f := found[0].(*history.Map)
			a, _ := f.Get("anomaly")
			require.Equal(t, history.Keyword(ForgottenKey), a)
			n, _ := f.Get("count")
			require.Equal(t, tc.count, n)
			cs, _ := f.Get("cases")
			require.Len(t, cs, int(tc.count))
			// Maelstrom's verdict is unchanged; --strict counts the finding.
			require.NotEqual(t, false, valid(t, res))
			results := history.NewMap().Set("workload", res).Set("valid?", valid(t, res))
			require.True(t, checker.ApplyStrict(results))
			v, _ := results.Get("valid?")
			require.Equal(t, false, v)
		})
	}
}

func TestForgottenCasesAreBounded(t *testing.T) {
	b := &hb{}
	b.write(0, 1).done(0, history.OK)
	for range 40 {
		b.read(1).missing(1)
	}
	f := checker.EddyOnly(Check(b.h, Options{}))[0].(*history.Map)
	n, _ := f.Get("count")
	require.Equal(t, int64(40), n)
	cs, _ := f.Get("cases")
	require.Len(t, cs, maxForgottenCases)
}
