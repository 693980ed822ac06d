package paxos

// Storage is a node's state that must survive a restart: what its acceptor
// promised and accepted per key, and the highest ballot counter it used as
// a proposer. Every change is also emitted as a durable write (durable.go)
// in the Output of the first message that depends on it, and a restarted
// core rebuilds it from core.Recovered.
type Storage struct {
	Acceptors map[int64]*AcceptorState
	// MaxCounter is the highest ballot counter this node has sent, so a
	// restarted proposer never reuses a ballot or a retry tag.
	MaxCounter int64
}

// NewStorage returns an empty Storage.
func NewStorage() *Storage { return &Storage{Acceptors: map[int64]*AcceptorState{}} }

// AcceptorState is one key's acceptor. Invariant: Accepted <= Promised, and
// neither ever decreases.
type AcceptorState struct {
	Promised Ballot
	Accepted Ballot
	From     Ballot // the ballot of the state the accepted one was built on
	State    State
}

// acceptor returns the acceptor of key, creating it; nil when KeysMax keys
// already exist (the message is then dropped, as a lost one would be).
func (c *Core) acceptor(key int64) *AcceptorState {
	a := c.store.Acceptors[key]
	if a == nil {
		if len(c.store.Acceptors) >= c.cfg.Limits.KeysMax {
			c.log.Warn("paxos: too many keys, dropping", "key", key)
			return nil
		}
		a = &AcceptorState{Promised: c.floor} // the floor is promised on every key
		c.store.Acceptors[key] = a
	}
	return a
}

// handlePrepare answers a prepare: a promise if b is at least the current
// promise, else a reject naming the promise.
func (c *Core) handlePrepare(m Msg) (Msg, bool) {
	a := c.acceptor(m.Key)
	if a == nil {
		return Msg{}, false
	}
	if m.Ballot.Less(a.Promised) || c.sticky(m.Key, a, m.Ballot.Node) {
		return Msg{Type: MsgReject, Key: m.Key, Ballot: m.Ballot, Promised: a.Promised, Of: MsgPrepare}, true
	}
	if a.Promised != m.Ballot {
		a.Promised = m.Ballot
		c.persistAcceptor(m.Key, a)
	}
	return Msg{Type: MsgPromise, Key: m.Key, Ballot: m.Ballot, Accepted: a.Accepted, State: a.State}, true
}

// handleAccept accepts m.State at m.Ballot unless a higher ballot was
// promised, and promises m.Next as well. A duplicate of the accept already
// taken is acknowledged again (a ballot carries one state only).
func (c *Core) handleAccept(m Msg) (Msg, bool) {
	a := c.acceptor(m.Key)
	if a == nil {
		return Msg{}, false
	}
	ok := Msg{Type: MsgAccepted, Key: m.Key, Ballot: m.Ballot}
	if m.Ballot == a.Accepted && !m.Ballot.IsZero() {
		return ok, true
	}
	if m.Ballot.Less(a.Promised) || m.Ballot.IsZero() {
		return Msg{Type: MsgReject, Key: m.Key, Ballot: m.Ballot, Promised: a.Promised, Of: MsgAccept}, true
	}
	a.Promised = maxBallot(m.Ballot, m.Next)
	a.Accepted, a.From, a.State = m.Ballot, m.From, m.State
	c.persistAcceptor(m.Key, a)
	c.lastAccept[m.Key] = c.now
	if c.onAccept != nil {
		c.onAccept(c.cfg.ID, m.Key, *a)
	}
	return ok, true
}

// sticky says whether the acceptor refuses a prepare from proposer
// (Config.Forward only, where the refused can forward instead): it
// accepted another proposer's accept less than StickyTicks ago and has
// promised nothing past that proposer's rounds. A busy proposer thus keeps
// its quorum while it makes progress, and a rival's prepare learns from the
// rejection whom to forward to instead of starting a duel. Refusing a
// prepare is always safe; the cost is at most StickyTicks of waiting when
// the busy proposer is cut off.
func (c *Core) sticky(key int64, a *AcceptorState, proposer string) bool {
	t, ok := c.lastAccept[key]
	return ok && c.cfg.Forward.On && c.cfg.Forward.StickyTicks > 0 && c.now-t < c.cfg.Forward.StickyTicks &&
		a.Accepted.Node != proposer && a.Promised.Node == a.Accepted.Node
}
