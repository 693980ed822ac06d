package raftnode

import (
	"time"

	"maelkit/lib/raft"
)

// Rejoining after a start without state. A node whose store is empty
// cannot tell a first boot from a wiped disk (eddy's --kill-wipes-disk),
// so it starts unsure (raft.Config.Unsure): it replicates but does not
// vote. It asks every peer what it holds (raft_hello, repeated every
// PingEvery until answered) and, once all of them answered, hands Raft
// the largest term and the most up-to-date log among the answers
// (raft.Raft.Rejoin; why every peer: lib/raft/amnesia.go). On a first
// boot every peer answers at once with nothing, and the cluster starts
// as before; after a wipe the node votes again once a leader has caught
// its log up.

// helloEvery is how often an unanswered raft_hello is sent again: peers
// that are not initialized yet drop it, and a rejoin waits for all.
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
			c.sendPeer(p, Msg{Type: TypeHello})
		}
	}
}

// serveHello answers a peer's raft_hello with what this node holds; a
// node still waiting for that peer's answer asks it again at once (the
// peer is up now).
func (c *Core) serveHello(from string) {
	if _, ok := c.rejoin.held[from]; !c.rejoin.done && !ok {
		c.sendPeer(from, Msg{Type: TypeHello})
	}
	st := c.rsm.Raft().Status()
	_, logTerm := c.rsm.Raft().LastEntry()
	c.sendPeer(from, Msg{Type: TypeHelloOK, Held: Held{Term: st.Term, Index: st.LastIndex, LogTerm: logTerm}})
}

// helloOK records a peer's answer; the last one needed ends the rejoin.
func (c *Core) helloOK(from string, h Held) {
	if c.rejoin.done || h.Term < 0 || h.Index < 0 || h.LogTerm < 0 {
		return
	}
	c.rejoin.held[from] = h
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
	r := c.rsm.Raft()
	r.Rejoin(best.Term, best.Index, best.LogTerm)
	c.log.Info("peers answered the rejoin", "floor", best.Term, "index", best.Index, "log_term", best.LogTerm, "unsure", r.Unsure())
	if !r.Unsure() && best.Term == 0 && best.Index == 0 && c.firstCampaigner() {
		// A first boot: every peer holds nothing either.
		if err := r.Campaign(); err != nil {
			c.log.Warn("initial campaign", "err", err)
		}
	}
}

// startRejoin sets the rejoin up for a core whose Raft starts unsure.
func (c *Core) startRejoin(r *raft.Raft) {
	c.rejoin = rejoin{held: map[string]Held{}, done: !r.Unsure()}
}
