package paxos

import "slices"

// Relaying (Config.Relay) keeps a node available when its links work one
// way only. In Maelstrom's majorities-ring partition on three nodes every
// link is cut in one direction: each node's requests reach one peer, whose
// answers are lost, and the other peer's answers reach it, but not its
// requests. Every node still hears from a majority, yet without help no
// round gets a quorum for the whole partition. With relaying, a node goes
// around a broken direction through the third node, and rounds succeed
// again after one failed round.
//
// What a node learns, per peer: a request (prepare or accept) left
// unanswered for SilenceTicks means a direction is broken, which one
// unknown (needOut and needIn both set). Any message that arrives directly
// proves the peer's link to this node (needIn cleared); every message says
// whether its sender has heard this node directly of late (Msg.Hear),
// which proves this node's link to it (needOut cleared). While a flag is
// set, and only while this node lacks a quorum of peers with neither flag:
//   - needOut: requests and forwards to the peer go through a relay,
//     wrapped in MsgRelay, which the relay passes on unopened;
//   - needIn: requests ask the peer to answer through a relay (Msg.Via).
//
// A relay is a peer this node reaches (it said Hear within
// OpTimeoutTicks) for requests, or one it hears (directly, as lately) for
// answers; where there is none, as on a node cut off from everyone, only
// the probes try another peer.
//
// The direct copies a broken direction would waste are sent only as a
// probe, once per ProbeTicks (Msg.Probe asks for a direct answer too): a
// probe that gets through clears the flag after the heal. They are sent
// as well for SilenceTicks after a new suspicion, which is as often a slow
// answer as a cut. Relayed copies duplicate messages at worst, which every
// handler already tolerates.

// link is what this node knows of its two directions with one peer.
type link struct {
	waiting         bool  // a request went out since the peer last answered
	since           int64 // tick of the oldest such request
	needOut, needIn bool
	probeAt         int64 // next tick a probe goes direct
	suspectAt       int64 // tick the flags were set while both were clear
	heard           bool  // a message came directly, at heardAt
	heardAt         int64
	outOK           bool // the peer said Hear, at outAt
	outAt           int64
}

// Relay is a message passed on by a third node (MsgRelay): From sent it
// for To. A relay does not open it; To handles Msg as if it came from From,
// except that it proves nothing about the direct links.
type Relay struct {
	From string `json:"from"`
	To   string `json:"to"`
	Msg  Msg    `json:"msg"`
}

func (c *Core) linkTo(peer string) *link {
	l := c.links[peer]
	if l == nil {
		l = &link{}
		c.links[peer] = l
	}
	return l
}

// isAnswer says whether t is an acceptor's answer to a prepare or accept.
func isAnswer(t string) bool { return t == MsgPromise || t == MsgAccepted || t == MsgReject }

// relayVia sends m, which this node (from) has for peer to, through peer via.
func (c *Core) relayVia(via, from, to string, m Msg) {
	c.emit(via, Msg{Type: MsgRelay, Relay: &Relay{From: from, To: to, Msg: m}})
}

// relaying says whether messages to peer take a detour: a direction to it
// is believed broken and this node does not reach a quorum without it.
func (c *Core) relaying(peer string) bool {
	l := c.links[peer]
	if !c.cfg.Relay.On || l == nil || !l.needOut && !l.needIn {
		return false
	}
	clear := 1
	for _, q := range c.peers {
		if ql := c.links[q]; ql == nil || !ql.needOut && !ql.needIn {
			clear++
		}
	}
	return clear < c.quorum
}

// relayFor picks the peer to go through towards peer: for out, one this
// node's messages reach (it said Hear lately), else, for in, one whose
// messages reach this node (heard directly lately). Lately is within
// OpTimeoutTicks: a relay keeps being used while traffic through it flows
// one way only. Without such a peer, any other peer serves, but only for a
// probe, so that a node cut off from everyone does not double its futile
// traffic.
func (c *Core) relayFor(peer string, out, probe bool) string {
	var any string
	for _, q := range c.peers {
		if q == peer {
			continue
		}
		l := c.links[q]
		if l != nil && (out && l.outOK && c.now-l.outAt <= c.cfg.Limits.OpTimeoutTicks ||
			!out && l.heard && c.now-l.heardAt <= c.cfg.Limits.OpTimeoutTicks) {
			return q
		}
		if any == "" {
			any = q
		}
	}
	if probe {
		return any
	}
	return ""
}

