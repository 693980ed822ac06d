// Package gossip is a sans-I/O core that disseminates the elements of a
// grow-only set (lib/gset) to every node of a cluster, reliably over a
// network that loses, delays, reorders and duplicates messages, with few
// messages.
//
// # Shape
//
// A core.Core: Step(from, msg) takes a message from another node,
// Command a client's add or read, Tick() the passing of time (all timeouts
// count ticks), and Drain() returns the messages to send and the replies.
// No goroutines, clocks or I/O: the same core runs in the node binaries
// (lib/node's Host, set up by lib/gossip/gossipnode) and in the
// deterministic simulator (lib/sim).
//
// # Protocol
//
// A star: every node uploads the values its clients add to its hub; the hub
// forwards each new value to every other node in a batch it flushes every
// BatchTicks. A value thus costs one upload, and a flush one message per
// leaf whatever the number of values in it. With N nodes, a flush period T,
// a one-way latency L, a run of R seconds with U uploads, the cost is about
//
//	messages ≈ U + (N-1)·R/T + acks,   latency ≈ 2L + wait(0..T)
//
// (Maelstrom's 3d command: N=25, L=100 ms, 1000 values and ~2025 ops in
// 20 s; at T=300 ms about 870 + 1600 + 90 messages, 1.27 per op, measured
// 1.25-1.29 over 10 seeds on eddy.)
//
// Uploads are aligned with the hub's flushes (Config.AlignUploads): the hub
// stamps each batch with its flush phase and echoes the leaf's upload
// timestamps, so a leaf knows when the next flush reaches it and the round
// trip, and sends its pending values just in time for that flush. Values
// added within one flush period then share an upload at no cost in latency;
// when the timing is noisy (reordering, an overloaded host) the leaf
// uploads at once instead.
//
// Reliability comes from cumulative acknowledgements, not per-message
// replies: every message carries the sender's digest (its gset.Context, a
// version vector with holes), and a node keeps, per peer, what the peer is
// known to have, what it owes the peer, and what is in flight. A hub's batch
// acknowledges the leaf's uploads; a leaf acknowledges the hub's batches in
// its next upload, or in a digest-only message AckDelayTicks later when it
// has nothing to upload. Values in flight longer than a retransmission
// timeout (doubling per timeout, up to RTOMaxTicks) are sent again, at most
// BatchMax per message, and while a peer does not answer it gets nothing but
// those retransmissions, so a dead or cut-off node costs one message per
// timeout, not a flood.
//
// The hub is the first node of Config.Nodes that the node does not suspect.
// A node suspects its hub when an upload times out, for SuspectTicks, and
// moves the unacknowledged uploads to the next candidate, which forwards
// them to everyone; so the star survives a dead or partitioned hub, and
// every node on one side of a partition converges on the same fallback hub.
//
// Anti-entropy closes any remaining gap: when the digest of a peer on a
// star edge (our hub, or anyone when we are a hub) shows that it lacks values
// this node has held for at least AntiEntropyTicks and does not already owe
// it, they are queued for it. A node cut off for a whole run catches up
// through the same digests and retransmissions once healed, in batches of at
// most BatchMax, several per round trip.
//
// Invariants: a value is acknowledged to a client only once it is in the
// local set, and a node forgets an obligation to a peer only when the
// peer's digest shows it has the value, so nothing acknowledged is lost
// while the node lives.
//
// # Crash recovery
//
// A core built with NewDurable survives kills: it appends every value it
// takes into its set (a client's or a peer's) to its log, in the Output
// that acknowledges the value (to the client, or to the peer in a digest),
// so the value is on disk before anyone learns that this node holds it;
// after a restart the log rebuilds the set, and the digests peers recorded
// stay true. Each process has an incarnation number (Config.Incarnation),
// larger than any earlier process of the node had, carried in every
// message: a peer that sees a new one forgets what it believed the node
// holds and flights to it, and learns it again from the next digest, so
// anti-entropy resumes from what the node really has. A restarted core
// greets its peers (Hello, each RTOTicks) until their messages name its
// incarnation (its hub, or every node when it is a hub; the others learn
// it from the first message they get). A core restarted from a wiped disk
// (Fresh) cannot know which sequence numbers its earlier process used, and
// its peers hold those dots with other values: it adds under a new origin,
// OriginKey(id, incarnation), so its new values never collide with the old
// dots. For restartWindow anti-entropy periods after a restart the star's
// idle edges exchange digests; a core started from a wiped disk opens that
// window when a peer's digest first shows values of its earlier process
// (a first start never does, and stays silent). What no restart recovers is a value
// acknowledged on a node whose disk is wiped before the value reached any
// peer.
package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"maelkit/lib/core"
	"maelkit/lib/gset"
)

