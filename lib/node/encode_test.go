package node

import (
	"encoding/json"
	"testing"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"
)

func TestEncoderObject(t *testing.T) {
	type withOmit struct {
		Type  string `json:"type"`
		Value *int64 `json:"value,omitempty"`
		HTML  string `json:"html"`
	}
	cases := []struct {
		name string
		body any
		want string
		err  bool
	}{
		{name: "struct field order", body: withOmit{Type: "read_ok", HTML: "<&>"}, want: `{"type":"read_ok","html":"<&>"}`},
		{name: "official MessageBody embeds cleanly", body: struct {
			maelstrom.MessageBody
			Echo string `json:"echo"`
		}{MessageBody: maelstrom.MessageBody{Type: "echo_ok"}, Echo: "x"}, want: `{"type":"echo_ok","echo":"x"}`},
		{name: "error code 0", body: maelstrom.NewRPCError(maelstrom.Timeout, ""), want: `{"type":"error","code":0}`},
		{name: "error value", body: *maelstrom.NewRPCError(maelstrom.TxnConflict, "t"), want: `{"type":"error","code":30,"text":"t"}`},
		{name: "nil error", body: (*maelstrom.RPCError)(nil), err: true},
		{name: "raw verbatim", body: json.RawMessage(` {"type":"x", "v" : [1,  2]}`), want: `{"type":"x", "v" : [1,  2]}`},
		{name: "raw multi-line compacted", body: json.RawMessage("{\"type\":\"x\",\n\"v\":1}"), want: `{"type":"x","v":1}`},
		{name: "raw invalid", body: json.RawMessage(`{"type":}`), err: true},
		{name: "raw array", body: json.RawMessage(`[1]`), err: true},
		{name: "string", body: "x", err: true},
		{name: "nil", body: nil, err: true},
		{name: "map", body: map[string]int64{"b": 1, "a": 2}, want: `{"a":2,"b":1}`},
		{name: "unencodable", body: struct{ C chan int }{}, err: true},
	}
	e := newEncoder()
	for _, tc := range cases {
		got, err := e.object(tc.body)
		if tc.err {
			require.Error(t, err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, string(got), tc.name)
	}
}

func TestAppendBody(t *testing.T) {
	cases := []struct {
		obj              string
		msgID, inReplyTo int64
		want             string
	}{
		{obj: `{"type":"a"}`, want: `{"type":"a"}`},
		{obj: `{"type":"a"}`, inReplyTo: 3, want: `{"type":"a","in_reply_to":3}`},
		{obj: `{"type":"a"}`, msgID: 9007199254740993, want: `{"type":"a","msg_id":9007199254740993}`},
		{obj: `{"type":"a"}`, msgID: 1, inReplyTo: 2, want: `{"type":"a","msg_id":1,"in_reply_to":2}`},
		{obj: `{}`, inReplyTo: 2, want: `{"in_reply_to":2}`},
		{obj: `{ }`, msgID: 1, inReplyTo: 2, want: `{ "msg_id":1,"in_reply_to":2}`},
		{obj: `{"type":"a"}`, msgID: -1, inReplyTo: 0, want: `{"type":"a"}`}, // never msg_id/in_reply_to <= 0
	}
	for _, tc := range cases {
		got := appendBody(nil, []byte(tc.obj), tc.msgID, tc.inReplyTo)
		require.Equal(t, tc.want, string(got))
		require.True(t, json.Valid(got))
	}
}

func TestAppendMessage(t *testing.T) {
	got := appendMessage(nil, "n1", "c\"1\n\u00e9", []byte(`{"type":"x"}`), 0, 5)
	require.Equal(t, "{\"src\":\"n1\",\"dest\":\"c\\\"1\\n\u00e9\",\"body\":{\"type\":\"x\",\"in_reply_to\":5}}\n", string(got))
	var m maelstrom.Message
	require.NoError(t, json.Unmarshal(got, &m))
	require.Equal(t, "c\"1\n\u00e9", m.Dest)
}
