package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUniqueAcrossNodesAndRestarts runs 3 nodes, each twice (a restart),
// through run with scripted sessions, and checks that every generate_ok has
// exactly the workload's fields, a string id, and that no id repeats.
func TestUniqueAcrossNodesAndRestarts(t *testing.T) {
	const perRun = 5000
	seen := map[string]string{}
	for _, id := range []string{"n0", "n1", "n2"} {
		for boot := range 2 {
			var in strings.Builder
			fmt.Fprintf(&in, `{"src":"c0","dest":%q,"body":{"type":"init","msg_id":1,"node_id":%q,"node_ids":["n0","n1","n2"]}}`+"\n", id, id)
			for i := 1; i <= perRun; i++ {
				fmt.Fprintf(&in, `{"id":%d,"src":"c%d","dest":%q,"body":{"type":"generate","msg_id":%d}}`+"\n", i, 1+i%4, id, i)
			}
			var out, logs bytes.Buffer
			require.NoError(t, run(strings.NewReader(in.String()), &out, &logs))
			sc := bufio.NewScanner(&out)
			require.True(t, sc.Scan())
			require.Equal(t, fmt.Sprintf(`{"src":%q,"dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`, id), sc.Text())
			for i := 1; i <= perRun; i++ {
				require.True(t, sc.Scan())
				var m struct {
					Src  string                     `json:"src"`
					Body map[string]json.RawMessage `json:"body"`
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
				require.Equal(t, id, m.Src)
				require.Len(t, m.Body, 3, sc.Text()) // type, id, in_reply_to: nothing else
				require.JSONEq(t, `"generate_ok"`, string(m.Body["type"]))
				require.JSONEq(t, fmt.Sprint(i), string(m.Body["in_reply_to"]))
				var got string
				require.NoError(t, json.Unmarshal(m.Body["id"], &got), "ids are strings")
				where := fmt.Sprintf("%s boot %d", id, boot)
				prev, dup := seen[got]
				require.False(t, dup, "id %s from %s and %s", got, prev, where)
				seen[got] = where
			}
			require.False(t, sc.Scan(), "extra output: %s", sc.Text())
		}
	}
	require.Len(t, seen, 3*2*perRun)
}

// TestGenerateBeforeInit: a generate that arrives before init waits for it
// (the id generator needs the node id) and is then answered.
func TestGenerateBeforeInit(t *testing.T) {
	in := `{"src":"c1","dest":"n1","body":{"type":"generate","msg_id":1}}` + "\n" +
		`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}` + "\n"
	var out, logs bytes.Buffer
	require.NoError(t, run(strings.NewReader(in), &out, &logs))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	require.Equal(t, `{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`, lines[0])
	require.Regexp(t, `^\{"src":"n1","dest":"c1","body":\{"type":"generate_ok","id":"n1-[0-9a-f]{16}-0","in_reply_to":1\}\}$`, lines[1])
}
