package workload

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

func txnParams(seed uint64) Params {
	return Params{Nodes: []string{"n0"}, Concurrency: 2, Rand: rngFor(seed)}
}

func TestTxnGeneratorIsElles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write history.Keyword
	}{{"txn-list-append", "append"}, {"txn-rw-register", "w"}} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(tc.name, txnParams(7))
			require.NoError(t, err)
			require.True(t, w.Reusable)
			next := map[int64]int64{} // key -> next expected value
			lengths := map[int]int{}
			g := w.Generator.(*txnGen)
			maxKey := int64(9)
			const n = 20000
			for range n {
				before := slices.Clone(g.active)
				op, ok := w.Generator.Next(0)
				require.True(t, ok)
				require.Equal(t, "txn", op.F)
				require.Len(t, g.active, 10)
				for _, k := range before {
					if !slices.Contains(g.active, k) {
						require.Equal(t, int64(17), g.next[k], "only a key written 16 times is retired")
					}
				}
				fresh := slices.Max(before)
				for _, k := range slices.Sorted(slices.Values(g.active)) {
					if !slices.Contains(before, k) {
						require.Equal(t, fresh+1, k, "a fresh key is the largest active key plus one")
						fresh = k
					}
				}
				maxKey = max(maxKey, fresh)
				txn := op.Value.([]any)
				lengths[len(txn)]++
				for _, m := range txn {
					mop := m.([]any)
					k := mop[1].(int64)
					require.True(t, slices.Contains(before, k) || slices.Contains(g.active, k), "key %d is not in the pool", k)
					if mop[0] == history.Keyword("r") {
						require.Nil(t, mop[2])
						continue
					}
					require.Equal(t, tc.write, mop[0])
					if next[k] == 0 {
						next[k] = 1
					}
					require.Equal(t, next[k], mop[2], "values per key are 1, 2, 3, ...")
					require.LessOrEqual(t, mop[2].(int64), int64(16))
					next[k]++
				}
			}
			for l := 1; l <= 4; l++ {
				require.InDelta(t, 0.25, float64(lengths[l])/n, 0.02, "length %d", l)
			}
			require.Len(t, lengths, 4)
			require.Greater(t, maxKey, int64(100), "keys retire after 16 writes")
		})
	}
}

// TestTxnKeyBias: the pool's last slot is drawn about half the time (base 2).
func TestTxnKeyBias(t *testing.T) {
	g := newTxnGen(rngFor(3), 10, 4, 1<<40, "w")
	hits := make([]int, 10)
	const n = 100000
	for range n {
		hits[g.randKey()]++
	}
	for i := 0; i < 10; i++ {
		want := float64(int(1)<<(i+1)) / 2046
		require.InDelta(t, want, float64(hits[i])/n, 0.01, "slot %d", i)
	}
}

func TestTxnParams(t *testing.T) {
	p := txnParams(1)
	p.KeyCount, p.MaxTxnLength, p.MaxWritesPerKey = 1, 1, 1
	w, err := New("txn-rw-register", p)
	require.NoError(t, err)
	seen := map[int64]bool{}
	for range 100 {
		op, _ := w.Generator.Next(0)
		txn := op.Value.([]any)
		require.Len(t, txn, 1)
		mop := txn[0].([]any)
		if mop[0] == history.Keyword("w") {
			require.Equal(t, int64(1), mop[2])
			require.False(t, seen[mop[1].(int64)], "one write per key")
			seen[mop[1].(int64)] = true
		}
	}
	for _, bad := range []Params{
		{KeyCount: -1}, {MaxTxnLength: -2}, {MaxWritesPerKey: -1}, {KeyCount: 5000},
		{ConsistencyModels: []string{"serializible"}},
	} {
		bad.Nodes, bad.Concurrency, bad.Rand = []string{"n0"}, 1, rngFor(1)
		_, err := New("txn-list-append", bad)
		require.Error(t, err, "%+v", bad)
	}
}

