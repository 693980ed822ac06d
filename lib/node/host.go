package node

import (
	"errors"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
)

// HostConfig says how Host runs a core with peer messages P, client
// commands C and replies R.
type HostConfig[P, C, R any] struct {
	// Build makes the core at init, when the node's id and the cluster are
	// known; an error refuses the init.
	Build func(n *Node) (core.Core[P, C, R], error)
	// Tick is the real time of one core tick.
	Tick time.Duration
	// PeerTypes are the message types decoded into P and handed to Step.
	// A peer message from outside the cluster is ignored.
	PeerTypes []string
	// Reply turns a reply into the body sent to the client: a typed
	// struct, or a *maelstrom.RPCError; nil sends nothing (an outcome the
	// core cannot tell: the client times out).
	Reply func(R) any
}

// Host runs a core on a node: it builds the core at init, ticks it with
// the monotonic clock, hands it peer messages and client commands, and
// sends what it drains once per burst of input. All methods run on the
// node's loop.
type Host[P, C, R any] struct {
	n     *Node
	cfg   HostConfig[P, C, R]
	core  core.Core[P, C, R]
	peers map[string]bool
	start time.Time
	ticks int64 // core ticks so far
}

// tickCatchUpMax bounds the ticks replayed in one turn after a stall.
const tickCatchUpMax = 1000

// errNotReady answers a command that reaches a host without a core; the
// runtime holds requests until init, so only a runtime that did not would
// see it.
var errNotReady = maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")

// NewHost registers cfg's peer types, the init hook that builds the core,
// its ticker and the output drain on n. Register client commands with
// HandleCommand. Call it before n.Run.
func NewHost[P, C, R any](n *Node, cfg HostConfig[P, C, R]) *Host[P, C, R] {
	if cfg.Build == nil || cfg.Reply == nil || cfg.Tick <= 0 {
		panic("node: a HostConfig needs Build, Reply and a positive Tick")
	}
	h := &Host[P, C, R]{n: n, cfg: cfg}
	n.OnInit(func() error {
		c, err := cfg.Build(n)
		if err != nil {
			return err
		}
		if c == nil {
			return errors.New("node: Build returned no core")
		}
		h.core = c
		h.peers = map[string]bool{}
		for _, id := range n.Peers() {
			h.peers[id] = true
		}
		h.start, h.ticks = time.Now(), 0
		n.Every(cfg.Tick, h.advance)
		return nil
	})
	for _, typ := range cfg.PeerTypes {
		Handle(n, typ, func(req *Request, m P) error {
			if h.core != nil && h.peers[req.Src] {
				h.advance()
				h.core.Step(req.Src, m)
			}
			return nil
		})
	}
	n.OnIdle(h.drain)
	return h
}

// HandleCommand registers typ as a client command: its body decodes into
// B, decode turns that into the core's command (an error answers the
// request at once), and the core's reply answers it.
func HandleCommand[B, P, C, R any](h *Host[P, C, R], typ string, decode func(B) (C, error)) {
	Handle(h.n, typ, func(req *Request, b B) error {
		if h.core == nil {
			return errNotReady
		}
		cmd, err := decode(b)
		if err != nil {
			return err
		}
		h.advance()
		h.core.Command(core.Command[C]{Client: req.Src, MsgID: req.MsgID, Body: cmd})
		return nil
	})
}

// Core is the hosted core (nil before init).
func (h *Host[P, C, R]) Core() core.Core[P, C, R] { return h.core }

// advance ticks the core up to the monotonic clock. Ticks follow the clock
// rather than count timer runs, and every input first brings the core up to
// date, so a late timer or a starved process never skews the core's notion
// of time.
func (h *Host[P, C, R]) advance() {
	target := int64(time.Since(h.start) / h.cfg.Tick)
	for k := 0; h.ticks < target && k < tickCatchUpMax; k++ {
		h.core.Tick()
		h.ticks++
	}
}

// drain sends the core's replies, then its messages.
func (h *Host[P, C, R]) drain() {
	if h.core == nil {
		return
	}
	out := h.core.Drain()
	for _, r := range out.Replies {
		body := h.cfg.Reply(r.Body)
		if r.InReplyTo <= 0 || body == nil {
			continue // a request without msg_id gets no reply
		}
		if err := h.n.ReplyTo(r.To, r.InReplyTo, body); err != nil {
			h.n.Logger().Warn("reply failed", "to", r.To, "err", err)
		}
	}
	for _, m := range out.Messages {
		if err := h.n.Send(m.To, m.Msg); err != nil {
			h.n.Logger().Warn("send failed", "to", m.To, "err", err)
		}
	}
}
