package paxos

import (
	"slices"
	"strings"
)

// Forwarding (Config.Forward) tames contention without a leader: a node
// whose acceptor has just served another proposer's round on a key hands
// its next batch on that key to that proposer instead of starting a rival
// round that would break it. The busy proposer applies the batch in its own
// one-round-trip accepts. Nothing is elected: the hint is the acceptor's own
// recent traffic, and once that proposer falls silent (HolderTicks) the
// node proposes itself again.
//
// On a key no proposer is busy on (a new key, or one whose busy proposer
// was just cut off) every node with operations would propose at once and
// duel; instead each hands its batch to the key's preferred node, the
// first in a rank order fixed per key among the nodes it hears (see
// preferred), which all nodes on one side of a partition agree on. The
// preferred node proposes; if it does not answer, the next one is tried.
//
// A forwarded batch keeps the forwarder's identity: the carrier applies it
// under the forwarder's name and tag (State.Applied, State.Results), only
// if the state does not hold it yet (and answers from the state if it
// does). So if no answer comes back within Forward.WaitTicks, the forwarder
// forwards it again while it hears the busy proposer, or else runs the
// batch itself, exactly as it retries its own: its prepare tells whether
// the batch is already in, and with what outcomes. Either way it is applied
// once and answered; a cut between the two nodes costs Forward.WaitTicks of
// latency, not an unknown outcome.
//
// Two hops. In Maelstrom's majorities-ring partition every node reaches a
// majority but none reaches all: the busy proposer's acceptors do not
// include every node, and a node that never hears it would start rival
// rounds on the acceptors the two quorums share, a duel that lasts the
// whole partition. So a node also learns a route to the busy proposer (the
// peer that answered its last forward, or that rejected its round because
// it promised someone else) and forwards there when its own acceptor hears
// no one; a node that gets a forward and itself hears another busy
// proposer relays it there (at most maxRelays hops; Msg.Origin names the
// forwarder, Msg.Path the relays), and the reply comes back the same way. Everything a relay does is stateless, and
// a lost hop costs Forward.WaitTicks as above.

// unit is a batch another node forwarded, carried by this proposer.
type unit struct {
	origin  string
	as      string   // the name it is applied under (Msg.As; origin if empty there)
	path    []string // the relays it came through, the last one nearest; the reply goes back along them
	tag     int64
	ops     []Op
	since   int64
	results []Result // outcomes in the current proposal; nil: origin moved on
}

// route is a learned way towards a key's busy proposer.
type route struct {
	via    string
	at     int64  // tick learned or last confirmed
	ballot Ballot // the promise a rejection named (zero: a forward came back)
}

// holder returns the peer to forward a batch on key to, or "": the busy
// proposer this node's acceptor hears, else the last route learned.
func (c *Core) holder(key int64) string {
	if h := c.directHolder(key); h != "" {
		return h
	}
	if r, ok := c.routes[key]; ok && c.cfg.Forward.On && c.now-r.at < c.cfg.Forward.RouteTicks {
		return r.via
	}
	return ""
}

// learnRoute notes that peer from answered for key on behalf of, or
// promised, proposer owner: from leads towards the busy proposer.
func (c *Core) learnRoute(key int64, from string, owner Ballot) {
	if !c.cfg.Forward.On || owner.Node == "" || owner.Node == c.cfg.ID || !slices.Contains(c.peers, from) {
		return
	}
	// Of two rejections, the one naming the later ballot points at the
	// proposer that is busy now; the other acceptor's promise is older.
	if r, ok := c.routes[key]; ok && c.now-r.at < c.cfg.Forward.RouteTicks && owner.Less(r.ballot) {
		return
	}
	c.routes[key] = route{via: from, at: c.now, ballot: owner}
}

