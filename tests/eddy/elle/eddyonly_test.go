package elle

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

// eddyOnlyTypes lists the :anomaly of each eddy-only finding.
func eddyOnlyTypes(m *history.Map) []string {
	var out []string
	for _, f := range checker.EddyOnly(m) {
		a, _ := f.(*history.Map).Get("anomaly")
		out = append(out, string(a.(history.Keyword)))
	}
	return out
}

// TestGarbageReadRegisterIsEddyOnly: a read of a value nobody wrote adds
// nothing in Elle's rw-register, so the verdict is Maelstrom's (valid);
// the read is an eddy-only finding where the models prohibit G1a, which
// ApplyStrict turns into a failure.
func TestGarbageReadRegisterIsEddyOnly(t *testing.T) {
	h := withBackground(RWRegister, func(b *tb) { b.start(1, w(1, 1)).start(2, r(1, 7)).end(1, ok).end(2, ok) })
	for _, m := range fourModels {
		res := Check(h, Options{Kind: RWRegister, Models: []string{m}})
		require.Equal(t, true, get(t, res, "valid?"), "%s: %s", m, render(res))
		if m == "read-uncommitted" {
			require.Empty(t, eddyOnlyTypes(res), "%s: G1a is allowed", m)
			continue
		}
		require.Equal(t, []string{"garbage-read"}, eddyOnlyTypes(res), "%s", m)
		top := checker.Compose(checker.Part{Key: "workload", Result: res})
		require.Equal(t, true, get(t, top, "valid?"))
		require.True(t, checker.ApplyStrict(top))
		require.Equal(t, false, get(t, top, "valid?"), "%s", m)
	}
}

// TestGarbageReadAppendIsUnknown: Elle's list-append fails an assertion on
// an element nobody appended, so Maelstrom's workload result is :unknown;
// eddy says so and lists the read as eddy-only.
func TestGarbageReadAppendIsUnknown(t *testing.T) {
	h := withBackground(ListAppend, func(b *tb) { b.start(1, a(1, 1)).start(2, r(1, l(1, 7))).end(1, ok).end(2, ok) })
	for _, m := range fourModels {
		res := Check(h, Options{Kind: ListAppend, Models: []string{m}})
		require.Equal(t, checker.Unknown, get(t, res, "valid?"), "%s: %s", m, render(res))
		require.Equal(t, "Assert failed: No transaction wrote 1 = 7", get(t, res, "error"))
		require.Equal(t, []string{"garbage-read"}, eddyOnlyTypes(res))
		require.Equal(t, false, get(t, Check(h, Options{Kind: ListAppend, Models: []string{m}, Strict: true}), "valid?"))
	}
	good := withBackground(ListAppend, func(b *tb) { b.start(1, a(1, 1)).start(2, r(1, l(1))).end(1, ok).end(2, ok) })
	res := Check(good, Options{Kind: ListAppend})
	require.Equal(t, true, get(t, res, "valid?"), "%s", render(res))
	require.Empty(t, eddyOnlyTypes(res))
}

// TestZeroForUnwrittenKeys is Fly.io's challenge 6c answered by a node
// that reads 0 for a key nobody wrote (a published solution does): valid
// under Maelstrom at read-committed, with the reads of 0 as an eddy-only
// warning, and invalid once --strict counts it.
func TestZeroForUnwrittenKeys(t *testing.T) {
	b := newTB()
	b.txn(1, ok, r(1, 0), w(2, 1))
	b.txn(2, ok, r(2, 1), w(1, 2))
	b.txn(3, ok, r(3, 0), r(1, 2))
	b.txn(1, ok, w(3, 3), r(2, 1))
	b.txn(2, ok, r(4, 0))
	res := Check(b.h, Options{Kind: RWRegister, Models: []string{"read-committed"}})
	require.Equal(t, true, get(t, res, "valid?"), "%s", render(res))
	require.Equal(t, []string{"garbage-read"}, eddyOnlyTypes(res))
	f := checker.EddyOnly(res)[0].(*history.Map)
	require.Equal(t, int64(3), get(t, f, "count"))
	require.Contains(t, get(t, f, "explanation"), "--strict")

	top := checker.Compose(checker.Part{Key: "workload", Result: res})
	require.Equal(t, true, get(t, top, "valid?"))
	checker.ApplyStrict(top)
	require.Equal(t, false, get(t, top, "valid?"))
}

