package paxos

import "slices"

// phase is where a key's proposer stands.
type phase int

const (
	idle      phase = iota
	preparing       // prepare sent, collecting promises
	accepting       // accept sent, collecting acceptances
	waiting         // backing off after a failed round
	forwarded       // the batch went to a busier proposer (Config.Forward)
)

// pending is a client operation waiting for its outcome.
type pending struct {
	client string
	key    int64
	op     Op
	since  int64 // tick of arrival
}

// proposer serves one key on this node. Invariant: at most one round per
// key is in flight, and a batch is resolved (or given up) before the next
// batch starts, so this node's tags in a state's history grow with time.
type proposer struct {
	key       int64
	queue     []*pending // waiting for a round
	batch     []*pending // the current round's operations
	firstTag  int64      // the tag the batch was first applied or forwarded under (0: never)
	fwdTo     []string   // peers the batch was forwarded to, once per forward (see maybeForward)
	tries     int        // applications of the batch
	results   []Result   // the outcomes the current accept would commit
	units     []*unit    // batches forwarded by peers, in the current round
	unitQueue []*unit    // batches forwarded by peers, waiting for a round

	phase     phase
	ballot    Ballot // current round's ballot
	acks      map[string]bool
	nacks     map[string]bool
	base      State           // highest accepted state among promises
	baseAt    Ballot          // its ballot
	proposed  State           // the state being accepted
	next      Ballot          // the ballot the accept asked to be promised
	deadline  int64           // round timeout, or backoff end
	request   Msg             // the round's prepare or accept, for retransmission (and its Self)
	sent      map[string]bool // peers the request went to
	widenAt   int64           // tick to send it to the others too (0: done)
	preferred []string        // peers that acknowledged the last chosen accept
	rot       int             // rotates thrifty targets when none is preferred
	resendAt  int64           // next retransmission tick (0: none)
	failures  int             // consecutive failed rounds
	seen      int64           // highest ballot counter seen for the key

	// lease: a quorum promised leaseAt with leaseState (accepted at
	// leaseFrom) as its highest accepted state; the next round may accept
	// at leaseAt directly.
	fast       bool // the current round started from the lease
	lease      bool
	leaseAt    Ballot
	leaseState State
	leaseFrom  Ballot
}

// propose queues a client operation on its key's proposer.
func (c *Core) propose(client string, key int64, op Op) {
	if !validOp(op) {
		c.log.Warn("paxos: dropping invalid op", "client", client, "op", op)
		return
	}
	p := c.proposerFor(key)
	if p == nil || len(p.queue) >= c.cfg.Limits.QueueMax {
		c.reply(&pending{client: client, key: key, op: op}, Result{Code: CodeUnavailable})
		return
	}
	p.queue = append(p.queue, &pending{client: client, key: key, op: op, since: c.now})
	c.maybeStart(p)
}

// proposerFor returns key's proposer, creating it; nil past KeysMax.
func (c *Core) proposerFor(key int64) *proposer {
	p := c.props[key]
	if p == nil {
		if len(c.props) >= c.cfg.Limits.KeysMax {
			return nil
		}
		p = &proposer{key: key}
		c.props[key] = p
		i, _ := slices.BinarySearch(c.keys, key)
		c.keys = slices.Insert(c.keys, i, key)
	}
	return p
}

// endBatch forgets the current batch once it is answered or given up.
func (p *proposer) endBatch() {
	p.batch, p.results, p.firstTag, p.tries, p.fwdTo = nil, nil, 0, 0, nil
}

// withResult is op as answered: its outcome code and, for a read, the
// value read.
func (op Op) withResult(r Result) Op {
	op.Code = r.Code
	if op.F == OpRead {
		op.Value = r.Value
	}
	return op
}

// reply answers one operation.
func (c *Core) reply(o *pending, r Result) {
	c.out.Reply(o.client, o.op.Req, Outcome{Key: o.key, Op: o.op.withResult(r)})
}

// expire tells the caller an operation will get no answer.
func (c *Core) expire(o *pending) {
	c.out.Reply(o.client, o.op.Req, Outcome{Key: o.key, Op: o.op, Unknown: true})
}