// directHolder returns the proposer whose accept this node's acceptor
// took less than HolderTicks ago, or "". Only an accept counts: it shows a
// proposer that got a quorum of promises, not one whose prepares fail.
func (c *Core) directHolder(key int64) string {
	if !c.cfg.Forward.On {
		return ""
	}
	a := c.store.Acceptors[key]
	if a == nil {
		return ""
	}
	h := a.Promised.Node
	last, ok := c.lastAccept[key]
	if h != a.Accepted.Node || h == c.cfg.ID || !slices.Contains(c.peers, h) || !ok || c.now-last >= c.cfg.Forward.HolderTicks {
		return ""
	}
	return h
}

// live says whether peer h serves key now: it is the busy proposer this
// node's acceptor hears, or the way to one that a rejection or a forward's
// answer confirmed within HolderTicks.
func (c *Core) live(key int64, h string) bool {
	if h == c.directHolder(key) {
		return true
	}
	r, ok := c.routes[key]
	return ok && c.cfg.Forward.On && r.via == h && c.now-r.at < c.cfg.Forward.HolderTicks
}

// preferred returns the node that should propose on key when none is
// busy there, so that the nodes with operations on a cold key (at the
// start, or after its busy proposer was cut off) hand them to one of them
// instead of duelling: the first, in the key's rank order (every node,
// sorted, starting at key mod their number), of this node and the peers it
// heard directly within HolderTicks (during its first HolderTicks, all of
// them), skipping skip. Where views of who is reachable differ (a ring
// partition), forwards and routes settle the rest.
func (c *Core) preferred(key int64, skip []string) string {
	n := int64(len(c.ranked))
	start := (key%n + n) % n
	for i := range n {
		id := c.ranked[(start+i)%n]
		if id == c.cfg.ID {
			return id
		}
		if slices.Contains(skip, id) {
			continue
		}
		at, heard := c.links.HeardAt(id)
		if heard && c.now-at < c.cfg.Forward.HolderTicks || !heard && c.now < c.cfg.Forward.HolderTicks {
			return id
		}
	}
	return c.cfg.ID
}

// maxRelays bounds the relays a forwarded batch passes through: two reach
// any node of a five-node majorities ring, and the bound stops loops.
const maxRelays = 2

// maxForwards bounds the peers one batch of this node is forwarded to.
const maxForwards = 3

// maybeForward hands p's fresh batch, and the batches it carries for
// others, to a busier proposer; it reports whether p has nothing left to
// run. A batch of this node goes to maxForwards peers in all, to each
// once, or twice if that peer is live when the first wait ends (the
// forward, its answer, or a relay's copy was lost; a round of ours would
// break the busy proposer's). After a silence it is proposed here, and
// forwarded again only along a route learned since (the first holder may
// have been cut off). Its tag makes every copy apply at most once.
func (c *Core) maybeForward(p *proposer) bool {
	h := c.holder(p.key)
	if h == "" && c.cfg.Forward.On {
		// No proposer is busy on the key: the preferred one should be.
		skip := slices.Clone(p.fwdTo)
		for _, u := range p.units {
			skip = append(skip, u.origin) // it preferred this node
		}
		if pref := c.preferred(p.key, skip); pref != c.cfg.ID {
			h = pref
		}
	}
	if h == "" {
		return false
	}
	// Carried batches go on too: running them here would break the busy
	// proposer's rounds. The reply comes back through this node.
	live := c.live(p.key, h)
	keep := p.units[:0]
	for _, u := range p.units {
		if u.origin == h {
			// Its forwarder is the busy proposer now: it runs the batch
			// itself once its wait for us ends (exactly once, by tag).
			// Carrying it would mean a rival round against it.
			continue
		}
		if slices.Contains(u.path, h) || slices.Contains(u.path, c.cfg.ID) || len(u.path) >= maxRelays {
			if !live {
				keep = append(keep, u)
			}
			// Else it cannot go on towards the live busy proposer,
			// and a round of ours would break that proposer's: drop
			// it, its forwarder sends it again when its wait ends.
			continue
		}
		c.send(h, Msg{Type: MsgForward, Key: p.key, Tag: u.tag, Ops: u.ops, Origin: u.origin, Path: append(slices.Clone(u.path), c.cfg.ID),
			As: wireAs(u.as, u.origin)})
	}
	clear(p.units[len(keep):])
	p.units = keep
	// A second try to the same peer only while it is live.
	sent := countOf(p.fwdTo, h)
	if len(p.batch) == 0 || sent > 1 || sent == 1 && !live || sent == 0 && distinct(p.fwdTo) >= maxForwards {
		return len(p.batch) == 0 && len(p.units) == 0
	}
	if len(p.units) > 0 {
		return false
	}
	if p.firstTag == 0 {
		// A tag of this node's ballot-counter sequence: above every tag
		// it used, below every ballot it will use.
		p.firstTag = c.store.MaxCounter + 1
		c.useCounter(p.firstTag)
	}
	// Else an accept of ours carried the batch under firstTag and failed:
	// the carrier applies it only if the chosen state does not hold it.
	p.fwdTo = append(p.fwdTo, h)
	ops := make([]Op, len(p.batch))
	for i, o := range p.batch {
		ops[i] = o.op
	}
	c.send(h, Msg{Type: MsgForward, Key: p.key, Tag: p.firstTag, Ops: ops, As: wireAs(c.self, c.cfg.ID)})
	p.phase = forwarded
	p.deadline = c.now + c.cfg.Forward.WaitTicks
	return true
}

