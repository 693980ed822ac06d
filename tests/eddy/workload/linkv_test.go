package workload

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/netsim"
)

// fakeNet is a Network whose node answers each request at once through
// reply (a nil reply means no answer, so the client times out).
type fakeNet struct {
	mu    sync.Mutex
	reply func(req map[string]any) string
	inbox chan netsim.Message
	sent  []string
}

func newFakeNet(reply func(req map[string]any) string) *fakeNet {
	return &fakeNet{reply: reply, inbox: make(chan netsim.Message, 16)}
}

func (f *fakeNet) Add(string) error { return nil }
func (f *fakeNet) Remove(string)    {}

func (f *fakeNet) Send(src, dest string, body json.RawMessage) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, string(body))
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, err
	}
	if r := f.reply(req); r != "" {
		r = strings.Replace(r, "}", `,"in_reply_to":`+jsonNum(req["msg_id"])+"}", 1)
		f.inbox <- netsim.Message{Src: dest, Dest: src, Body: json.RawMessage(r)}
	}
	return 0, nil
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

func (f *fakeNet) Recv(ctx context.Context, _ string) (netsim.Message, error) {
	select {
	case m := <-f.inbox:
		return m, nil
	case <-ctx.Done():
		return netsim.Message{}, ctx.Err()
	}
}

func linKVParams(nodes, conc int, seed uint64) Params {
	p := Params{Concurrency: conc, Rand: rngFor(seed)}
	for i := 0; i < nodes; i++ {
		p.Nodes = append(p.Nodes, "n"+string(rune('0'+i)))
	}
	return p
}

func TestLinKVGeneratorGroups(t *testing.T) {
	w, err := New("lin-kv", linKVParams(2, 8, 1))
	require.NoError(t, err)
	counts := map[string]int{}
	for range 3000 {
		for th := 0; th < 8; th++ {
			op, ok := w.Generator.Next(th)
			require.True(t, ok)
			v := op.Value.([]any)
			wantKey := int64(th / 4) // groups of 2N = 4 threads, keys 0 and 1
			require.Equal(t, wantKey, v[0], "thread %d", th)
			if th%4 < 2 {
				require.Equal(t, "read", op.F, "the first N threads of a group only read")
				require.Nil(t, v[1])
				continue
			}
			counts[op.F]++
			switch op.F {
			case "write":
				require.True(t, v[1].(int64) >= 0 && v[1].(int64) <= 4)
			case "cas":
				ft := v[1].([]any)
				require.True(t, ft[0].(int64) >= 0 && ft[0].(int64) <= 4 && ft[1].(int64) >= 0 && ft[1].(int64) <= 4)
			default:
				t.Fatalf("writer thread %d got %s", th, op.F)
			}
		}
	}
	total := counts["write"] + counts["cas"]
	require.InDelta(t, 1.0/3, float64(counts["write"])/float64(total), 0.02, "write share")
}

func TestLinKVKeyRetiresAfterTwentyProcesses(t *testing.T) {
	w, err := New("lin-kv", linKVParams(2, 8, 2))
	require.NoError(t, err)
	g := w.Generator.(*linKVGen)
	// Group 0 starts with processes 0..3; each :info gives thread 2 a new
	// one. After 16 infos the key has seen 20 processes; the 17th retires
	// it, and the group takes key 2 (keys 0 and 1 went to the two groups).
	for i := 1; i <= 17; i++ {
		op, _ := g.Next(2)
		require.Equal(t, int64(0), op.Value.([]any)[0], "info %d", i)
		g.completed(op, history.Info)
	}
	op, _ := g.Next(2)
	require.Equal(t, int64(2), op.Value.([]any)[0])
	op, _ = g.Next(0)
	require.Equal(t, int64(2), op.Value.([]any)[0], "the whole group moves")
	op, _ = g.Next(5)
	require.Equal(t, int64(1), op.Value.([]any)[0], "the other group keeps its key")
	// ok and fail completions do not change processes.
	for range 50 {
		op, _ := g.Next(3)
		g.completed(op, history.Fail)
		require.Equal(t, int64(2), op.Value.([]any)[0])
	}
}

