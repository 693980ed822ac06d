// Package counter keeps a counter CRDT (lib/crdt) replicated across nodes:
// a sans-I/O core that sends each peer only the entries it is not known to
// hold, in one batched message per peer per interval, and falls silent once
// every peer has confirmed everything.
//
// Protocol. The only message is Sync: Entries (a delta: the entries the
// receiver lacks, as far as the sender knows) and Acks (the receiver's
// confirmation of entries the other side sent it: entry id -> the version
// it now holds). For every peer the core tracks the version of each entry
// the peer is known to hold (from its acks and from the entries it sent),
// and sends an entry when its own version is higher. Because merging is a
// join (commutative, associative, idempotent), loss, duplication and
// reordering cost messages, never correctness.
//
// Cost model. At most one message per peer per BatchTicks, only when there
// is a new entry to send or an acknowledgement owed; acks ride on the next
// batch. An entry sent but not confirmed after RetryTicks is sent again. A
// peer that has confirmed nothing for RetryTicks while entries wait for it
// is presumed cut off: it gets probes (all pending entries) spaced by a
// backoff that doubles from RetryTicks to BackoffMaxTicks, or an immediate
// message as soon as it is heard from again. With nothing changing, the
// core sends nothing. Nodes talk over Overlay's sparse graph, relaying
// entries, so the per-interval cost grows as n·log n, not n²: all pairs
// at 3 nodes, a ring at 5, 4 neighbours each at 25.
//
// Reach. A node whose overlay neighbours are all presumed cut off (each has
// entries waiting and has confirmed nothing for RetryTicks) would keep its
// adds to itself however many other replicas are up: it is stranded, and
// while it is, it reaches the other replicas nearest around the ring, one
// more each time all those reached so far are presumed cut off too, with
// the same batches, retries and probes, until one holds its entries. So a
// stranded node with a live replica in reach costs one more peer, not n.
// Once an overlay neighbour confirms again, the others get only what they
// are owed (acks, the greeting); while neighbours are healthy nothing
// changes.
//
// The core is a core.Core with no goroutines, clock or I/O: Command serves
// adds and reads from local state (always available), Step takes a peer's
// message, Tick counts time, Drain returns the messages to send and the
// replies. Iteration is over sorted ids,
// so the same inputs produce the same outputs.
//
// Crash recovery (NewDurable). A replica that may be killed and restarted
// persists its counter (its own entry and every entry it merged) before it
// acknowledges an add or a peer's entries: the write leaves in the same
// Output as the add_ok or the Acks, so it is durable first. Persisting the
// others' entries, not only its own, matters when a disk is wiped: the
// entries of a node whose disk was wiped may then live only with peers,
// which must not lose them in turn to a kill. What a restarted replica
// missed while it was down it relearns from its peers. Each process has an incarnation number,
// larger than any earlier process of the same node had, which every Sync
// carries: a peer that sees a new one forgets what it believed the node
// holds and sends it everything; a restarted node keeps greeting each peer
// until the peer's messages name its new incarnation. A replica that
// restarts without its disk (Fresh: a wiped disk) cannot know how far its
// own entry had gone, and its peers may hold a higher version of it: it
// counts under a new entry, EntryKey(id, incarnation), so that its new adds
// are never hidden by a merge with the old entry, which the peers still
// hold and hand back. Entries thus number the replicas plus one per wiped
// restart. What no restart recovers is an add acknowledged on a node whose
// disk is wiped before the add reached any peer.
package counter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"maelkit/lib/core"
	"maelkit/lib/crdt"
)

// SyncType is the Maelstrom message type of Sync.
const SyncType = "counter_sync"

// Sync is the message replicas exchange. Neither part expects a reply: the
// next batch carries the acknowledgement.
type Sync[C any] struct {
	Type string `json:"type"`
	// Entries are the sender's entries the receiver is not known to hold
	// (absent when there are none).
	Entries C `json:"entries,omitempty"`
	// Acks confirm entries the receiver sent earlier: entry id -> the
	// version the sender of this message now holds.
	Acks map[string]int64 `json:"acks,omitempty"`
	// Inc is the sender's incarnation (0: a core that is not durable) and
	// Seen the receiver's incarnation as the sender last heard it. Hello
	// says that the receiver has not yet named the sender's incarnation in
	// a Seen, and asks for a message that does.
	Inc   int64 `json:"inc,omitempty"`
	Seen  int64 `json:"seen,omitempty"`
	Hello bool  `json:"hello,omitempty"`
}

