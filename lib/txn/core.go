package txn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"maelkit/lib/core"
)

// MessageType is the Maelstrom body type of every replication Message.
const MessageType = "txn_repl"

// Entry is one committed writing transaction of the sender: its sequence
// number among the sender's commits (1, 2, ...), its Lamport time (with the
// sender's id, its Version) and its write set.
type Entry struct {
	Seq     int64 `json:"s"`
	Lamport int64 `json:"l"`
	WriteSet
}

// Message carries the sender's own commits from Entries[0].Seq on, and
// Ack: the highest sequence number of the receiver's commits that the
// sender has installed with all earlier ones (a cumulative acknowledgement;
// with Entries, the per-origin sequence numbers form a version vector).
// Clock and Seq are the sender's Lamport clock and commit count when it
// sent the message: once the receiver has installed commits 1..Seq, every
// commit the sender has not yet made will have a Lamport time above Clock.
type Message struct {
	Type    string  `json:"type"`
	Entries []Entry `json:"e,omitempty"`
	Ack     int64   `json:"a"`
	Clock   int64   `json:"c"`
	Seq     int64   `json:"q"`
	// The fields below are a durable core's (NewDurable); a core built
	// with New sends none of them. Origin names the sender's commits (its
	// Entries, Seq and Clock): the sender's id, or id@incarnation for a
	// core that started with an empty disk. AckOf is the origin whose
	// commits Ack counts. Inc is the sender's incarnation and Seen the
	// receiver's as the sender last heard it. Have is the sender's version
	// vector: per origin, the commits it has installed with all earlier
	// ones (its own included). Hello asks for a message naming the
	// sender's incarnation in Seen (the sender waits for one). Snap, when
	// present, is the sender's whole store (Store.Snapshot) as of Have: a
	// state transfer.
	Origin string           `json:"o,omitempty"`
	AckOf  string           `json:"ao,omitempty"`
	Inc    int64            `json:"i,omitempty"`
	Seen   int64            `json:"sn,omitempty"`
	Have   map[string]int64 `json:"h,omitempty"`
	Hello  bool             `json:"hl,omitempty"`
	Snap   json.RawMessage  `json:"snap,omitempty"`
}

// String is a compact one-line form for traces: "txn_repl e=3-5 a=7".
func (m Message) String() string {
	var b strings.Builder
	b.WriteString("txn_repl")
	if n := len(m.Entries); n > 0 {
		fmt.Fprintf(&b, " e=%d-%d", m.Entries[0].Seq, m.Entries[n-1].Seq)
	}
	fmt.Fprintf(&b, " a=%d c=%d q=%d", m.Ack, m.Clock, m.Seq)
	if m.Inc != 0 {
		fmt.Fprintf(&b, " o=%s i=%d sn=%d", m.Origin, m.Inc, m.Seen)
	}
	if m.Snap != nil {
		fmt.Fprintf(&b, " snap=%dB", len(m.Snap))
	}
	return b.String()
}

// Clone deep-copies m, so that simulated nodes share no memory.
func (m Message) Clone() Message {
	out := m
	out.Entries = make([]Entry, len(m.Entries))
	for i, e := range m.Entries {
		out.Entries[i] = Entry{Seq: e.Seq, Lamport: e.Lamport, WriteSet: e.WriteSet.Clone()}
	}
	if m.Have != nil {
		out.Have = maps.Clone(m.Have)
	}
	if m.Snap != nil {
		out.Snap = slices.Clone(m.Snap)
	}
	return out
}

// Answer is the reply to a client's transaction: the transaction with its
// reads filled in, or Err (ErrLogFull, or an invalid micro-op), both
// definite.
type Answer struct {
	Txn Txn
	Err error
}

