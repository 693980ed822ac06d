package edn

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

func TestOpForms(t *testing.T) {
	cases := []struct {
		name string
		op   history.Op
		edn  string
		json string
		text string
	}{
		{
			name: "invoke",
			op:   history.Op{Index: 0, Time: 12345, Type: history.Invoke, Process: 0, F: "broadcast", Value: int64(0)},
			edn:  `{:index 0, :time 12345, :type :invoke, :process 0, :f :broadcast, :value 0}`,
			json: `{"index":0,"time":12345,"type":"invoke","process":0,"f":"broadcast","value":0}`,
			text: "0\t:invoke\t:broadcast\t0",
		},
		{
			name: "read nil",
			op:   history.Op{Index: 1, Time: 2, Type: history.Invoke, Process: 3, F: "read"},
			edn:  `{:index 1, :time 2, :type :invoke, :process 3, :f :read, :value nil}`,
			json: `{"index":1,"time":2,"type":"invoke","process":3,"f":"read","value":null}`,
			text: "3\t:invoke\t:read\tnil",
		},
		{
			name: "ok json value",
			op:   history.Op{Index: 5, Time: 99, Type: history.OK, Process: 1, F: "generate", Value: history.JSON(`"n1-7"`)},
			edn:  `{:index 5, :time 99, :type :ok, :process 1, :f :generate, :value "n1-7"}`,
			json: `{"index":5,"time":99,"type":"ok","process":1,"f":"generate","value":"n1-7"}`,
			text: "1\t:ok\t:generate\t\"n1-7\"",
		},
		{
			name: "fail with error vector",
			op: history.Op{Index: 7, Time: 10, Type: history.Fail, Process: 2, F: "read", Value: []any{int64(0), nil},
				Error: []any{history.Keyword("key-does-not-exist"), "key does not exist"}},
			edn:  `{:index 7, :time 10, :type :fail, :process 2, :f :read, :value [0 nil], :error [:key-does-not-exist "key does not exist"]}`,
			json: `{"index":7,"time":10,"type":"fail","process":2,"f":"read","value":[0,null],"error":["key-does-not-exist","key does not exist"]}`,
			text: "2\t:fail\t:read\t[0 nil]\t[:key-does-not-exist key does not exist]",
		},
		{
			name: "timeout",
			op:   history.Op{Index: 8, Time: 11, Type: history.Info, Process: 4, F: "add", Value: int64(3), Error: history.Keyword("net-timeout")},
			edn:  `{:index 8, :time 11, :type :info, :process 4, :f :add, :value 3, :error :net-timeout}`,
			json: `{"index":8,"time":11,"type":"info","process":4,"f":"add","value":3,"error":"net-timeout"}`,
			text: "4\t:info\t:add\t3\t:net-timeout",
		},
		{
			name: "exception",
			op: history.Op{Index: 9, Time: 12, Type: history.Info, Process: 0, F: "echo", Value: "Please echo 3",
				Exception: "Malformed RPC response", Error: "indeterminate: Malformed RPC response"},
			edn:  `{:index 9, :time 12, :type :info, :process 0, :f :echo, :value "Please echo 3", :exception {:cause "Malformed RPC response"}, :error "indeterminate: Malformed RPC response"}`,
			json: `{"index":9,"time":12,"type":"info","process":0,"f":"echo","value":"Please echo 3","exception":{"cause":"Malformed RPC response"},"error":"indeterminate: Malformed RPC response"}`,
			text: "0\t:info\t:echo\t\"Please echo 3\"\tindeterminate: Malformed RPC response",
		},
		{
			name: "final read",
			op:   history.Op{Index: 10, Time: 13, Type: history.OK, Process: 6, F: "read", Value: []any{int64(1), int64(2)}, Final: true},
			edn:  `{:index 10, :time 13, :type :ok, :process 6, :f :read, :value [1 2], :final? true}`,
			json: `{"index":10,"time":13,"type":"ok","process":6,"f":"read","value":[1,2],"final?":true}`,
			text: "6\t:ok\t:read\t[1 2]",
		},
		{
			name: "nemesis",
			op: history.Op{Index: 11, Time: 14, Type: history.Info, Process: history.Nemesis, F: "start-partition",
				Value: []any{history.Keyword("isolated"), strMap("n1", []any{"n2"})}},
			edn:  `{:index 11, :time 14, :type :info, :process :nemesis, :f :start-partition, :value [:isolated {"n1" ["n2"]}]}`,
			json: `{"index":11,"time":14,"type":"info","process":"nemesis","f":"start-partition","value":["isolated",{"n1":["n2"]}]}`,
			text: ":nemesis\t:info\t:start-partition\t[:isolated {\"n1\" [\"n2\"]}]",
		},
		{
			name: "txn",
			op: history.Op{Index: 12, Time: 15, Type: history.OK, Process: 1, F: "txn",
				Value: []any{[]any{history.Keyword("r"), int64(9), history.JSON(`[1,2]`)}, []any{history.Keyword("append"), int64(9), int64(3)}}},
			edn:  `{:index 12, :time 15, :type :ok, :process 1, :f :txn, :value [[:r 9 [1 2]] [:append 9 3]]}`,
			json: `{"index":12,"time":15,"type":"ok","process":1,"f":"txn","value":[["r",9,[1,2]],["append",9,3]]}`,
			text: "1\t:ok\t:txn\t[[:r 9 [1 2]] [:append 9 3]]",
		},
		{
			name: "empty f",
			op:   history.Op{Index: 13, Time: 16, Type: history.Invoke, Process: 0},
			edn:  `{:index 13, :time 16, :type :invoke, :process 0, :f nil, :value nil}`,
			json: `{"index":13,"time":16,"type":"invoke","process":0,"f":null,"value":null}`,
			text: "0\t:invoke\tnil\tnil",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpEDN(tc.op)
			require.NoError(t, err)
			require.Equal(t, tc.edn, string(got))
			_, rest, err := readEDN(string(got))
			require.NoError(t, err)
			require.Empty(t, rest)

			got, err = OpJSON(tc.op)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(got))
			require.True(t, json.Valid(got))

			got, err = OpText(tc.op)
			require.NoError(t, err)
			require.Equal(t, tc.text, string(got))
		})
	}
}

func TestOpErrors(t *testing.T) {
	bad := []history.Op{
		{Type: history.OK, F: "read", Value: struct{}{}},
		{Type: history.Fail, F: "read", Error: map[string]int{}},
		{Type: history.OK, F: "read", Value: history.JSON(`{`)},
	}
	for _, op := range bad {
		_, err := OpEDN(op)
		require.Error(t, err)
		_, err = OpJSON(op)
		require.Error(t, err)
		_, err = OpText(op)
		require.Error(t, err)
	}
}

func BenchmarkAppendOpEDN(b *testing.B) {
	ops := []history.Op{
		{Index: 1, Time: 123456789, Type: history.Invoke, Process: 3, F: "txn", Value: []any{[]any{history.Keyword("r"), int64(9), nil}, []any{history.Keyword("append"), int64(9), int64(3)}}},
		{Index: 2, Time: 123456999, Type: history.OK, Process: 3, F: "generate", Value: history.JSON(`"n1-123"`)},
	}
	var buf []byte
	b.ReportAllocs()
	for i := range b.N {
		var err error
		buf, err = AppendOpEDN(buf[:0], &ops[i%2])
		if err != nil {
			b.Fatal(err)
		}
	}
}