// Config configures a Core. Durations are in ticks.
type Config struct {
	// ID is this node; Nodes every node, in the same order on every node
	// (Maelstrom's node_ids). Nodes[0] is the primary hub; the others are
	// fallback hubs in that order.
	ID    string
	Nodes []string

	// BatchTicks is the flush period: how long a value may wait at a hub
	// (or for any non-urgent send). Larger: fewer messages, higher latency.
	BatchTicks int64
	// AckDelayTicks is how long a node waits for a message to piggyback an
	// acknowledgement on before sending a digest-only one. Larger: fewer
	// standalone acks, later retransmissions (RTOTicks must exceed it).
	AckDelayTicks int64
	// RTOTicks is the first retransmission timeout; RTOMaxTicks caps its
	// doubling, and so bounds how long after a heal a node waits before
	// trying a silent peer again.
	RTOTicks, RTOMaxTicks int64
	// SuspectTicks is how long a hub whose acknowledgement timed out is
	// passed over before it is tried again.
	SuspectTicks int64
	// AntiEntropyTicks is the age a value must have before anti-entropy
	// offers it to a peer whose digest lacks it: young values are probably
	// still in flight from someone else.
	AntiEntropyTicks int64
	// AlignUploads delays a leaf's upload until just before it must leave
	// to reach the hub in time for the hub's next flush (learned from the
	// hub's Phase and measured round trips), so that values added within
	// one flush period share one upload at no cost in latency.
	// UploadMarginTicks is the slack kept for jitter.
	AlignUploads      bool
	UploadMarginTicks int64
	// BatchMax caps the values in one message.
	BatchMax int
	// FlightsMax caps the unacknowledged data messages to one peer.
	FlightsMax int
	// FlushMsgsMax caps the messages one flush sends to one peer (when
	// more than BatchMax values are owed, as after a heal).
	FlushMsgsMax int
	// DigestRangesMax caps the intervals per origin in a digest.
	DigestRangesMax int

	Logger *slog.Logger // default: discard

	// Incarnation numbers this process of the node: positive and larger
	// than any earlier process of the node had for NewDurable (the host
	// uses the boot's wall clock in nanoseconds); zero for a core that
	// never restarts, whose messages carry none.
	Incarnation int64
}

// Defaults returns a configuration for one tick of tickMs milliseconds:
// a 300 ms flush, acks within 1 s, retransmission after 2 s (up to 3 s).
func Defaults(id string, nodes []string, tickMs int64) Config {
	ticks := func(ms int64) int64 { return max(1, (ms+tickMs-1)/tickMs) }
	return Config{
		ID:                id,
		Nodes:             nodes,
		BatchTicks:        ticks(300),
		AckDelayTicks:     ticks(1000),
		RTOTicks:          ticks(2000),
		RTOMaxTicks:       ticks(3000),
		SuspectTicks:      ticks(10000),
		AntiEntropyTicks:  ticks(2000),
		BatchMax:          1024,
		FlightsMax:        64,
		FlushMsgsMax:      4,
		AlignUploads:      true,
		UploadMarginTicks: ticks(40),
		DigestRangesMax:   4096,
	}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.ID == "":
		return fmt.Errorf("gossip: empty ID")
	case !slices.Contains(c.Nodes, c.ID):
		return fmt.Errorf("gossip: ID %q not in Nodes %v", c.ID, c.Nodes)
	case c.BatchTicks < 1:
		return fmt.Errorf("gossip: BatchTicks must be >= 1")
	case c.AckDelayTicks < 0 || c.UploadMarginTicks < 0:
		return fmt.Errorf("gossip: AckDelayTicks and UploadMarginTicks must be >= 0")
	case c.RTOTicks <= c.AckDelayTicks:
		return fmt.Errorf("gossip: RTOTicks (%d) must exceed AckDelayTicks (%d)", c.RTOTicks, c.AckDelayTicks)
	case c.RTOMaxTicks < c.RTOTicks:
		return fmt.Errorf("gossip: RTOMaxTicks must be >= RTOTicks")
	case c.SuspectTicks < 1 || c.AntiEntropyTicks < 1:
		return fmt.Errorf("gossip: SuspectTicks and AntiEntropyTicks must be >= 1")
	case c.BatchMax < 1 || c.FlightsMax < 1 || c.FlushMsgsMax < 1 || c.DigestRangesMax < 1:
		return fmt.Errorf("gossip: BatchMax, FlightsMax, FlushMsgsMax and DigestRangesMax must be >= 1")
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if n == "" || seen[n] {
			return fmt.Errorf("gossip: empty or duplicate node id %q", n)
		}
		seen[n] = true
	}
	return nil
}

// Stats counts what a core did, for tests and benchmarks.
type Stats struct {
	Sent        int64 // messages
	SentValues  int64 // values in them
	Acks        int64 // messages without values
	Timeouts    int64 // retransmission timeouts
	AntiEntropy int64 // values queued by anti-entropy
	HubChanges  int64
	Dropped     int64 // malformed or unknown-sender messages ignored
}