// Config configures a Core. Durations are in ticks.
type Config struct {
	// ID is this node; Nodes every node (Maelstrom's node_ids).
	ID    string
	Nodes []string
	// FlushTicks is the replication period: commits wait up to this long
	// to share a message. Larger: fewer messages, staler remote reads.
	FlushTicks int64
	// RTOTicks is how long unacknowledged entries wait before they are
	// sent again (a lost message, or a partition).
	RTOTicks int64
	// StableTicks is the longest a peer waits for news of this node's
	// clock when there is nothing else to send it: how long an append
	// stays invisible to list reads (see Store.SetListHorizon) on an idle
	// cluster. Larger: fewer messages, staler lists.
	StableTicks int64
	// BatchMax caps the entries in one message; WindowMax the entries sent
	// and not yet acknowledged to one peer, so a cut-off peer costs one
	// window per RTO, not a flood.
	BatchMax, WindowMax int
	// LogMax caps the own commits kept for peers that have not
	// acknowledged them (a long partition); past it Txn refuses writing
	// transactions with ErrLogFull, a definite failure.
	LogMax int
	Logger *slog.Logger // default: discard

	// Durable cores only (NewDurable). Incarnation numbers this process of
	// the node: positive, larger than any earlier process of the node had
	// (the binary uses the boot's wall clock in nanoseconds). FreshClock is
	// where the Lamport clock of a core that starts from an empty disk
	// begins: above every Lamport time its earlier processes ever used, so
	// that its new commits come after them in the version order (the
	// binary uses the boot's wall clock in microseconds: sound as long as
	// the whole cluster commits fewer than one transaction per
	// microsecond). SnapshotEvery is how many log records may follow the
	// last snapshot before the next one replaces them.
	Incarnation   int64
	FreshClock    int64
	SnapshotEvery int

	// WaitOwnReads trades total availability for Elle's "internal": a
	// transaction that reads a list after appending to it, run when its
	// own appends could not be shown (see Txn), is committed at once but
	// answered only once the stable horizon reaches its version, its reads
	// of the lists it appended to then showing every element below its
	// version followed by its own appends. The wait is about a round trip
	// on a healthy network and lasts as long as a partition otherwise (the
	// client times out: an indefinite answer); a crash loses the answer,
	// not the commit. Off: such reads ignore the transaction's own appends.
	WaitOwnReads bool
}

// Defaults returns a configuration for ticks of tickMs milliseconds:
// a 50 ms flush, retransmission after 1 s.
func Defaults(id string, nodes []string, tickMs int64) Config {
	ticks := func(ms int64) int64 { return max(1, (ms+tickMs-1)/tickMs) }
	return Config{
		ID:            id,
		Nodes:         nodes,
		FlushTicks:    ticks(50),
		RTOTicks:      ticks(1000),
		StableTicks:   ticks(100),
		BatchMax:      512,
		WindowMax:     2048,
		LogMax:        1 << 20,
		SnapshotEvery: 1024,
	}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("txn: empty ID")
	case !slices.Contains(c.Nodes, c.ID):
		return fmt.Errorf("txn: ID %q not in Nodes %v", c.ID, c.Nodes)
	case c.FlushTicks < 1 || c.RTOTicks < 1 || c.StableTicks < 1:
		return errors.New("txn: FlushTicks, RTOTicks and StableTicks must be >= 1")
	case c.BatchMax < 1 || c.WindowMax < c.BatchMax || c.LogMax < 1:
		return errors.New("txn: need BatchMax >= 1, WindowMax >= BatchMax, LogMax >= 1")
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if n == "" || seen[n] {
			return fmt.Errorf("txn: empty or duplicate node id in %v", c.Nodes)
		}
		seen[n] = true
	}
	return nil
}

// ErrLogFull: too many commits wait for an unreachable peer; the
// transaction was not applied.
var ErrLogFull = errors.New("txn: replication log full")

// peerState is what this node knows of one peer's copy of its commits.
type peerState struct {
	acked int64 // the peer has installed our commits 1..acked
	sent  int64 // commits acked+1..sent are in flight
	// progress is the tick of the last ack progress or of the first send
	// into an empty window: the retransmission timer's start.
	progress int64
	ackOwed  bool // the peer sent entries we have not acknowledged yet
	// stable: the peer's commits not installed here will all have Lamport
	// times above it (its clock in a message whose commits are installed).
	stable int64
	// sentClock and sentSeq are the Clock and Seq last sent to the peer,
	// at tick sentAt.
	sentClock, sentSeq, sentAt int64

	// A durable core's view of the peer's process. inc and origin are its
	// incarnation and origin as last heard (0 and "": not heard since this
	// process started); have is the version vector of its latest message.
	// known says that acked holds for its current process: set by a
	// message of that process sent after it heard ours, until then the
	// peer gets no entries, only greetings (helloAt: the last one).
	// seenOwed: it has not yet been told that we heard its process.
	// snapAt is when it was last sent a snapshot.
	inc             int64
	origin          string
	have            map[string]int64
	known, seenOwed bool
	helloAt, snapAt int64
}