// Command is a client's request: add Delta, or (Read) read the value.
type Command struct {
	Read  bool
	Delta int64
}

// Result answers a Command: the value read, or for an add Err (nil once the
// delta is counted).
type Result struct {
	Read  bool
	Value int64
	Err   error
}

// Defaults for the zero values of Config, in ticks (the runtime ticks every
// 100 ms).
const (
	// DefaultBatchTicks: 400 ms between messages to one peer keeps the cost
	// at a few messages per second per link under load, while a read on
	// another node lags a write by well under a second.
	DefaultBatchTicks = 4
	// DefaultRetryTicks: 2 s is several batch intervals plus round trips at
	// 100 ms latency, so a healthy peer's ack always comes first.
	DefaultRetryTicks = 20
	// DefaultBackoffMaxTicks: a cut-off peer is probed at most every 3 s,
	// which bounds both the waste during a partition and the delay after
	// it heals.
	DefaultBackoffMaxTicks = 30
)

// Config configures a Core.
type Config struct {
	ID      string   // this replica
	NodeIDs []string // every replica, this one included; entries of others are dropped
	// Peers are the replicas this one exchanges with directly. Nil means
	// Overlay(NodeIDs, ID). Must be symmetric across nodes (a node also
	// answers any replica that writes to it).
	Peers []string
	// BatchTicks is the least time between two messages to one peer. Larger
	// batches cost fewer messages and make remote reads staler.
	BatchTicks int64
	// RetryTicks is how long an entry sent to a peer may stay unconfirmed
	// before it is sent again, and how long a peer may confirm nothing
	// before it is presumed cut off. Must exceed BatchTicks.
	RetryTicks int64
	// BackoffMaxTicks caps the spacing of probes to a cut-off peer: larger
	// values cost less during partitions and converge later after a heal.
	BackoffMaxTicks int64
	// Logger gets debug lines for dropped input; nil discards.
	Logger *slog.Logger
	// Incarnation numbers this process of the replica (NewDurable needs it
	// positive and larger than any earlier process of the same replica
	// had: the host uses the boot's wall clock in nanoseconds). Zero: a
	// core that never restarts, whose messages carry none.
	Incarnation int64
}

// Stats count what the core sent, for tests and benchmarks.
type Stats struct {
	Messages    int64 // Sync messages
	Entries     int64 // entries in them
	Acks        int64 // acknowledgements in them
	Retransmits int64 // entries sent again at a version already sent
	Probes      int64 // messages to a peer presumed cut off
	Reached     int64 // messages with entries to a replica outside the overlay
}

// Core replicates one counter. It is not safe for concurrent use.
type Core[C crdt.Counter[C]] struct {
	cfg   Config
	log   *slog.Logger
	state C
	nodes map[string]bool
	peers []*peer // sorted by id
	byID  map[string]*peer
	now   int64 // ticks so far
	out   core.Outbox[Sync[C], Result]
	stats Stats
	// entry is the key this replica counts under: its id, or after a
	// restart from a wiped disk EntryKey(id, incarnation).
	entry   string
	durable bool // persist the counter before acknowledging anything
	dirty   bool // changed since the last write
	// stranded: at the last tick every overlay neighbour was presumed cut
	// off, so the other replicas got our entries too.
	stranded bool
	// reach lists the replicas outside the overlay, nearest around the
	// ring first: the order in which a stranded core reaches them.
	reach []*peer
}

// sent records the last version of an entry sent to a peer, and when.
type sent struct{ version, at int64 }

// peer is what the core knows about one neighbour.
type peer struct {
	id string
	// overlay: one of Config.Peers. The others get entries only while the
	// core is stranded and reaches them (reaching).
	overlay, reaching bool
	known             map[string]int64 // entry id -> version the peer surely holds
	sent              map[string]sent
	ackDue            map[string]bool // entries it sent us that we have not acknowledged
	// lastSend is the tick of our last message to it.
	lastSend int64
	// heard: a message came from it since our last message to it.
	heard bool
	// progress is the last tick it confirmed something, or had nothing
	// outstanding: the start of any silence we count against it.
	progress int64
	// backoff is the spacing of the next probes; nextProbe the tick of the
	// next one, while it is presumed cut off.
	backoff, nextProbe int64
	// inc is its incarnation as last heard (0: none yet); seenOwed says
	// that it has not yet been told we heard it. greeted says that it has
	// named our incarnation; until it does, a message goes to it at least
	// every RetryTicks (helloAt: the last one).
	inc      int64
	seenOwed bool
	greeted  bool
	helloAt  int64
}

