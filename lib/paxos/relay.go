package paxos

import (
	"slices"

	"maelkit/lib/linkhealth"
)

// Relaying (Config.Relay) keeps a node available when its links work one
// way only, as in Maelstrom's majorities-ring partition on three nodes,
// where every link is cut in one direction and without help no round gets
// a quorum for the whole partition. With relaying, a node goes around a
// broken direction through the third node, and rounds succeed again after
// one failed round.
//
// lib/linkhealth holds the link state and makes every routing decision;
// this file maps Paxos onto it. Prepares, accepts and a recovering node's
// recovers (amnesia.go) are its requests, the promises, accepts, rejects
// and recovereds that answer them its answers; every other peer message
// (forwards and their replies) goes direct or around a broken outgoing
// direction. On the wire: every message says whether its sender
// hears the recipient directly (Msg.Hear); a request asks for its answer
// through a relay with Msg.Via, and directly as well with Msg.Probe; a
// message going around is wrapped in MsgRelay, which the relay passes on
// unopened. Forwards are not requests: their replies may take other paths
// (forward.go), so they never mark a link.

// Relay is a message passed on by a third node (MsgRelay): From sent it
// for To. A relay does not open it; To handles Msg as if it came from From,
// except that it proves nothing about the direct links.
type Relay struct {
	From string `json:"from"`
	To   string `json:"to"`
	Msg  Msg    `json:"msg"`
}

// isAnswer says whether t is an acceptor's answer to a prepare, accept or
// recover.
func isAnswer(t string) bool {
	return t == MsgPromise || t == MsgAccepted || t == MsgReject || t == MsgRecovered
}

// relayVia sends m, which this node (from) has for peer to, through peer via.
func (c *Core) relayVia(via, from, to string, m Msg) {
	c.emit(via, Msg{Type: MsgRelay, Relay: &Relay{From: from, To: to, Msg: m}})
}

// sendPeer sends m to a peer, around a broken direction if need be: the
// link table decides; prepares and accepts are its requests, the
// acceptor's answers its answers.
func (c *Core) sendPeer(to string, m Msg) {
	kind := linkhealth.Other
	switch {
	case isAnswer(m.Type):
		kind = linkhealth.Answer
	case m.Type == MsgPrepare || m.Type == MsgAccept || m.Type == MsgRecover:
		kind = linkhealth.Request
	}
	rt := c.links.Send(to, kind)
	m.Hear = c.links.Hears(to)
	if rt.AskVia != "" {
		m.Via, m.Probe = rt.AskVia, rt.AskDirect
	}
	if rt.Direct {
		c.emit(to, m)
	}
	if rt.Via != "" {
		c.relayVia(rt.Via, c.cfg.ID, to, m)
	}
}

// reaches says whether this node's messages have lately reached peer
// directly.
func (c *Core) reaches(peer string) bool { return c.links.Reaches(peer) }

// answer sends an acceptor's answer r to the request m from peer from:
// where m asked (Msg.Via, and directly too with Msg.Probe), else directly.
func (c *Core) answer(from string, m, r Msg) {
	c.links.Asked(from, m.Via, m.Probe)
	c.send(from, r)
}

// noteLinks tells the link table about a message m from peer (direct:
// without a relay). When it last heard the peer directly is kept without
// Relay too (see preferred).
func (c *Core) noteLinks(peer string, m Msg, direct bool) {
	if direct {
		c.links.Heard(peer)
	}
	c.links.HearsMe(peer, m.Hear)
	if isAnswer(m.Type) {
		c.links.Answered(peer)
	}
}

// handleRelay passes a relayed message on, or opens it if it is for this
// node. A relay passes a message once, and only the sender's own.
func (c *Core) handleRelay(from string, m Msg) {
	rl := m.Relay
	if !c.cfg.Relay.On || rl == nil || !slices.Contains(c.peers, from) || rl.From != from && rl.To != c.cfg.ID ||
		rl.Msg.Type == MsgRelay || !slices.Contains(PeerTypes(), rl.Msg.Type) || rl.From == c.cfg.ID || !slices.Contains(c.peers, rl.From) {
		c.log.Debug("paxos: dropping bad relay", "from", from)
		return
	}
	switch {
	case rl.To == c.cfg.ID:
		c.stepFrom(rl.From, rl.Msg, false)
	case c.links.PassOn(from, rl.From, rl.To):
		c.emit(rl.To, m) // unopened
	}
}
