package paxos

import (
	"maps"
	"slices"
	"strconv"
)

// Amnesia: a node that starts with nothing on disk (core.Recovered.Fresh:
// a first start, or a disk wiped by eddy's --kill-wipes-disk) cannot tell
// whether it promised or accepted anything before. Answering as a blank
// acceptor could break a promise it gave, or lose a chosen state it held
// (with three nodes it may have been half of the quorum that chose it). So
// it first recovers, as a proposer would prepare, on every key at once:
//
//   - It sends MsgRecover at ballot F to every peer. A peer that is not
//     recovering itself promises F on every key, present and future (its
//     floor), if F is above every promise it holds, and answers
//     MsgRecovered with every key's accepted ballot and state; else it
//     rejects with its highest promise, and the node retries above it. A
//     peer that is recovering answers MsgRecovered with Amnesic set and
//     promises nothing.
//   - Once a quorum's worth of peers (as many as a quorum, itself not
//     counted) have promised F, the node adopts, per key, the highest
//     accepted ballot and state among their answers, promises F on every
//     key, writes all of it, and serves. Any quorum that chose a state
//     before includes one of those peers (the node's own former vote
//     aside), whose accepted ballot is then at least the chosen one, so
//     the adopted state holds every chosen one; and since those peers
//     promised F, a round that relied on the node's forgotten promise
//     can no longer gather a quorum of acceptances below F.
//   - If every peer answered and none holds any accepted state (all are
//     recovering or blank: a cluster's first start), nothing was ever
//     chosen and the node serves with its floor at F.
//   - A node that served by that rule remembers the incarnation
//     (Config.Incarnation) of each recovering peer it counted, and
//     vouches for it when that same process asks it to promise: the
//     process has promised and accepted nothing since (it was recovering),
//     and everything before is what the rule found lost on every node. The
//     voucher's promise of F (above every promise it holds, its own floor
//     included, so above every round of that past) lets the node serve at
//     once with its floor at F, instead of waiting for a quorum's worth of
//     peers that may be down: at a first start, one node killed early held
//     every other blank node back until its return.
//
// A blank start also takes a name of its own to apply its batches under
// (State.Applied, Msg.As: the node's ID, "#" and its incarnation), kept in
// its stable value from then on. Its tags restart above the counters its
// peers report, but the lost process may have used higher ones in batches
// that outlive it: forwarded and queued at a carrier, or accepted by a
// minority and chosen later. Under the old name such a batch would pass
// for the new process's own batch of the same tag, which would then never
// run and be answered with the old batch's outcomes.
//
// Until then it answers no prepare or accept and starts no round; client
// operations wait and are refused with CodeUnavailable (definite) past
// UnavailableTicks. Ballot counters restart above every counter it hears
// of in the answers. This tolerates amnesia of fewer than a quorum of
// nodes at a time; a quorum that lost its disks has lost the register.

// amnesicName is the name a blank start of cfg.ID applies its batches
// under: its incarnation's, or a random one without.
func amnesicName(cfg Config) string {
	inc := cfg.Incarnation
	if inc == 0 {
		inc = cfg.Rand.Int64()
	}
	return cfg.ID + "#" + strconv.FormatInt(inc, 10)
}

// Message types of the recovery.
const (
	MsgRecover   = "recover"
	MsgRecovered = "recovered"
)

// KeyState is one key's accepted ballot and state, in MsgRecovered.
type KeyState struct {
	Key      int64  `json:"k"`
	Accepted Ballot `json:"a"`
	From     Ballot `json:"f,omitzero"`
	State    State  `json:"s,omitzero"`
}

// recoveryState is a recovering node's (recovering is false once it
// serves).
type recoveryState struct {
	recovering bool
	recBallot  Ballot                // the floor asked for
	recRetryAt int64                 // tick to ask the silent peers again
	recMaxSeen int64                 // highest counter heard of in rejections
	recStarted int64                 // tick the recovery began
	recFresh   map[string]int64      // peers that answered Amnesic: their incarnations
	recKeys    map[string][]KeyState // promises of recBallot: the peers' keys
	// vouched holds, once the node served by the all-blank rule, the
	// incarnation of each recovering peer it counted then.
	vouched map[string]int64
}

// Recovering says whether the node is still relearning its state from
// its peers after a blank start (it serves nothing meanwhile).
func (c *Core) Recovering() bool { return c.recovering }

// startRecovery asks every peer to promise a new floor above counter.
func (c *Core) startRecovery(counter int64) {
	c.recBallot = Ballot{Counter: max(counter, c.recMaxSeen, c.store.MaxCounter) + 1, Node: c.cfg.ID}
	c.recFresh, c.recKeys = map[string]int64{}, map[string][]KeyState{}
	c.askRecovery()
}

// askRecovery sends the recovery's request to the peers that have not
// promised it.
func (c *Core) askRecovery() {
	c.recRetryAt = c.now + c.cfg.Rounds.TimeoutTicks
	for _, p := range c.peers {
		if _, ok := c.recKeys[p]; !ok {
			c.send(p, Msg{Type: MsgRecover, Ballot: c.recBallot, Inc: c.cfg.Incarnation})
		}
	}
}

