package raftnode

import (
	"encoding/json"
	"slices"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
)

// A node that knows no leader hands a client's request off to its peers:
// it may be cut off from the leader but not from a node that reaches it.
// The first answer that is not "no leader" goes to the client; if every
// peer says "no leader", nothing was proposed anywhere and 11 is definite;
// if some peer did not answer in time, a command may have been proposed:
// 13, indefinite (the client records :info, as it would on a timeout, but
// sooner). Duplicates are harmless: the state machine applies a request
// id once.

// handoffs are the requests this node handed off, by tag.
type handoffs struct {
	pending map[int64]*handoff
	nextTag int64
}

type handoff struct {
	to       route
	query    bool
	waiting  []string // peers that have not answered
	deadline int64
	unknown  int
}

// handOff asks every peer heard from lately to serve the request (peers
// in silence would turn a definite "no leader" into an indefinite
// timeout; followers hear each other through pings only). An error is the
// definite answer when there is no one to ask.
func (c *Core) handOff(to route, client string, id int64, body json.RawMessage, query bool) error {
	var peers []string
	for _, p := range c.peers {
		if c.links.heardWithin(p, 2*c.links.ticks(c.cfg.Timing.PingEvery), c.now) {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader, no peer in reach")
	}
	hs := &c.handoffs
	hs.nextTag++
	hs.pending[hs.nextTag] = &handoff{to: to, query: query, waiting: peers, deadline: c.now + c.handoffTimeout()}
	for _, p := range peers {
		c.sendPeer(p, Msg{Type: TypeHandoff, Tag: hs.nextTag, Client: client, ID: id, Req: body})
	}
	return nil
}

// handoffTimeout is a few round trips: long enough for the peer to commit,
// short enough to answer before the client's own timeout (1 s at least).
func (c *Core) handoffTimeout() int64 {
	tick := c.links.Tick()
	return c.links.ticks(min(max(20*tick, 300*time.Millisecond), 900*time.Millisecond))
}

// serveHandoff serves a request a peer handed off; the answer goes back
// to that peer.
func (c *Core) serveHandoff(from string, m Msg) {
	to := route{peer: from, tag: m.Tag}
	var head struct {
		Type string `json:"type"`
	}
	switch {
	case m.Client == "" || m.ID <= 0:
		c.answer(to, maelstrom.NewRPCError(maelstrom.MalformedRequest, "handoff without client or id"))
	case json.Unmarshal(m.Req, &head) != nil || !slices.Contains(c.cfg.Types, head.Type):
		c.answer(to, maelstrom.NewRPCError(maelstrom.MalformedRequest, "handoff of "+head.Type))
	default:
		c.request(to, m.Client, m.ID, Request{Type: head.Type, Body: m.Req}, true)
	}
}

// handoffAnswer is the raft_handoff_done carrying body.
func handoffAnswer(tag int64, body any) Msg {
	m := Msg{Type: TypeHandoffDone, Tag: tag}
	if rpc, ok := body.(*maelstrom.RPCError); ok {
		m.Code, m.Text = rpc.Code, rpc.Text
		return m
	}
	b, err := json.Marshal(body)
	if err != nil {
		m.Code, m.Text = maelstrom.Crash, "bad reply: "+err.Error()
		return m
	}
	m.Body = b
	return m
}

// handoffDone takes a peer's answer to a handoff.
func (c *Core) handoffDone(from string, m Msg) {
	h := c.handoffs.pending[m.Tag]
	if h == nil {
		return
	}
	i := slices.Index(h.waiting, from)
	if i < 0 {
		return
	}
	h.waiting = slices.Delete(h.waiting, i, i+1)
	switch {
	case m.Code == 0 && len(m.Body) > 0:
		c.finishHandoff(m.Tag, m.Body)
		return
	case m.Code == maelstrom.TemporarilyUnavailable:
	case m.Code != 0 && m.Code != maelstrom.Timeout && m.Code != maelstrom.Crash:
		// A definite answer (20, 22, 12, ...): pass it on.
		c.finishHandoff(m.Tag, maelstrom.NewRPCError(m.Code, m.Text))
		return
	default:
		h.unknown++
	}
	if len(h.waiting) == 0 {
		c.concludeHandoff(m.Tag)
	}
}

// timeouts counts the peers that did not answer a handoff in time as
// unknown outcomes and concludes it.
func (hs *handoffs) timeouts(c *Core) {
	for _, tag := range sortedTags(hs.pending) {
		if h := hs.pending[tag]; c.now >= h.deadline {
			h.unknown += len(h.waiting)
			h.waiting = nil
			c.concludeHandoff(tag)
		}
	}
}

// concludeHandoff answers a handoff every peer answered with "no leader"
// or not at all.
func (c *Core) concludeHandoff(tag int64) {
	h := c.handoffs.pending[tag]
	if h.unknown == 0 || h.query {
		c.finishHandoff(tag, maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader"))
		return
	}
	// Indefinite, but said now: the client (whose timeout may be 5 s)
	// moves on instead of waiting for nothing.
	c.finishHandoff(tag, maelstrom.NewRPCError(maelstrom.Crash, "no leader here; a handed-off copy may have been proposed"))
}

func (c *Core) finishHandoff(tag int64, body any) {
	h := c.handoffs.pending[tag]
	delete(c.handoffs.pending, tag)
	c.answer(h.to, body)
}

func sortedTags(m map[int64]*handoff) []int64 {
	tags := make([]int64, 0, len(m))
	for t := range m {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}
