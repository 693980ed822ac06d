package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/rsm"
	"maelkit/lib/txn"
)

// TestCodec: the strict-serializable mode's codec sends read-only
// transactions to ReadIndex queries and the rest to the log (with client
// and msg_id for dedup), rejects bad requests definitely, and answers
// applied commands with their completed txn, skipped ones indefinitely.
func TestCodec(t *testing.T) {
	m := txn.NewMachine()
	c := txn.Codec{Machine: m}
	cases := []struct {
		body  string
		query bool
		code  int // expected error code, 0 for none
	}{
		{body: `{"type":"txn","msg_id":1,"txn":[["r",1,null],["r",2,null]]}`, query: true},
		{body: `{"type":"txn","msg_id":1,"txn":[]}`, query: true},
		{body: `{"type":"txn","msg_id":1,"txn":[["r",1,null],["w",1,3]]}`},
		{body: `{"type":"txn","msg_id":1,"txn":[["append",1,3]]}`},
		{body: `{"type":"txn","msg_id":1}`, code: maelstrom.MalformedRequest},
		{body: `{"type":"txn","msg_id":1,"txn":[["cas",1,2,3]]}`, code: maelstrom.MalformedRequest},
		{body: `{"type":"txn","msg_id":1,"txn":[["w",1.5,2]]}`, code: maelstrom.MalformedRequest},
	}
	for _, tc := range cases {
		op, err := c.Decode("txn", json.RawMessage(tc.body), "c1", 7)
		if tc.code != 0 {
			var rpc *maelstrom.RPCError
			require.ErrorAs(t, err, &rpc, tc.body)
			require.Equal(t, tc.code, rpc.Code, tc.body)
			continue
		}
		require.NoError(t, err, tc.body)
		require.Equal(t, tc.query, op.Query, tc.body)
		if tc.query {
			require.IsType(t, txn.OK{}, c.Query(op.Data))
			continue
		}
		// Applied once, answered twice alike, routed to (c1, 7).
		first := m.Apply(1, op.Data)
		client, id, reply, ok := c.Outcome(rsm.Applied{Index: 1, Data: op.Data, Result: first})
		require.True(t, ok)
		require.Equal(t, "c1", client)
		require.Equal(t, int64(7), id)
		require.IsType(t, txn.OK{}, reply)
		_, _, again, _ := c.Outcome(rsm.Applied{Index: 2, Data: op.Data, Result: m.Apply(2, op.Data)})
		require.Equal(t, reply, again)
		m = txn.NewMachine()
		c = txn.Codec{Machine: m}
	}
	// A stale command (older than its client's last) is indefinite.
	older, err := txn.EncodeCommand(txn.Command{Client: "c1", ID: 3, Txn: txn.Txn{{F: txn.Write, K: 1, Arg: 1}}})
	require.NoError(t, err)
	newer, err := txn.EncodeCommand(txn.Command{Client: "c1", ID: 4, Txn: txn.Txn{{F: txn.Write, K: 1, Arg: 2}}})
	require.NoError(t, err)
	m.Apply(1, newer)
	_, _, reply, ok := c.Outcome(rsm.Applied{Index: 2, Data: older, Result: m.Apply(2, older)})
	require.True(t, ok)
	require.Equal(t, maelstrom.Crash, reply.(*maelstrom.RPCError).Code)
	_, _, _, ok = c.Outcome(rsm.Applied{Index: 3, Data: []byte("x"), Result: "not a txn result"})
	require.False(t, ok)
}

// TestSession: one node in read-committed mode answers transactions of
// both workloads, each atomically, reads of absent keys are null, and bad
// requests get 12.
func TestSession(t *testing.T) {
	script := []struct{ in, want string }{
		{in: `{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}`,
			want: `{"src":"n0","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":1,"txn":[["r",1,null],["w",1,3],["r",1,null]]}}`,
			want: `{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["r",1,null],["w",1,3],["r",1,3]],"in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":2,"txn":[["append",2,1],["append",2,2],["r",2,null],["r",1,null]]}}`,
			want: `{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["append",2,1],["append",2,2],["r",2,[1,2]],["r",1,3]],"in_reply_to":2}}`},
		// A transaction's list reads show its own appends after what it
		// read before (one node: nothing can land between them).
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":6,"txn":[["r",2,null],["append",2,3],["r",2,null]]}}`,
			want: `{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["r",2,[1,2]],["append",2,3],["r",2,[1,2,3]]],"in_reply_to":6}}`},
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":3,"txn":[["cas",1,2]]}}`},
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":4}}`,
			want: `{"src":"n0","dest":"c1","body":{"type":"error","code":12,"text":"txn request has no txn list","in_reply_to":4}}`},
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":5,"txn":[["r",9007199254740993,null]]}}`,
			want: `{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["r",9007199254740993,null]],"in_reply_to":5}}`},
	}
	var in strings.Builder
	for _, s := range script {
		in.WriteString(s.in + "\n")
	}
	var out, logs bytes.Buffer
	require.NoError(t, run([]string{"read-committed"}, strings.NewReader(in.String()), &out, &logs))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, len(script))
	// Clients match replies by in_reply_to: a request refused at decoding
	// is answered at once, the core's replies after the burst of input.
	byReq := map[string]string{}
	for _, l := range lines {
		var m struct {
			Dest string
			Body struct {
				InReplyTo int64 `json:"in_reply_to"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		byReq[fmt.Sprintf("%s/%d", m.Dest, m.Body.InReplyTo)] = l
	}
	for _, s := range script {
		var m struct {
			Src  string
			Body struct {
				MsgID int64 `json:"msg_id"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(s.in), &m), s.in)
		got := byReq[fmt.Sprintf("%s/%d", m.Src, m.Body.MsgID)]
		if s.want == "" { // a decode error: code 12 with the decoder's text
			require.Contains(t, got, `"code":12`)
			continue
		}
		require.Equal(t, s.want, got)
	}
}

func TestModes(t *testing.T) {
	cases := []struct {
		args    []string
		want    mode
		noSync  bool
		amnesia bool
		waitOwn bool
		err     string
	}{
		{args: nil, want: strictSerializable},
		{args: []string{"read-committed"}, want: readCommitted},
		{args: []string{"read-uncommitted"}, want: readCommitted},
		{args: []string{"-sync=false"}, want: strictSerializable, noSync: true},
		{args: []string{"-sync=false", "read-committed"}, want: readCommitted, noSync: true},
		{args: []string{"-sync=true", "read-committed"}, want: readCommitted},
		{args: []string{"-amnesia"}, want: strictSerializable, amnesia: true},
		{args: []string{"-wait-own-reads", "read-committed"}, want: readCommitted, waitOwn: true},
		{args: []string{"-fsync"}, err: "usage"},
		{args: []string{"serializable"}, err: "usage: txn-rw-register"},
		{args: []string{"read-committed", "x"}, err: "usage"},
		{args: []string{"–-nemesis", "partition"}, err: "usage"},
	}
	for _, tc := range cases {
		o, err := parseArgs(tc.args)
		if tc.err == "" {
			require.NoError(t, err, "%q", tc.args)
			require.Equal(t, tc.want, o.mode)
			require.Equal(t, tc.noSync, o.noSync, "%q", tc.args)
			require.Equal(t, tc.amnesia, o.amnesia, "%q", tc.args)
			require.Equal(t, tc.waitOwn, o.waitOwn, "%q", tc.args)
			continue
		}
		require.ErrorContains(t, err, tc.err, "%q", tc.args)
	}
}
