package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSession runs a scripted session through run: a leaf of a two-node
// cluster uploads its client's value to the hub (n0) at once, takes values
// gossiped to it, serves reads locally, and rejects malformed broadcasts.
func TestSession(t *testing.T) {
	script := []struct {
		in   string
		want []string
	}{
		{in: `{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1"]}}`,
			want: []string{`{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`}},
		{in: `{"src":"c1","dest":"n1","body":{"type":"topology","msg_id":1,"topology":{"n0":["n1"],"n1":["n0"]}}}`,
			want: []string{`{"src":"n1","dest":"c1","body":{"type":"topology_ok","in_reply_to":1}}`}},
		{in: `{"src":"c2","dest":"n1","body":{"type":"broadcast","msg_id":1,"message":5}}`,
			want: []string{
				`{"src":"n1","dest":"c2","body":{"type":"broadcast_ok","in_reply_to":1}}`,
				// A node started from an empty disk adds under the
				// origin n1@<incarnation> (INC here), and greets n0.
				`{"src":"n1","dest":"n0","body":{"type":"gossip","f":[{"o":"n1@INC","s":1,"v":[5]}],"i":INC,"g":true}}`,
			}},
		{in: `{"src":"n0","dest":"n1","body":{"type":"gossip","v":[{"o":"n0","s":1,"v":[7,8]}],"h":[{"o":"n0","r":[1,2]}]}}`},
		{in: `{"src":"c2","dest":"n1","body":{"type":"read","msg_id":2}}`,
			want: []string{`{"src":"n1","dest":"c2","body":{"type":"read_ok","messages":[5,7,8],"in_reply_to":2}}`}},
		{in: `{"src":"c2","dest":"n1","body":{"type":"broadcast","msg_id":3,"message":5}}`, // again: stored once
			want: []string{`{"src":"n1","dest":"c2","body":{"type":"broadcast_ok","in_reply_to":3}}`}},
		{in: `{"src":"c2","dest":"n1","body":{"type":"broadcast","msg_id":4}}`,
			want: []string{`{"src":"n1","dest":"c2","body":{"type":"error","code":12,"text":"broadcast request has no message","in_reply_to":4}}`}},
		{in: `{"src":"n0","dest":"n1","body":{"type":"gossip","v":[{"o":"n9","s":1,"v":[9]}],"h":"bad"}}`}, // malformed: dropped
		{in: `{"src":"c2","dest":"n1","body":{"type":"read","msg_id":5}}`,
			want: []string{`{"src":"n1","dest":"c2","body":{"type":"read_ok","messages":[5,7,8],"in_reply_to":5}}`}},
	}
	var in strings.Builder
	var want []string
	for _, s := range script {
		in.WriteString(s.in + "\n")
		want = append(want, s.want...)
	}
	var out, logs bytes.Buffer
	require.NoError(t, run(nil, strings.NewReader(in.String()), &out, &logs))
	// Gossip goes out when the loop is idle, so where it lands among the
	// replies, and the digest it carries, depend on how the input was read:
	// compare sorted lines without digests.
	digest := regexp.MustCompile(`,"h":\[(\{[^}]*\},?)*\]`)
	inc := regexp.MustCompile(`n1@[0-9]+|"i":[0-9]+`)
	got := strings.Split(digest.ReplaceAllString(strings.TrimSuffix(out.String(), "\n"), ""), "\n")
	for i, l := range got {
		got[i] = inc.ReplaceAllStringFunc(l, func(m string) string {
			if strings.HasPrefix(m, "n1@") {
				return "n1@INC"
			}
			return `"i":INC`
		})
	}
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got)
}

func TestFlags(t *testing.T) {
	var logs bytes.Buffer
	require.Error(t, run([]string{"--batch-ms", "-5"}, strings.NewReader(""), &bytes.Buffer{}, &logs))
	require.Error(t, run([]string{"--no-such-flag"}, strings.NewReader(""), &bytes.Buffer{}, &logs))
	require.Error(t, run([]string{"stray"}, strings.NewReader(""), &bytes.Buffer{}, &logs))
	require.NoError(t, run([]string{"--batch-ms", "150", "--no-align"}, strings.NewReader(""), &bytes.Buffer{}, &logs))
}
