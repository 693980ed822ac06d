package txn

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"maelkit/lib/core"
)

// durability is a durable core's own state (NewDurable).
type durability struct {
	inc int64
	// next is the index of the next log record; since counts the records
	// after the last snapshot; snap asks for a snapshot with the next
	// Drain.
	next  uint64
	since int
	snap  bool
	// deadStable holds, per origin a peer has left for a new one (it
	// restarted from an empty disk), the stable clock this node had
	// reached for it: every commit of that origin not installed here has a
	// higher Lamport time. A dead origin of which more commits exist than
	// this node holds (seen) caps Stable at it (0 when unknown: an origin
	// never heard of as current), since those commits may still arrive in
	// a snapshot.
	deadStable map[string]int64
	// seen is, per origin, the most commits any message showed to exist
	// (in a version vector or as entries): what this node may still get.
	seen map[string]int64
}

// logRecord is one installed commit in the log: its origin and the entry.
type logRecord struct {
	Origin string `json:"o"`
	Entry
}

// image is a durable core's snapshot: the store, the version vector, and
// this node's origin and own commits not yet acknowledged by every peer
// (base+1..seq), which it must still be able to send.
type image struct {
	Origin  string           `json:"origin"`
	Seq     int64            `json:"seq"`
	Base    int64            `json:"base"`
	Own     []Entry          `json:"own,omitempty"`
	Applied map[string]int64 `json:"applied,omitempty"`
	Store   json.RawMessage  `json:"store"`
}