// New validates cfg and returns a core replicating state (normally empty;
// the core owns it from now on).
func New[C crdt.Counter[C]](cfg Config, state C) (*Core[C], error) {
	if cfg.BatchTicks == 0 {
		cfg.BatchTicks = DefaultBatchTicks
	}
	if cfg.RetryTicks == 0 {
		cfg.RetryTicks = DefaultRetryTicks
	}
	if cfg.BackoffMaxTicks == 0 {
		cfg.BackoffMaxTicks = DefaultBackoffMaxTicks
	}
	nodes := map[string]bool{}
	for _, id := range cfg.NodeIDs {
		if id == "" || nodes[id] {
			return nil, fmt.Errorf("counter: node ids must be non-empty and distinct, got %q", cfg.NodeIDs)
		}
		nodes[id] = true
	}
	switch {
	case !nodes[cfg.ID]:
		return nil, fmt.Errorf("counter: id %q not among node ids %q", cfg.ID, cfg.NodeIDs)
	case cfg.BatchTicks < 1:
		return nil, errors.New("counter: BatchTicks must be positive")
	case cfg.RetryTicks <= cfg.BatchTicks:
		return nil, errors.New("counter: RetryTicks must exceed BatchTicks")
	case cfg.BackoffMaxTicks < cfg.RetryTicks:
		return nil, errors.New("counter: BackoffMaxTicks must be at least RetryTicks")
	}
	if cfg.Peers == nil {
		cfg.Peers = Overlay(cfg.NodeIDs, cfg.ID)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Core[C]{cfg: cfg, log: log, state: state, nodes: nodes, byID: map[string]*peer{}, entry: cfg.ID}
	for _, id := range cfg.Peers {
		if !nodes[id] || id == cfg.ID {
			return nil, fmt.Errorf("counter: peer %q is not another node", id)
		}
		c.addPeer(id).overlay = true
	}
	for _, id := range ringOrder(cfg.NodeIDs, cfg.ID) {
		if p := c.addPeer(id); !p.overlay {
			c.reach = append(c.reach, p)
		}
	}
	return c, nil
}

func (c *Core[C]) addPeer(id string) *peer {
	if p := c.byID[id]; p != nil {
		return p
	}
	p := &peer{
		id:       id,
		known:    map[string]int64{},
		sent:     map[string]sent{},
		ackDue:   map[string]bool{},
		lastSend: -c.cfg.BatchTicks, // free to send at once
		progress: c.now,
		backoff:  c.cfg.RetryTicks,
		greeted:  c.cfg.Incarnation == 0,
		helloAt:  -c.cfg.RetryTicks,
	}
	c.byID[id] = p
	i, _ := slices.BinarySearchFunc(c.peers, id, func(q *peer, id string) int {
		if q.id < id {
			return -1
		}
		if q.id > id {
			return 1
		}
		return 0
	})
	c.peers = slices.Insert(c.peers, i, p)
	return p
}

// Add adds delta to this replica's own entry. The change is local and
// immediate (a read here sees it at once) and reaches the others with the
// next batches; a durable core also queues the write of its entry.
func (c *Core[C]) Add(delta int64) error {
	if err := c.state.Add(c.entry, delta); err != nil {
		return err
	}
	if delta != 0 {
		c.persist()
	}
	return nil
}

// persist marks the counter to be written with the next Output, for a
// durable core: one write however many changes it carries.
func (c *Core[C]) persist() {
	if c.durable {
		c.dirty = true
	}
}

// Entry is the key this replica counts under.
func (c *Core[C]) Entry() string { return c.entry }

// EntryKey is the entry of replica id's process incarnation inc, used by a
// replica that restarted without its disk: id@inc.
func EntryKey(id string, inc int64) string { return id + "@" + strconv.FormatInt(inc, 10) }

// owner returns the replica an entry key belongs to, or "" for a key that
// is neither a replica's id nor one of its EntryKeys.
func (c *Core[C]) owner(key string) string {
	if c.nodes[key] {
		return key
	}
	id, inc, ok := strings.Cut(key, "@")
	if !ok || !c.nodes[id] {
		return ""
	}
	if n, err := strconv.ParseInt(inc, 10, 64); err != nil || n <= 0 || EntryKey(id, n) != key {
		return ""
	}
	return id
}

// stored is what a durable core writes: the key it counts under and the
// counter.
type stored[C any] struct {
	Entry string `json:"entry"`
	Count C      `json:"count"`
}

func (c *Core[C]) encode() []byte {
	b, err := json.Marshal(stored[C]{Entry: c.entry, Count: c.state})
	if err != nil {
		panic(fmt.Sprintf("counter: encoding a counter: %v", err)) // the crdt types always encode
	}
	return b
}

// NewDurable is New for a replica that may be killed and restarted:
// cfg.Incarnation must be positive, and rec is what the replica's store
// kept (lib/core). It persists its counter before it acknowledges an add
// or a peer's entries (see the package doc).
func NewDurable[C crdt.Counter[C]](cfg Config, empty C, rec core.Recovered) (*Core[C], error) {
	if cfg.Incarnation <= 0 {
		return nil, errors.New("counter: a durable core needs a positive Incarnation")
	}
	c, err := New(cfg, empty)
	if err != nil {
		return nil, err
	}
	c.durable = true
	if rec.Fresh || rec.State == nil {
		c.entry = EntryKey(cfg.ID, cfg.Incarnation)
		return c, nil
	}
	var st stored[C]
	if err := json.Unmarshal(rec.State, &st); err != nil {
		return nil, fmt.Errorf("counter: the stored counter: %w", err)
	}
	if c.owner(st.Entry) != cfg.ID {
		return nil, fmt.Errorf("counter: the stored entry %q is not replica %s's", st.Entry, cfg.ID)
	}
	c.entry = st.Entry
	c.state.Merge(st.Count.Restrict(slices.DeleteFunc(st.Count.IDs(), func(id string) bool { return c.owner(id) == "" })))
	return c, nil
}

// Value is the counter as this replica sees it.
func (c *Core[C]) Value() int64 { return c.state.Value() }

// State is a copy of the replica's counter.
func (c *Core[C]) State() C { return c.state.Clone() }

// Stats are the totals so far.
func (c *Core[C]) Stats() Stats { return c.stats }

// Peers lists the replicas this one exchanges with while its neighbours
// are healthy (its overlay neighbours), sorted.
func (c *Core[C]) Peers() []string {
	return peerIDs(c.peers, func(p *peer) bool { return p.overlay })
}

// Stranded reports whether, at the last tick, every overlay neighbour was
// presumed cut off, so that other replicas got entries too.
func (c *Core[C]) Stranded() bool { return c.stranded }

// Reaching lists the replicas outside the overlay that got entries at the
// last tick, nearest around the ring first.
func (c *Core[C]) Reaching() []string {
	return peerIDs(c.reach, func(p *peer) bool { return p.reaching })
}

// peerIDs lists the ids of the peers in ps that keep selects, in order.
func peerIDs(ps []*peer, keep func(*peer) bool) []string {
	var ids []string
	for _, p := range ps {
		if keep(p) {
			ids = append(ids, p.id)
		}
	}
	return ids
}

// ringOrder lists the ids other than self by distance from self around the
// sorted ring, the next one before the previous one at equal distance.
func ringOrder(ids []string, self string) []string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	n, i := len(sorted), slices.Index(sorted, self)
	var out []string
	for d := 1; d <= n/2; d++ {
		out = append(out, sorted[(i+d)%n])
		if back := sorted[(i-d+n)%n]; 2*d < n {
			out = append(out, back)
		}
	}
	return out
}