// countOf counts the elements of s equal to v.
func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// distinct counts the different elements of s.
func distinct(s []string) int {
	n := 0
	for i, x := range s {
		if !slices.Contains(s[:i], x) {
			n++
		}
	}
	return n
}

// handleForward queues a batch a peer forwarded (once per origin and tag),
// or relays it to the busy proposer this node hears.
func (c *Core) handleForward(from string, m Msg) {
	if !slices.Contains(c.peers, from) || m.Tag <= 0 || len(m.Ops) == 0 || len(m.Ops) > c.cfg.Limits.BatchMax {
		return
	}
	origin, path := from, []string(nil)
	if m.Origin != "" {
		// Relayed: Path lists the relays, the sender last.
		if m.Origin == c.cfg.ID || !slices.Contains(c.peers, m.Origin) || len(m.Path) == 0 || len(m.Path) > maxRelays ||
			m.Path[len(m.Path)-1] != from || slices.Contains(m.Path, c.cfg.ID) {
			return
		}
		origin, path = m.Origin, m.Path
	}
	as := origin
	if m.As != "" {
		if !strings.HasPrefix(m.As, origin+"#") {
			return
		}
		as = m.As
	}
	for _, op := range m.Ops {
		if !validOp(op) {
			return
		}
	}
	if h := c.directHolder(m.Key); h != "" && h != from && h != origin && !slices.Contains(path, h) && len(path) < maxRelays {
		// Relay to the proposer we hear: it carries the batch.
		c.send(h, Msg{Type: MsgForward, Key: m.Key, Tag: m.Tag, Ops: m.Ops, Origin: origin, Path: append(slices.Clone(path), c.cfg.ID), As: m.As})
		return
	}
	if r, ok := c.routes[m.Key]; ok && r.via == from {
		// from takes this node for the way to the busy proposer, and
		// this node took from for it: neither is. Carry the batch
		// rather than send it back and forth.
		delete(c.routes, m.Key)
	}
	p := c.proposerFor(m.Key)
	if p == nil || len(p.units)+len(p.unitQueue) >= c.cfg.Limits.QueueMax {
		return // the forwarder will run it itself
	}
	for _, u := range slices.Concat(p.units, p.unitQueue) {
		if u.as == as && u.tag == m.Tag {
			return // a duplicate
		}
	}
	p.unitQueue = append(p.unitQueue, &unit{origin: origin, as: as, path: path, tag: m.Tag, ops: m.Ops, since: c.now})
	c.maybeStart(p)
}

