package raftnode

import (
	"time"

	"maelkit/lib/raft"
)

// Rejoining after a start without state. A node whose store is empty
// cannot tell a first boot from a wiped disk (eddy's --kill-wipes-disk),
// so it starts unsure (raft.Config.Unsure): it does not vote. It asks
// every peer what it holds (raft_hello with its incarnation, repeated
// every PingEvery until answered); a peer records the first incarnation
// it heard of the node and answers with its term and last entry, and
// whether it had recorded another incarnation of the node (raft.Greet).
//   - A first boot: once a majority of the cluster other than the node
//     (n/2+1 peers) answered and none had recorded another incarnation,
//     the node never was sure before and votes at once (raft.FirstBoot;
//     why a majority of peers suffices: lib/raft/amnesia.go). With three
//     nodes that is both peers.
//   - A wiped disk: once any answer had recorded another incarnation, the
//     node waits for every peer's answer and hands Raft the largest term
//     and the most up-to-date log among them (raft.Raft.Rejoin); it votes
//     again once a leader has caught its log up.
// A node without an incarnation (CoreConfig.Incarnation 0) waits for every
// peer's answer: all of them blank is a first boot.

// helloEvery is how often an unanswered raft_hello is sent again: peers
// that are not initialized yet drop it.
const helloEvery = 100 * time.Millisecond

// rejoin tracks the peers' answers.
type rejoin struct {
	held map[string]Held // answers by peer
	done bool
}

// helloDue sends raft_hello to the peers that have not answered.
func (c *Core) helloDue() {
	if c.rejoin.done {
		return
	}
	for _, p := range c.peers {
		if _, ok := c.rejoin.held[p]; !ok {
			c.sendPeer(p, Msg{Type: TypeHello, Inc: c.rsm.Raft().Incarnation()})
		}
	}
}

// serveHello answers a peer's raft_hello, announcing incarnation inc,
// with what this node holds and whether it had recorded another
// incarnation of the peer; the record is a durable write of this output,
// so it is on disk before the answer leaves. A node still waiting for
// that peer's answer asks it again at once (the peer is up now).
func (c *Core) serveHello(from string, inc uint64) {
	r := c.rsm.Raft()
	if _, ok := c.rejoin.held[from]; !c.rejoin.done && !ok {
		c.sendPeer(from, Msg{Type: TypeHello, Inc: r.Incarnation()})
	}
	other := r.Greet(from, inc)
	st := r.Status()
	_, logTerm := r.LastEntry()
	c.sendPeer(from, Msg{Type: TypeHelloOK, Held: Held{Term: st.Term, Index: st.LastIndex, LogTerm: logTerm, Other: other}})
}

// helloOK records a peer's answer; the last one needed ends the rejoin.
func (c *Core) helloOK(from string, h Held) {
	if c.rejoin.done || h.Term < 0 || h.Index < 0 || h.LogTerm < 0 {
		return
	}
	c.rejoin.held[from] = h
	r := c.rsm.Raft()
	wiped := false
	for _, a := range c.rejoin.held {
		wiped = wiped || a.Other
	}
	if !wiped && r.Incarnation() != 0 && len(c.rejoin.held) >= min(len(c.cfg.Nodes)/2+1, len(c.peers)) {
		c.rejoin.done = true
		r.FirstBoot()
		c.log.Info("a majority of peers answered: first boot", "answers", len(c.rejoin.held), "unsure", r.Unsure())
		if !r.Unsure() && c.firstCampaigner() && c.blank() {
			if err := r.Campaign(); err != nil {
				c.log.Warn("initial campaign", "err", err)
			}
		}
		return
	}
	if len(c.rejoin.held) < len(c.peers) {
		return
	}
	var best Held
	for _, h := range c.rejoin.held {
		best.Term = max(best.Term, h.Term)
		if h.LogTerm > best.LogTerm || h.LogTerm == best.LogTerm && h.Index > best.Index {
			best.Index, best.LogTerm = h.Index, h.LogTerm
		}
	}
	c.rejoin.done = true
	r.Rejoin(best.Term, best.Index, best.LogTerm)
	c.log.Info("peers answered the rejoin", "floor", best.Term, "index", best.Index, "log_term", best.LogTerm, "unsure", r.Unsure())
	if !r.Unsure() && best.Term == 0 && best.Index == 0 && c.firstCampaigner() {
		// A first boot: every peer holds nothing either.
		if err := r.Campaign(); err != nil {
			c.log.Warn("initial campaign", "err", err)
		}
	}
}

// blank says whether every answer so far holds nothing: no term, no log.
func (c *Core) blank() bool {
	for _, h := range c.rejoin.held {
		if h.Term != 0 || h.Index != 0 {
			return false
		}
	}
	return true
}

// startRejoin sets the rejoin up for a core whose Raft starts unsure.
func (c *Core) startRejoin(r *raft.Raft) {
	c.rejoin = rejoin{held: map[string]Held{}, done: !r.Unsure()}
}
