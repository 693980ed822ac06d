package kafkalog

import (
	"encoding/json"
	"math/rand/v2"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/node"
	"maelkit/lib/raftnode"
	"maelkit/lib/rsm"
)

// Client request types the service serves.
const (
	TypeSend          = "send"
	TypePoll          = "poll"
	TypeCommitOffsets = "commit_offsets"
	TypeListCommitted = "list_committed_offsets"
)

// Types lists every client request type.
func Types() []string { return []string{TypeSend, TypePoll, TypeCommitOffsets, TypeListCommitted} }

// PollMax bounds the messages a poll returns per key: the client moves
// past what it got and asks again, and a poll reply stays small.
const PollMax = 512

// Client requests and replies.
type (
	sendReq struct {
		Key *string         `json:"key"`
		Msg json.RawMessage `json:"msg"`
	}
	offsetsReq struct {
		Offsets map[string]int64 `json:"offsets"`
	}
	keysReq struct {
		Keys []string `json:"keys"`
	}
	sendOK struct {
		Type   string `json:"type"`
		Offset int64  `json:"offset"`
	}
	pollOK struct {
		Type string             `json:"type"`
		Msgs map[string][]Entry `json:"msgs"`
	}
	commitOK struct {
		Type string `json:"type"`
	}
	listOK struct {
		Type    string           `json:"type"`
		Offsets map[string]int64 `json:"offsets"`
	}
)

// Config configures a Core.
type Config struct {
	// ID is this node; Nodes every node (Maelstrom's node_ids).
	ID     string
	Nodes  []string
	Timing raftnode.Timing
	// SnapshotEntries is rsm.Config.SnapshotEntries (0: DefaultSnapshotEntries).
	SnapshotEntries int64
	Rand            *rand.Rand
}

// DefaultSnapshotEntries: a snapshot holds every message, so it is taken
// every few seconds of a busy run, not every thousand entries.
const DefaultSnapshotEntries = 10_000

// Core is the kafka service as one core.Core: sends and commits go to a
// raftnode.Core (Raft-replicated, batched per drain, forwarded by
// followers to the leader, answered when they apply); polls and
// list_committed_offsets are answered at once from this node's applied
// Log, without a message to anyone.
type Core struct {
	raft *raftnode.Core
	log  *Log
	out  core.Outbox[raftnode.Msg, any]
}

// NewCore builds a Core on a fresh Log.
func NewCore(cfg Config) (*Core, error) {
	l := NewLog()
	snap := cfg.SnapshotEntries
	if snap == 0 {
		snap = DefaultSnapshotEntries
	}
	rc, err := raftnode.NewCore(raftnode.CoreConfig{
		ID: cfg.ID, Nodes: cfg.Nodes, Types: []string{TypeSend, TypeCommitOffsets},
		Machine: l, Codec: codec{}, Timing: cfg.Timing, SnapshotEntries: snap, Rand: cfg.Rand,
	})
	if err != nil {
		return nil, err
	}
	return &Core{raft: rc, log: l}, nil
}

// Log is the applied state.
func (c *Core) Log() *Log { return c.log }

// Raft is the raftnode core under the service.
func (c *Core) Raft() *raftnode.Core { return c.raft }

// Step implements core.Core.
func (c *Core) Step(from string, m raftnode.Msg) { c.raft.Step(from, m) }

// Tick implements core.Core.
func (c *Core) Tick() { c.raft.Tick() }

// Command implements core.Core: reads are served here, writes go to Raft.
func (c *Core) Command(cmd core.Command[raftnode.Request]) {
	switch cmd.Body.Type {
	case TypePoll:
		var b offsetsReq
		if err := json.Unmarshal(cmd.Body.Body, &b); err != nil {
			c.out.Reply(cmd.Client, cmd.MsgID, malformed(cmd.Body.Type, err))
			return
		}
		c.out.Reply(cmd.Client, cmd.MsgID, pollOK{Type: "poll_ok", Msgs: c.log.Poll(b.Offsets, PollMax)})
	case TypeListCommitted:
		var b keysReq
		if err := json.Unmarshal(cmd.Body.Body, &b); err != nil {
			c.out.Reply(cmd.Client, cmd.MsgID, malformed(cmd.Body.Type, err))
			return
		}
		c.out.Reply(cmd.Client, cmd.MsgID, listOK{Type: "list_committed_offsets_ok", Offsets: c.log.Committed(b.Keys)})
	default:
		c.raft.Command(cmd)
	}
}

