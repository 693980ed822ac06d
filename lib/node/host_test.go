package node

import (
	"testing"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

// tally is a toy core: a sum that clients add to and read; every add is
// told to the peers, whose tallies add in too.
type tally struct {
	core.Outbox[tallyMsg, tallyReply]
	peers []string
	sum   int64
	ticks int
}

type tallyMsg struct {
	Type string `json:"type"`
	N    int64  `json:"n"`
}

// tallyCmd is a client's add (Delta) or read (Get); Mute asks for an
// answer the host must not send.
type tallyCmd struct {
	Delta     int64
	Get, Mute bool
}

type tallyReply struct {
	Get, Mute bool
	Sum       int64
}

func (c *tally) Step(_ string, m tallyMsg) { c.sum += m.N }
func (c *tally) Tick()                     { c.ticks++ }
func (c *tally) Drain() core.Output[tallyMsg, tallyReply] {
	return c.Take()
}

func (c *tally) Command(cmd core.Command[tallyCmd]) {
	b := cmd.Body
	if !b.Get && !b.Mute {
		c.sum += b.Delta
		for _, p := range c.peers {
			c.Send(p, tallyMsg{Type: "tally", N: b.Delta})
		}
	}
	c.Reply(cmd.Client, cmd.MsgID, tallyReply{Get: b.Get, Mute: b.Mute, Sum: c.sum})
}

type tallyBody struct {
	Type string `json:"type"`
	Sum  int64  `json:"sum,omitempty"`
}

func hostTally(n *Node, refuse bool) *Host[tallyMsg, tallyCmd, tallyReply] {
	h := NewHost(n, HostConfig[tallyMsg, tallyCmd, tallyReply]{
		Build: func(n *Node) (core.Core[tallyMsg, tallyCmd, tallyReply], error) {
			if refuse {
				return nil, maelstrom.NewRPCError(maelstrom.MalformedRequest, "refused")
			}
			return &tally{peers: n.Peers()}, nil
		},
		Tick:      time.Hour, // ticks are not under test
		PeerTypes: []string{"tally"},
		Reply: func(r tallyReply) any {
			switch {
			case r.Mute:
				return nil
			case r.Get:
				return tallyBody{Type: "get_ok", Sum: r.Sum}
			}
			return tallyBody{Type: "add_ok"}
		},
	})
	HandleCommand(h, "add", func(b struct{ Delta *int64 }) (tallyCmd, error) {
		if b.Delta == nil {
			return tallyCmd{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "no delta")
		}
		return tallyCmd{Delta: *b.Delta}, nil
	})
	HandleCommand(h, "get", func(struct{}) (tallyCmd, error) { return tallyCmd{Get: true}, nil })
	HandleCommand(h, "mute", func(struct{}) (tallyCmd, error) { return tallyCmd{Mute: true}, nil })
	return h
}

// TestHost: the core is built at init; a command's reply goes out through
// the reply encoder, before the messages of the same drain; a peer message
// reaches Step, one from a client does not; a decoding error is answered
// at once; a nil reply body sends nothing.
func TestHost(t *testing.T) {
	var host *Host[tallyMsg, tallyCmd, tallyReply]
	h := startNode(t, Config{}, func(n *Node) { host = hostTally(n, false) })
	require.Nil(t, host.Core())
	h.init("n1", "n1", "n2")
	require.NotNil(t, host.Core())
	h.send(`{"src":"c1","dest":"n1","body":{"type":"add","delta":5,"msg_id":2}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":2}}`,
		`{"src":"n1","dest":"n2","body":{"type":"tally","n":5}}`)
	h.send(`{"src":"n2","dest":"n1","body":{"type":"tally","n":3}}`,
		`{"src":"c7","dest":"n1","body":{"type":"tally","n":100}}`,
		`{"src":"c1","dest":"n1","body":{"type":"mute","msg_id":3}}`,
		`{"src":"c1","dest":"n1","body":{"type":"get","msg_id":4}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"get_ok","sum":8,"in_reply_to":4}}`)
	h.send(`{"src":"c1","dest":"n1","body":{"type":"add","msg_id":5}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"no delta","in_reply_to":5}}`)
	h.closeClean()
}

// TestHostBuildRefused: a Build error refuses the init; the node still
// waits for one.
func TestHostBuildRefused(t *testing.T) {
	var host *Host[tallyMsg, tallyCmd, tallyReply]
	h := startNode(t, Config{}, func(n *Node) { host = hostTally(n, true) })
	h.send(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}`)
	h.expect(`{"src":"n1","dest":"c0","body":{"type":"error","code":12,"text":"refused","in_reply_to":1}}`)
	require.Nil(t, host.Core())
	h.closeClean()
}

func TestNewHostNeedsConfig(t *testing.T) {
	n, err := New(Config{})
	require.NoError(t, err)
	require.Panics(t, func() { NewHost(n, HostConfig[tallyMsg, tallyCmd, tallyReply]{}) })
}