// maybeStart starts a round if the proposer is idle and has work: at the
// leased ballot if it holds one, else with a prepare.
func (c *Core) maybeStart(p *proposer) {
	if p.phase != idle || c.recovering {
		return
	}
	if len(p.batch) == 0 && len(p.queue) > 0 {
		n := min(len(p.queue), c.cfg.Limits.BatchMax)
		p.batch = slices.Clone(p.queue[:n])
		p.queue = slices.Delete(p.queue, 0, n)
		p.firstTag, p.tries, p.fwdTo = 0, 0, nil
	}
	p.units = append(p.units, p.unitQueue...)
	p.unitQueue = nil
	if len(p.batch) == 0 && len(p.units) == 0 {
		return
	}
	if a := c.store.Acceptors[p.key]; p.lease && a != nil && p.leaseAt.Less(a.Promised) {
		// This node's acceptor promised a later ballot: someone else ran
		// a round since, the lease is almost surely broken. Skip the
		// doomed accept.
		p.lease = false
	}
	if p.lease && !c.cfg.Rounds.DisableFastPath {
		p.lease = false // used once: the accept consumes it
		p.fast = true
		c.startAccept(p, p.leaseAt, p.leaseState, p.leaseFrom)
		return
	}
	p.fast = false
	if c.maybeForward(p) {
		return
	}
	if last, ok := c.foreign[p.key]; ok && len(p.batch) > 0 && c.now-last < c.cfg.Rounds.YieldTicks && c.now-p.batch[0].since < c.cfg.Rounds.YieldMaxTicks {
		// Another proposer's round is probably in flight: let it finish.
		p.phase = waiting
		p.deadline = last + c.cfg.Rounds.YieldTicks + c.cfg.Rand.Int64N(c.cfg.Rounds.BackoffBaseTicks+1)
		return
	}
	c.startPrepare(p)
}

// newCounter returns a ballot counter above every one this node has seen
// or used for the key, and records it as used.
func (c *Core) newCounter(p *proposer) int64 {
	n := max(p.seen, c.store.MaxCounter)
	if a := c.store.Acceptors[p.key]; a != nil {
		n = max(n, a.Promised.Counter)
	}
	n++
	c.useCounter(n)
	return n
}

func (c *Core) startPrepare(p *proposer) {
	p.lease = false
	p.ballot = Ballot{Counter: c.newCounter(p), Node: c.cfg.ID}
	p.phase = preparing
	p.acks, p.nacks = map[string]bool{}, map[string]bool{}
	p.base, p.baseAt = State{}, Ballot{}
	p.deadline = c.now + c.cfg.Rounds.TimeoutTicks
	m := Msg{Type: MsgPrepare, Key: p.key, Ballot: p.ballot}
	c.bcast(p, m)
	if r, ok := c.handlePrepare(m); ok {
		c.stepProposer(p, c.cfg.ID, r)
	}
}

// startAccept builds the state to accept at ballot b from base (accepted
// at from) and sends it: the carried batches, then this node's own. If base
// already holds the own batch (a retry after an accept or a forward whose
// fate was unknown), the batch is not applied again and its outcomes come
// from the state.
func (c *Core) startAccept(p *proposer, b Ballot, base State, from Ballot) {
	me := c.self
	st := applyUnits(base, p.units)
	if len(p.batch) > 0 {
		if p.firstTag > 0 && st.Applied[me] >= p.firstTag {
			p.results = st.Results[me]
			if len(p.results) != len(p.batch) {
				// Only a corrupt peer can get here: the batch is in, but
				// its outcomes are unknown.
				c.log.Error("paxos: state outcomes do not match the batch", "key", p.key,
					"outcomes", len(p.results), "batch", len(p.batch))
				c.giveUp(p)
				return
			}
		} else {
			if p.tries >= c.cfg.Limits.AttemptsMax {
				c.giveUp(p)
				return
			}
			ops := make([]Op, len(p.batch))
			for i, o := range p.batch {
				ops[i] = o.op
			}
			if p.firstTag == 0 {
				p.firstTag = b.Counter
			}
			// Every application of the batch goes under its first tag,
			// so a carrier of an earlier forward of it finds it in the
			// state under that tag (applyUnits) and can answer it.
			st, p.results = applyBatch(st, ops, me, p.firstTag)
			p.tries++
		}
	}
	p.proposed = st
	p.ballot = b
	p.phase = accepting
	p.acks, p.nacks = map[string]bool{}, map[string]bool{}
	p.deadline = c.now + c.cfg.Rounds.TimeoutTicks
	p.next = Ballot{}
	if !c.cfg.Rounds.DisableFastPath {
		p.next = Ballot{Counter: b.Counter + 1, Node: me}
		c.useCounter(p.next.Counter)
	}
	m := Msg{Type: MsgAccept, Key: p.key, Ballot: b, Next: p.next, From: from, State: p.proposed}
	// Accept locally first: with three nodes, a peer that accepts an
	// accept its proposer already accepted knows the state is chosen
	// (Msg.Self, see learnChosen).
	r, ok := c.handleAccept(m)
	m.Self = ok && r.Type == MsgAccepted && c.quorum == 2
	c.bcast(p, m)
	if ok {
		c.stepProposer(p, me, r)
	}
}