// Core is one node's dissemination state machine.
type Core struct {
	cfg   Config
	log   *slog.Logger
	self  int
	set   *gset.Set
	peers []*peer // by index in cfg.Nodes; nil at self
	index map[string]int
	now   int64
	hub   int // index of the current hub (self when acting as one)
	out   core.Outbox[Message, Result]

	// origin is the origin of the values added here: the node's id, or
	// for a durable core the one its log names (OriginKey after a Fresh
	// start). durable: every value taken is appended to the log, whose
	// next record is logNext.
	origin  string
	durable bool
	logNext uint64
	// aeUntil: until this tick, the star's edges exchange digests every
	// AntiEntropyTicks even when idle (see restartWindow).
	aeUntil int64
	// blank: a durable core that started without a disk (Fresh) and has
	// not yet seen, in a peer's digest, values of an earlier process of
	// this node (see amnesia).
	blank bool

	// aeOld holds the context as it was between one and two anti-entropy
	// periods ago: values in it have been here at least AntiEntropyTicks.
	aeOld, aeNew gset.Context

	stats Stats
}

// peer is what a node knows about, and owes to, another node.
type peer struct {
	idx int
	id  string
	// known: dots the peer has, from its digests and what it sent us.
	known gset.Context
	// fwd and want: dots owed to the peer (fwd with a forward request,
	// because the peer is our hub), minus known.
	fwd, want gset.Context
	// sent: dots owed and in flight (in some flight), not yet known.
	sent    gset.Context
	flights []flight
	rto     int64
	// backoff: a retransmission timed out and no acknowledgement came
	// since; the peer gets only retransmissions, one per rto.
	backoff bool
	// ackDue is the tick by which we owe the peer an acknowledgement (0:
	// none); ackNow asks for one at the next Drain.
	ackDue int64
	ackNow bool
	// flushNow asks for a send at the next Drain (an upload, an ack, the
	// end of a backoff); retransmit marks that send as a retransmission.
	flushNow   bool
	retransmit bool
	// catchUp: the last flush left values owed (it hit a cap), so the next
	// acknowledgement triggers the next flush.
	catchUp bool
	// suspectUntil: the peer failed as our hub; not a candidate before then.
	suspectUntil int64

	// Upload alignment (when the peer is our hub): upAt is when the
	// pending upload leaves (0: none scheduled); rtt the smoothed round
	// trip (0: unknown); flushAt the tick at which one of the peer's
	// periodic flushes reached us (0: none yet).
	upAt, rtt, flushAt int64
	// steady counts the last round trips and flush arrivals that matched
	// the estimates; uploads are aligned only when it reaches steadyMin,
	// so noisy timing (exponential latency, an overloaded host) falls back
	// to immediate uploads.
	steady int
	// echoSent and echoAt: the peer's last upload Sent tick and when it
	// arrived, returned once in Echo.
	echoSent, echoAt int64

	// inc is the peer's incarnation as last heard (0: none). greeted: it
	// has named ours in a Seen; until then every message to it says Hello,
	// and a peer on a star edge gets one at least every RTOTicks (helloAt:
	// the last one). Peers off the star's edges learn our incarnation from
	// the first message we send them.
	inc      int64
	greeted  bool
	helloAt  int64
	helloDue bool
}

// flight is one data message in flight: when it left, and its dots not yet
// acknowledged.
type flight struct {
	at   int64
	dots gset.Context
}

// New validates cfg and returns a core with an empty set.
func New(cfg Config) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{
		cfg:    cfg,
		log:    cfg.Logger,
		set:    gset.New(),
		peers:  make([]*peer, len(cfg.Nodes)),
		index:  make(map[string]int, len(cfg.Nodes)),
		origin: cfg.ID,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for i, id := range cfg.Nodes {
		c.index[id] = i
		if id == cfg.ID {
			c.self = i
			continue
		}
		c.peers[i] = &peer{idx: i, id: id, rto: cfg.RTOTicks, greeted: cfg.Incarnation == 0}
	}
	c.hub = c.pickHub()
	return c, nil
}

// OriginKey is the origin of the values a node adds after a start from an
// empty disk, in its process incarnation inc: id@inc.
func OriginKey(id string, inc int64) string { return id + "@" + strconv.FormatInt(inc, 10) }

// owner returns the index of the node an origin belongs to: its id, or one
// of its OriginKeys.
func (c *Core) owner(origin string) (int, bool) {
	if i, ok := c.index[origin]; ok {
		return i, true
	}
	id, inc, ok := strings.Cut(origin, "@")
	if !ok {
		return 0, false
	}
	i, ok := c.index[id]
	if !ok {
		return 0, false
	}
	if n, err := strconv.ParseInt(inc, 10, 64); err != nil || n <= 0 || OriginKey(id, n) != origin {
		return 0, false
	}
	return i, true
}

