package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSession: elements of every JSON type are added, equal elements
// (whatever their formatting) read back once, and a missing element is a
// malformed request.
func TestSession(t *testing.T) {
	script := []struct {
		in   string
		want string
	}{
		{in: `{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}`,
			want: `{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":1,"element":1}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":1}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":2,"element":"a"}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":2}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":3,"element":{"b":[1,null],"a":true}}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":3}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":4,"element":null}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":4}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":5,"element":{ "a" : true, "b":[1, null]}}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":5}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":6,"element":2.50}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":6}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"add","msg_id":7}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"add request has no element","in_reply_to":7}}`},
		{in: `{"src":"c1","dest":"n1","body":{"type":"read","msg_id":8}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"read_ok","value":[1,"a",{"a":true,"b":[1,null]},null,2.50],"in_reply_to":8}}`},
	}
	var in strings.Builder
	var want []string
	for _, s := range script {
		in.WriteString(s.in + "\n")
		want = append(want, s.want)
	}
	var out, logs bytes.Buffer
	require.NoError(t, run(nil, strings.NewReader(in.String()), &out, &logs))
	// Clients match replies by in_reply_to: the order of the replies to
	// one burst of requests is not part of the protocol (a request refused
	// at decoding is answered at once, the core's replies after the burst).
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Equal(t, want[0], lines[0], "init_ok first")
	require.ElementsMatch(t, want, lines)
}
