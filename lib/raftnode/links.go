package raftnode

import (
	"slices"
	"time"

	"maelkit/lib/linkhealth"
	"maelkit/lib/raft"
)

// links is what a core knows about time and its links: the round-trip
// estimate that sizes the Raft tick, and the link table (lib/linkhealth)
// that says which directions work and routes messages around those that do
// not. Times are in core ticks of Timing.TickMin.
type links struct {
	tm Timing
	// Round-trip estimate (Jacobson/Karels).
	srtt, rttvar time.Duration
	sampled      bool
	// period is the Raft tick in core ticks; nextRaftTick when it is due.
	period, nextRaftTick int64
	// health is the link table; its silence follows the period.
	health *linkhealth.Table
}

func newLinks(tm Timing, self string, peers []string) links {
	l := links{tm: tm}
	l.period = l.ticks(tm.TickStart)
	l.nextRaftTick = l.period
	quorum := (len(peers)+1)/2 + 1
	// Errors are impossible: every bound is at least one tick.
	l.health, _ = linkhealth.New(self, peers, linkhealth.Config{Relay: tm.RelayRouting, Quorum: quorum,
		SilenceTicks: l.staleAfter(), ProbeTicks: l.ticks(tm.PingEvery), RelayTicks: 2 * l.ticks(tm.PingEvery)})
	return l
}

// ticks converts a duration to core ticks, rounded, at least one.
func (l *links) ticks(d time.Duration) int64 {
	return max(1, int64((d+l.tm.TickMin/2)/l.tm.TickMin))
}

// Tick is the current Raft tick period.
func (l *links) Tick() time.Duration { return time.Duration(l.period) * l.tm.TickMin }

// observe takes a round trip of rtt core ticks and resizes the Raft tick:
// about half a round trip plus the deviation makes the heartbeat (1 tick)
// frequent enough and the election timeout (10 to 20 ticks) several round
// trips long, including the tail of the latency distribution.
func (l *links) observe(rttTicks int64) {
	l.observeRTT(time.Duration(rttTicks) * l.tm.TickMin)
}

func (l *links) observeRTT(rtt time.Duration) {
	if !l.sampled {
		l.srtt, l.rttvar, l.sampled = rtt, rtt/2, true
	} else {
		d := l.srtt - rtt
		if d < 0 {
			d = -d
		}
		l.rttvar = (3*l.rttvar + d) / 4
		l.srtt = (7*l.srtt + rtt) / 8
	}
	tick := min(max(l.srtt/2+l.rttvar, l.tm.TickMin), l.tm.TickMax)
	l.period = l.ticks(tick)
	l.health.SetSilenceTicks(l.staleAfter())
}

// staleAfter is how long an unanswered request means a direction of its
// link is broken: a leader and its followers exchange a message every
// Raft tick, so four ticks, and not less than 50 ms (Maelstrom's latency
// tail at small ticks).
func (l *links) staleAfter() int64 { return max(4*l.period, l.ticks(50*time.Millisecond)) }

// heardWithin says whether a message came straight from peer within the
// last d core ticks.
func (l *links) heardWithin(peer string, d, now int64) bool {
	at, ok := l.health.HeardAt(peer)
	return ok && now-at <= d
}

// kindOf says what a raft message is to the link table: requests expect
// an answer from the peer (a heartbeat, an append or snapshot, a vote, a
// follower's read index), answers answer them, proposals and leadership
// transfers expect none.
func kindOf(t raft.MsgType) linkhealth.Kind {
	switch t {
	case raft.MsgApp, raft.MsgHeartbeat, raft.MsgSnap, raft.MsgVote, raft.MsgPreVote, raft.MsgReadIndex:
		return linkhealth.Request
	case raft.MsgAppResp, raft.MsgHeartbeatResp, raft.MsgVoteResp, raft.MsgPreVoteResp, raft.MsgReadIndexResp:
		return linkhealth.Answer
	}
	return linkhealth.Other
}

// kindOfMsg is kindOf for every message a core routes: pings and hellos
// are requests, pongs and hello_oks answers.
func kindOfMsg(m Msg) linkhealth.Kind {
	switch m.Type {
	case TypePing, TypeHello:
		return linkhealth.Request
	case TypePong, TypeHelloOK:
		return linkhealth.Answer
	case TypeRaft:
		return kindOf(m.M.Type)
	}
	return linkhealth.Other
}

// sendRaft sends a raft message to its destination (sendPeer).
func (c *Core) sendRaft(m raft.Message) { c.sendPeer(m.To, Msg{Type: TypeRaft, M: m}) }

// sendPeer sends m (a raft message, ping, pong, hello or handoff) to peer to as the
// link table routes it: directly, through a relay (wrapped in a
// raft_relay the relay passes on unopened), or both; a request may ask for
// its answer through a relay (Via), and directly as well (Probe). Every
// such message says whether this node hears to directly (Hear).
func (c *Core) sendPeer(to string, m Msg) {
	h := c.links.health
	rt := h.Send(to, kindOfMsg(m))
	m.Hear = h.Hears(to)
	m.Via, m.Probe = rt.AskVia, rt.AskDirect
	if rt.Direct {
		c.out.Send(to, m)
	}
	if rt.Via != "" {
		c.out.Send(rt.Via, Msg{Type: TypeRelay, Relay: &Relay{From: c.cfg.ID, To: to, Msg: m}})
	}
}

// noteLinks tells the link table about m from peer (direct: not through a
// relay). A request's Via holds for this node's answers to peer until its
// next request.
func (c *Core) noteLinks(peer string, m Msg, direct bool) {
	h := c.links.health
	if direct {
		h.Heard(peer)
	}
	h.HearsMe(peer, m.Hear)
	switch kindOfMsg(m) {
	case linkhealth.Answer:
		h.Answered(peer)
	case linkhealth.Request:
		h.Asked(peer, m.Via, m.Probe)
	}
}

// stepRelay takes a message relayed through a third node: a relay passes
// the sender's own message on once, to its destination, unopened; the
// destination handles it as if it came from its sender, except that it
// proves nothing about their direct link.
func (c *Core) stepRelay(from string, m Msg) {
	rl := m.Relay
	if rl == nil || rl.Msg.Relay != nil || !relayable(rl.Msg.Type) || rl.From == c.cfg.ID || !slices.Contains(c.peers, rl.From) {
		return
	}
	if rl.To != c.cfg.ID {
		if c.links.health.PassOn(from, rl.From, rl.To) {
			c.out.Send(rl.To, m)
		}
		return
	}
	c.stepPeer(rl.From, rl.Msg, false)
}

// relayable says whether messages of type t may travel through a relay:
// those sendPeer routes. A node booting into a one-way ring needs its
// hellos answered before it votes (rejoin.go), and a node that knows no
// leader there hands its clients' requests off through a relay (handoff.go).
func relayable(t string) bool {
	switch t {
	case TypeRaft, TypePing, TypePong, TypeHello, TypeHelloOK, TypeHandoff, TypeHandoffDone:
		return true
	}
	return false
}