// Quiet reports whether the core has nothing left to send: every overlay
// neighbour has confirmed every entry and heard our incarnation, and no
// acknowledgement is owed to anyone.
func (c *Core[C]) Quiet() bool {
	vs := c.versions()
	for _, p := range c.peers {
		if len(p.ackDue) > 0 || p.seenOwed {
			return false
		}
		if p.overlay && (len(pending(p, vs)) > 0 || !p.greeted) {
			return false
		}
	}
	return true
}

// Step handles a Sync from another replica: merge its entries, remember
// what it holds and what it confirmed, owe it an acknowledgement.
func (c *Core[C]) Step(from string, m Sync[C]) {
	if !c.nodes[from] || from == c.cfg.ID {
		c.log.Debug("counter: sync from a non-peer dropped", "from", from)
		return
	}
	p := c.byID[from]
	stale := false
	switch {
	case m.Inc < p.inc:
		// From an earlier process of that node: its entries still merge
		// (a join), but what it held and confirmed died with it.
		stale = true
	case m.Inc > p.inc:
		c.restarted(p, m.Inc)
	}
	if !stale {
		p.heard = true
		if c.cfg.Incarnation != 0 && m.Seen == c.cfg.Incarnation {
			p.greeted = true
		}
		if m.Hello {
			p.seenOwed = true // it waits to hear that we heard it
		}
	}
	if ids := m.Entries.IDs(); len(ids) > 0 {
		valid := slices.DeleteFunc(ids, func(id string) bool { return c.owner(id) == "" })
		if len(valid) < m.Entries.Len() {
			c.log.Debug("counter: entries of unknown replicas dropped", "from", from, "entries", m.Entries.IDs())
		}
		d := m.Entries.Restrict(valid)
		if c.state.Merge(d) {
			c.persist()
		}
		if !stale {
			for _, id := range valid {
				p.known[id] = max(p.known[id], d.Version(id))
				p.ackDue[id] = true
			}
		}
	}
	if stale {
		return
	}
	progressed := false
	for id, v := range m.Acks {
		if c.owner(id) != "" && v > p.known[id] {
			p.known[id] = v
			progressed = true
		}
	}
	if progressed {
		p.progress = c.now
		p.backoff = c.cfg.RetryTicks
		p.nextProbe = 0
	}
}

