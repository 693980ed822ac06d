package kafkalog

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raftnode"
)

// A write that finds no leader waits WaitForLeader for one, then fails
// definitely (11), but for a commit_offsets, whose failure is indefinite
// (13): Maelstrom's client commits as the second half of a poll op whose
// offsets it has already moved, and a definite failure would make its
// next poll a poll-skip. A malformed one fails at once.
func TestNoLeaderCommitIndefinite(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID, cfg.Nodes, cfg.Rand = "n1", []string{"n0", "n1", "n2"}, rand.New(rand.NewPCG(1, 2))
	c, err := NewCore(cfg)
	require.NoError(t, err)
	c.Drain()
	codes := map[int64]int{}
	for i, body := range []string{`{"type":"send","key":"k","msg":1}`, `{"type":"commit_offsets","offsets":{"k":0}}`,
		`{"type":"commit_offsets","offsets":{"k":-1}}`} {
		var head struct{ Type string }
		require.NoError(t, json.Unmarshal([]byte(body), &head))
		c.Command(core.Command[raftnode.Request]{Client: "c1", MsgID: int64(i + 1),
			Body: raftnode.Request{Type: head.Type, Body: json.RawMessage(body)}})
	}
	wait := int(WaitForLeader / cfg.Tick())
	for i := range wait + 2 {
		c.Tick()
		for _, r := range c.Drain().Replies {
			e, ok := r.Body.(*maelstrom.RPCError)
			require.True(t, ok, "%v", r.Body)
			codes[r.InReplyTo] = e.Code
		}
		if i == 0 {
			require.Equal(t, map[int64]int{3: maelstrom.MalformedRequest}, codes, "only the malformed one at once")
		}
		if i == wait-2 {
			require.Len(t, codes, 1, "the others wait for a leader")
		}
	}
	require.Equal(t, map[int64]int{1: maelstrom.TemporarilyUnavailable, 2: maelstrom.Crash, 3: maelstrom.MalformedRequest}, codes)
}