// Core is the totally available read-committed replica: see the package
// doc. All methods run on one goroutine.
type Core struct {
	cfg   Config
	log   *slog.Logger
	store *Store
	peers []string
	peer  map[string]*peerState
	// own holds this node's commits base+1..seq not yet acknowledged by
	// every peer.
	own       []Entry
	base, seq int64
	// applied[origin] is the highest commit of origin installed here with
	// all earlier ones.
	applied map[string]int64
	now     int64
	out     core.Outbox[Message, Answer]
	// origin names this node's commits: its id, or for a durable core
	// that started from an empty disk id@incarnation (so that its new
	// sequence numbers never collide with those of an earlier process
	// that peers still hold). applied is keyed by origin.
	origin string
	dur    *durability // nil for a core built with New
	// waiting holds the transactions answered once Stable reaches their
	// version (Config.WaitOwnReads), in commit order.
	waiting []waitingTxn
}

// waitingTxn is a committed transaction whose answer waits for the
// horizon: its client, its request and its version.
type waitingTxn struct {
	client string
	msgID  int64
	done   Txn
	v      Version
}

// New validates cfg and returns a core with an empty store.
func New(cfg Config) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Core{cfg: cfg, log: cfg.Logger, store: NewStore(), peer: map[string]*peerState{}, applied: map[string]int64{}, origin: cfg.ID}
	for _, n := range cfg.Nodes {
		if n != cfg.ID {
			c.peers = append(c.peers, n)
			c.peer[n] = &peerState{origin: n, known: true}
		}
	}
	slices.Sort(c.peers)
	return c, nil
}

// Store is the local replica, for reads in tests. Do not install into it.
func (c *Core) Store() *Store { return c.store }

// Applied is how many commits of origin are installed here (a version
// vector entry; origin may be this node's id or its Origin).
func (c *Core) Applied(origin string) int64 {
	if origin == c.cfg.ID || origin == c.origin {
		return c.seq
	}
	return c.applied[origin]
}

// Origin names this node's commits (see Message).
func (c *Core) Origin() string { return c.origin }

// Stable is the Lamport time at or below which no commit can ever arrive
// here again: the minimum of this node's clock and every peer's stable
// clock (and, in a durable core, the cap of a dead origin this node
// lacks commits of: see durable.go). It stops moving while a peer is
// unreachable.
func (c *Core) Stable() int64 {
	low := c.store.Clock()
	if floor, ok := c.floor(); ok {
		low = min(low, floor)
	}
	return low
}

// floor is the Lamport time above which every commit not installed here
// will be: the minimum of every peer's stable clock and, in a durable
// core, the cap of a dead origin this node lacks commits of; ok is false
// when there is none (a one-node cluster, nothing to wait for).
func (c *Core) floor() (low int64, ok bool) {
	for _, p := range c.peers {
		if s := c.peer[p].stable; !ok || s < low {
			low, ok = s, true
		}
	}
	if c.dur != nil {
		if dead, dok := c.deadCap(); dok && (!ok || dead < low) {
			low, ok = dead, true
		}
	}
	return low, ok
}

// Txn runs a client's transaction locally and commits it at once: the
// reads see the local committed state, the writes are installed locally
// atomically at a fresh version and queued for every peer. It never aborts;
// its only error is ErrLogFull (or an invalid micro-op), both definite.
func (c *Core) Txn(t Txn) (Txn, error) {
	done, _, _, err := c.txn(t)
	return done, err
}

// txn is Txn; wait says that the transaction read a list after appending
// to it without seeing its own appends, and v is its version (when it
// writes).
func (c *Core) txn(t Txn) (done Txn, v Version, wait bool, err error) {
	if err := t.Validate(); err != nil {
		return nil, Version{}, false, err
	}
	// A read of a list this transaction appended to shows its own appends
	// after the visible prefix only when nothing can ever land between
	// them: every commit not installed here comes above the floor, and
	// the floor is at least this transaction's Lamport time (clock+1), so
	// the prefix is the whole installed list and the transaction's appends
	// follow it in the final version order. Otherwise showing them would
	// break the prefix rule (a concurrent append elsewhere may take a lower
	// version), so the read ignores them: Elle's "internal", allowed by
	// read committed, where incompatible-order (G1a) is not.
	floor, bounded := c.floor()
	showOwn := !bounded || floor > c.store.Clock()
	c.store.SetListHorizon(c.Stable(), showOwn)
	done, ws := c.store.Execute(t)
	if ws.Empty() {
		return done, Version{}, false, nil
	}
	if len(c.own) >= c.cfg.LogMax {
		return nil, Version{}, false, ErrLogFull
	}
	// The new version exceeds every version installed here, in particular
	// every write this txn read: so wr edges follow the version order.
	v = Version{Lamport: c.store.Clock() + 1, Node: c.cfg.ID}
	c.store.Install(ws, v)
	c.seq++
	e := Entry{Seq: c.seq, Lamport: v.Lamport, WriteSet: ws}
	c.own = append(c.own, e)
	c.record(c.origin, e)
	return done, v, !showOwn && readsOwnAppend(t), nil
}