// record is one log record of a durable core: a value and its dot.
type record struct {
	Origin string          `json:"o"`
	Seq    int64           `json:"s"`
	Value  json.RawMessage `json:"v"`
}

// stored is a durable core's stable value: the origin it adds under.
type stored struct {
	Origin string `json:"origin"`
}

// NewDurable is New for a node that may be killed and restarted:
// cfg.Incarnation must be positive, and rec is what the node's store kept
// (lib/core). See the package doc, Crash recovery.
func NewDurable(cfg Config, rec core.Recovered) (*Core, error) {
	if cfg.Incarnation <= 0 {
		return nil, errors.New("gossip: a durable core needs a positive Incarnation")
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.durable = true
	c.logNext = 1
	if rec.Fresh || rec.State == nil {
		if len(rec.Log) > 0 {
			return nil, errors.New("gossip: a log without its origin")
		}
		c.origin = OriginKey(cfg.ID, cfg.Incarnation)
		b, _ := json.Marshal(stored{Origin: c.origin})
		c.out.Persist(core.Write{Kind: core.WriteState, Data: b})
		c.blank = rec.Fresh
		return c, nil
	}
	var st stored
	if err := json.Unmarshal(rec.State, &st); err != nil {
		return nil, fmt.Errorf("gossip: the stored origin: %w", err)
	}
	if i, ok := c.owner(st.Origin); !ok || i != c.self {
		return nil, fmt.Errorf("gossip: the stored origin %q is not node %s's", st.Origin, cfg.ID)
	}
	c.origin = st.Origin
	c.logNext = rec.First + uint64(len(rec.Log))
	for k, b := range rec.Log {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("gossip: log record %d: %w", rec.First+uint64(k), err)
		}
		if _, ok := c.owner(r.Origin); !ok {
			return nil, fmt.Errorf("gossip: log record %d: unknown origin %q", rec.First+uint64(k), r.Origin)
		}
		if _, err := c.set.Insert(gset.Dot{Origin: r.Origin, Seq: r.Seq}, r.Value); err != nil {
			return nil, fmt.Errorf("gossip: log record %d: %w", rec.First+uint64(k), err)
		}
	}
	// What was held before the crash has been held long enough for
	// anti-entropy to offer it, and the obligations to forward it died
	// with the earlier process.
	c.aeOld, c.aeNew = c.set.Context().Clone(), c.set.Context().Clone()
	c.aeUntil = restartWindow * cfg.AntiEntropyTicks
	return c, nil
}

// persist appends the value at d to the log, for a durable core.
func (c *Core) persist(d gset.Dot) {
	if !c.durable {
		return
	}
	v, _ := c.set.Value(d)
	b, err := json.Marshal(record{Origin: d.Origin, Seq: d.Seq, Value: v})
	if err != nil {
		panic(fmt.Sprintf("gossip: encoding a record: %v", err)) // canonical JSON always encodes
	}
	c.out.Persist(core.Write{Kind: core.WriteAppend, Index: c.logNext, Data: b})
	c.logNext++
}

// Origin is the origin of the values added here.
func (c *Core) Origin() string { return c.origin }

// Set is the local replica, for reads. The caller must not modify it.
func (c *Core) Set() *gset.Set { return c.set }

// Stats returns the counters so far.
func (c *Core) Stats() Stats { return c.stats }

// Hub is the node this one currently uploads to (itself when it is a hub).
func (c *Core) Hub() string { return c.cfg.Nodes[c.hub] }

// Now is the number of ticks so far.
func (c *Core) Now() int64 { return c.now }

// Pending reports whether the core still owes any peer a value or an
// acknowledgement: false means it is quiescent and will send nothing more
// until new input arrives.
func (c *Core) Pending() bool {
	for _, p := range c.peers {
		if p != nil && (!p.fwd.Empty() || !p.want.Empty() || len(p.flights) > 0 || p.ackDue != 0 || p.ackNow || p.flushNow || (!p.greeted && c.edge(p))) {
			return true
		}
	}
	return false
}

// Command serves a client: an add is acknowledged as soon as the value is
// in the local set, a read answers from the local set.
func (c *Core) Command(cmd core.Command[Command]) {
	r := Result{Read: cmd.Body.Read, Value: cmd.Body.Value}
	if cmd.Body.Read {
		r.Value = c.set.AppendJSON(nil)
	} else {
		r.Err = c.Add(cmd.Body.Value)
	}
	c.out.Reply(cmd.Client, cmd.MsgID, r)
}

// Add adds a value from a local client. When it returns nil the value is in
// the local set and will reach every node: the client may be acknowledged.
// A value already in the set is not added again.
func (c *Core) Add(value json.RawMessage) error {
	d, added, err := c.set.Add(c.origin, value)
	if err != nil || !added {
		return err
	}
	c.persist(d)
	if c.hub == c.self {
		c.owe(d, -1)
		return nil
	}
	h := c.peers[c.hub]
	h.fwd.Add(d)
	c.scheduleUpload(h)
	return nil
}