// highestPromise is the highest ballot this node's acceptor promised on
// any key, or its floor.
func (c *Core) highestPromise() Ballot {
	hi := c.floor
	for _, a := range c.store.Acceptors {
		hi = maxBallot(hi, a.Promised)
	}
	return hi
}

// handleRecover answers a recovering peer.
func (c *Core) handleRecover(from string, m Msg) {
	if !slices.Contains(c.peers, from) || m.Ballot.Node != from {
		return
	}
	c.links.Asked(from, m.Via, m.Probe) // the answer goes where m asks (relay.go)
	if c.recovering {
		c.send(from, Msg{Type: MsgRecovered, Ballot: m.Ballot, Amnesic: true, Inc: c.cfg.Incarnation})
		return
	}
	vouch := m.Inc != 0 && c.vouched[from] == m.Inc
	if hi := c.highestPromise(); !hi.Less(m.Ballot) {
		if hi == m.Ballot {
			// A repeat of a recovery already promised: answer again.
			c.send(from, Msg{Type: MsgRecovered, Ballot: m.Ballot, Keys: c.keyStates(), Vouch: vouch})
			return
		}
		c.send(from, Msg{Type: MsgReject, Of: MsgRecover, Ballot: m.Ballot, Promised: hi})
		return
	}
	c.floor = m.Ballot
	c.persistStable()
	for _, key := range slices.Sorted(maps.Keys(c.store.Acceptors)) {
		a := c.store.Acceptors[key]
		a.Promised = m.Ballot
		c.persistAcceptor(key, a)
	}
	c.send(from, Msg{Type: MsgRecovered, Ballot: m.Ballot, Keys: c.keyStates(), Vouch: vouch})
}

// keyStates lists every key's accepted ballot and state, by key.
func (c *Core) keyStates() []KeyState {
	var ks []KeyState
	for _, key := range slices.Sorted(maps.Keys(c.store.Acceptors)) {
		a := c.store.Acceptors[key]
		if !a.Accepted.IsZero() {
			ks = append(ks, KeyState{Key: key, Accepted: a.Accepted, From: a.From, State: a.State})
		}
	}
	return ks
}

// stepRecovery takes an answer to this node's recovery.
func (c *Core) stepRecovery(from string, m Msg) {
	if !c.recovering || !slices.Contains(c.peers, from) {
		return
	}
	c.recMaxSeen = max(c.recMaxSeen, m.Promised.Counter)
	if m.Ballot != c.recBallot {
		return
	}
	switch m.Type {
	case MsgReject:
		c.startRecovery(m.Promised.Counter)
		return
	case MsgRecovered:
		if m.Amnesic {
			c.recFresh[from] = m.Inc
		} else {
			c.recKeys[from] = m.Keys
			delete(c.recFresh, from)
		}
	}
	promised := len(c.recKeys)
	answered := promised + len(c.recFresh)
	blank := true
	for _, ks := range c.recKeys {
		blank = blank && len(ks) == 0
	}
	switch {
	case answered == len(c.peers) && blank:
		// Every recovering peer counted here is vouched for (see above).
		vouched := map[string]int64{}
		for p, inc := range c.recFresh {
			if inc != 0 {
				vouched[p] = inc
			}
		}
		c.finishRecovery()
		c.vouched = vouched
	case promised >= c.quorum || m.Vouch && c.cfg.Incarnation != 0:
		c.finishRecovery()
	}
}

// finishRecovery adopts the highest accepted state per key from the
// answers, promises the floor everywhere, writes it all and serves.
func (c *Core) finishRecovery() {
	me := c.cfg.ID
	hiCounter := c.recBallot.Counter
	for _, peer := range slices.Sorted(maps.Keys(c.recKeys)) {
		for _, ks := range c.recKeys[peer] {
			hiCounter = max(hiCounter, ks.Accepted.Counter, ks.From.Counter, ks.State.Applied[me])
			a := c.acceptor(ks.Key)
			if a == nil {
				continue
			}
			if a.Accepted.Less(ks.Accepted) {
				a.Accepted, a.From, a.State = ks.Accepted, ks.From, ks.State
			}
		}
	}
	c.floor = c.recBallot
	c.recovering = false
	c.recKeys, c.recFresh = nil, nil
	c.useCounter(hiCounter)
	c.persistStable()
	for _, key := range slices.Sorted(maps.Keys(c.store.Acceptors)) {
		a := c.store.Acceptors[key]
		a.Promised = maxBallot(a.Promised, c.floor)
		c.persistAcceptor(key, a)
	}
	c.log.Info("paxos: recovered from peers", "floor", c.floor.String(), "keys", len(c.store.Acceptors),
		"ticks", c.now-c.recStarted)
	for _, k := range c.keys {
		c.maybeStart(c.props[k])
	}
}

// tickRecovery starts the recovery on the first tick, and asks again
// when answers are late.
func (c *Core) tickRecovery() {
	switch {
	case !c.recovering || c.now < c.recRetryAt:
	case c.recBallot.IsZero():
		c.recStarted = c.now
		c.startRecovery(0)
	default:
		c.askRecovery()
	}
}