// TestRealtimeVersionsAreEddyOnly: G0 on rw-register shows only when the
// version order follows real time (every key linearizable, under
// strict-serializable), which Maelstrom's Elle does not infer: the
// verdict is valid, G0 an eddy-only finding with its explanation file.
func TestRealtimeVersionsAreEddyOnly(t *testing.T) {
	bad := withBackground(RWRegister, func(b *tb) {
		b.start(1, w(1, 1), w(2, 1)).start(2, w(1, 2), w(2, 2)).end(1, ok).end(2, ok).
			txn(3, ok, r(1, 2), r(2, 1))
	})
	good := withBackground(RWRegister, func(b *tb) {
		b.start(1, w(1, 1), w(2, 1)).start(2, w(1, 2), w(2, 2)).end(1, ok).end(2, ok).
			txn(3, ok, r(1, 2), r(2, 2))
	})
	for _, m := range fourModels {
		files := map[string]string{}
		res := Check(bad, Options{Kind: RWRegister, Models: []string{m}, WriteFile: func(name string, data []byte) error {
			files[name] = string(data)
			return nil
		}})
		require.Equal(t, true, get(t, res, "valid?"), "%s: %s", m, render(res))
		if m != "strict-serializable" {
			require.Empty(t, eddyOnlyTypes(res), m)
			continue
		}
		require.Equal(t, []string{"G0"}, eddyOnlyTypes(res))
		require.Equal(t, false, get(t, Check(bad, Options{Kind: RWRegister, Models: []string{m}, Strict: true}), "valid?"))
		require.Contains(t, files["elle/eddy-only/G0.txt"], "inferred from real-time order")
		require.Empty(t, eddyOnlyTypes(Check(good, Options{Kind: RWRegister, Models: []string{m}})))
	}
}

// TestInfoWriteEdgesAreEddyOnly: Elle relates committed transactions
// only. T1, indeterminate, writes x=1 and z=1; T2 reads x=1 but z=nil, a
// fractured read (G-single) only visible through T1's edges: eddy-only.
func TestInfoWriteEdgesAreEddyOnly(t *testing.T) {
	h := withBackground(RWRegister, func(b *tb) {
		b.start(1, w(1, 1), w(3, 1)).start(2, r(1, 1), r(3, nil)).end(1, info).end(2, ok)
	})
	for _, m := range []string{"read-committed", "serializable"} {
		res := Check(h, Options{Kind: RWRegister, Models: []string{m}})
		require.Equal(t, true, get(t, res, "valid?"), "%s: %s", m, render(res))
		if m == "read-committed" {
			require.Empty(t, eddyOnlyTypes(res), "G-single is allowed")
			continue
		}
		require.Equal(t, []string{"G-single"}, eddyOnlyTypes(res), "%s", render(res))
	}
}

// TestFutureReadRegisterIsEddyOnly: Elle looks for future reads in
// list-append only; in rw-register they are eddy-only where G1c is
// prohibited.
func TestFutureReadRegisterIsEddyOnly(t *testing.T) {
	bad := withBackground(RWRegister, func(b *tb) { b.txn(1, ok, r(1, 1), w(1, 1)) })
	for _, m := range fourModels {
		res := Check(bad, Options{Kind: RWRegister, Models: []string{m}})
		require.Equal(t, true, get(t, res, "valid?"), "%s: %s", m, render(res))
		if m == "read-uncommitted" {
			require.Empty(t, eddyOnlyTypes(res))
			continue
		}
		require.Equal(t, []string{"future-read"}, eddyOnlyTypes(res), m)
	}
	good := withBackground(RWRegister, func(b *tb) { b.txn(1, ok, w(1, 1), r(1, 1)) })
	require.Empty(t, eddyOnlyTypes(Check(good, Options{Kind: RWRegister})))
}

// TestCyclicVersionsDropWFREverywhere: as in Elle, when writes-follow-reads
// makes one key's versions cyclic, the source is left out for every key,
// so a G-single that needs another key's wfr order is not reported.
func TestCyclicVersionsDropWFREverywhere(t *testing.T) {
	gsingle := func(b *tb) {
		b.txn(4, ok, w(2, 1))
		b.txn(5, ok, r(2, 1), w(2, 2), w(4, 1))
		b.txn(6, ok, r(2, 1), r(4, 1))
	}
	res := Check(withBackground(RWRegister, gsingle), Options{Kind: RWRegister, Models: []string{"serializable"}})
	require.Contains(t, anomalyTypes(res), "G-single", "%s", render(res))

	h := withBackground(RWRegister, func(b *tb) {
		b.start(1, r(1, nil), w(1, 3)).start(2, r(1, nil), w(1, 2))
		b.full[1] = []any{r(1, 2), w(1, 3)}
		b.full[2] = []any{r(1, 3), w(1, 2)}
		b.end(1, ok).end(2, ok)
		gsingle(b)
	})
	res = Check(h, Options{Kind: RWRegister, Models: []string{"serializable"}})
	require.Equal(t, false, get(t, res, "valid?"))
	require.Contains(t, anomalyTypes(res), "cyclic-versions", "%s", render(res))
	require.NotContains(t, anomalyTypes(res), "G-single", "%s", render(res))
}
