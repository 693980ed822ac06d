package raftnode

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/raft"
)

func newTestCore(t *testing.T, id string, nodes []string, tm Timing) (*Core, *counter) {
	t.Helper()
	c := &counter{Last: map[string]int64{}}
	core, err := NewCore(CoreConfig{ID: id, Nodes: nodes, Types: []string{"add", "get"}, Machine: c,
		Codec: counterCodec{c: c}, Timing: tm, Rand: rand.New(rand.NewPCG(1, 2))})
	require.NoError(t, err)
	return core, c
}

func add(client string, id, delta int64) core.Command[Request] {
	return core.Command[Request]{Client: client, MsgID: id,
		Body: Request{Type: "add", Body: json.RawMessage(fmt.Sprintf(`{"type":"add","delta":%d}`, delta))}}
}

func get(client string, id int64) core.Command[Request] {
	return core.Command[Request]{Client: client, MsgID: id, Body: Request{Type: "get", Body: json.RawMessage(`{"type":"get"}`)}}
}

func rpcErr(code int) func(any) bool {
	return func(b any) bool { e, ok := b.(*maelstrom.RPCError); return ok && e.Code == code }
}

// requireReplies checks the replies' addressees in order and each body
// with its predicate or by equality.
func requireReplies(t *testing.T, got []core.Reply[any], want ...core.Reply[any]) {
	t.Helper()
	require.Len(t, got, len(want), "%v", got)
	for i, w := range want {
		require.Equal(t, w.To, got[i].To, "reply %d", i)
		require.Equal(t, w.InReplyTo, got[i].InReplyTo, "reply %d", i)
		if f, ok := w.Body.(func(any) bool); ok {
			require.True(t, f(got[i].Body), "reply %d: %v", i, got[i].Body)
			continue
		}
		require.Equal(t, w.Body, got[i].Body, "reply %d", i)
	}
}

// TestCore: without a leader everything fails definitely; with one,
// commands are answered once when they apply (a copy submitted while
// pending is not proposed again), queries after their read index; the
// pending bound is enforced; expired queries fail definitely and expired
// commands are forgotten without an answer.
func TestCore(t *testing.T) {
	tm := DefaultTiming()
	tm.PendingMax = 2
	c, counter := newTestCore(t, "n0", []string{"n0"}, tm)
	c.Command(add("c1", 1, 5))
	c.Command(get("c1", 2))
	c.Command(core.Command[Request]{Client: "c1", MsgID: 3, Body: Request{Type: "add", Body: json.RawMessage(`{}`)}})
	requireReplies(t, c.Drain().Replies,
		core.Reply[any]{To: "c1", InReplyTo: 1, Body: rpcErr(maelstrom.TemporarilyUnavailable)},
		core.Reply[any]{To: "c1", InReplyTo: 2, Body: rpcErr(maelstrom.TemporarilyUnavailable)},
		core.Reply[any]{To: "c1", InReplyTo: 3, Body: rpcErr(maelstrom.MalformedRequest)})

	require.NoError(t, c.RSM().Raft().Campaign())
	c.Drain()
	require.Equal(t, "n0", c.RSM().Raft().Status().Lead)

	c.Command(add("c1", 4, 5))
	c.Command(add("c1", 4, 5)) // same request: one answer
	c.Command(add("c2", 1, 2))
	c.Command(add("c3", 1, 1)) // over the pending bound
	c.Command(get("c1", 5))
	requireReplies(t, c.Drain().Replies,
		core.Reply[any]{To: "c3", InReplyTo: 1, Body: rpcErr(maelstrom.TemporarilyUnavailable)},
		core.Reply[any]{To: "c1", InReplyTo: 4, Body: valueReply{Type: "add_ok", Value: 5}},
		core.Reply[any]{To: "c2", InReplyTo: 1, Body: valueReply{Type: "add_ok", Value: 7}},
		core.Reply[any]{To: "c1", InReplyTo: 5, Body: valueReply{Type: "get_ok", Value: 7}})
	require.Equal(t, int64(7), counter.Sum)
	require.Zero(t, c.Pending())

	// Expiry. A lone voter's read index comes back at once, so hold a
	// query and a command by hand.
	c.queries[99] = pendingQuery{to: route{client: "c9", msgID: 1}, at: c.now}
	c.cmds[reqKey{"c1", 6}] = pendingCmd{to: route{client: "c1", msgID: 6}, at: c.now}
	queryTTL := c.links.ticks(tm.PendingTTL / 5)
	for range queryTTL {
		c.Tick()
	}
	require.Empty(t, c.Drain().Replies)
	require.Equal(t, 2, c.Pending())
	cmdTTL := c.links.ticks(tm.PendingTTL)
	for range cmdTTL + c.links.ticks(expireEvery) {
		c.Tick()
	}
	requireReplies(t, c.Drain().Replies, core.Reply[any]{To: "c9", InReplyTo: 1, Body: rpcErr(maelstrom.TemporarilyUnavailable)})
	require.Zero(t, c.Pending(), "the command is forgotten, without an answer")

	_, err := NewCore(CoreConfig{ID: "n0", Nodes: []string{"n0"}})
	require.Error(t, err)
}

