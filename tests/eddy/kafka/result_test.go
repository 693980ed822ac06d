package kafka

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

func ednOf(t *testing.T, v any) string {
	t.Helper()
	b, err := edn.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestResultShape pins the result's keys, their order and their values
// for a history with a poll skip, a crash and a realtime lag.
func TestResultShape(t *testing.T) {
	b := newHB().sends(0, "1", 3)
	b.start(2, FCrash, nil, nil).end(2, info)
	b.poll(1, pm("1", seq(0, 0))).poll(1, pm("1", seq(2, 2))).poll(3, pm("1", seq(0, 2)))
	res := Check(b.h, Options{})
	require.Equal(t, `{:bad-error-types (:poll-skip), :error-types (:poll-skip), :info-txn-causes (), `+
		`:poll-skip {:count 1, :errs ({:key "1", :delta 2, :skipped (2), :ops [`+
		`{:index 9, :time 9000000, :type :ok, :process 1, :f :poll, :value [[:poll {"1" [[0 1]]}]]} `+
		`{:index 11, :time 11000000, :type :ok, :process 1, :f :poll, :value [[:poll {"1" [[2 3]]}]]}]})}, `+
		`:valid? false, :worst-realtime-lag {:time 0.008, :process 1, :key "1", :lag 0.005}}`, ednOf(t, res))
}

// TestEmptyHistory: nothing happened, which Jepsen's kafka checker (by
// way of Elle's empty-transaction-graph) calls invalid.
func TestEmptyHistory(t *testing.T) {
	require.Equal(t, `{:bad-error-types (:empty-transaction-graph), :empty-transaction-graph {:count 1, :errs true}, `+
		`:error-types (:empty-transaction-graph), :info-txn-causes (), :valid? false, `+
		`:worst-realtime-lag {:time 0.0, :lag 0.0}}`, ednOf(t, Check(nil, Options{})))
}

// TestCondense: poll skips keep the 8 largest deltas, the count stays
// the full number.
func TestCondense(t *testing.T) {
	b := newHB().sends(0, "1", 70)
	b.poll(1, pm("1", seq(0, 0)))
	off := int64(0)
	for d := int64(2); d <= 11; d++ {
		off += d
		b.poll(1, pm("1", seq(off, off)))
	}
	b.poll(2, pm("1", seq(0, 69)))
	a := Analyze(b.h)
	require.Len(t, a.Cases("poll-skip"), 10)
	m, _ := a.Result().Get("poll-skip")
	errs, _ := m.(*history.Map).Get("errs")
	require.Len(t, errs, 8)
	first, _ := errs.(history.List)[0].(*history.Map).Get("delta")
	require.Equal(t, int64(4), first)
	n, _ := m.(*history.Map).Get("count")
	require.Equal(t, int64(10), n)
}

// TestWriteFiles: Check writes the explanations and consume counts.
func TestWriteFiles(t *testing.T) {
	files := map[string]string{}
	b := newHB().sends(0, "1", 2).poll(1, pm("1", seq(1, 1)))
	Check(b.h, Options{WriteFile: func(name string, data []byte) error {
		files[name] = string(data)
		return nil
	}})
	require.Equal(t, "{:distribution {}, :dup-counts {}}\n", files["consume-counts.edn"])
	require.Contains(t, files["kafka-anomalies.txt"], `lost-write: key "1": message 1, sent by process 0's ok send (op 1) at offset 0, was never polled`)
}

// TestGarbageValues: malformed op values are skipped, never a panic.
func TestGarbageValues(t *testing.T) {
	bad := []any{
		nil, int64(3), "x", []any{}, []any{nil}, []any{[]any{}}, []any{[]any{kw("send")}},
		[]any{[]any{kw("send"), int64(1), int64(2)}}, []any{[]any{kw("send"), "k", []any{"x"}}},
		[]any{[]any{kw("send"), "k", []any{"x", int64(1)}}}, []any{[]any{kw("poll"), "notamap"}},
		[]any{[]any{kw("poll"), pm("k", [][2]int64(nil))}}, []any{[]any{kw("send"), "k", []any{int64(-4), int64(1)}}},
		[]any{[]any{kw("nope"), "k"}}, []any{[]any{kw("send"), "k", struct{}{}}},
	}
	var h history.History
	for i, v := range bad {
		for _, f := range []string{FSend, FPoll, FAssign, FTxn} {
			p := int64(i)
			h = append(h, history.Op{Index: int64(len(h)), Type: history.Invoke, Process: p, F: f, Value: v})
			h = append(h, history.Op{Index: int64(len(h)), Type: history.OK, Process: p, F: f, Value: v})
		}
	}
	m := history.NewMap()
	m.Set("k", []any{"x", []any{int64(1)}, []any{int64(1), int64(2), int64(3)}, []any{"o", int64(1)}})
	h = append(h, history.Op{Index: int64(len(h)), Type: history.OK, Process: 99, F: FPoll, Value: []any{[]any{kw("poll"), m}}})
	require.NotPanics(t, func() { Check(h, Options{}) })
}

// TestWriteFailure: a run folder that cannot be written leaves the verdict
// and says so.
func TestWriteFailure(t *testing.T) {
	b := newHB().sends(0, "1", 1).poll(1, pm("1", seq(0, 0)))
	res := Check(b.h, Options{WriteFile: func(string, []byte) error { return errors.New("disk full") }})
	v, _ := res.Get("valid?")
	require.Equal(t, true, v)
	e, _ := res.Get("error")
	require.Equal(t, "disk full", e)
}

// TestRealtimeCycleShape pins a G1c-realtime case and its explanation.
func TestRealtimeCycleShape(t *testing.T) {
	b := newHB().poll(1, pm("7", seq(0, 0))).send(0, ok, "7", 0, 1)
	cs := Analyze(b.h).Cases("G1c-realtime")
	require.Len(t, cs, 1)
	require.Equal(t, `{:type :G1c-realtime, :cycle [3 1 3], :steps [{:type :wr, :key "7", :value 1, :a-mop-index 0, :b-mop-index 0} `+
		`{:type :realtime, :completed 1, :invoked 2}]}`, ednOf(t, brief(cs[0].Map())))
	require.Equal(t, `T3 < T1, because T3 sent 1 to "7" which was polled by T1. However, T1 < T3, because T1 completed at index 1, `+
		`before the invocation of T3, at index 2: a contradiction!`, cs[0].Text)
}

// TestLongSkipExplained: a skip over many messages names the first eight
// in its explanation and all of them in the result.
func TestLongSkipExplained(t *testing.T) {
	b := newHB().sends(0, "1", 12).poll(1, pm("1", [][2]int64{{0, 1}, {11, 12}})).poll(2, pm("1", seq(0, 11)))
	a := Analyze(b.h)
	cs := a.Cases("int-poll-skip")
	require.Len(t, cs, 1)
	require.Contains(t, cs[0].Text, "skipping (2 3 4 5 6 7 8 9 ...), 10 messages in all")
	sk, _ := cs[0].Map().Get("skipped")
	require.Equal(t, "(2 3 4 5 6 7 8 9 10 11)", ednOf(t, sk))
}

// TestNonmonotonicExplained: explanations say how far back a message went.
func TestNonmonotonicExplained(t *testing.T) {
	b := newHB().sends(0, "1", 3).poll(1, pm("1", [][2]int64{{2, 3}, {0, 1}, {0, 1}}))
	var texts []string
	for _, c := range Analyze(b.h).Cases("int-nonmonotonic-poll") {
		texts = append(texts, c.Text)
	}
	require.Equal(t, []string{
		`key "1": within process 1's ok poll (op 7), message 1 (offset 0) came after 3 (offset 2), 2 positions earlier in the log`,
		`key "1": within process 1's ok poll (op 7), message 1 (offset 0) came after 1 (offset 0), at the same position in the log`,
	}, texts)
}

// TestUnseenExplained: unseen messages are named with their offsets and
// sends.
func TestUnseenExplained(t *testing.T) {
	b := newHB().sends(0, "1", 3).poll(1, pm("1", seq(0, 0)))
	require.Equal(t, []string{`unseen: key "1": 2 acknowledged messages were never polled: 2 (offset 1, op 3), 3 (offset 2, op 5)`},
		Analyze(b.h).Explain())
}
