package workload

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/kafka"
	"maelkit/tests/eddy/netsim"
)

// kafkaNet is a Network whose node answers each request at once with the
// body reply returns, in_reply_to added ("" means no answer).
type kafkaNet struct {
	mu    sync.Mutex
	reply func(req map[string]any) string
	inbox chan netsim.Message
	sent  []map[string]any
}

func (f *kafkaNet) Add(string) error { return nil }
func (f *kafkaNet) Remove(string)    {}

func (f *kafkaNet) Send(src, dest string, body json.RawMessage) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, err
	}
	f.sent = append(f.sent, req)
	r := f.reply(req)
	if r == "" {
		return 0, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r), &fields); err != nil {
		return 0, err
	}
	fields["in_reply_to"] = json.RawMessage(jsonNum(req["msg_id"]))
	out, err := json.Marshal(fields)
	if err != nil {
		return 0, err
	}
	f.inbox <- netsim.Message{Src: dest, Dest: src, Body: out}
	return 0, nil
}

func (f *kafkaNet) Recv(ctx context.Context, _ string) (netsim.Message, error) {
	select {
	case m := <-f.inbox:
		return m, nil
	case <-ctx.Done():
		return netsim.Message{}, ctx.Err()
	}
}

func kafkaParams() Params {
	return Params{Nodes: []string{"n0"}, Concurrency: 2, Rand: rngFor(3)}
}

func sendOp(k string, v int64) Op {
	return Op{F: kafka.FSend, Value: []any{[]any{history.Keyword("send"), k, v}}}
}

func TestKafkaInvokeMapsErrorsAsMaelstrom(t *testing.T) {
	cases := []struct {
		name  string
		op    Op
		reply string
		want  history.Type
		err   any
	}{
		{name: "send ok", op: sendOp("3", 7), reply: `{"type":"send_ok","offset":12}`, want: history.OK},
		{name: "definite error fails", op: sendOp("3", 7),
			reply: `{"type":"error","code":11,"text":"busy"}`, want: history.Fail,
			err: []any{history.Keyword("temporarily-unavailable"), "busy"}},
		{name: "crash error is indeterminate", op: sendOp("3", 7),
			reply: `{"type":"error","code":13,"text":"boom"}`, want: history.Info,
			err: []any{history.Keyword("crash"), "boom"}},
		{name: "code off the table is unknown and indeterminate", op: sendOp("3", 7),
			reply: `{"type":"error","code":11.0,"text":"x"}`, want: history.Info,
			err: []any{history.Keyword("unknown"), "x"}},
		{name: "send timeout is indeterminate", op: sendOp("3", 7), want: history.Info,
			err: history.Keyword("net-timeout")},
		{name: "assign timeout fails", op: Op{F: kafka.FAssign, Value: []any{"3"}}, want: history.Fail,
			err: history.Keyword("net-timeout")},
		{name: "assign error fails", op: Op{F: kafka.FAssign, Value: []any{"3"}},
			reply: `{"type":"error","code":13}`, want: history.Fail, err: []any{history.Keyword("crash"), nil}},
		{name: "malformed send_ok is an exception", op: sendOp("3", 7),
			reply: `{"type":"send_ok","offset":"12"}`, want: history.Info,
			err: `indeterminate: Malformed RPC response: offset is not an integer: "12"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			net := &kafkaNet{reply: func(map[string]any) string { return tc.reply }, inbox: make(chan netsim.Message, 4)}
			w, err := New("kafka", kafkaParams())
			require.NoError(t, err)
			w.Timeout = 30 * time.Millisecond
			c, err := w.Open(net, "c5", "n0")
			require.NoError(t, err)
			out := w.Invoke(context.Background(), c, tc.op)
			require.Equal(t, tc.want, out.Type, "%+v", out)
			require.Equal(t, tc.err, out.Error)
			if tc.want == history.OK {
				require.Equal(t, []any{[]any{history.Keyword("send"), "3", []any{int64(12), int64(7)}}}, out.Value)
				require.Equal(t, map[string]any{"type": "send", "key": "3", "msg": float64(7), "msg_id": float64(1)}, net.sent[0])
			} else {
				require.Equal(t, tc.op.Value, out.Value)
			}
			if _, ok := tc.err.(string); ok {
				require.NotEmpty(t, out.Exception)
			}
		})
	}
}

// A client keeps its assigned keys and offsets across ops, and a crash
// starts the thread's next op with a fresh client that holds nothing.
func TestKafkaClientStatePerEddyClient(t *testing.T) {
	net := &kafkaNet{inbox: make(chan netsim.Message, 4), reply: func(req map[string]any) string {
		switch req["type"] {
		case "list_committed_offsets":
			return `{"type":"list_committed_offsets_ok","offsets":{"3":4}}`
		case "poll":
			return `{"type":"poll_ok","msgs":{"3":[[5,9]]}}`
		case "commit_offsets":
			return `{"type":"commit_offsets_ok"}`
		}
		return ""
	}}
	w, err := New("kafka", kafkaParams())
	require.NoError(t, err)
	c, err := w.Open(net, "c5", "n0")
	require.NoError(t, err)
	ctx := context.Background()
	require.Equal(t, history.OK, w.Invoke(ctx, c, Op{F: kafka.FAssign, Value: []any{"3"}}).Type)
	poll := Op{F: kafka.FPoll, Value: []any{[]any{history.Keyword("poll")}}}
	out := w.Invoke(ctx, c, poll)
	require.Equal(t, history.OK, out.Type, "%+v", out)
	require.Equal(t, map[string]any{"3": float64(4)}, net.sent[1]["offsets"])
	require.Equal(t, "commit_offsets", net.sent[2]["type"])

	require.Equal(t, history.Info, w.Invoke(ctx, c, Op{F: kafka.FCrash}).Type)
	fresh, err := w.Open(net, "c6", "n0")
	require.NoError(t, err)
	require.Equal(t, history.OK, w.Invoke(ctx, fresh, poll).Type)
	require.Equal(t, map[string]any{}, net.sent[len(net.sent)-2]["offsets"])
}

func TestFinalOnceRunsOncePerThread(t *testing.T) {
	g := once(Op{F: "read", Final: true})()
	for thread := range 3 {
		op, wait, more := g.Next(thread)
		require.True(t, more)
		require.Zero(t, wait)
		require.Equal(t, Op{F: "read", Final: true}, op)
		g.Update(thread, op, Outcome{Type: history.OK})
		_, _, more = g.Next(thread)
		require.False(t, more)
	}
}

// The kafka final phase starts each thread with a crash, then the final
// assign of every key the main phase saw.
func TestKafkaFinalPhase(t *testing.T) {
	w, err := New("kafka", kafkaParams())
	require.NoError(t, err)
	net := &kafkaNet{inbox: make(chan netsim.Message, 4), reply: func(map[string]any) string {
		return `{"type":"send_ok","offset":0}`
	}}
	c, err := w.Open(net, "c5", "n0")
	require.NoError(t, err)
	require.Equal(t, history.OK, w.Invoke(context.Background(), c, sendOp("2", 1)).Type)
	fg := w.Final()
	op, _, more := fg.Next(0)
	require.True(t, more)
	require.Equal(t, kafka.FCrash, op.F)
	fg.Update(0, op, Outcome{Type: history.Info})
	op, _, more = fg.Next(0)
	require.True(t, more)
	require.Equal(t, Op{F: kafka.FAssign, Value: []any{"2"}, Final: true}, op)
}
