package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// session feeds lines to a node run with args and returns its output lines.
func session(t *testing.T, args []string, lines ...string) []string {
	t.Helper()
	var out, logs bytes.Buffer
	require.NoError(t, run(args, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &logs))
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// TestPrimary: in the default mode the primary applies transactions
// itself; another node forwards them (as a "txn" request with its own
// msg_id) and relays the primary's answer, or the primary's error.
func TestPrimary(t *testing.T) {
	init := func(id string) string {
		return `{"src":"c0","dest":"` + id + `","body":{"type":"init","msg_id":1,"node_id":"` + id + `","node_ids":["n0","n1"]}}`
	}
	got := session(t, nil, init("n0"),
		`{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":2,"txn":[["w",1,3],["r",1,null]]}}`,
		`{"src":"n1","dest":"n0","body":{"type":"txn","msg_id":7,"txn":[["r",1,null]]}}`)
	require.Equal(t, []string{
		`{"src":"n0","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`,
		`{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["w",1,3],["r",1,3]],"in_reply_to":2}}`,
		`{"src":"n0","dest":"n1","body":{"type":"txn_ok","txn":[["r",1,3]],"in_reply_to":7}}`,
	}, got)

	got = session(t, nil, init("n1"),
		`{"src":"c1","dest":"n1","body":{"type":"txn","msg_id":2,"txn":[["r",1,null]]}}`,
		`{"src":"n0","dest":"n1","body":{"type":"txn_ok","txn":[["r",1,3]],"in_reply_to":1}}`,
		`{"src":"c1","dest":"n1","body":{"type":"txn","msg_id":3,"txn":[["w",1,4]]}}`,
		`{"src":"n0","dest":"n1","body":{"type":"error","code":11,"in_reply_to":2}}`)
	require.Equal(t, []string{
		`{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`,
		`{"src":"n1","dest":"n0","body":{"type":"txn","txn":[["r",1,null]],"msg_id":1}}`,
		`{"src":"n1","dest":"c1","body":{"type":"txn_ok","txn":[["r",1,3]],"in_reply_to":2}}`,
		`{"src":"n1","dest":"n0","body":{"type":"txn","txn":[["w",1,4]],"msg_id":2}}`,
		`{"src":"n1","dest":"c1","body":{"type":"error","code":11,"in_reply_to":3}}`,
	}, got)
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
			want: `{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["append",2,1],["append",2,2],["r",2,null],["r",1,3]],"in_reply_to":2}}`},
		// A list read shows committed appends below the stable horizon
		// only, not the transaction's own (see lib/txn): the next one sees
		// them.
		{in: `{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":6,"txn":[["r",2,null]]}}`,
			want: `{"src":"n0","dest":"c1","body":{"type":"txn_ok","txn":[["r",2,[1,2]]],"in_reply_to":6}}`},
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
	for i, s := range script {
		if s.want == "" { // a decode error: code 12 with the decoder's text
			require.Contains(t, lines[i], `"code":12`)
			require.Contains(t, lines[i], `"in_reply_to":3`)
			continue
		}
		require.Equal(t, s.want, lines[i])
	}
}

func TestModes(t *testing.T) {
	cases := []struct {
		args []string
		want mode
		err  string
	}{
		{args: nil, want: strictSerializable},
		{args: []string{"read-committed"}, want: readCommitted},
		{args: []string{"read-uncommitted"}, want: readCommitted},
		{args: []string{"serializable"}, err: "usage: txn-rw-register"},
		{args: []string{"read-committed", "x"}, err: "usage"},
		{args: []string{"–-nemesis", "partition"}, err: "usage"},
	}
	for _, tc := range cases {
		m, err := parseMode(tc.args)
		if tc.err == "" {
			require.NoError(t, err, "%q", tc.args)
			require.Equal(t, tc.want, m)
			continue
		}
		require.ErrorContains(t, err, tc.err, "%q", tc.args)
	}
}
