package kafkalog

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raft"
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

// A follower's forwarded writes go into the leader's next append at once
// when the leader has no append in flight, and within one flush (one Core
// tick) while an append of its own is uncommitted: never a Raft tick
// (raftnode's group commit) later.
func TestForwardedWritesWaitOneFlushAtMost(t *testing.T) {
	nodes := []string{"n0", "n1"}
	cores := map[string]*Core{}
	for i, id := range nodes {
		cfg := DefaultConfig()
		cfg.ID, cfg.Nodes, cfg.Rand = id, nodes, rand.New(rand.NewPCG(1, uint64(i)))
		c, err := NewCore(cfg)
		require.NoError(t, err)
		cores[id] = c
	}
	n0, n1 := cores["n0"], cores["n1"]
	// deliver drains every core and hands its messages over until none is
	// left, but for those hold keeps back (and returns).
	deliver := func(hold func(from string, m raftnode.Msg) bool) (kept []raftnode.Msg) {
		for range 100 {
			moved := false
			for _, from := range nodes {
				for _, s := range cores[from].Drain().Messages {
					if hold != nil && hold(from, s.Msg) {
						kept = append(kept, s.Msg)
						continue
					}
					cores[s.To].Step(from, s.Msg)
					moved = true
				}
			}
			if !moved {
				return kept
			}
		}
		t.Fatal("messages kept flowing")
		return nil
	}
	require.NoError(t, n0.Raft().RSM().Raft().Campaign())
	deliver(nil)
	require.True(t, n0.leading(), "n0 leads")

	msgID := int64(0)
	send := func(c *Core, client string) {
		msgID++
		c.Command(core.Command[raftnode.Request]{Client: client, MsgID: msgID,
			Body: raftnode.Request{Type: TypeSend, Body: json.RawMessage(`{"type":"send","key":"k","msg":1}`)}})
	}
	// carries says whether m is an append from the leader holding a
	// write of client.
	carries := func(m raftnode.Msg, client string) bool {
		if m.Type != raftnode.TypeRaft || m.M.Type != raft.MsgApp {
			return false
		}
		for _, e := range m.M.Entries {
			var cmd Command
			if json.Unmarshal(e.Data, &cmd) == nil && cmd.Client == client {
				return true
			}
		}
		return false
	}
	// forward has n1 take a client's write and forward it to n0.
	forward := func(client string) {
		send(n1, client)
		n1.Tick()
		for _, s := range n1.Drain().Messages {
			require.Equal(t, "n0", s.To)
			n0.Step("n1", s.Msg)
		}
	}
	appended := func(client string) bool {
		for _, s := range n0.Drain().Messages {
			if carries(s.Msg, client) {
				return true
			}
		}
		return false
	}

	// Nothing in flight: appended at once.
	forward("c1")
	require.True(t, appended("c1"), "appended at once")
	deliver(nil)

	// n0's own write in flight (its append held back): the forward waits
	// for n0's next flush, one tick.
	send(n0, "c2")
	n0.Tick()
	kept := deliver(func(from string, m raftnode.Msg) bool { return from == "n0" && carries(m, "c2") })
	require.Len(t, kept, 1, "n0's append of c2 is in flight")
	forward("c3")
	require.False(t, appended("c3"), "held while n0's append is uncommitted")
	n0.Tick()
	require.True(t, appended("c3"), "appended at n0's next flush")
}