// stepProposer handles an acceptor's answer. Answers to other rounds are
// stale noise, apart from what they say about ballots in use.
func (c *Core) stepProposer(p *proposer, from string, m Msg) {
	p.seen = max(p.seen, m.Promised.Counter, m.Accepted.Counter)
	if m.Ballot != p.ballot {
		return
	}
	switch {
	case m.Type == MsgPromise && p.phase == preparing:
		p.acks[from] = true
		if p.baseAt.Less(m.Accepted) {
			p.base, p.baseAt = m.State, m.Accepted
		}
		if len(p.acks) >= c.quorum {
			c.startAccept(p, p.ballot, p.base, p.baseAt)
		}
	case m.Type == MsgAccepted && p.phase == accepting:
		p.acks[from] = true
		if len(p.acks) >= c.quorum {
			c.commit(p)
		}
	case m.Type == MsgReject && (p.phase == preparing && m.Of == MsgPrepare || p.phase == accepting && m.Of == MsgAccept):
		p.nacks[from] = true
		c.learnRoute(p.key, from, m.Promised)
		if len(p.nacks) > len(c.peers)+1-c.quorum {
			c.failRound(p)
		} else if p.widenAt > 0 {
			c.widen(p)
		}
	}
}

// bcast sends a round's request: to every peer, or, when thrifty, to just
// enough peers for a quorum (those that answered the last round first),
// widening to the rest after WidenTicks or on the first reject.
func (c *Core) bcast(p *proposer, m Msg) {
	c.armResend(p, m)
	p.sent = map[string]bool{}
	targets := c.peers
	p.widenAt = 0
	if c.cfg.Thrifty.On {
		k := c.quorum - 1
		targets = make([]string, 0, k)
		add := func(peer string) {
			if len(targets) < k && !slices.Contains(targets, peer) && slices.Contains(c.peers, peer) {
				targets = append(targets, peer)
			}
		}
		// Forwarders first: on three nodes an accept tells them the
		// outcome (Msg.Self), which saves the forward's reply.
		for _, u := range p.units {
			add(u.origin)
		}
		for _, peer := range p.preferred {
			add(peer)
		}
		for i := range c.peers {
			add(c.peers[(p.rot+i)%len(c.peers)])
		}
		p.rot++
		if len(targets) < len(c.peers) {
			p.widenAt = c.now + c.cfg.Thrifty.WidenTicks
		}
	}
	for _, peer := range targets {
		p.sent[peer] = true
		c.send(peer, m)
	}
}

// widen sends the round's request to the peers a thrifty send skipped.
func (c *Core) widen(p *proposer) {
	for _, peer := range c.peers {
		if !p.sent[peer] {
			p.sent[peer] = true
			c.send(peer, p.request)
		}
	}
	p.widenAt = 0
}

// armResend remembers a round's request for retransmission.
func (c *Core) armResend(p *proposer, m Msg) {
	p.request, p.resendAt = m, 0
	if c.cfg.Rounds.RetransmitTicks > 0 {
		p.resendAt = c.now + c.cfg.Rounds.RetransmitTicks
	}
}

// resend repeats the round's request to the peers that have not answered.
// Both requests are idempotent at an acceptor for a given ballot.
func (c *Core) resend(p *proposer) {
	for _, peer := range c.peers {
		if !p.acks[peer] && !p.nacks[peer] {
			c.send(peer, p.request)
		}
	}
	p.resendAt = c.now + c.cfg.Rounds.RetransmitTicks
}

