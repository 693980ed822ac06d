package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/netsim"
)

func TestDecodeStrictSchema(t *testing.T) {
	readOK := Schema{Type: "read_ok", Fields: map[string]Kind{"value": Int}}
	bcastOK := Schema{Type: "broadcast_ok"}
	listOK := Schema{Type: "read_ok", Fields: map[string]Kind{"messages": List}}
	cases := []struct {
		name      string
		body      string
		schema    Schema
		malformed bool
		rpcCode   int64
	}{
		{"exact fields", `{"type":"read_ok","value":5,"in_reply_to":1}`, readOK, false, -1},
		{"optional msg_id", `{"type":"read_ok","value":5,"in_reply_to":1,"msg_id":9}`, readOK, false, -1},
		{"float counter", `{"type":"read_ok","value":5.0,"in_reply_to":1}`, readOK, true, -1},
		{"exponent counter", `{"type":"read_ok","value":5e0,"in_reply_to":1}`, readOK, true, -1},
		{"big exact integer", `{"type":"read_ok","value":9007199254740993,"in_reply_to":1}`, readOK, false, -1},
		{"extra field", `{"type":"broadcast_ok","message":3,"in_reply_to":1}`, bcastOK, true, -1},
		{"missing in_reply_to", `{"type":"broadcast_ok"}`, bcastOK, true, -1},
		{"float in_reply_to", `{"type":"broadcast_ok","in_reply_to":1.5}`, bcastOK, true, -1},
		{"string msg_id", `{"type":"broadcast_ok","in_reply_to":1,"msg_id":"x"}`, bcastOK, true, -1},
		{"wrong type", `{"type":"echo","in_reply_to":1}`, bcastOK, true, -1},
		{"missing field", `{"type":"read_ok","in_reply_to":1}`, readOK, true, -1},
		{"list is not list", `{"type":"read_ok","messages":3,"in_reply_to":1}`, listOK, true, -1},
		{"list", `{"type":"read_ok","messages":[1,2],"in_reply_to":1}`, listOK, false, -1},
		{"not an object", `[1,2]`, bcastOK, true, -1},
		{"no type", `{"in_reply_to":1}`, bcastOK, true, -1},
		{"error with extras", `{"type":"error","code":11,"text":"later","in_reply_to":1,"x":1}`, bcastOK, false, 11},
		{"error code 0", `{"type":"error","code":0,"in_reply_to":1}`, bcastOK, false, 0},
		// Maelstrom's s/Int takes any JSON integer: cheshire reads one
		// beyond int64 as a BigInteger.
		{"msg_id beyond int64", `{"type":"broadcast_ok","in_reply_to":1,"msg_id":18446744073709551617}`, bcastOK, false, -1},
		{"negative msg_id", `{"type":"broadcast_ok","in_reply_to":1,"msg_id":-5}`, bcastOK, false, -1},
		{"float msg_id", `{"type":"broadcast_ok","in_reply_to":1,"msg_id":1.0}`, bcastOK, true, -1},
		{"exponent msg_id", `{"type":"broadcast_ok","in_reply_to":1,"msg_id":1e3}`, bcastOK, true, -1},
		{"null msg_id", `{"type":"broadcast_ok","in_reply_to":1,"msg_id":null}`, bcastOK, true, -1},
		{"in_reply_to beyond int64", `{"type":"broadcast_ok","in_reply_to":18446744073709551617}`, bcastOK, false, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(json.RawMessage(tc.body), tc.schema)
			var mal *MalformedError
			var rpc *RPCError
			switch {
			case tc.malformed:
				require.True(t, errors.As(err, &mal), "want malformed, got %v", err)
			case tc.rpcCode >= 0:
				require.True(t, errors.As(err, &rpc), "want rpc error, got %v", err)
				require.Equal(t, tc.rpcCode, rpc.Code)
			default:
				require.NoError(t, err)
				require.NotNil(t, f)
			}
		})
	}
}