func TestTxnInvoke(t *testing.T) {
	la := Op{F: "txn", Value: []any{
		[]any{history.Keyword("r"), int64(1), nil},
		[]any{history.Keyword("append"), int64(2), int64(3)},
	}}
	rw := Op{F: "txn", Value: []any{
		[]any{history.Keyword("r"), int64(1), nil},
		[]any{history.Keyword("w"), int64(2), int64(3)},
	}}
	cases := []struct {
		name     string
		workload string
		op       Op
		reply    string
		want     history.Type
		value    any
	}{
		{name: "list-append ok", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,[1,2]],["append",2,3]]}`, want: history.OK,
			value: []any{[]any{history.Keyword("r"), int64(1), []any{int64(1), int64(2)}},
				[]any{history.Keyword("append"), int64(2), int64(3)}}},
		{name: "list-append read of nil", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,null],["append",2,3]]}`, want: history.OK,
			value: []any{[]any{history.Keyword("r"), int64(1), nil}, []any{history.Keyword("append"), int64(2), int64(3)}}},
		{name: "list-append read not a list", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,5],["append",2,3]]}`, want: history.Info},
		{name: "extra field", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,null],["append",2,3]],"extra":1}`, want: history.Info},
		{name: "key changed", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r","1",null],["append",2,3]]}`, want: history.Info},
		{name: "write value changed", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,null],["append",2,4]]}`, want: history.Info},
		{name: "micro-op dropped", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,null]]}`, want: history.Info},
		{name: "wrong function", workload: "txn-list-append", op: la,
			reply: `{"type":"txn_ok","txn":[["r",1,null],["w",2,3]]}`, want: history.Info},
		{name: "txn-conflict is definite", workload: "txn-list-append", op: la,
			reply: `{"type":"error","code":30,"text":"conflict"}`, want: history.Fail, value: la.Value},
		{name: "crash is indeterminate", workload: "txn-list-append", op: la,
			reply: `{"type":"error","code":13}`, want: history.Info, value: la.Value},
		{name: "timeout is indeterminate", workload: "txn-list-append", op: la, want: history.Info, value: la.Value},
		{name: "rw-register ok", workload: "txn-rw-register", op: rw,
			reply: `{"type":"txn_ok","txn":[["r",1,7],["w",2,3]]}`, want: history.OK,
			value: []any{[]any{history.Keyword("r"), int64(1), int64(7)}, []any{history.Keyword("w"), int64(2), int64(3)}}},
		{name: "rw-register read of a string", workload: "txn-rw-register", op: rw,
			reply: `{"type":"txn_ok","txn":[["r",1,"x"],["w",2,3]]}`, want: history.OK,
			value: []any{[]any{history.Keyword("r"), int64(1), history.JSON(`"x"`)}, []any{history.Keyword("w"), int64(2), int64(3)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			net := newFakeNet(func(map[string]any) string { return tc.reply })
			w, err := New(tc.workload, txnParams(1))
			require.NoError(t, err)
			w.Timeout = 50 * time.Millisecond
			c, err := w.Open(net, "c9", "n0")
			require.NoError(t, err)
			out := w.Invoke(context.Background(), c, tc.op)
			require.Equal(t, tc.want, out.Type, "%+v", out)
			if tc.value != nil {
				require.Equal(t, tc.value, out.Value)
			}
			if tc.want == history.Info && tc.reply != "" && tc.reply[9] != 'e' {
				require.NotEmpty(t, out.Exception)
			}
			var req struct {
				Type string            `json:"type"`
				Txn  []json.RawMessage `json:"txn"`
			}
			require.NoError(t, json.Unmarshal([]byte(net.sent[0]), &req))
			require.Equal(t, "txn", req.Type)
			require.Equal(t, `["r",1,null]`, string(req.Txn[0]))
		})
	}
}