// TestCoreDirect: the leader answers a command another node submitted (a
// forwarded proposal) straight to its client, as well as its own.
func TestCoreDirect(t *testing.T) {
	c, _ := newTestCore(t, "n0", []string{"n0"}, DefaultTiming())
	require.NoError(t, c.RSM().Raft().Campaign())
	c.Drain()
	fwd, err := json.Marshal(addCmd{Client: "c9", ID: 3, Delta: 4})
	require.NoError(t, err)
	require.NoError(t, c.RSM().Step(raft.Message{Type: raft.MsgProp, From: "n1", To: "n0",
		Entries: []raft.Entry{{Data: fwd}}}))
	c.Command(add("c1", 1, 1))
	requireReplies(t, c.Drain().Replies,
		core.Reply[any]{To: "c9", InReplyTo: 3, Body: valueReply{Type: "add_ok", Value: 4}},
		core.Reply[any]{To: "c1", InReplyTo: 1, Body: valueReply{Type: "add_ok", Value: 5}})
}

// TestTickFollowsRTT: pongs size the Raft tick, those of a direct round
// trip only.
func TestTickFollowsRTT(t *testing.T) {
	tm := DefaultTiming()
	c, _ := newTestCore(t, "n1", []string{"n0", "n1", "n2"}, tm)
	require.Equal(t, tm.TickStart, c.links.Tick())
	for range 21 {
		c.Tick()
	}
	c.Step("n0", Msg{Type: TypePong, T: 1}) // the first round, 200 ms ago
	require.Equal(t, tm.TickStart, c.links.Tick(), "a slow first sample waits for the next round")
	for c.now%100 != 0 {
		c.Tick()
	}
	round := c.now
	for range 20 {
		c.Tick()
	}
	c.Step("n0", Msg{Type: TypePong, T: round}) // 200 ms again
	require.Equal(t, 200*time.Millisecond, c.links.Tick(), "first sample: rtt/2 + rtt/2")
	c.Step("n2", Msg{Type: TypeRelay, Relay: &Relay{From: "n0", To: "n1", Msg: Msg{Type: TypePong, T: c.now - 1}}})
	require.Equal(t, 200*time.Millisecond, c.links.Tick(), "a relayed pong measures nothing")
	c.Drain()
	c.Step("n2", Msg{Type: TypeRelay, Relay: &Relay{From: "n0", To: "n1", Msg: Msg{Type: TypePing, T: 7}}})
	out := c.Drain().Messages
	require.Len(t, out, 1)
	require.Equal(t, "n0", out[0].To)
	require.Equal(t, Msg{Type: TypePong, Hear: true}, out[0].Msg, "a relayed ping's pong carries no send tick")
}

// TestTickFollowsEveryPeer: every peer's pong of a round is a sample, so
// the tick follows the round trip to a typical peer, not to the fastest.
func TestTickFollowsEveryPeer(t *testing.T) {
	nodes := []string{"n0", "n1", "n2", "n3", "n4"}
	c, _ := newTestCore(t, "n0", nodes, DefaultTiming())
	fastest, _ := newTestCore(t, "n0", nodes, DefaultTiming())
	for range 10 {
		for c.Tick(); c.ping.t != c.now; c.Tick() {
		}
		for fastest.Tick(); fastest.ping.t != fastest.now; fastest.Tick() {
		}
		// Round trips of 10, 30, 50 and 70 ms; fastest hears n1 only.
		for i, p := range nodes[1:] {
			for range []int{1, 2, 2, 2}[i] {
				c.Tick()
			}
			c.Step(p, Msg{Type: TypePong, T: c.ping.t})
		}
		fastest.Tick()
		fastest.Step("n1", Msg{Type: TypePong, T: fastest.ping.t})
	}
	require.Equal(t, 10*time.Millisecond, fastest.links.Tick())
	require.Greater(t, c.links.Tick(), 20*time.Millisecond)
}