func TestMappingOutcomes(t *testing.T) {
	bcast := Mapping{Maps: true, Idempotent: map[string]bool{"read": true}}
	noMap := Mapping{}
	cases := []struct {
		name string
		m    Mapping
		f    string
		err  error
		want history.Type
	}{
		{"timeout on idempotent read fails", bcast, "read", ErrTimeout, history.Fail},
		{"timeout on broadcast is info", bcast, "broadcast", ErrTimeout, history.Info},
		{"definite error fails", bcast, "broadcast", &RPCError{Code: 11}, history.Fail},
		{"indefinite crash is info", bcast, "broadcast", &RPCError{Code: 13}, history.Info},
		{"code 0 is indefinite", bcast, "broadcast", &RPCError{Code: 0}, history.Info},
		{"user code is indefinite", bcast, "broadcast", &RPCError{Code: 1000}, history.Info},
		{"any error on read fails", bcast, "read", &RPCError{Code: 13}, history.Fail},
		{"malformed is info", bcast, "read", &MalformedError{Reason: "x"}, history.Info},
		{"g-set timeout is info", noMap, "read", ErrTimeout, history.Info},
		{"g-set definite error is info", noMap, "add", &RPCError{Code: 11}, history.Info},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.m.Failed(tc.f, nil, tc.err)
			require.Equal(t, tc.want, out.Type)
			if !tc.m.Maps || errors.As(tc.err, new(*MalformedError)) {
				require.NotEmpty(t, out.Exception)
			}
		})
	}
	out := bcast.Failed("broadcast", int64(3), &RPCError{Code: 11, Text: "busy"})
	require.Equal(t, []any{history.Keyword("temporarily-unavailable"), "busy"}, out.Error)
	require.Equal(t, int64(3), out.Value)
	require.Equal(t, history.Keyword("net-timeout"), bcast.Failed("read", nil, ErrTimeout).Error)
}

func TestGeneratorsMatchMaelstrom(t *testing.T) {
	p := func(seed uint64) Params {
		return Params{Nodes: []string{"n0", "n1"}, Concurrency: 2, Rand: rngFor(seed)}
	}

	w, err := New("g-counter", p(1))
	require.NoError(t, err)
	adds := 0
	const n = 30000
	for range n {
		op, ok := w.Generator.Next(0)
		require.True(t, ok)
		if op.F == "add" {
			adds++
			d := op.Value.(int64)
			require.True(t, d >= 0 && d <= 4, "g-counter delta %d", d)
		}
	}
	require.InDelta(t, 1.0/3, float64(adds)/n, 0.02, "g-counter add share")

	w, err = New("pn-counter", p(2))
	require.NoError(t, err)
	seen := map[int64]bool{}
	for range n {
		if op, _ := w.Generator.Next(0); op.F == "add" {
			seen[op.Value.(int64)] = true
		}
	}
	for d := int64(-5); d <= 4; d++ {
		require.True(t, seen[d], "pn-counter delta %d never drawn", d)
	}
	require.Len(t, seen, 10)

	w, err = New("broadcast", p(3))
	require.NoError(t, err)
	var next int64
	for range 1000 {
		op, _ := w.Generator.Next(0)
		if op.F == "broadcast" {
			require.Equal(t, next, op.Value, "broadcast values are 0, 1, 2, ...")
			next++
		}
	}

	w, err = New("echo", p(4))
	require.NoError(t, err)
	for range 1000 {
		op, _ := w.Generator.Next(0)
		var k int
		_, err := fmt.Sscanf(op.Value.(string), "Please echo %d", &k)
		require.NoError(t, err)
		require.True(t, k >= 0 && k < 128)
	}

	_, err = New("lin-kv", p(5))
	require.Error(t, err)
	_, err = New("broadcast", Params{Nodes: []string{"n0"}, Topology: "mesh", Rand: rngFor(1)})
	require.Error(t, err)
}