// restarted forgets what p's earlier process held: its new process, inc,
// gets every entry again, and is told that we heard it.
func (c *Core[C]) restarted(p *peer, inc int64) {
	p.inc = inc
	p.known = map[string]int64{}
	p.sent = map[string]sent{}
	clear(p.ackDue)
	p.progress = c.now
	p.backoff = c.cfg.RetryTicks
	p.nextProbe = 0
	p.seenOwed = true
}

// Tick advances time by one tick and sends what is due.
func (c *Core[C]) Tick() {
	c.now++
	vs := c.versions()
	c.stranded = len(c.reach) > 0
	for _, p := range c.peers {
		if p.overlay && !c.cut(p, vs) {
			c.stranded = false
		}
	}
	// Reach the nearest replicas outside the overlay up to the first one
	// not presumed cut off.
	more := c.stranded
	for _, p := range c.reach {
		p.reaching = more
		if more && !c.cut(p, vs) {
			more = false
		}
	}
	for _, p := range c.peers {
		if p.overlay || p.reaching {
			c.tickPeer(p, vs)
		} else {
			c.answer(p)
		}
	}
}

// cut reports whether p is presumed cut off: it has entries waiting and has
// confirmed nothing for RetryTicks.
func (c *Core[C]) cut(p *peer, vs []version) bool {
	return c.now-p.progress >= c.cfg.RetryTicks && len(pending(p, vs)) > 0
}

// answer sends a replica outside the overlay, while we are not stranded,
// only what it is owed: acks of the entries it sent and the confirmation
// that we heard its incarnation. Its silence counts for nothing, so that
// if we become stranded it gets a first batch, not a probe.
func (c *Core[C]) answer(p *peer) {
	p.progress = c.now
	p.backoff = c.cfg.RetryTicks
	p.nextProbe = 0
	if c.now-p.lastSend < c.cfg.BatchTicks || (len(p.ackDue) == 0 && !p.seenOwed) {
		return
	}
	c.sendTo(p, nil)
}

// version is an entry id and our version of it.
type version struct {
	id string
	v  int64
}

// versions lists our entries' versions, sorted by id.
func (c *Core[C]) versions() []version {
	ids := c.state.IDs()
	vs := make([]version, len(ids))
	for i, id := range ids {
		vs[i] = version{id: id, v: c.state.Version(id)}
	}
	return vs
}

// pending lists the entries p is not known to hold at our version, sorted.
func pending(p *peer, vs []version) []string {
	var ids []string
	for _, e := range vs {
		if e.v > p.known[e.id] {
			ids = append(ids, e.id)
		}
	}
	return ids
}