// scheduleUpload plans the upload of h's pending values: at once, or, with
// AlignUploads and a known hub schedule, at the last moment that still
// catches the hub's next flush.
func (c *Core) scheduleUpload(h *peer) {
	at := c.now
	if c.cfg.AlignUploads && h.steady >= steadyMin && c.now-h.flushAt <= 4*c.cfg.BatchTicks {
		// The hub's flushes reach us at flushAt + k*BatchTicks; an upload
		// makes flush k if it leaves by flushAt + k*BatchTicks - rtt. Aim
		// at the first flush whose deadline is at most a margin behind us
		// (the estimates may be off by that much), leaving the margin
		// before the deadline; when that is already past, send now.
		margin := c.cfg.UploadMarginTicks
		k := (c.now - margin + h.rtt - h.flushAt + c.cfg.BatchTicks - 1) / c.cfg.BatchTicks
		at = h.flushAt + k*c.cfg.BatchTicks - h.rtt - margin
	}
	if at <= c.now {
		h.flushNow = true
		h.upAt = 0
		return
	}
	if h.upAt == 0 || at < h.upAt {
		h.upAt = at
	}
}

// owe records that every node but except and the dot's origin must get d
// from us.
func (c *Core) owe(d gset.Dot, except int) {
	for _, p := range c.peers {
		if p != nil && p.idx != except && p.id != d.Origin && !p.known.Contains(d) {
			p.want.Add(d)
		}
	}
}

// Step handles a message from node from. Malformed messages and messages
// from unknown nodes are dropped (and logged at debug level).
func (c *Core) Step(from string, m Message) {
	i, ok := c.index[from]
	if !ok || i == c.self {
		c.stats.Dropped++
		c.log.Debug("gossip: message from unknown node dropped", "from", from)
		return
	}
	p := c.peers[i]
	have, err := m.Have.Context()
	if err != nil {
		c.stats.Dropped++
		c.log.Debug("gossip: malformed digest dropped", "from", from, "err", err)
		return
	}
	c.amnesia(&have)
	switch {
	case m.Inc < p.inc:
		// From an earlier process of that node: its values still count
		// (a join), but what it held and confirmed died with it.
		c.receive(p, m.Fwd, true)
		c.receive(p, m.Vals, false)
		return
	case m.Inc > p.inc:
		if c.durable && p.inc != 0 {
			// A restart of a node we had heard from (not its first
			// start): what it owed others may be lost.
			c.aeUntil = c.now + restartWindow*c.cfg.AntiEntropyTicks
		}
		c.restarted(p, m.Inc)
		// The node may have lost values it held, and obligations to
		// others it had taken (as their hub): offer it, and along the
		// star's edges everyone else, what they are not known to hold.
		defer func() {
			for _, q := range c.peers {
				if q != nil {
					c.antiEntropyFrom(q, c.set.Context())
				}
			}
		}()
	}
	if c.cfg.Incarnation != 0 && m.Seen == c.cfg.Incarnation {
		p.greeted = true
	}
	if m.Hello {
		p.ackNow = true // it waits to hear that we heard it
	}
	c.observe(p, &m)
	got := c.receive(p, m.Fwd, true)
	got.Union(ptr(c.receive(p, m.Vals, false)))
	// The peer has what it sent us, whatever its digest says.
	have.Union(&got)
	c.ack(p, &have)
	if !got.Empty() || m.AckNow {
		if m.AckNow {
			p.ackNow = true
		} else if p.ackDue == 0 {
			p.ackDue = c.now + c.cfg.AckDelayTicks
		}
	}
	c.antiEntropy(p)
}

// amnesia notices, on a core that started without a disk, a peer's digest
// holding values of an earlier process of this node: the disk was wiped,
// not new. Values that process held may now sit only with peers that
// believe it holds them, and anti-entropy offers them when its digests
// arrive, so it keeps sending them on the star's edges for restartWindow,
// as after a restart from disk. A first start never sees such values and
// stays silent when idle.
func (c *Core) amnesia(have *gset.Context) {
	if !c.blank {
		return
	}
	for _, origin := range have.Origins() {
		if i, ok := c.owner(origin); ok && i == c.self && origin != c.origin {
			c.blank = false
			c.aeUntil = max(c.aeUntil, c.now+restartWindow*c.cfg.AntiEntropyTicks)
			return
		}
	}
}

// restarted forgets what p's earlier process held and what was in flight
// to it: its new process, inc, is known to have only what its digests say
// from now on, and is told at once that we heard it.
func (c *Core) restarted(p *peer, inc int64) {
	p.inc = inc
	p.known = gset.Context{}
	p.sent = gset.Context{}
	clear(p.flights)
	p.flights = p.flights[:0]
	p.backoff, p.catchUp = false, false
	p.rto = c.cfg.RTOTicks
	p.echoSent, p.steady, p.flushAt = 0, 0, 0
	p.ackNow = true
}