// An error reply is never malformed in Maelstrom: a code it cannot find in
// its table (absent, a float, a string, beyond int64) is :unknown and
// indefinite.
func TestErrorCodeOffTable(t *testing.T) {
	bcast := Mapping{Maps: true, Idempotent: map[string]bool{"read": true}}
	for _, code := range []string{``, `,"code":11.0`, `,"code":"11"`, `,"code":null`, `,"code":18446744073709551627`, `,"code":1e1`} {
		_, err := Decode(json.RawMessage(`{"type":"error","text":"t","in_reply_to":1`+code+`}`), Schema{Type: "broadcast_ok"})
		var rpc *RPCError
		require.True(t, errors.As(err, &rpc), "code %s: want an rpc error, got %v", code, err)
		require.True(t, rpc.OffTable, code)
		require.Equal(t, "unknown", rpc.Name(), code)
		require.False(t, rpc.IsDefinite(), code)
		out := bcast.Failed("broadcast", nil, err)
		require.Equal(t, history.Info, out.Type, code)
		require.Equal(t, []any{history.Keyword("unknown"), "t"}, out.Error, code)
		require.Empty(t, out.Exception, code)
		require.Equal(t, history.Fail, bcast.Failed("read", nil, err).Type, code)
	}
	_, err := Decode(json.RawMessage(`{"type":"error","code":-3,"in_reply_to":1}`), Schema{Type: "broadcast_ok"})
	var rpc *RPCError
	require.True(t, errors.As(err, &rpc))
	require.False(t, rpc.OffTable)
	require.Equal(t, "error -3 (unknown): ", rpc.Error())
	require.Contains(t, (&RPCError{OffTable: true}).Error(), "error nil (unknown)")
}

// A client takes the reply whose in_reply_to equals its msg_id as Clojure's
// = compares the parsed numbers: 1.0, 1e0 and "1" are not 1, and an integer
// beyond int64 (a BigInteger) equals no msg_id; such replies are discarded
// like any unmatched message, and the call goes on waiting.
func TestClientMatchesInReplyToAsMaelstrom(t *testing.T) {
	for _, tc := range []struct {
		irt     string
		matches bool
	}{
		{`1`, true},
		{` 1`, true},
		{`-0`, false},
		{`1.0`, false},
		{`1e0`, false},
		{`"1"`, false},
		{`null`, false},
		{`18446744073709551617`, false},
		{`-18446744073709551615`, false},
	} {
		net := &scriptNet{inbox: make(chan netsim.Message, 2)}
		net.inbox <- netsim.Message{Src: "n0", Dest: "c1", Body: json.RawMessage(`{"type":"echo_ok","in_reply_to":` + tc.irt + `}`)}
		c, err := NewClient(net, "c1", "n0")
		require.NoError(t, err)
		if !tc.matches {
			// The discarded reply is followed by the right one.
			net.inbox <- netsim.Message{Src: "n0", Dest: "c1", Body: json.RawMessage(`{"type":"echo_ok","in_reply_to":1,"second":true}`)}
		}
		body, err := c.Call(context.Background(), &Header{Type: "echo"}, time.Minute)
		require.NoError(t, err, tc.irt)
		require.Equal(t, !tc.matches, strings.Contains(string(body), "second"), "in_reply_to %s: got %s", tc.irt, body)
	}
}

// scriptNet delivers what the test queued in inbox, whatever is sent.
type scriptNet struct{ inbox chan netsim.Message }

func (n *scriptNet) Add(string) error                                    { return nil }
func (n *scriptNet) Remove(string)                                       {}
func (n *scriptNet) Send(string, string, json.RawMessage) (int64, error) { return 0, nil }
func (n *scriptNet) Recv(ctx context.Context, _ string) (netsim.Message, error) {
	select {
	case m := <-n.inbox:
		return m, nil
	case <-ctx.Done():
		return netsim.Message{}, ctx.Err()
	}
}

// The op's :error is [name text] with text as the node sent it: nil when
// absent, not "".
func TestErrorTextAsSent(t *testing.T) {
	bcast := Mapping{Maps: true}
	for body, want := range map[string]any{
		`{"type":"error","code":11,"in_reply_to":1}`:                      nil,
		`{"type":"error","code":11,"text":"busy","in_reply_to":1}`:        "busy",
		`{"type":"error","code":11,"text":7,"in_reply_to":1}`:             int64(7),
		`{"type":"error","code":11,"text":{"b":1,"a":2},"in_reply_to":1}`: history.JSON(`{"a":2,"b":1}`),
	} {
		_, err := Decode(json.RawMessage(body), Schema{Type: "broadcast_ok"})
		out := bcast.Failed("broadcast", nil, err)
		require.Equal(t, []any{history.Keyword("temporarily-unavailable"), want}, out.Error, body)
	}
}