// Drain implements core.Core: this core's replies, then Raft's output.
func (c *Core) Drain() core.Output[raftnode.Msg, any] {
	mine := c.out.Take()
	out := c.raft.Drain()
	out.Replies = append(mine.Replies, out.Replies...)
	return out
}

func malformed(typ string, err error) *maelstrom.RPCError {
	return maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode "+typ+": "+err.Error())
}

// codec is the raftnode side of sends and commits.
type codec struct{}

// Decode implements raftnode.Codec.
func (codec) Decode(typ string, body json.RawMessage, client string, id int64) (raftnode.Op, error) {
	cmd := Command{Client: client, ID: id}
	switch typ {
	case TypeSend:
		var b sendReq
		if err := json.Unmarshal(body, &b); err != nil {
			return raftnode.Op{}, malformed(typ, err)
		}
		if b.Key == nil {
			return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "send without key")
		}
		cmd.Op, cmd.Key, cmd.Msg = OpSend, *b.Key, b.Msg
	case TypeCommitOffsets:
		var b offsetsReq
		if err := json.Unmarshal(body, &b); err != nil {
			return raftnode.Op{}, malformed(typ, err)
		}
		cmd.Op, cmd.Offsets = OpCommit, b.Offsets
	default:
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.NotSupported, "not a log command: "+typ)
	}
	if err := cmd.Validate(); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	data, err := Encode(cmd)
	if err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return raftnode.Op{Data: data}, nil
}

// Query implements raftnode.Codec; reads never reach Raft (Core serves
// them), so any query is refused.
func (codec) Query([]byte) any {
	return maelstrom.NewRPCError(maelstrom.NotSupported, "kafkalog serves reads locally")
}

// Outcome implements raftnode.Codec.
func (codec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(Result)
	if !ok {
		return "", 0, nil, false
	}
	var cmd Command
	if json.Unmarshal(a.Data, &cmd) != nil {
		return "", 0, nil, false
	}
	if res.Code != OK {
		// Stale or invalid: it took no effect, but a copy of it may
		// still be in flight, so stay indefinite.
		return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.Crash, "request skipped"), true
	}
	if cmd.Op == OpSend {
		return cmd.Client, cmd.ID, sendOK{Type: "send_ok", Offset: res.Offset}, true
	}
	return cmd.Client, cmd.ID, commitOK{Type: "commit_offsets_ok"}, true
}

// Host is a Core hosted on a node.
type Host = node.Host[raftnode.Msg, raftnode.Request, any]

// Register hosts a Core on n (before n.Run): init builds it, and handlers
// serve the kafka requests and the cores' traffic.
func Register(n *node.Node, tm raftnode.Timing) *Host {
	h := node.NewHost(n, node.HostConfig[raftnode.Msg, raftnode.Request, any]{
		Build: func(n *node.Node) (core.Core[raftnode.Msg, raftnode.Request, any], error) {
			r := n.Rand()
			return NewCore(Config{ID: n.ID(), Nodes: n.NodeIDs(), Timing: tm,
				Rand: rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))})
		},
		Tick:      tm.TickMin,
		PeerTypes: raftnode.PeerTypes(),
		Reply:     func(body any) any { return body },
	})
	for _, typ := range Types() {
		node.HandleCommand(h, typ, func(b json.RawMessage) (raftnode.Request, error) {
			return raftnode.Request{Type: typ, Body: b}, nil
		})
	}
	return h
}
