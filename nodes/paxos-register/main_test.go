package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// session runs the node over the given input lines and returns its output
// lines.
func session(t *testing.T, lines ...string) []string {
	t.Helper()
	var out, logs bytes.Buffer
	require.NoError(t, runInTemp(nil, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &logs))
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// TestSingleNodeSemantics: with one node every round completes at once,
// so the replies come in order and show lin-kv's semantics exactly.
func TestSingleNodeSemantics(t *testing.T) {
	got := session(t,
		`{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}`,
		`{"src":"c1","dest":"n0","body":{"type":"read","msg_id":2,"key":0}}`,
		`{"src":"c1","dest":"n0","body":{"type":"cas","msg_id":3,"key":0,"from":1,"to":2}}`,
		`{"src":"c1","dest":"n0","body":{"type":"write","msg_id":4,"key":0,"value":9007199254740993}}`,
		`{"src":"c1","dest":"n0","body":{"type":"read","msg_id":5,"key":0}}`,
		`{"src":"c1","dest":"n0","body":{"type":"cas","msg_id":6,"key":0,"from":2,"to":4}}`,
		`{"src":"c1","dest":"n0","body":{"type":"cas","msg_id":7,"key":0,"from":9007199254740993,"to":4}}`,
		`{"src":"c2","dest":"n0","body":{"type":"read","msg_id":8,"key":0}}`,
		`{"src":"c2","dest":"n0","body":{"type":"read","msg_id":9,"key":1.5}}`,
	)
	// Clients match replies by in_reply_to: a request refused at decoding
	// is answered at once, the core's replies after the burst of input.
	slices.SortStableFunc(got, func(a, b string) int {
		var x, y struct {
			Dest string
			Body struct {
				InReplyTo int64 `json:"in_reply_to"`
			}
		}
		_, _ = json.Unmarshal([]byte(a), &x), json.Unmarshal([]byte(b), &y)
		return cmp.Or(cmp.Compare(x.Dest, y.Dest), cmp.Compare(x.Body.InReplyTo, y.Body.InReplyTo))
	})
	require.Equal(t, []string{
		`{"src":"n0","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`,
		`{"src":"n0","dest":"c1","body":{"type":"error","code":20,"text":"key does not exist","in_reply_to":2}}`,
		`{"src":"n0","dest":"c1","body":{"type":"error","code":20,"text":"key does not exist","in_reply_to":3}}`,
		`{"src":"n0","dest":"c1","body":{"type":"write_ok","in_reply_to":4}}`,
		`{"src":"n0","dest":"c1","body":{"type":"read_ok","value":9007199254740993,"in_reply_to":5}}`,
		`{"src":"n0","dest":"c1","body":{"type":"error","code":22,"text":"current value does not match from","in_reply_to":6}}`,
		`{"src":"n0","dest":"c1","body":{"type":"cas_ok","in_reply_to":7}}`,
		`{"src":"n0","dest":"c2","body":{"type":"read_ok","value":4,"in_reply_to":8}}`,
	}, got[:8])
	require.Contains(t, got[8], `"code":12`, "a non-integer key is malformed")
}

// sessionIn runs the node with its durable state in dir over the given
// input lines and returns its output lines.
func sessionIn(t *testing.T, dir string, lines ...string) []string {
	t.Helper()
	var out, logs bytes.Buffer
	require.NoError(t, run([]string{"-dir", dir}, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &logs))
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// TestClusterSendsPrepares: in a cluster of five a request on a key this
// node is preferred for (key 1 at n1; see paxos's preferred) becomes a
// prepare to every peer (thrifty sends are for three nodes by default),
// sent without msg_id (peers answer with their own messages), and peer
// messages are served without replies. A request on key 3 goes to n3,
// its preferred node, as a forward. The node restarts on a disk it wrote
// before (a blank one would first relearn from its peers): its ballot
// counters start past the block it reserved then.
func TestClusterSendsPrepares(t *testing.T) {
	dir := t.TempDir()
	sessionIn(t, dir,
		`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}`,
		`{"src":"c1","dest":"n1","body":{"type":"write","msg_id":2,"key":9,"value":1}}`,
	)
	got := sessionIn(t, dir,
		`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2","n3","n4"]}}`,
		`{"src":"c1","dest":"n1","body":{"type":"write","msg_id":2,"key":1,"value":1}}`,
		`{"src":"n0","dest":"n1","body":{"type":"prepare","key":5,"ballot":{"c":7,"n":"n0"}}}`,
		`{"src":"c1","dest":"n1","body":{"type":"write","msg_id":3,"key":3,"value":1}}`,
	)
	require.Len(t, got, 7)
	for i, dest := range []string{"n0", "n2", "n3", "n4"} {
		var m struct {
			Dest string `json:"dest"`
			Body struct {
				Type   string `json:"type"`
				Key    int64  `json:"key"`
				MsgID  *int64 `json:"msg_id"`
				Ballot struct {
					C int64  `json:"c"`
					N string `json:"n"`
				} `json:"ballot"`
			} `json:"body"`
		}
		require.NoError(t, json.Unmarshal([]byte(got[1+i]), &m))
		require.Equal(t, dest, m.Dest)
		require.Equal(t, "prepare", m.Body.Type)
		require.Equal(t, int64(1), m.Body.Key)
		require.Nil(t, m.Body.MsgID)
		require.Equal(t, "n1", m.Body.Ballot.N)
		require.Equal(t, int64(1+1024+1), m.Body.Ballot.C, "above the reserved block")
	}
	require.Equal(t, `{"src":"n1","dest":"n0","body":{"type":"promise","key":5,"ballot":{"c":7,"n":"n0"},"hear":true}}`, got[5])
	require.Equal(t, `{"src":"n1","dest":"n3","body":{"type":"forward","key":3,"tag":1027,"ops":[{"f":"write","value":1,"src":"c1","req":3}]}}`, got[6])
}

// TestBlankDiskInCluster: with -amnesia a node that starts with nothing
// on disk in a cluster may have lost its disk: it promises nothing to a
// peer's prepare until it has relearned from its peers. Without it such
// a start is a first start, and it promises at once.
func TestBlankDiskInCluster(t *testing.T) {
	lines := []string{
		`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n0","n1","n2"]}}`,
		`{"src":"n0","dest":"n1","body":{"type":"prepare","key":5,"ballot":{"c":7,"n":"n0"}}}`,
	}
	promised := func(args ...string) bool {
		var out, logs bytes.Buffer
		require.NoError(t, runInTemp(args, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &logs))
		return strings.Contains(out.String(), `"promise"`)
	}
	require.False(t, promised("-amnesia"), "a blank disk with -amnesia relearns first")
	require.True(t, promised(), "a blank disk without -amnesia is a first start")
}

func TestOptions(t *testing.T) {
	var logs bytes.Buffer
	opt, err := parseOptions([]string{"-thrifty", "-fast-path=false", "-forward=false", "-relay=false", "-tick", "2ms",
		"-dir", "/d", "-sync=false", "-stats-every", "1s", "-amnesia"}, &logs)
	require.NoError(t, err)
	require.Equal(t, options{tick: 2 * time.Millisecond, thrifty: thriftyOn, fastPath: false, forward: false,
		dir: "/d", sync: false, statsEvery: time.Second, amnesia: true}, opt)
	opt, err = parseOptions(nil, &logs)
	require.NoError(t, err)
	require.Equal(t, defaultOptions(), opt)
	require.True(t, opt.thrifty.on(3))
	require.False(t, opt.thrifty.on(5))
	opt, err = parseOptions([]string{"-thrifty=false"}, &logs)
	require.NoError(t, err)
	require.False(t, opt.thrifty.on(3))
	for _, bad := range [][]string{{"-tick", "0s"}, {"-bogus"}, {"-tick", "soon"}, {"-thrifty=sometimes"}} {
		_, err := parseOptions(bad, &logs)
		require.Error(t, err, "%v", bad)
	}
}

// TestRestartRecovers: a node started again on the same directory (as
// after a kill) still has what it acknowledged, with fsync or without.
func TestRestartRecovers(t *testing.T) {
	for _, sync := range []string{"-sync=true", "-sync=false"} {
		t.Run(sync, func(t *testing.T) {
			dir := t.TempDir()
			init := `{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}`
			boot := func(lines ...string) []string {
				var out, logs bytes.Buffer
				require.NoError(t, run([]string{"-dir", dir, sync}, strings.NewReader(strings.Join(append([]string{init}, lines...), "\n")+"\n"), &out, &logs))
				return strings.Split(strings.TrimSpace(out.String()), "\n")
			}
			got := boot(`{"src":"c1","dest":"n0","body":{"type":"write","msg_id":2,"key":3,"value":7}}`)
			require.Contains(t, got, `{"src":"n0","dest":"c1","body":{"type":"write_ok","in_reply_to":2}}`)
			got = boot(`{"src":"c1","dest":"n0","body":{"type":"read","msg_id":3,"key":3}}`)
			require.Contains(t, got, `{"src":"n0","dest":"c1","body":{"type":"read_ok","value":7,"in_reply_to":3}}`)
		})
	}
}
