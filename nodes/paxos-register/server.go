package main

import (
	"fmt"
	"strings"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/node"
	"maelkit/lib/paxos"
)

// options are the node's tunables.
type options struct {
	// tick is the core's unit of time: its round timeout (20 ticks),
	// backoff and yield are counted in ticks. 5 ms keeps a round timeout
	// (100 ms) well above a round trip at Maelstrom's usual latencies and
	// well below lin-kv's 1 s client timeout.
	tick     time.Duration
	thrifty  thrifty
	fastPath bool
	forward  bool
	relay    bool
}

func defaultOptions() options {
	return options{tick: 5 * time.Millisecond, thrifty: thriftyAuto, fastPath: true, forward: true, relay: true}
}

// thrifty says whether rounds go to a bare quorum first (paxos.Config.Thrifty):
// on, off, or auto, which is on for three nodes only. There the one peer an
// accept goes to is the forwarder of the batch it carries, which learns the
// outcome from the accept itself (paxos.Msg.Self): half the messages of a
// round and no forward reply, for the latency of one peer instead of the
// faster of two. With five nodes the wait for two given peers out of four
// costs more and saves less.
type thrifty string

const (
	thriftyAuto thrifty = "auto"
	thriftyOn   thrifty = "true"
	thriftyOff  thrifty = "false"
)

func (t *thrifty) String() string   { return string(*t) }
func (t *thrifty) IsBoolFlag() bool { return true } // a bare -thrifty means on
func (t *thrifty) Set(v string) error {
	switch thrifty(v) {
	case thriftyAuto, thriftyOn, thriftyOff:
		*t = thrifty(v)
		return nil
	}
	return fmt.Errorf("want true, false or auto, got %q", v)
}

// on resolves auto for a cluster of n nodes.
func (t thrifty) on(n int) bool { return t == thriftyOn || t == thriftyAuto && n == 3 }

// Client request bodies. Keys and values are integers; pointers tell a
// missing field (refused, 12) from a zero.
type readReq struct {
	Key *int64 `json:"key"`
}

type writeReq struct {
	Key   *int64 `json:"key"`
	Value *int64 `json:"value"`
}

type casReq struct {
	Key  *int64 `json:"key"`
	From *int64 `json:"from"`
	To   *int64 `json:"to"`
}

// missing is the error for a request without one of its fields.
func missing(typ string, fields ...string) error {
	return maelstrom.NewRPCError(maelstrom.MalformedRequest, fmt.Sprintf("%s needs %s", typ, strings.Join(fields, ", ")))
}

// Reply bodies: exactly the fields lin-kv's schema allows.
type readOK struct {
	Type  string `json:"type"`
	Value int64  `json:"value"`
}

type okBody struct {
	Type string `json:"type"`
}

// server adapts the sans-I/O core to the runtime: requests and peer
// messages go into Step, a timer drives Tick, and after each the core's
// output is sent (to peers) or turned into client replies.
type server struct {
	n    *node.Node
	core *paxos.Core
	// nodes are the cluster's ids: peer messages from anyone else (a
	// client, say) are dropped, so they cannot touch acceptor state.
	nodes   map[string]bool
	pending map[int64]*node.Request // core op id -> the request to answer
	nextOp  int64
}

func newServer(n *node.Node, opt options) *server {
	s := &server{n: n, pending: map[int64]*node.Request{}}
	n.OnInit(func() error {
		c, err := paxos.New(paxos.Config{
			ID: n.ID(), Nodes: n.NodeIDs(), Rand: n.Rand(), Logger: n.Logger(),
			Thrifty: opt.thrifty.on(len(n.NodeIDs())), DisableFastPath: !opt.fastPath, Forward: opt.forward, Relay: opt.relay,
		})
		if err != nil {
			return err
		}
		s.core = c
		s.nodes = map[string]bool{}
		for _, id := range n.NodeIDs() {
			s.nodes[id] = true
		}
		n.Every(opt.tick, func() {
			s.core.Tick()
			s.flush()
		})
		return nil
	})
	node.Handle(n, "read", func(req *node.Request, b readReq) error {
		if b.Key == nil {
			return missing("read", "key")
		}
		return s.submit(req, *b.Key, paxos.Op{F: paxos.OpRead})
	})
	node.Handle(n, "write", func(req *node.Request, b writeReq) error {
		if b.Key == nil || b.Value == nil {
			return missing("write", "key", "value")
		}
		return s.submit(req, *b.Key, paxos.Op{F: paxos.OpWrite, Value: *b.Value})
	})
	node.Handle(n, "cas", func(req *node.Request, b casReq) error {
		if b.Key == nil || b.From == nil || b.To == nil {
			return missing("cas", "key", "from", "to")
		}
		return s.submit(req, *b.Key, paxos.Op{F: paxos.OpCas, From: *b.From, To: *b.To})
	})
	for _, typ := range paxos.PeerTypes() {
		node.Handle(n, typ, func(req *node.Request, m paxos.Msg) error {
			if s.core == nil || !s.nodes[req.Src] {
				return nil
			}
			s.core.Step(req.Src, m)
			s.flush()
			return nil
		})
	}
	return s
}

// submit hands a client operation to the core. The runtime holds requests
// until init has built the core; the check only guards against a runtime
// that would not.
func (s *server) submit(req *node.Request, key int64, op paxos.Op) error {
	if s.core == nil {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")
	}
	s.nextOp++
	op.ID = s.nextOp
	op.Src, op.Req = req.Src, req.MsgID
	s.pending[op.ID] = req
	s.core.Step(req.Src, paxos.Msg{Type: paxos.MsgRequest, Key: key, Op: op})
	s.flush()
	return nil
}

// flush sends what the core produced.
func (s *server) flush() {
	for _, e := range s.core.Drain() {
		switch e.Msg.Type {
		case paxos.MsgReply:
			s.answer(e.Msg.Op)
		case paxos.MsgDirect:
			// A peer's client, whose operation this node got chosen.
			if err := s.n.ReplyTo(e.Msg.Op.Src, e.Msg.Op.Req, replyBody(e.Msg.Op)); err != nil {
				s.n.Logger().Warn("direct reply failed", "to", e.Msg.Op.Src, "err", err)
			}
		case paxos.MsgExpired:
			// The outcome is unknown: say nothing, the client times out
			// and records it as indeterminate.
			delete(s.pending, e.Msg.Op.ID)
		default:
			if err := s.n.Send(e.To, e.Msg); err != nil {
				s.n.Logger().Warn("send failed", "to", e.To, "err", err)
			}
		}
	}
}

// answer replies to the request behind op.
func (s *server) answer(op paxos.Op) {
	req := s.pending[op.ID]
	if req == nil {
		return
	}
	delete(s.pending, op.ID)
	if err := req.Reply(replyBody(op)); err != nil {
		s.n.Logger().Warn("reply failed", "req", req.String(), "err", err)
	}
}

// replyBody is the client's reply for an operation's outcome.
func replyBody(op paxos.Op) any {
	switch {
	case op.Code != paxos.CodeOK:
		return maelstrom.NewRPCError(int(op.Code), errorText(op.Code))
	case op.F == paxos.OpRead:
		return readOK{Type: "read_ok", Value: op.Value}
	default:
		return okBody{Type: op.F + "_ok"}
	}
}

func errorText(code int64) string {
	switch code {
	case paxos.CodeKeyDoesNotExist:
		return "key does not exist"
	case paxos.CodePreconditionFailed:
		return "current value does not match from"
	case paxos.CodeUnavailable:
		return "too many operations queued for this key"
	}
	return "error"
}