// commit answers the batch: its state is chosen.
func (c *Core) commit(p *proposer) {
	for i, o := range p.batch {
		c.reply(o, p.results[i])
	}
	for _, u := range p.units {
		if u.results == nil || p.request.Self && p.acks[u.origin] {
			// Unanswered, or the forwarder accepted the Self accept
			// and so learned the outcomes itself (learnChosen).
			continue
		}
		c.replyUnit(p.key, u)
		for i, op := range u.ops {
			if op.Src != "" && op.Req > 0 && i < len(u.results) {
				c.out.Reply(op.Src, op.Req, Outcome{Key: p.key, Op: op.withResult(u.results[i])})
			}
		}
	}
	p.endBatch()
	p.units = nil
	p.failures = 0
	p.phase = idle
	delete(c.routes, p.key) // this node is the busy proposer now
	p.preferred = p.preferred[:0]
	for _, peer := range c.peers {
		if p.acks[peer] {
			p.preferred = append(p.preferred, peer)
		}
	}
	if !c.cfg.Rounds.DisableFastPath {
		p.lease, p.leaseAt, p.leaseState, p.leaseFrom = true, p.next, p.proposed, p.ballot
	}
	c.maybeStart(p)
}

// failRound backs off for a random, bounded number of ticks; the batch is
// kept and retried with a prepare.
//
// A failed fast round is not contention yet: the lease was merely stale
// (another proposer ran since), so it retries after a short pause without
// growing the backoff.
func (c *Core) failRound(p *proposer) {
	p.lease = false
	span := c.cfg.Rounds.BackoffBaseTicks
	if !p.fast {
		p.failures++
		span = c.cfg.Rounds.BackoffMaxTicks
		if p.failures < 30 {
			span = min(span, c.cfg.Rounds.BackoffBaseTicks<<p.failures)
		}
	}
	p.fast = false
	p.phase = waiting
	p.deadline = c.now + 1 + c.cfg.Rand.Int64N(span)
}

// giveUp drops the current batch without an answer: its fate is unknown.
// Carried batches are dropped too; their forwarders run them themselves.
func (c *Core) giveUp(p *proposer) {
	for _, o := range p.batch {
		c.expire(o)
	}
	p.endBatch()
	p.units = nil
	p.lease = false
	p.phase = idle
}

// failOld answers CodeUnavailable to the operations of ops that waited
// longer than UnavailableTicks and returns the others, in order (reusing
// ops's array).
func (c *Core) failOld(ops []*pending) []*pending {
	keep := ops[:0]
	for _, o := range ops {
		if c.now-o.since > c.cfg.Limits.UnavailableTicks {
			c.reply(o, Result{Code: CodeUnavailable})
		} else {
			keep = append(keep, o)
		}
	}
	clear(ops[len(keep):])
	return keep
}

func (c *Core) tickProposer(p *proposer) {
	// Operations that waited too long without ever being part of an
	// accept surely did not happen: say so (definite), before the client
	// gives up and has to assume the worst.
	if len(p.queue) > 0 && c.now-p.queue[0].since > c.cfg.Limits.UnavailableTicks {
		p.queue = c.failOld(p.queue)
	}
	if len(p.batch) > 0 && p.firstTag == 0 && c.now-p.batch[0].since > c.cfg.Limits.UnavailableTicks {
		// Only the old ones: an operation that joined the batch lately
		// still has its time (after a partition heals, a batch can hold
		// both).
		p.batch = c.failOld(p.batch)
		if len(p.batch) == 0 && p.phase == preparing {
			p.phase = idle
		}
	}
	// A batch whose accept (or forward) went out may be chosen yet: keep
	// trying for a while, then drop it without an answer.
	if len(p.batch) > 0 && c.now-p.batch[0].since > c.cfg.Limits.OpTimeoutTicks {
		c.giveUp(p)
	}
	// Carried batches nobody has managed to choose: their forwarders have
	// long taken over.
	if len(p.unitQueue) > 0 && c.now-p.unitQueue[0].since > c.cfg.Limits.OpTimeoutTicks {
		p.unitQueue = slices.DeleteFunc(p.unitQueue, func(u *unit) bool { return c.now-u.since > c.cfg.Limits.OpTimeoutTicks })
	}
	if len(p.units) > 0 && len(p.batch) == 0 && c.now-p.units[0].since > c.cfg.Limits.OpTimeoutTicks {
		c.giveUp(p)
	}
	switch p.phase {
	case preparing, accepting:
		if c.now >= p.deadline {
			c.failRound(p)
		} else if p.resendAt > 0 && c.now >= p.resendAt {
			c.resend(p)
		} else if p.widenAt > 0 && c.now >= p.widenAt {
			c.widen(p)
		}
	case waiting, forwarded:
		if c.now >= p.deadline {
			p.phase = idle
		}
	}
	c.maybeStart(p)
}