// originNode is the node an origin key belongs to: id for "id" and for
// "id@inc" with inc a positive decimal; "" for anything else.
func originNode(o string) string {
	id, inc, ok := strings.Cut(o, "@")
	if !ok {
		return o
	}
	if n, err := strconv.ParseInt(inc, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != inc {
		return ""
	}
	return id
}

// OriginKey is the origin of the commits of node id's process inc when it
// started from an empty disk: id@inc.
func OriginKey(id string, inc int64) string { return id + "@" + strconv.FormatInt(inc, 10) }

// NewDurable is New for a node that may be killed and restarted: rec is
// what its store kept (lib/core), cfg.Incarnation must be positive and
// cfg.SnapshotEvery at least 1.
//
// The rule. Every commit installed here, this node's own (a client's
// transaction) and a peer's, is appended to the log in the Output that
// acknowledges it (the txn_ok, or the next message to the peer, which
// carries the acknowledgement), so it is on disk before anyone learns that
// this node holds it; every SnapshotEvery records a snapshot (the store,
// the version vector, the own commits some peer has not acknowledged)
// replaces them. A restarted node rebuilds all of it, so its sequence
// numbers go on where they were and it sends its peers again what they
// have not acknowledged: replication resumes. Every message carries the
// sender's incarnation; a peer that sees a new one forgets what it
// believed that process holds and sends it only greetings until a
// message of that process shows it heard the peer's process: its
// acknowledgement then says what it holds, and the window starts there.
//
// An empty disk (Fresh: a first start, or --kill-wipes-disk) cannot tell
// which sequence numbers an earlier process used, and peers still hold
// those commits: the node commits under a new origin, OriginKey(id,
// incarnation), starting its Lamport clock at cfg.FreshClock, above every
// version its earlier processes used. A peer that held commits acknowledged
// by every node sends the wiped node a snapshot of its store (it cannot
// resend entries it dropped), and so does any node holding commits of an
// origin that is no longer any node's current one (a wiped process's:
// nobody else will send them again) to a peer whose version vector lacks
// them; a snapshot is merged (Store.Merge) in one step. What no restart
// recovers is a commit acknowledged by a node whose disk is wiped before
// the commit reached any peer.
func NewDurable(cfg Config, rec core.Recovered) (*Core, error) {
	if cfg.Incarnation <= 0 {
		return nil, errors.New("txn: a durable core needs a positive Incarnation")
	}
	if cfg.SnapshotEvery < 1 {
		return nil, errors.New("txn: a durable core needs SnapshotEvery >= 1")
	}
	if cfg.FreshClock < 0 {
		return nil, errors.New("txn: FreshClock must not be negative")
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.dur = &durability{inc: cfg.Incarnation, next: 1, deadStable: map[string]int64{}, seen: map[string]int64{}}
	if rec.Snapshot == nil {
		// A first start, a wiped disk, or a death in the middle of the
		// very first Output (records without the snapshot that names the
		// origin: nothing of that Output was sent, so nothing is lost by
		// dropping them).
		c.origin = OriginKey(cfg.ID, cfg.Incarnation)
		c.store.RaiseClock(cfg.FreshClock)
		if len(rec.Log) > 0 {
			c.out.Persist(core.Write{Kind: core.WriteTruncate, Index: 0})
		}
		c.dur.snap = true // the origin is on disk before any record
	} else if err := c.recover(rec); err != nil {
		return nil, err
	}
	for _, p := range c.peers {
		ps := c.peer[p]
		*ps = peerState{acked: c.base, sent: c.base, helloAt: -cfg.RTOTicks, snapAt: -cfg.RTOTicks}
	}
	return c, nil
}

// recover rebuilds the core from its snapshot and the log after it.
func (c *Core) recover(rec core.Recovered) error {
	var img image
	if err := json.Unmarshal(rec.Snapshot.Data, &img); err != nil {
		return fmt.Errorf("txn: the stored snapshot: %w", err)
	}
	if originNode(img.Origin) != c.cfg.ID || img.Base < 0 || img.Seq != img.Base+int64(len(img.Own)) {
		return fmt.Errorf("txn: the stored snapshot is not node %s's (origin %q, base %d, seq %d, %d own)",
			c.cfg.ID, img.Origin, img.Base, img.Seq, len(img.Own))
	}
	if err := c.store.Restore(img.Store); err != nil {
		return err
	}
	c.origin, c.seq, c.base, c.own = img.Origin, img.Seq, img.Base, img.Own
	for o, n := range img.Applied {
		if c.foreign(o) {
			c.applied[o] = n
		}
	}
	c.dur.next = rec.First
	for _, data := range rec.Log {
		var r logRecord
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("txn: log record %d: %w", c.dur.next, err)
		}
		c.dur.next++
		c.dur.since++
		switch {
		case r.Origin == c.origin && r.Seq == c.seq+1:
			c.store.Install(r.WriteSet, Version{Lamport: r.Lamport, Node: c.cfg.ID})
			c.seq++
			c.own = append(c.own, r.Entry)
		case c.foreign(r.Origin) && r.Seq == c.applied[r.Origin]+1:
			c.store.Install(r.WriteSet, Version{Lamport: r.Lamport, Node: originNode(r.Origin)})
			c.applied[r.Origin] = r.Seq
		default:
			return fmt.Errorf("txn: log record %d (%s #%d) does not follow the state before it", c.dur.next-1, r.Origin, r.Seq)
		}
	}
	return nil
}

// foreign says whether o is an origin of the cluster other than this
// process's: a peer's, or an earlier process's of this node.
func (c *Core) foreign(o string) bool {
	n := originNode(o)
	return o != c.origin && (n == c.cfg.ID || c.peer[n] != nil)
}

// record queues the durable write of a commit just installed (a durable
// core only): it leaves in the Output that acknowledges it.
func (c *Core) record(origin string, e Entry) {
	if c.dur == nil {
		return
	}
	b, err := json.Marshal(logRecord{Origin: origin, Entry: e})
	if err != nil {
		panic(fmt.Sprintf("txn: encoding a log record: %v", err)) // plain integers and strings
	}
	c.out.Persist(core.Write{Kind: core.WriteAppend, Index: c.dur.next, Data: b})
	c.dur.next++
	c.dur.since++
}

// snapshot queues the durable write of the whole state, replacing the log.
func (c *Core) snapshot() {
	st, err := c.store.Snapshot()
	if err != nil {
		panic(fmt.Sprintf("txn: encoding the store: %v", err))
	}
	b, err := json.Marshal(image{Origin: c.origin, Seq: c.seq, Base: c.base, Own: c.own, Applied: c.applied, Store: st})
	if err != nil {
		panic(fmt.Sprintf("txn: encoding a snapshot: %v", err))
	}
	c.out.Persist(core.Write{Kind: core.WriteSnapshot, Index: c.dur.next - 1, Data: b})
	c.dur.since, c.dur.snap = 0, false
}

// restarted handles the first message of a new process of peer ps: what
// the old one held and had in flight is forgotten, and, when it comes back
// under a new origin (an empty disk), its old origin is dead (see
// durability.deadStable) and its stable clock starts again.
func (c *Core) restarted(ps *peerState, inc int64, origin string) {
	if ps.origin != "" && ps.origin != origin {
		c.dur.deadStable[ps.origin] = ps.stable
		ps.stable = 0
	}
	ps.inc, ps.origin = inc, origin
	ps.known, ps.seenOwed, ps.have = false, true, nil
	ps.sent = ps.acked
}

// stamp fills in a durable core's part of a message to ps, with a
// snapshot of the store when snap is set.
func (c *Core) stamp(m *Message, ps *peerState, snap bool) {
	m.Origin, m.AckOf, m.Inc, m.Seen = c.origin, ps.origin, c.dur.inc, ps.inc
	m.Have = maps.Clone(c.applied)
	m.Have[c.origin] = c.seq
	ps.seenOwed = false
	if !ps.known {
		m.Hello = true
		ps.helloAt = c.now
	}
	if snap {
		st, err := c.store.Snapshot()
		if err != nil {
			panic(fmt.Sprintf("txn: encoding the store: %v", err))
		}
		m.Snap = st
		ps.snapAt = c.now
	}
}

// live says whether origin o may still send commits: it is this node's, a
// peer's current one, or a node's whose current origin is not known yet.
func (c *Core) live(o string) bool {
	if o == c.origin {
		return true
	}
	ps := c.peer[originNode(o)]
	return ps != nil && (ps.origin == "" || ps.origin == o)
}

// lacksDead says whether ps's latest version vector lacks commits of a
// dead origin that this node holds.
func (c *Core) lacksDead(ps *peerState) bool {
	if ps.have == nil {
		return false
	}
	for o, n := range c.applied {
		if n > ps.have[o] && !c.live(o) {
			return true
		}
	}
	return false
}

// deadCap is the cap a lacking dead origin puts on Stable (see
// durability.deadStable); ok is false when there is none.
func (c *Core) deadCap() (low int64, ok bool) {
	for o, n := range c.dur.seen {
		if n > c.applied[o] && !c.live(o) {
			if !ok || c.dur.deadStable[o] < low {
				low, ok = c.dur.deadStable[o], true
			}
		}
	}
	return low, ok
}

// saw records that commits 1..n of origin o exist somewhere.
func (c *Core) saw(o string, n int64) {
	if c.foreign(o) && n > c.dur.seen[o] {
		c.dur.seen[o] = n
	}
}

// merge installs a peer's snapshot and its version vector, and asks for a
// snapshot of the result to be written before anything acknowledges it.
func (c *Core) merge(from string, snap json.RawMessage, have map[string]int64) {
	if err := c.store.Merge(snap); err != nil {
		c.log.Debug("txn: bad snapshot", "from", from, "err", err)
		return
	}
	for _, o := range slices.Sorted(maps.Keys(have)) {
		if c.foreign(o) {
			c.applied[o] = max(c.applied[o], have[o])
		}
	}
	c.dur.snap = true
}
