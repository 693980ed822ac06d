package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
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
		{"error without code", `{"type":"error","in_reply_to":1}`, bcastOK, true, -1},
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