func TestLinKVParams(t *testing.T) {
	_, err := New("lin-kv", linKVParams(3, 3, 1))
	require.ErrorContains(t, err, "multiple of 2 × the node count")
	_, err = New("lin-kv", linKVParams(3, 0, 1))
	require.Error(t, err)
	w, err := New("lin-kv", linKVParams(3, 12, 1))
	require.NoError(t, err)
	require.Equal(t, time.Second, w.Timeout)
	p := linKVParams(1, 2, 1)
	p.LatencyMs = 500
	w, err = New("lin-kv", p)
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, w.Timeout, "max(10 × latency, 1 s)")
	require.True(t, w.Reusable)
}

func TestLinKVInvoke(t *testing.T) {
	cases := []struct {
		name  string
		op    Op
		reply string
		want  history.Type
		value any
		err   any
	}{
		{name: "read", op: Op{F: "read", Value: []any{int64(0), nil}}, reply: `{"type":"read_ok","value":3}`,
			want: history.OK, value: []any{int64(0), int64(3)}},
		{name: "read null", op: Op{F: "read", Value: []any{int64(0), nil}}, reply: `{"type":"read_ok","value":null}`,
			want: history.OK, value: []any{int64(0), nil}},
		{name: "read of a missing key fails", op: Op{F: "read", Value: []any{int64(0), nil}},
			reply: `{"type":"error","code":20,"text":"not found"}`, want: history.Fail},
		{name: "read with an indefinite error still fails", op: Op{F: "read", Value: []any{int64(0), nil}},
			reply: `{"type":"error","code":13}`, want: history.Fail},
		{name: "read with an extra field is malformed", op: Op{F: "read", Value: []any{int64(0), nil}},
			reply: `{"type":"read_ok","value":3,"key":0}`, want: history.Info},
		{name: "write", op: Op{F: "write", Value: []any{int64(1), int64(4)}}, reply: `{"type":"write_ok"}`,
			want: history.OK, value: []any{int64(1), int64(4)}},
		{name: "write answered read_ok is malformed", op: Op{F: "write", Value: []any{int64(1), int64(4)}},
			reply: `{"type":"read_ok"}`, want: history.Info},
		{name: "write with crash is indeterminate", op: Op{F: "write", Value: []any{int64(1), int64(4)}},
			reply: `{"type":"error","code":13}`, want: history.Info},
		{name: "cas", op: Op{F: "cas", Value: []any{int64(0), []any{int64(1), int64(2)}}}, reply: `{"type":"cas_ok"}`,
			want: history.OK, value: []any{int64(0), []any{int64(1), int64(2)}}},
		{name: "cas precondition fails definitely", op: Op{F: "cas", Value: []any{int64(0), []any{int64(1), int64(2)}}},
			reply: `{"type":"error","code":22,"text":"current value 3 is not 1"}`, want: history.Fail,
			err: []any{history.Keyword("precondition-failed"), "current value 3 is not 1"}},
		{name: "cas timeout is indeterminate", op: Op{F: "cas", Value: []any{int64(0), []any{int64(1), int64(2)}}},
			want: history.Info, err: history.Keyword("net-timeout")},
		{name: "read timeout fails", op: Op{F: "read", Value: []any{int64(0), nil}},
			want: history.Fail, err: history.Keyword("net-timeout")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			net := newFakeNet(func(req map[string]any) string { got = req; return tc.reply })
			w, err := New("lin-kv", linKVParams(1, 2, 1))
			require.NoError(t, err)
			w.Timeout = 50 * time.Millisecond
			c, err := w.Open(net, "c9", "n0")
			require.NoError(t, err)
			out := w.Invoke(context.Background(), c, tc.op)
			require.Equal(t, tc.want, out.Type, "%+v", out)
			if tc.value != nil {
				require.Equal(t, tc.value, out.Value)
			}
			if tc.err != nil {
				require.Equal(t, tc.err, out.Error)
			}
			require.Equal(t, tc.op.F, got["type"])
			require.Equal(t, float64(tc.op.Value.([]any)[0].(int64)), got["key"])
			if tc.op.F == "cas" {
				require.Contains(t, net.sent[0], `"from":1,"to":2`)
			}
		})
	}
}