// sendPeer sends m to a peer, around a broken direction if need be.
func (c *Core) sendPeer(to string, m Msg) {
	if !c.cfg.Relay.On {
		c.emit(to, m)
		return
	}
	l := c.linkTo(to)
	m.Hear = c.hears(to)
	if isAnswer(m.Type) {
		// Answers follow the request's Via (see answer).
		c.emit(to, m)
		return
	}
	request := m.Type == MsgPrepare || m.Type == MsgAccept
	if request && !l.waiting {
		l.waiting, l.since = true, c.now
	}
	if !c.relaying(to) {
		c.emit(to, m)
		return
	}
	probe := c.now >= l.probeAt
	if probe {
		l.probeAt = c.now + c.cfg.Relay.ProbeTicks
	}
	// A suspicion younger than SilenceTicks may be a slow answer, not a
	// cut (with Maelstrom's exponential latency, mean 10 ms, one round
	// trip in 25 exceeds 50 ms): go direct too, and ask for direct
	// answers, since the relay may not reach the peer either.
	fresh := c.now-l.suspectAt < c.cfg.Relay.SilenceTicks
	r := ""
	if l.needOut {
		r = c.relayFor(to, true, probe)
	}
	if request && l.needIn {
		if m.Via = c.relayFor(to, false, probe); m.Via != "" {
			m.Probe = probe || fresh
		}
	}
	if !l.needOut || probe || fresh || r == "" {
		c.emit(to, m)
	}
	if r != "" {
		c.relayVia(r, c.cfg.ID, to, m)
	}
}

// reaches says whether this node's messages have lately reached peer
// directly (it said Hear within SilenceTicks) and no silence since.
func (c *Core) reaches(peer string) bool {
	l := c.links[peer]
	return c.cfg.Relay.On && l != nil && !l.needOut && l.outOK && c.now-l.outAt <= c.cfg.Relay.SilenceTicks
}

// answer sends an acceptor's answer r to the request m from peer from:
// directly, and through m.Via when the proposer asked (directly too only
// for a probe).
func (c *Core) answer(from string, m, r Msg) {
	via := m.Via
	if !c.cfg.Relay.On || via == "" || via == from || via == c.cfg.ID || !slices.Contains(c.peers, via) {
		c.send(from, r)
		return
	}
	if m.Probe {
		c.send(from, r)
	}
	r.Hear = c.hears(from)
	c.relayVia(via, c.cfg.ID, from, r)
}

// hears says whether a message came directly from peer of late: within
// half of SilenceTicks, so that a link cut since cannot vouch for itself
// for as long as it takes to suspect it.
func (c *Core) hears(peer string) bool {
	l := c.links[peer]
	return l != nil && l.heard && c.now-l.heardAt <= max(1, c.cfg.Relay.SilenceTicks/2)
}

// noteLinks updates what this node knows of its links with peer from a
// message m it sent (direct: without a relay). When it last heard the peer
// directly is kept without Relay too (see preferred).
func (c *Core) noteLinks(peer string, m Msg, direct bool) {
	if !slices.Contains(c.peers, peer) {
		return
	}
	l := c.linkTo(peer)
	if direct {
		l.heard, l.heardAt, l.needIn = true, c.now, false
	}
	if !c.cfg.Relay.On {
		return
	}
	if m.Hear {
		l.needOut, l.outOK, l.outAt = false, true, c.now
	}
	if isAnswer(m.Type) {
		l.waiting = false
	}
}

// tickLinks marks the peers that left a request unanswered for
// SilenceTicks: some direction is broken.
func (c *Core) tickLinks() {
	for _, q := range c.peers {
		if l := c.links[q]; l != nil && l.waiting && c.now-l.since >= c.cfg.Relay.SilenceTicks {
			if !l.needOut && !l.needIn {
				l.suspectAt = c.now // a new suspicion, not a lasting one
			}
			l.waiting = false
			l.needOut, l.needIn = true, true
		}
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
	case rl.From == from && rl.To != from && slices.Contains(c.peers, rl.To):
		c.emit(rl.To, m) // unopened
	}
}