// readsOwnAppend says whether t reads a list after appending to it.
func readsOwnAppend(t Txn) bool {
	appended := map[int64]bool{}
	for _, m := range t {
		switch {
		case m.F == Append:
			appended[m.K] = true
		case m.F == Read && appended[m.K]:
			return true
		}
	}
	return false
}

// release answers the waiting transactions whose version the horizon has
// reached: no commit below it can arrive any more, so each read of a list
// the transaction appended to becomes every element installed below its
// version, then its own appends made before the read: a prefix of the
// list's final order that its appends follow at once.
func (c *Core) release() {
	if len(c.waiting) == 0 {
		return
	}
	stable := c.Stable()
	keep := c.waiting[:0]
	for _, w := range c.waiting {
		if stable < w.v.Lamport {
			keep = append(keep, w)
			continue
		}
		appended := map[int64]bool{}
		for _, m := range w.done {
			if m.F == Append {
				appended[m.K] = true
			}
		}
		own := map[int64][]int64{}
		for i, m := range w.done {
			switch {
			case m.F == Append:
				own[m.K] = append(own[m.K], m.Arg)
			case m.F == Read && appended[m.K]:
				vs := append(c.store.listBelow(m.K, w.v), own[m.K]...)
				w.done[i].Result = Value{}
				if len(vs) > 0 {
					w.done[i].Result = Value{Kind: List, List: vs}
				}
			}
		}
		c.out.Reply(w.client, w.msgID, Answer{Txn: w.done})
	}
	clear(c.waiting[len(keep):])
	c.waiting = keep
}

// Step handles a message from another node. Stale, duplicate, reordered or
// bogus messages are dropped or ignored.
func (c *Core) Step(from string, m Message) {
	ps := c.peer[from]
	if ps == nil {
		c.log.Debug("txn: message from a non-peer", "from", from)
		return
	}
	if c.dur != nil && (m.Inc <= 0 || m.Origin == "") {
		c.log.Debug("txn: message without incarnation or origin", "from", from)
		return
	}
	origin := m.Origin
	if origin == "" {
		origin = from
	}
	if originNode(origin) != from || origin == c.origin {
		c.log.Debug("txn: message with a foreign origin", "from", from, "origin", origin)
		return
	}
	// current: the message comes from the peer's latest process, so its
	// acknowledgement and clock describe what that process holds.
	current := true
	if c.dur != nil {
		switch {
		case m.Inc < ps.inc:
			current = false // an earlier process's: its entries still install
		case m.Inc > ps.inc:
			c.restarted(ps, m.Inc, origin)
		}
		if current && (m.Seen != c.dur.inc || m.Hello) {
			// It has not heard this process, or has not yet heard from
			// it since it saw a new process of this node: answer.
			ps.seenOwed = true
		}
		if current && !ps.known && m.Seen == c.dur.inc {
			// Its first word since it heard this process: what it
			// acknowledges now is what it holds.
			ps.known = true
			ps.acked = 0
			if m.AckOf == c.origin {
				ps.acked = min(m.Ack, c.seq)
			}
			ps.sent = ps.acked
			ps.progress = c.now
			c.trim()
		}
	}
	if current && ps.known && m.Ack > ps.acked && m.Ack <= c.seq && (m.AckOf == "" && c.origin == c.cfg.ID || m.AckOf == c.origin) {
		ps.acked = m.Ack
		ps.sent = max(ps.sent, ps.acked)
		ps.progress = c.now
		c.trim()
	}
	for _, e := range m.Entries {
		next := c.applied[origin] + 1
		if e.Seq < next {
			continue // a duplicate
		}
		if e.Seq > next || e.Lamport < 1 {
			break // a gap: wait for the retransmission
		}
		c.store.Install(e.WriteSet, Version{Lamport: e.Lamport, Node: from})
		c.applied[origin] = e.Seq
		c.record(origin, e)
	}
	if len(m.Entries) > 0 {
		ps.ackOwed = true
	}
	if m.Snap != nil && c.dur != nil {
		c.merge(from, m.Snap, m.Have)
		ps.ackOwed = true
	}
	if current && origin == ps.origin && m.Seq <= c.applied[origin] {
		ps.stable = max(ps.stable, m.Clock)
	}
	if c.dur != nil {
		for o, n := range m.Have {
			c.saw(o, n)
		}
		if k := len(m.Entries); k > 0 {
			c.saw(origin, m.Entries[k-1].Seq)
		}
		if current {
			ps.have = m.Have
		}
	}
}