func (c *Core[C]) tickPeer(p *peer, vs []version) {
	todo := pending(p, vs)
	if len(todo) == 0 {
		p.progress = c.now
		p.backoff = c.cfg.RetryTicks
		p.nextProbe = 0
	}
	if c.now-p.lastSend < c.cfg.BatchTicks {
		return
	}
	var send []string
	if len(todo) > 0 && c.now-p.progress >= c.cfg.RetryTicks {
		// Presumed cut off: probe with everything, rarely, unless it just
		// spoke (a heal shows first as a message from the other side).
		if c.now < p.nextProbe && !p.heard {
			return
		}
		send = todo
		p.nextProbe = c.now + p.backoff
		p.backoff = min(2*p.backoff, c.cfg.BackoffMaxTicks)
		c.stats.Probes++
	} else {
		for _, id := range todo {
			s := p.sent[id]
			if s.version < c.state.Version(id) || c.now-s.at >= c.cfg.RetryTicks {
				send = append(send, id)
			}
		}
		hello := !p.greeted && c.now-p.helloAt >= c.cfg.RetryTicks
		if len(send) == 0 && len(p.ackDue) == 0 && !p.seenOwed && !hello {
			return
		}
	}
	c.sendTo(p, send)
}

// sendTo queues one Sync to p with the given entries and every ack owed.
func (c *Core[C]) sendTo(p *peer, ids []string) {
	m := Sync[C]{Type: SyncType}
	if len(ids) > 0 {
		m.Entries = c.state.Restrict(ids)
		for _, id := range ids {
			v := c.state.Version(id)
			if p.sent[id].version == v {
				c.stats.Retransmits++
			}
			p.sent[id] = sent{version: v, at: c.now}
		}
	}
	if len(p.ackDue) > 0 {
		m.Acks = make(map[string]int64, len(p.ackDue))
		for _, id := range slices.Sorted(maps.Keys(p.ackDue)) {
			m.Acks[id] = c.state.Version(id)
		}
		clear(p.ackDue)
	}
	if c.cfg.Incarnation != 0 {
		// Only a peer we send entries to needs to name our incarnation.
		m.Inc, m.Seen, m.Hello = c.cfg.Incarnation, p.inc, !p.greeted && (p.overlay || p.reaching)
		p.seenOwed = false
		if m.Hello {
			p.helloAt = c.now
		}
	}
	p.lastSend = c.now
	p.heard = false
	c.stats.Messages++
	if !p.overlay && len(ids) > 0 {
		c.stats.Reached++
	}
	c.stats.Entries += int64(len(ids))
	c.stats.Acks += int64(len(m.Acks))
	c.out.Send(p.id, m)
}

// Drain returns, and forgets, the messages to send and the replies.
func (c *Core[C]) Drain() core.Output[Sync[C], Result] {
	if c.dirty {
		c.out.Persist(core.Write{Kind: core.WriteState, Data: c.encode()})
		c.dirty = false
	}
	return c.out.Take()
}

// Command serves a client from local state, at once: an add counts the
// delta here (replication follows), a read returns the local value.
func (c *Core[C]) Command(cmd core.Command[Command]) {
	r := Result{Read: cmd.Body.Read}
	if r.Read {
		r.Value = c.Value()
	} else {
		r.Err = c.Add(cmd.Body.Delta)
	}
	// A durable core's add marked the counter for writing: Drain queues
	// the write in this Output, so the reply goes out once it is on disk.
	c.out.Reply(cmd.Client, cmd.MsgID, r)
}

// OverlayBase is the base of Overlay's circulant graph. 4 measured best
// (TestSimOverlayTradeoff: 25 nodes, 100 ms latency, 5 seeds, median
// msgs-per-op and time to agree after the heal): base 2, 8 neighbours,
// 3.8 and 0.7 s; base 4, 4 neighbours, 2.0 and 1.5 s; a plain ring, 1.0
// and 3.3 s.
const OverlayBase = 4

// Overlay returns self's neighbours in Circulant(ids, self, OverlayBase):
// everyone up to 3 nodes, a ring at 4 and 5, a ring with chords of length
// 4 at 25 (4 neighbours, any node at most 4 hops away).
func Overlay(ids []string, self string) []string { return Circulant(ids, self, OverlayBase) }

// Circulant returns self's neighbours in a circulant graph over the sorted
// ids: the nodes at distance 1, base, base², ... (up to half the ring)
// either way, so degree about 2·log_base(n) and diameter about
// (base/2)·log_base(n). The graph is symmetric, so acknowledgements always
// have a way back. Self not among ids, or base < 2, gives nil.
func Circulant(ids []string, self string, base int) []string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	n := len(sorted)
	i := slices.Index(sorted, self)
	if i < 0 || base < 2 {
		return nil
	}
	set := map[string]bool{}
	for off := 1; off <= n/2; off *= base {
		set[sorted[(i+off)%n]] = true
		set[sorted[(i-off+n)%n]] = true
	}
	delete(set, self)
	return slices.Sorted(maps.Keys(set))
}
