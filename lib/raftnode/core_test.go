package raftnode

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/raft"
	"maelkit/lib/rsm"
)

func newTestCore(t *testing.T) (*Core, *counter) {
	t.Helper()
	c := &counter{Last: map[string]int64{}}
	r, err := rsm.New(rsm.Config{Raft: raft.Config{ID: "n0", Voters: []string{"n0"}, Rand: rand.New(rand.NewPCG(1, 2))}}, c)
	require.NoError(t, err)
	core, err := NewCore(r, counterCodec{c: c}, 2)
	require.NoError(t, err)
	return core, c
}

func addOp(t *testing.T, client string, id, delta int64) Op {
	t.Helper()
	data, err := json.Marshal(addCmd{Client: client, ID: id, Delta: delta})
	require.NoError(t, err)
	return Op{Data: data}
}

// TestCore: without a leader everything fails definitely; with one,
// commands are answered once when they apply (a copy submitted while
// pending is not proposed again), queries after their read index; the
// pending bound is enforced; expired queries fail definitely and expired
// commands are forgotten without an answer.
func TestCore(t *testing.T) {
	core, c := newTestCore(t)
	now := time.Unix(0, 0)
	codeOf := func(err error) int {
		var rpc *maelstrom.RPCError
		require.ErrorAs(t, err, &rpc)
		return rpc.Code
	}
	require.Equal(t, maelstrom.TemporarilyUnavailable, codeOf(core.Submit("a", "c1", 1, addOp(t, "c1", 1, 5), now)))
	require.Equal(t, maelstrom.TemporarilyUnavailable, codeOf(core.Submit("q", "c1", 2, Op{Query: true}, now)))
	require.Equal(t, maelstrom.MalformedRequest, codeOf(core.Submit("e", "c1", 3, Op{}, now)))

	require.NoError(t, core.RSM().Raft().Campaign())
	out, err := core.Advance()
	require.NoError(t, err)
	require.Equal(t, "n0", out.Lead)

	require.NoError(t, core.Submit("a", "c1", 4, addOp(t, "c1", 4, 5), now))
	require.NoError(t, core.Submit("a2", "c1", 4, addOp(t, "c1", 4, 5), now)) // same request: one answer
	require.NoError(t, core.Submit("b", "c2", 1, addOp(t, "c2", 1, 2), now))
	require.Equal(t, maelstrom.TemporarilyUnavailable, codeOf(core.Submit("x", "c3", 1, addOp(t, "c3", 1, 1), now)), "pending bound")
	require.NoError(t, core.Submit("q", "c1", 5, Op{Query: true}, now))
	out, err = core.Advance()
	require.NoError(t, err)
	require.Equal(t, []Reply{
		{To: "a", Body: valueReply{Type: "add_ok", Value: 5}},
		{To: "b", Body: valueReply{Type: "add_ok", Value: 7}},
		{To: "q", Body: valueReply{Type: "get_ok", Value: 7}},
	}, out.Replies)
	require.Equal(t, int64(7), c.Sum)
	require.Zero(t, core.Pending())

	// Expiry. A lone voter's read index comes back at once, so hold a
	// query by hand.
	core.queries[99] = pendingQuery{to: "slow", at: now}
	require.NoError(t, core.Submit("w", "c1", 6, addOp(t, "c1", 6, 1), now))
	require.Empty(t, core.Expire(now.Add(time.Second), 2*time.Second, 2*time.Second))
	require.Equal(t, 2, core.Pending())
	got := core.Expire(now.Add(3*time.Second), 2*time.Second, 2*time.Second)
	require.Len(t, got, 1)
	require.Equal(t, "slow", got[0].To)
	require.Zero(t, core.Pending(), "the command is forgotten, without an answer")
	require.Empty(t, core.Expire(now.Add(3*time.Second), 2*time.Second, 2*time.Second))

	_, err = NewCore(nil, counterCodec{}, 1)
	require.Error(t, err)
}

// TestCoreDirect: the leader answers a command another node submitted (a
// forwarded proposal) straight to its client; its own clients' commands
// are answered through their requests only.
func TestCoreDirect(t *testing.T) {
	core, _ := newTestCore(t)
	now := time.Unix(0, 0)
	require.NoError(t, core.RSM().Raft().Campaign())
	_, err := core.Advance()
	require.NoError(t, err)

	fwd := addOp(t, "c9", 3, 4)
	require.NoError(t, core.RSM().Step(raft.Message{Type: raft.MsgProp, From: "n1", To: "n0",
		Entries: []raft.Entry{{Data: fwd.Data}}}))
	require.NoError(t, core.Submit("mine", "c1", 1, addOp(t, "c1", 1, 1), now))
	out, err := core.Advance()
	require.NoError(t, err)
	require.Equal(t, []Reply{{To: "mine", Body: valueReply{Type: "add_ok", Value: 5}}}, out.Replies)
	require.Equal(t, []Direct{{Client: "c9", ID: 3, Body: valueReply{Type: "add_ok", Value: 4}}}, out.Direct)
}
