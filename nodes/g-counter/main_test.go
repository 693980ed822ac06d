package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSession runs a scripted Maelstrom session through run: adds and reads
// answered locally, a peer's sync merged, bad adds refused with error 12.
// Only replies to clients are compared: the gossip a tick may send first
// depends on timing.
func TestSession(t *testing.T) {
	script := []struct {
		in   string
		want string // "" = no reply
	}{
		{in: `{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}}`,
			want: `{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","delta":3,"msg_id":1}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","delta":0,"msg_id":2}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":2}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"read","msg_id":3}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"read_ok","value":3,"in_reply_to":3}}`},
		// A started node counts under a new entry n1@<incarnation>, so the
		// entry "n1" is an earlier life's and adds in.
		{in: `{"src":"n2","dest":"n1","body":{"type":"counter_sync","entries":{"n2":4,"n1":1}}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"read","msg_id":4}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"read_ok","value":8,"in_reply_to":4}}`},
		// Bad inputs: refused, state unchanged.
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","delta":-1,"msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"crdt: negative increment of a grow-only count","in_reply_to":5}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":6}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"add has no delta","in_reply_to":6}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","delta":1.5,"msg_id":7}}`, want: `code 12`},
		{in: `{"src":"n2","dest":"n1","body":{"type":"counter_sync","entries":{"n2":-4}}}`},
		{in: `{"src":"n2","dest":"n1","body":{"type":"counter_sync","entries":{"n9":40}}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"read","msg_id":8}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"read_ok","value":8,"in_reply_to":8}}`},
	}
	var in strings.Builder
	var want []string
	for _, s := range script {
		in.WriteString(s.in + "\n")
		if s.want != "" {
			want = append(want, s.want)
		}
	}
	var out, logs bytes.Buffer
	require.NoError(t, run(strings.NewReader(in.String()), &out, &logs))
	// Clients match replies by in_reply_to, so replies are compared in
	// that order: a request refused at decoding is answered at once, the
	// core's replies after the burst of input.
	type reply struct {
		line      string
		dest      string
		inReplyTo int64
	}
	var replies []reply
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			Dest string
			Body struct {
				InReplyTo int64 `json:"in_reply_to"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m.Dest[0] == 'c' {
			replies = append(replies, reply{line, m.Dest, m.Body.InReplyTo})
		}
	}
	slices.SortStableFunc(replies, func(a, b reply) int {
		return cmp.Or(cmp.Compare(a.dest, b.dest), cmp.Compare(a.inReplyTo, b.inReplyTo))
	})
	var got []string
	for _, r := range replies {
		got = append(got, r.line)
	}
	require.Len(t, got, len(want), "replies:\n%s", strings.Join(got, "\n"))
	for i := range want {
		if strings.HasPrefix(want[i], "code ") {
			require.Contains(t, got[i], `"code":12`)
			continue
		}
		require.Equal(t, want[i], got[i])
	}
}