// observe takes the timing fields of m: an upload's Sent tick to echo, a
// round-trip sample from an Echo, and the phase of the hub's flushes.
func (c *Core) observe(p *peer, m *Message) {
	if m.Sent > 0 {
		p.echoSent, p.echoAt = m.Sent, c.now
	}
	if e := m.Echo; e != nil && e.Held >= 0 && e.Sent > 0 {
		if rtt := c.now - e.Sent - e.Held; rtt >= 0 && rtt <= c.cfg.RTOTicks {
			switch {
			case p.rtt == 0:
				p.rtt = max(rtt, 1)
			default:
				if abs(rtt-p.rtt) > steadyJitterTicks {
					p.steady = 0
				}
				p.rtt = max((3*p.rtt+rtt+2)/4, 1)
			}
		}
	}
	if m.Phase > 0 && m.Phase <= c.cfg.BatchTicks {
		at := c.now - (m.Phase - 1)
		if p.flushAt > 0 {
			// How far this flush landed from where the last one said it
			// would (a multiple of BatchTicks later).
			off := (at - p.flushAt) % c.cfg.BatchTicks
			if off > c.cfg.BatchTicks/2 {
				off -= c.cfg.BatchTicks
			}
			if abs(off) <= steadyJitterTicks && p.rtt > 0 {
				p.steady = min(p.steady+1, steadyMin)
			} else {
				p.steady = 0
			}
		}
		p.flushAt = at
	}
}

// restartWindow is how many anti-entropy periods after a restart (its own,
// or a peer's) a durable core keeps digests flowing on the star's edges
// while idle. A dead node's obligations died with it: the values it had
// taken to forward, and those a wiped node held alone with the uploader,
// now sit with nodes that owe nobody anything, and anti-entropy, which
// runs when a digest arrives, needs digests to arrive. Outside the window
// an idle cluster stays silent.
const restartWindow = 5

// Upload alignment trusts its estimates after steadyMin flush arrivals
// within steadyJitterTicks of the prediction (and round trips as stable).
const (
	steadyMin         = 3
	steadyJitterTicks = 1
)

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func ptr[T any](v T) *T { return &v }

// ownDelivered is the context of the values added here that our current
// hub has acknowledged.
func (c *Core) ownDelivered() gset.Context {
	var own gset.Context
	own.AddRanges(c.origin, c.set.Context().Of(c.origin))
	if c.hub != c.self {
		own.Subtract(&c.peers[c.hub].fwd)
	}
	return own
}

// receive stores the values of runs and returns their dots; with forward
// set, new values are owed to every node but the sender and the origin.
func (c *Core) receive(p *peer, runs []Run, forward bool) gset.Context {
	var got gset.Context
	for _, r := range runs {
		if _, ok := c.owner(r.Origin); !ok || r.Seq < 1 || int64(len(r.Vals)) > int64(c.cfg.BatchMax)*4 {
			c.stats.Dropped++
			c.log.Debug("gossip: bad run dropped", "from", p.id, "origin", r.Origin, "seq", r.Seq)
			continue
		}
		for k, v := range r.Vals {
			d := gset.Dot{Origin: r.Origin, Seq: r.Seq + int64(k)}
			added, err := c.set.Insert(d, v)
			if err != nil {
				c.stats.Dropped++
				c.log.Debug("gossip: bad value dropped", "from", p.id, "dot", d, "err", err)
				continue
			}
			got.Add(d)
			if added {
				c.persist(d)
			}
			if added && forward {
				c.owe(d, p.idx)
			}
		}
	}
	return got
}

// ack takes in what the peer has: obligations it covers are forgotten,
// flights it covers land, and a peer in backoff that made progress is
// trusted again.
func (c *Core) ack(p *peer, have *gset.Context) {
	p.known.Union(have)
	p.fwd.Subtract(&p.known)
	p.want.Subtract(&p.known)
	p.sent.Subtract(&p.known)
	landed := false
	kept := p.flights[:0]
	for _, f := range p.flights {
		n := f.dots.Count()
		f.dots.Subtract(&p.known)
		if f.dots.Count() < n {
			landed = true
		}
		if !f.dots.Empty() {
			kept = append(kept, f)
		}
	}
	clear(p.flights[len(kept):])
	p.flights = kept
	if landed || len(p.flights) == 0 {
		if p.backoff || p.catchUp {
			p.backoff = false
			p.flushNow = true // resume at once: the peer is back, or catching up
		}
		p.rto = c.cfg.RTOTicks
	}
	// A suspected hub is trusted again when our uploads land, or when it
	// talks to us and its digest shows that our values reached it (through
	// the fallback hub), but for those still on their way: the cut is
	// probably healed.
	if p.suspectUntil != 0 && (landed || p.known.Covers(ptr(c.ownDelivered()))) {
		p.suspectUntil = 0
		c.rehub()
	}
}