// replyUnit sends a carried batch's outcomes back the way it came.
func (c *Core) replyUnit(key int64, u *unit) {
	m := Msg{Type: MsgForwardReply, Key: key, Tag: u.tag, Results: u.results, As: wireAs(u.as, u.origin)}
	if len(u.path) == 0 || c.reaches(u.origin) {
		// Straight back when this node reaches the forwarder (in a
		// one-way ring the way back along the relays is the long way).
		c.send(u.origin, m)
		return
	}
	m.Origin, m.Path = u.origin, slices.Clone(u.path[:len(u.path)-1])
	c.send(u.path[len(u.path)-1], m)
}

// handleForwardReply answers a forwarded batch with the outcomes its
// carrier got chosen, or passes a relayed answer on towards its forwarder.
func (c *Core) handleForwardReply(from string, m Msg) {
	if m.Origin != "" && m.Origin != c.cfg.ID {
		if !slices.Contains(c.peers, from) || !slices.Contains(c.peers, m.Origin) || len(m.Path) > maxRelays {
			return
		}
		if n := len(m.Path); n > 0 {
			next := m.Path[n-1]
			m.Path = slices.Clone(m.Path[:n-1])
			if slices.Contains(c.peers, next) {
				c.send(next, m)
			}
			return
		}
		m.Path = nil
		c.send(m.Origin, m)
		return
	}
	p := c.props[m.Key]
	if p == nil || len(p.batch) == 0 || p.firstTag != m.Tag || len(m.Results) != len(p.batch) || wireAs(c.self, c.cfg.ID) != m.As {
		return // late, duplicated, already answered, or an earlier start's
	}
	// from leads to the busy proposer: keep forwarding there.
	if slices.Contains(c.peers, from) {
		r := route{via: from, at: c.now}
		if old := c.routes[m.Key]; old.via == from {
			r.ballot = old.ballot
		}
		c.routes[m.Key] = r
	}
	c.resolveForwarded(p, m.Results)
}

// resolveForwarded answers p's batch with outcomes learned from its
// carrier. Any round of ours still in flight for the batch is moot: the
// chosen history holds the batch once, where the carrier put it.
func (c *Core) resolveForwarded(p *proposer, results []Result) {
	for i, o := range p.batch {
		c.reply(o, results[i])
	}
	p.endBatch()
	p.phase = idle
	c.maybeStart(p)
}

// learnChosen: this node's acceptor just accepted st at an accept whose
// proposer had accepted it first (Msg.Self, three nodes only): two of three
// acceptors hold it, so it is chosen. If it holds this node's forwarded
// batch, that batch's outcomes are known without the forward's reply,
// which the carrier then does not send.
func (c *Core) learnChosen(key int64, st State) {
	p := c.props[key]
	me := c.self
	// Applied[me] >= firstTag: the batch is in (as in startAccept; it
	// may have been applied by this node's own retry, under a later tag).
	if p == nil || len(p.batch) == 0 || p.firstTag == 0 || st.Applied[me] < p.firstTag || len(st.Results[me]) != len(p.batch) {
		return
	}
	c.resolveForwarded(p, st.Results[me])
}

// applyUnits applies the carried batches to st that it does not hold yet,
// recording each one's outcomes.
func applyUnits(st State, units []*unit) State {
	for _, u := range units {
		if done := st.Applied[u.as]; done >= u.tag {
			u.results = nil
			if done == u.tag {
				u.results = st.Results[u.as]
			}
			continue
		}
		st, u.results = applyBatch(st, u.ops, u.as, u.tag)
	}
	return st
}

// wireAs is Msg.As for a batch applied under name as by node origin:
// empty when as is origin's own name.
func wireAs(as, origin string) string {
	if as == origin {
		return ""
	}
	return as
}
