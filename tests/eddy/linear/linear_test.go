package linear

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

// hb builds lin-kv histories: values are Jepsen's [key value] tuples.
type hb struct{ h history.History }

func (b *hb) push(t history.Type, p int64, f string, v any) *hb {
	i := int64(len(b.h))
	b.h = append(b.h, history.Op{Index: i, Time: i * 1_000_000, Type: t, Process: p, F: f, Value: v})
	return b
}

func kv(k int64, v any) []any { return []any{k, v} }

func cas(k, from, to int64) []any { return []any{k, []any{from, to}} }

// Invocations and completions on key 0 unless the value says otherwise.
func (b *hb) read(p int64) *hb          { return b.push(history.Invoke, p, "read", kv(0, nil)) }
func (b *hb) readOK(p int64, v any) *hb { return b.push(history.OK, p, "read", kv(0, v)) }
func (b *hb) write(p, v int64) *hb      { return b.push(history.Invoke, p, "write", kv(0, v)) }
func (b *hb) cas(p, from, to int64) *hb { return b.push(history.Invoke, p, "cas", cas(0, from, to)) }
func (b *hb) done(p int64, t history.Type) *hb {
	for i := len(b.h) - 1; i >= 0; i-- {
		if b.h[i].Process == p && b.h[i].Type == history.Invoke {
			return b.push(t, p, b.h[i].F, b.h[i].Value)
		}
	}
	panic("no invocation")
}
func (b *hb) nemesis(f string, v any) *hb { return b.push(history.Info, history.Nemesis, f, v) }

func valid(t *testing.T, res *history.Map) any {
	t.Helper()
	v, ok := res.Get("valid?")
	require.True(t, ok)
	return v
}

func TestClassicRegisterHistories(t *testing.T) {
	const (
		ok   = history.OK
		fail = history.Fail
		info = history.Info
	)
	cases := []struct {
		name  string
		build func(b *hb)
		want  any
	}{
		{name: "sequential write and read", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).readOK(1, int64(1))
		}},
		{name: "stale read", want: false, build: func(b *hb) {
			b.write(0, 1).done(0, ok).write(0, 2).done(0, ok).read(1).readOK(1, int64(1))
		}},
		{name: "read concurrent with a write sees either", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).write(0, 2).read(1).readOK(1, int64(1)).read(2).readOK(2, int64(2)).done(0, ok)
		}},
		{name: "lost write", want: false, build: func(b *hb) {
			b.write(0, 3).done(0, ok).read(1).readOK(1, int64(3)).write(0, 4).done(0, ok).read(1).readOK(1, int64(3))
		}},
		{name: "cas race: both succeed", want: false, build: func(b *hb) {
			b.write(0, 0).done(0, ok).cas(1, 0, 1).cas(2, 0, 2).done(1, ok).done(2, ok)
		}},
		{name: "cas race: one fails", want: true, build: func(b *hb) {
			b.write(0, 0).done(0, ok).cas(1, 0, 1).cas(2, 0, 2).done(1, ok).done(2, fail).read(3).readOK(3, int64(1))
		}},
		{name: "cas from a value never held", want: false, build: func(b *hb) {
			b.write(0, 1).done(0, ok).cas(1, 2, 3).done(1, ok)
		}},
		{name: "failed write never happened", want: false, build: func(b *hb) {
			b.write(0, 5).done(0, fail).read(1).readOK(1, int64(5))
		}},
		{name: "indeterminate write may apply later", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).write(0, 2).done(0, info).read(1).readOK(1, int64(1)).read(1).readOK(1, int64(2))
		}},
		{name: "indeterminate write may never apply", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).write(0, 2).done(0, info).read(1).readOK(1, int64(1))
		}},
		{name: "indeterminate write cannot be undone", want: false, build: func(b *hb) {
			b.write(0, 1).done(0, ok).write(0, 2).done(0, info).read(1).readOK(1, int64(2)).read(1).readOK(1, int64(1))
		}},
		{name: "indeterminate cas applies or not", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).cas(0, 1, 3).done(0, info).read(1).readOK(1, int64(1)).read(2).readOK(2, int64(3))
		}},
		{name: "indeterminate cas cannot apply twice", want: false, build: func(b *hb) {
			b.write(0, 1).done(0, ok).cas(0, 1, 3).done(0, info).read(1).readOK(1, int64(3)).
				write(2, 1).done(2, ok).read(1).readOK(1, int64(3))
		}},
		{name: "invocation without completion is indeterminate", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).write(5, 2).read(1).readOK(1, int64(2))
		}},
		{name: "nil read is legal anywhere (Knossos)", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).readOK(1, nil)
		}},
		{name: "failed and indeterminate reads constrain nothing", want: true, build: func(b *hb) {
			b.write(0, 1).done(0, ok).read(1).done(1, fail).read(2).done(2, info)
		}},
		{name: "overlapping ops and info ops, legal", want: true, build: func(b *hb) {
			b.write(0, 1).cas(1, 1, 2).read(2).write(3, 4).
				readOK(2, int64(1)).done(1, ok).done(0, ok).done(3, info).
				read(2).readOK(2, int64(2)).read(2).readOK(2, int64(4))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &hb{}
			tc.build(b)
			res := Check(b.h, Options{})
			require.Equal(t, tc.want, valid(t, res), "%s", render(res))
			if tc.want == false {
				require.Equal(t, []any{int64(0)}, get(t, res, "failures"))
			}
		})
	}
}

