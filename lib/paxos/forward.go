package paxos

import "slices"

// Forwarding (Config.Forward) tames contention without a leader: a node
// whose acceptor has just served another proposer's round on a key hands
// its next batch on that key to that proposer instead of starting a rival
// round that would break it. The busy proposer applies the batch in its own
// one-round-trip accepts. Nothing is elected: the hint is the acceptor's own
// recent traffic, and once that proposer falls silent (HolderTicks) the
// node proposes itself again.
//
// A forwarded batch keeps the forwarder's identity: the carrier applies it
// under the forwarder's name and tag (State.Applied, State.Results), only
// if the state does not hold it yet. So if no answer comes back within
// FwdWaitTicks, the forwarder runs the batch itself, exactly as it retries
// its own: its prepare tells whether the batch is already in, and with what
// outcomes. Either way it is applied once and answered; a cut between the
// two nodes costs FwdWaitTicks of latency, not an unknown outcome.

// unit is a batch another node forwarded, carried by this proposer.
type unit struct {
	origin  string
	tag     int64
	ops     []Op
	since   int64
	results []Result // outcomes in the current proposal; nil: origin moved on
}

// holder returns the peer to forward a batch on key to, or "".
func (c *Core) holder(key int64) string {
	if !c.cfg.Forward {
		return ""
	}
	a := c.store.Acceptors[key]
	if a == nil {
		return ""
	}
	h := a.Promised.Node
	last, ok := c.foreign[key]
	if h == c.cfg.ID || !slices.Contains(c.peers, h) || !ok || c.now-last >= c.cfg.HolderTicks {
		return ""
	}
	return h
}

// maybeForward hands p's fresh batch to a busier proposer; it reports
// whether it did. A batch is forwarded at most once: after a silence it
// is proposed here.
func (c *Core) maybeForward(p *proposer) bool {
	if len(p.units) > 0 || len(p.batch) == 0 || p.firstTag != 0 {
		return false
	}
	h := c.holder(p.key)
	if h == "" {
		return false
	}
	// A tag of this node's ballot-counter sequence: above every tag it
	// used, below every ballot it will use.
	c.store.MaxCounter++
	p.firstTag = c.store.MaxCounter
	ops := make([]Op, len(p.batch))
	for i, o := range p.batch {
		ops[i] = o.op
	}
	c.send(h, Msg{Type: MsgForward, Key: p.key, Tag: p.firstTag, Ops: ops})
	p.phase = forwarded
	p.deadline = c.now + c.cfg.FwdWaitTicks
	return true
}

// handleForward queues a batch a peer forwarded (once per tag).
func (c *Core) handleForward(from string, m Msg) {
	if !slices.Contains(c.peers, from) || m.Tag <= 0 || len(m.Ops) == 0 || len(m.Ops) > c.cfg.BatchMax {
		return
	}
	for _, op := range m.Ops {
		if !validOp(op) {
			return
		}
	}
	p := c.proposerFor(m.Key)
	if p == nil || len(p.units)+len(p.unitQueue) >= c.cfg.QueueMax {
		return // the forwarder will run it itself
	}
	for _, u := range slices.Concat(p.units, p.unitQueue) {
		if u.origin == from && u.tag == m.Tag {
			return // a duplicate
		}
	}
	p.unitQueue = append(p.unitQueue, &unit{origin: from, tag: m.Tag, ops: m.Ops, since: c.now})
	c.maybeStart(p)
}

// handleForwardReply answers a forwarded batch with the outcomes its
// carrier got chosen.
func (c *Core) handleForwardReply(m Msg) {
	p := c.props[m.Key]
	if p == nil || len(p.batch) == 0 || p.firstTag != m.Tag || len(m.Results) != len(p.batch) {
		return // late, duplicated, or already answered
	}
	// Any round of ours still in flight for this batch is moot: the chosen
	// history holds the batch once, where the carrier put it.
	for i, o := range p.batch {
		c.reply(o, m.Results[i])
	}
	p.batch, p.results, p.firstTag, p.tries = nil, nil, 0, 0
	p.phase = idle
	c.maybeStart(p)
}

// applyUnits applies the carried batches to st that it does not hold yet,
// recording each one's outcomes.
func applyUnits(st State, units []*unit) State {
	for _, u := range units {
		if done := st.Applied[u.origin]; done >= u.tag {
			u.results = nil
			if done == u.tag {
				u.results = st.Results[u.origin]
			}
			continue
		}
		st, u.results = applyBatch(st, u.ops, u.origin, u.tag)
	}
	return st
}