// trim forgets the own commits every peer has acknowledged.
func (c *Core) trim() {
	low := c.seq
	for _, p := range c.peers {
		low = min(low, c.peer[p].acked)
	}
	if n := low - c.base; n > 0 {
		c.own = slices.Delete(c.own, 0, int(n))
		c.base = low
	}
}

// Tick advances time by one tick; every FlushTicks it replicates.
func (c *Core) Tick() {
	c.now++
	c.release()
	if c.now%c.cfg.FlushTicks == 0 {
		c.flush()
	}
}

// flush sends each peer the commits it has not been sent (or whose
// retransmission timer expired), and any acknowledgement owed to it. A
// durable core sends a peer whose process has not yet heard this one a
// greeting instead (no entries: what it holds is unknown), and a peer that
// lacks commits no origin will send again a snapshot (see durable.go).
func (c *Core) flush() {
	for _, p := range c.peers {
		ps := c.peer[p]
		var entries []Entry
		snap, greet := false, false
		switch {
		case c.dur != nil && !ps.known:
			greet = c.now-ps.helloAt >= c.cfg.RTOTicks
		case c.dur != nil && ps.acked < c.base:
			// It lost commits every peer had acknowledged: only a
			// snapshot brings them back.
			snap = c.now-ps.snapAt >= c.cfg.RTOTicks
		default:
			if ps.sent > ps.acked && c.now-ps.progress >= c.cfg.RTOTicks {
				ps.sent = ps.acked // go back: resend the window
				ps.progress = c.now
			}
			hi := min(c.seq, ps.sent+int64(c.cfg.BatchMax), ps.acked+int64(c.cfg.WindowMax))
			if hi > ps.sent {
				if ps.sent == ps.acked {
					ps.progress = c.now
				}
				entries = slices.Clone(c.own[ps.sent-c.base : hi-c.base])
				ps.sent = hi
			}
			snap = c.dur != nil && c.now-ps.snapAt >= c.cfg.RTOTicks && c.lacksDead(ps)
		}
		clock := c.store.Clock()
		news := (clock != ps.sentClock || c.seq != ps.sentSeq) && c.now-ps.sentAt >= c.cfg.StableTicks
		if len(entries) == 0 && !ps.ackOwed && !news && !snap && !greet && !ps.seenOwed {
			continue
		}
		ps.ackOwed = false
		ps.sentClock, ps.sentSeq, ps.sentAt = clock, c.seq, c.now
		m := Message{Type: MessageType, Entries: entries, Ack: c.applied[ps.origin], Clock: clock, Seq: c.seq}
		if c.dur != nil {
			c.stamp(&m, ps, snap)
		}
		c.out.Send(p, m)
	}
}

// Drain returns, and forgets, the messages to send and the replies.
func (c *Core) Drain() core.Output[Message, Answer] {
	if c.dur != nil && (c.dur.snap || c.dur.since >= c.cfg.SnapshotEvery) {
		c.snapshot()
	}
	return c.out.Take()
}

// Command runs a client's transaction (Txn) and answers it at once, or,
// with Config.WaitOwnReads, once the horizon reaches it when it read a list
// after appending to it without seeing its own appends (see release).
func (c *Core) Command(cmd core.Command[Txn]) {
	done, v, wait, err := c.txn(cmd.Body)
	if wait && c.cfg.WaitOwnReads {
		c.waiting = append(c.waiting, waitingTxn{client: cmd.Client, msgID: cmd.MsgID, done: done, v: v})
		return
	}
	c.out.Reply(cmd.Client, cmd.MsgID, Answer{Txn: done, Err: err})
}