func get(t *testing.T, m *history.Map, path ...string) any {
	t.Helper()
	var v any = m
	for _, k := range path {
		mm, ok := v.(*history.Map)
		require.True(t, ok, "%v at %q", v, k)
		v, ok = mm.Get(k)
		require.True(t, ok, "no %q in %s", k, render(mm))
	}
	return v
}

// TestKeysAndFiles: keys are checked independently and reported in order;
// a failing key gets its visualization with the partition annotated, and
// a stretch that points at the stale read, not at the long legal prefix.
func TestKeysAndFiles(t *testing.T) {
	b := &hb{}
	b.nemesis("start-partition", history.Keyword("majority"))
	for i := int64(0); i < 50; i++ { // a long legal prefix on key 1
		b.push(history.Invoke, 0, "write", kv(1, i%5)).done(0, history.OK)
		b.push(history.Invoke, 1, "read", kv(1, nil)).push(history.OK, 1, "read", kv(1, i%5))
	}
	b.push(history.Invoke, 0, "write", kv(1, int64(3))).done(0, history.OK)
	staleFrom := int64(len(b.h))
	b.push(history.Invoke, 0, "write", kv(1, int64(4))).done(0, history.OK)
	b.push(history.Invoke, 1, "read", kv(1, nil)).push(history.OK, 1, "read", kv(1, int64(3)))
	staleTo := int64(len(b.h) - 1)
	b.nemesis("stop-partition", history.Keyword("network-healed"))
	b.write(2, 1).done(2, history.OK).read(3).readOK(3, int64(1)) // key 0, fine

	files := map[string][]byte{}
	res := Check(b.h, Options{WriteFile: func(n string, d []byte) error { files[n] = d; return nil }})
	require.Equal(t, false, valid(t, res))
	require.Equal(t, []any{int64(1)}, get(t, res, "failures"))
	results := get(t, res, "results").(*history.Map)
	require.Equal(t, []string{"0", "1"}, results.Keys())
	require.Equal(t, true, get(t, results, "0", "valid?"))
	st := get(t, results, "1", "linearizable", "stretch").(*history.Map)
	require.Equal(t, staleFrom, get(t, st, "from-index"))
	require.Equal(t, staleTo, get(t, st, "to-index"))
	require.Equal(t, int64(2), get(t, st, "op-count"))
	require.Equal(t, history.Keyword("unknown"), get(t, st, "initial-value"))
	html := string(files["independent/1/linear.html"])
	require.Contains(t, html, "partition")
	require.Contains(t, html, "shortest non-linearizable stretch")
	require.Equal(t, "independent/1/linear.html", get(t, results, "1", "linearizable", "file"))
	require.Contains(t, get(t, results, "1", "linearizable", "explanation"), "key 1: the 2 operations")
}

func TestStretchFromTheStart(t *testing.T) {
	// A read of 3 before anyone wrote: only the initial nil explains it.
	b := &hb{}
	b.read(0).readOK(0, int64(3)).write(1, 3).done(1, history.OK)
	res := Check(b.h, Options{})
	st := get(t, res, "results", "0", "linearizable", "stretch").(*history.Map)
	require.Nil(t, get(t, st, "initial-value"))
	require.Equal(t, int64(0), get(t, st, "from-index"))
}

func TestTimeoutIsUnknown(t *testing.T) {
	h := synthLinKV(3, 2000, 10, 0.05)
	res := Check(h, Options{Timeout: time.Nanosecond})
	require.Equal(t, checker.Unknown, valid(t, res))
	for _, k := range get(t, res, "results").(*history.Map).Keys() {
		v := get(t, res, "results", k, "linearizable")
		if get(t, v.(*history.Map), "valid?") == checker.Unknown {
			require.True(t, strings.HasPrefix(get(t, v.(*history.Map), "error").(string), "porcupine found no linearization"))
			return
		}
	}
	t.Fatal("no key timed out")
}

func TestBadInput(t *testing.T) {
	h := history.History{{Index: 0, Type: history.Invoke, Process: 0, F: "read", Value: "nope"}}
	res := Check(h, Options{})
	require.Equal(t, checker.Unknown, valid(t, res))
	require.Contains(t, get(t, res, "error"), "not a [key value] tuple")
}