// TestTickIgnoresPausedPeer: a peer paused for seconds answers the pings
// it held when it resumes; those late pongs, and a late pong of the
// latest round once, do not size the tick, but a lasting change does.
func TestTickIgnoresPausedPeer(t *testing.T) {
	c, _ := newTestCore(t, "n1", []string{"n0", "n1", "n2"}, DefaultTiming())
	round := func() int64 { // ticks to the next ping round; its tick
		for {
			c.Tick()
			if c.ping.t == c.now {
				return c.now
			}
		}
	}
	t0 := round()
	c.Tick()
	c.Step("n0", Msg{Type: TypePong, T: t0}) // 10 ms
	c.Step("n2", Msg{Type: TypePong, T: t0}) // 10 ms too
	c.Step("n2", Msg{Type: TypePong, T: t0}) // a second copy: not a sample
	require.Equal(t, 10*time.Millisecond, c.links.Tick())
	// n2 is paused for five rounds; n0 answers at once.
	var held []int64
	for range 5 {
		tr := round()
		held = append(held, tr)
		c.Tick()
		c.Step("n0", Msg{Type: TypePong, T: tr})
	}
	c.Tick()
	for _, tr := range held { // n2 resumes: every held ping's pong at once
		c.Step("n2", Msg{Type: TypePong, T: tr})
	}
	require.Equal(t, 10*time.Millisecond, c.links.Tick(), "pongs of past rounds")
	// Both peers away for a round; n2's pong comes 900 ms late, once.
	tr := round()
	for range 90 {
		c.Tick()
	}
	c.Step("n2", Msg{Type: TypePong, T: tr})
	require.Equal(t, 10*time.Millisecond, c.links.Tick(), "one late first pong")
	c.Step("n0", Msg{Type: TypePong, T: tr})
	require.Equal(t, 10*time.Millisecond, c.links.Tick(), "another late pong of the same round")
	c.Tick()
	tr = round()
	c.Tick()
	c.Step("n0", Msg{Type: TypePong, T: tr})
	require.Equal(t, 10*time.Millisecond, c.links.Tick())
	// The network slows down for good: 300 ms from now on.
	for i := range 2 {
		tr = round()
		for range 30 {
			c.Tick()
		}
		c.Step("n0", Msg{Type: TypePong, T: tr})
		if i == 0 {
			require.Equal(t, 10*time.Millisecond, c.links.Tick(), "the first slow sample is held back")
		}
	}
	require.Greater(t, c.links.Tick(), 50*time.Millisecond, "the second is taken")

	// A node paused before its first sample replays the ticks it missed
	// at once: its last round's pong looks 600 ms old.
	c, _ = newTestCore(t, "n1", []string{"n0", "n1", "n2"}, DefaultTiming())
	tr = round()
	for range 60 {
		c.Tick()
	}
	c.Step("n0", Msg{Type: TypePong, T: tr})
	require.Equal(t, DefaultTiming().TickStart, c.links.Tick(), "no first sample from a replay")
	tr = round()
	c.Tick()
	c.Step("n0", Msg{Type: TypePong, T: tr})
	require.Equal(t, 10*time.Millisecond, c.links.Tick())
}

// TestHandoff: a node that knows no leader hands a client's request off to
// the peers it hears; the first real answer goes to the client, a peer's
// "no leader" is counted, silence until the timeout makes the answer
// indefinite for a command. A peer serving a malformed handoff answers 12.
func TestHandoff(t *testing.T) {
	c, _ := newTestCore(t, "n1", []string{"n0", "n1", "n2"}, DefaultTiming())
	c.Tick()
	c.Step("n0", Msg{Type: TypePong, T: 1})
	c.Drain()
	c.Command(add("c1", 7, 1))
	var sent []string
	var tag int64
	for _, s := range c.Drain().Messages {
		sent = append(sent, s.To+":"+s.Msg.Type)
		tag = s.Msg.Tag
		require.Equal(t, "c1", s.Msg.Client)
		require.Equal(t, int64(7), s.Msg.ID)
	}
	require.Equal(t, []string{"n0:raft_handoff"}, sent, "only n0 was heard from")
	c.Step("n0", Msg{Type: TypeHandoffDone, Tag: tag, Body: json.RawMessage(`{"type":"add_ok","value":1}`)})
	requireReplies(t, c.Drain().Replies, core.Reply[any]{To: "c1", InReplyTo: 7, Body: json.RawMessage(`{"type":"add_ok","value":1}`)})

	// No answer in time: a command's outcome is unknown (13).
	c.Command(add("c1", 8, 1))
	c.Drain()
	for range c.handoffTimeout() {
		c.Tick()
	}
	requireReplies(t, c.Drain().Replies, core.Reply[any]{To: "c1", InReplyTo: 8, Body: rpcErr(maelstrom.Crash)})

	// "No leader" from every peer asked: definitely not done (11).
	c.Step("n0", Msg{Type: TypePong, T: c.now})
	c.Command(add("c1", 9, 1))
	for _, s := range c.Drain().Messages {
		tag = s.Msg.Tag
	}
	c.Step("n0", Msg{Type: TypeHandoffDone, Tag: tag, Code: maelstrom.TemporarilyUnavailable, Text: "no leader"})
	requireReplies(t, c.Drain().Replies, core.Reply[any]{To: "c1", InReplyTo: 9, Body: rpcErr(maelstrom.TemporarilyUnavailable)})

	// The serving side.
	for _, bad := range []Msg{
		{Type: TypeHandoff, Tag: 5, ID: 1, Req: json.RawMessage(`{"type":"add","delta":1}`)},
		{Type: TypeHandoff, Tag: 5, Client: "c9", ID: 1, Req: json.RawMessage(`{"type":"frob"}`)},
		{Type: TypeHandoff, Tag: 5, Client: "c9", ID: 1, Req: json.RawMessage(`{"type":"add"}`)},
	} {
		c.Step("n2", bad)
		out := c.Drain().Messages
		require.Len(t, out, 1)
		require.Equal(t, Msg{Type: TypeHandoffDone, Tag: 5, Code: maelstrom.MalformedRequest, Text: out[0].Msg.Text, Hear: true}, out[0].Msg)
		require.Equal(t, "n2", out[0].To)
	}
}