// antiEntropy queues for p the values it lacks that this node has held for
// a while and does not already owe it. Only along the star's edges (p is
// our hub, or we are a hub): a node cut off from many peers would otherwise
// get the same backlog from each of them.
func (c *Core) antiEntropy(p *peer) { c.antiEntropyFrom(p, &c.aeOld) }

// antiEntropyFrom queues for p the values of held it lacks and is not
// already owed: held is aeOld for the periodic anti-entropy, and the whole
// set for a peer that just restarted (it may have lost values it held,
// young ones included, and may fall silent once greeted).
func (c *Core) antiEntropyFrom(p *peer, held *gset.Context) {
	if held.Empty() || (p.idx != c.hub && c.hub != c.self) {
		return
	}
	miss := held.Minus(&p.known)
	if miss.Empty() {
		return
	}
	miss.Subtract(&p.fwd)
	miss.Subtract(&p.want)
	miss.Subtract(&p.sent)
	if miss.Empty() {
		return
	}
	c.stats.AntiEntropy += miss.Count()
	c.log.Debug("gossip: anti-entropy", "peer", p.id, "dots", miss.String())
	if p.idx == c.hub {
		p.fwd.Union(&miss) // our hub lacks them: others probably do too
		c.scheduleUpload(p)
	} else {
		p.want.Union(&miss)
	}
}

// edge says whether p is on one of the star's edges of this node: our hub,
// or anyone when we are a hub.
func (c *Core) edge(p *peer) bool { return p.idx == c.hub || c.hub == c.self }

// Tick advances time by one tick: timeouts, due acknowledgements,
// anti-entropy snapshots, and the periodic flush.
func (c *Core) Tick() {
	c.now++
	if c.now%c.cfg.AntiEntropyTicks == 0 {
		c.aeOld, c.aeNew = c.aeNew, c.set.Context().Clone()
		if c.now <= c.aeUntil {
			for _, p := range c.peers {
				if p != nil && c.edge(p) {
					p.ackNow = true
				}
			}
		}
	}
	rehub := false
	for _, p := range c.peers {
		if p == nil {
			continue
		}
		if p.suspectUntil != 0 && c.now >= p.suspectUntil {
			p.suspectUntil = 0
			rehub = true
		}
		if len(p.flights) > 0 && c.now-p.flights[0].at >= p.rto {
			c.timeout(p)
		}
		if p.ackDue != 0 && c.now >= p.ackDue {
			p.flushNow = true
		}
		if p.upAt != 0 && c.now >= p.upAt {
			p.flushNow = true
			p.upAt = 0
		}
		if !p.greeted && c.edge(p) && c.now-p.helloAt >= c.cfg.RTOTicks {
			p.helloDue = true
			p.flushNow = true
		}
	}
	if rehub {
		c.rehub()
	}
	if c.now%c.cfg.BatchTicks == 0 {
		for _, p := range c.peers {
			// Uploads have their own schedule (upAt); the periodic flush
			// is for everything else.
			if p != nil && !p.backoff && (!p.want.Empty() || (!p.fwd.Empty() && p.upAt == 0)) {
				p.flushNow = true
			}
		}
	}
}

// timeout handles an unacknowledged flight: go back (everything owed is
// sendable again), back off, suspect the peer if it is our hub, and
// retransmit.
func (c *Core) timeout(p *peer) {
	c.stats.Timeouts++
	c.log.Debug("gossip: timeout", "peer", p.id, "rto", p.rto, "inflight", p.sent.Count())
	p.sent = gset.Context{}
	clear(p.flights)
	p.flights = p.flights[:0]
	p.rto = min(2*p.rto, c.cfg.RTOMaxTicks)
	p.backoff = true
	if p.idx == c.hub {
		p.suspectUntil = c.now + c.cfg.SuspectTicks
		c.rehub()
	}
	p.flushNow = true
	p.retransmit = true
}

// pickHub returns the first node not suspected (self is never suspected).
func (c *Core) pickHub() int {
	for i, p := range c.peers {
		if i == c.self || p.suspectUntil == 0 {
			return i
		}
	}
	return c.self
}

// rehub picks the hub again and moves unacknowledged uploads from the old
// hub to the new one (or, when this node becomes a hub, to everyone).
func (c *Core) rehub() {
	h := c.pickHub()
	if h == c.hub {
		return
	}
	old := c.hub
	c.hub = h
	c.stats.HubChanges++
	c.log.Debug("gossip: new hub", "from", c.cfg.Nodes[old], "to", c.cfg.Nodes[h])
	if old == c.self {
		return
	}
	moved := c.peers[old].fwd
	c.peers[old].fwd = gset.Context{}
	if moved.Empty() {
		return
	}
	if h == c.self {
		moved.Each(func(d gset.Dot) bool {
			c.owe(d, -1)
			return true
		})
		return
	}
	c.peers[h].fwd.Union(&moved)
	c.peers[h].flushNow = true
}

