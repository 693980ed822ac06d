package kafkalog

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raftnode"
)

// A write that finds no leader, on a node that hears a majority, waits
// WaitForLeader for one, then fails definitely (11), but for a
// commit_offsets, whose failure is indefinite (13): Maelstrom's client
// commits as the second half of a poll op whose offsets it has already
// moved, and a definite failure would make its next poll a poll-skip. A
// malformed one fails at once, and so does every write on a node that
// hears no majority (a minority's side, where no leader is coming).
func TestNoLeaderCommitIndefinite(t *testing.T) {
	for _, hears := range []bool{true, false} {
		t.Run(fmt.Sprintf("hears a majority=%v", hears), func(t *testing.T) {
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
			for i := 0; len(codes) < 3; i++ {
				require.Less(t, i, 2*wait, "every request answered")
				if hears {
					c.Step("n0", raftnode.Msg{Type: raftnode.TypePong, T: 1}) // n0 is in reach
				}
				c.Tick()
				for _, r := range c.Drain().Replies {
					e, ok := r.Body.(*maelstrom.RPCError)
					require.True(t, ok, "%v", r.Body)
					codes[r.InReplyTo] = e.Code
				}
				if i == 0 && hears {
					require.Equal(t, map[int64]int{3: maelstrom.MalformedRequest}, codes, "only the malformed one at once")
				}
				if i == wait-2 && hears {
					require.Len(t, codes, 1, "the others wait for a leader")
				}
				if i == 0 && !hears {
					require.Len(t, codes, 3, "no wait on a minority's side")
				}
			}
			// After the wait raftnode asks the peers in reach; one that
			// does not answer makes the send's outcome unknown (13) too.
			send := maelstrom.TemporarilyUnavailable
			if hears {
				send = maelstrom.Crash
			}
			require.Equal(t, map[int64]int{1: send, 2: maelstrom.Crash, 3: maelstrom.MalformedRequest}, codes)
		})
	}
}
