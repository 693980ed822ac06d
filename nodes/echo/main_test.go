package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSession runs a scripted Maelstrom session through run: init, echoes
// of every JSON kind (payloads returned byte for byte), and bad inputs that
// must neither stop the node nor draw a wrong reply.
func TestSession(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // over the official package's 64 KiB line limit
	script := []struct {
		in   string
		want string // "" = no reply
	}{
		{in: `{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}}`,
			want: `{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`},
		{in: `{"id":1,"src":"c1","dest":"n1","body":{"echo":"Please echo 35","type":"echo","msg_id":1}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":"Please echo 35","in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":9007199254740993,"msg_id":2}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":9007199254740993,"in_reply_to":2}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":{"b": [1, 2.50, 1e400, null, true], "a":"<&>\u2028\n"},"msg_id":3}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":{"b": [1, 2.50, 1e400, null, true], "a":"<&>\u2028\n"},"in_reply_to":3}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":null,"msg_id":4}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":null,"in_reply_to":4}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":"` + big + `","msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":"` + big + `","in_reply_to":5}}`},
		// Bad inputs.
		{in: `not json`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1}}`}, // no msg_id: no reply
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":6}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"echo request has no echo field","in_reply_to":6}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"generate","msg_id":7}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":10,"text":"no handler for type \"generate\"","in_reply_to":7}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":"8","echo":1}}`},
		{in: `{"src":"n2","dest":"n1","body":{"type":"echo_ok","in_reply_to":3}}`}, // a stray reply
		{in: `{"src":"c0","dest":"n1","body":{"type":"init","msg_id":9,"node_id":"n1","node_ids":["n1","n2"]}}`,
			want: `{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":9}}`},
		{in: `{"src":"c2","dest":"n1","body":{"type":"echo","echo":"still here","msg_id":1}}`,
			want: `{"src":"n1","dest":"c2","body":{"type":"echo_ok","echo":"still here","in_reply_to":1}}`},
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
	require.Equal(t, strings.Join(want, "\n")+"\n", out.String())
	t.Log(logs.String())
}