// Drain sends what is due (uploads, acknowledgements, flushes and
// retransmissions marked since the last call; one message per peer unless
// more than BatchMax values are owed) and returns, and forgets, the
// messages and replies produced.
func (c *Core) Drain() core.Output[Message, Result] {
	for _, p := range c.peers {
		if p != nil && (p.flushNow || p.ackNow) {
			c.flush(p)
		}
	}
	return c.out.Take()
}

// flush sends p what is due: the values owed and not in flight, at most
// BatchMax per message, with our digest. A peer in backoff gets values only
// in a retransmission, one message of them. When the values owed exceed a
// message, up to FlushMsgsMax messages go at once, the last asking for an
// immediate ack, and each ack releases the next ones (catch-up after a heal
// streams at the pace of round trips, not of flushes).
func (c *Core) flush(p *peer) {
	retransmit := p.retransmit
	// A message without values goes out only when an acknowledgement is
	// due, never merely because one is owed: owed ones wait to piggyback.
	ackNeeded := p.ackNow || p.helloDue || (p.ackDue != 0 && c.now >= p.ackDue)
	p.flushNow, p.retransmit, p.ackNow, p.helloDue = false, false, false, false
	dataOK := !p.backoff || retransmit
	for msgs := 0; ; msgs++ {
		var fwd, want gset.Context
		if dataOK && len(p.flights) < c.cfg.FlightsMax {
			budget := int64(c.cfg.BatchMax)
			fwd = p.fwd.Minus(&p.sent)
			fwd = fwd.Take(budget)
			budget -= fwd.Count()
			want = p.want.Minus(&p.sent)
			want.Subtract(&fwd)
			want = want.Take(budget)
		}
		n := fwd.Count() + want.Count()
		if n == 0 && (msgs > 0 || !ackNeeded) {
			p.catchUp = false
			c.endIdleBackoff(p)
			return
		}
		m := Message{
			Type: MessageType,
			Fwd:  c.runs(&fwd),
			Vals: c.runs(&want),
			Have: c.set.Context().Digest(c.cfg.DigestRangesMax),
		}
		if !fwd.Empty() {
			m.Sent = c.now
			p.upAt = 0
		}
		if p.echoSent > 0 {
			m.Echo = &Echo{Sent: p.echoSent, Held: c.now - p.echoAt}
			p.echoSent = 0
		}
		if !want.Empty() {
			m.Phase = c.now%c.cfg.BatchTicks + 1
		}
		if c.cfg.Incarnation != 0 {
			m.Inc, m.Seen, m.Hello = c.cfg.Incarnation, p.inc, !p.greeted
			if !p.greeted {
				p.helloAt = c.now
			}
		}
		if n > 0 {
			var dots gset.Context
			dots.Union(&fwd)
			dots.Union(&want)
			p.sent.Union(&dots)
			p.flights = append(p.flights, flight{at: c.now, dots: dots})
		} else {
			c.stats.Acks++
		}
		p.catchUp = c.owes(p)
		last := !p.catchUp || retransmit || msgs+1 >= c.cfg.FlushMsgsMax || len(p.flights) >= c.cfg.FlightsMax
		m.AckNow = retransmit || (last && p.catchUp)
		p.ackDue = 0
		c.stats.Sent++
		c.stats.SentValues += n
		c.out.Send(p.id, m)
		if last {
			c.endIdleBackoff(p)
			return
		}
	}
}

// endIdleBackoff ends a backoff that has nothing in flight: a backoff only
// holds values back while a retransmission is out, and its timeout is what
// brings the next one. The doubled rto stays until an ack lands.
func (c *Core) endIdleBackoff(p *peer) {
	if p.backoff && len(p.flights) == 0 {
		p.backoff = false
	}
}

// owes reports whether p is owed values not in flight.
func (c *Core) owes(p *peer) bool {
	f := p.fwd.Minus(&p.sent)
	if !f.Empty() {
		return true
	}
	w := p.want.Minus(&p.sent)
	return !w.Empty()
}

// runs turns dots into runs of values, origins sorted.
func (c *Core) runs(dots *gset.Context) []Run {
	var out []Run
	for _, origin := range dots.Origins() {
		for _, iv := range dots.Of(origin).Intervals() {
			r := Run{Origin: origin, Seq: iv.Lo, Vals: make([]json.RawMessage, 0, iv.Hi-iv.Lo+1)}
			for s := iv.Lo; s <= iv.Hi; s++ {
				v, ok := c.set.Value(gset.Dot{Origin: origin, Seq: s})
				if !ok {
					panic(fmt.Sprintf("gossip: %s owes %s:%d but does not have it", c.cfg.ID, origin, s))
				}
				r.Vals = append(r.Vals, v)
			}
			out = append(out, r)
		}
	}
	return out
}
