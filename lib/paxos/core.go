package paxos

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"

	"maelkit/lib/core"
	"maelkit/lib/linkhealth"
)

// Request is a client's operation on the register at Key.
type Request struct {
	Key int64
	Op  Op
}

// Outcome answers a Request: Op with its result (Op.Code, and for a read
// Op.Value), or Unknown when the proposer gave up on it and cannot tell
// whether it took effect (the client is told nothing and times out).
type Outcome struct {
	Key     int64
	Op      Op
	Unknown bool
}

// Config configures a Core, its tunables grouped by feature. Zero
// durations and bounds take the defaults given.
type Config struct {
	ID    string   // this node
	Nodes []string // every node, this one included; a quorum is a majority
	// Rand drives backoff jitter (required: a seeded source replays).
	Rand *rand.Rand
	// Recovered is what the node's disk held at start (see durable.go).
	// With Amnesia, Fresh (nothing on disk: a first start, or a lost
	// disk) makes the node relearn from its peers before it serves
	// (amnesia.go); the zero value is a disk known to be new, and the
	// node serves at once.
	Recovered core.Recovered
	// Amnesia says disks may be lost (eddy's --kill-wipes-disk). Without
	// it a start without state is a first start, which is all it can be
	// under Maelstrom, whose kill keeps the disk: the node serves at once
	// rather than wait for a quorum of peers that a partition may hide.
	Amnesia bool
	// Incarnation tells this process of the node from its others (the
	// binary's boot time in ns, say): a peer that saw this very process
	// blank when it found every node blank vouches for it, and a blank
	// start then serves without waiting for a quorum (amnesia.go). Zero
	// gives no such shortcut.
	Incarnation int64
	// Logger gets debug noise and warnings; nil discards.
	Logger *slog.Logger

	Rounds  RoundConfig
	Thrifty ThriftyConfig
	Relay   RelayConfig
	Forward ForwardConfig
	Limits  LimitConfig
}

// RoundConfig shapes a proposer's rounds.
type RoundConfig struct {
	// DisableFastPath turns off the one-round-trip optimisation (every
	// round prepares), for comparison.
	DisableFastPath bool
	// TimeoutTicks: a round without a quorum after this many ticks fails
	// and is retried at a higher ballot. Longer waits out slow networks,
	// shorter recovers sooner from loss. Default 20.
	TimeoutTicks int64
	// RetransmitTicks, if positive, repeats a round's request to silent
	// peers this often within the round: it pays off on lossy networks and
	// only costs messages where loss is rare (a partition is not cured by
	// repeating). Default 0, off.
	RetransmitTicks int64
	// BackoffBaseTicks and BackoffMaxTicks bound the random wait after a
	// failed round: uniform in [1, min(max, base<<failures)]. A larger cap
	// breaks duels among more proposers, at a latency cost. Defaults 4, 32.
	BackoffBaseTicks, BackoffMaxTicks int64
	// YieldTicks: a proposer about to prepare waits while its own acceptor
	// heard from another proposer less than this many ticks ago, so as not
	// to break a round in flight; about one round trip. Zero: 4. Set it
	// negative to never yield.
	YieldTicks int64
	// YieldMaxTicks caps the yielding: an operation older than this goes
	// ahead regardless, so a busy neighbour cannot starve it. Default 40.
	YieldMaxTicks int64
}

// ThriftyConfig: with On, each prepare and accept goes to just enough
// peers for a quorum (those that answered last time first), and to the
// others only after WidenTicks without a quorum or on a reject: fewer
// messages, at the cost of a WidenTicks delay when a chosen peer is slow
// or cut off.
type ThriftyConfig struct {
	On         bool
	WidenTicks int64 // default 4
}

// RelayConfig: with On, messages go around links that work one way only,
// through a third node (see relay.go), when this node lacks a quorum of
// peers it reaches both ways.
type RelayConfig struct {
	On bool
	// SilenceTicks: a peer that leaves a request unanswered this long is
	// taken to have a broken direction. Default Rounds.TimeoutTicks/2.
	SilenceTicks int64
	// ProbeTicks: while relaying, a message also goes direct this often,
	// to see whether the link has healed. Default 200.
	ProbeTicks int64
}

// ForwardConfig: with On, a batch on a key goes to the peer whose round
// this node's acceptor served less than HolderTicks ago (see forward.go):
// far fewer duelling rounds under contention. If no answer comes within
// WaitTicks the node runs the batch itself (exactly once still).
type ForwardConfig struct {
	On bool
	// HolderTicks and WaitTicks: see above. Defaults 40, 40.
	HolderTicks, WaitTicks int64
	// StickyTicks: an acceptor that took an accept less than this many
	// ticks ago refuses other proposers' prepares (see sticky): they
	// forward to the busy proposer instead. Default 20; negative: never.
	StickyTicks int64
	// RouteTicks: how long a learned route to a key's busy proposer (see
	// forward.go) is used after it last worked. A stale route that still
	// leads somewhere costs a hop; one that leads nowhere costs WaitTicks;
	// proposing instead can start a duel. Default 400.
	RouteTicks int64
}

// LimitConfig bounds what a core holds and how long operations wait.
type LimitConfig struct {
	// BatchMax bounds the operations one round carries. Default 256.
	BatchMax int
	// QueueMax bounds the operations waiting per key; more are refused with
	// CodeUnavailable (definite). Default 4096.
	QueueMax int
	// UnavailableTicks: an operation that waited this long without being
	// part of any accept is answered CodeUnavailable (definite). Keep it
	// below the clients' timeout (lin-kv: 1 s). Default 160.
	UnavailableTicks int64
	// OpTimeoutTicks: an operation whose accept went out but is not
	// answered after this many ticks is dropped (an Unknown outcome: its
	// fate is unknown); clients have given up by then. Default 400.
	OpTimeoutTicks int64
	// AttemptsMax bounds the accept attempts of one batch. Default 64.
	AttemptsMax int
	// KeysMax bounds the keys a node tracks. Default 1 << 20.
	KeysMax int
	// CompactMin is the fewest log records written between two snapshots
	// (a snapshot is taken once the records since the last one reach
	// max(CompactMin, keys)). Default 1024.
	CompactMin int
}

func (c Config) withDefaults() (Config, error) {
	if c.ID == "" || !slices.Contains(c.Nodes, c.ID) {
		return c, fmt.Errorf("paxos: ID %q must be one of Nodes %v", c.ID, c.Nodes)
	}
	if c.Rand == nil {
		return c, errors.New("paxos: Config.Rand is required")
	}
	for _, f := range []struct {
		v   *int64
		def int64
	}{
		{v: &c.Rounds.TimeoutTicks, def: 20},
		{v: &c.Rounds.BackoffBaseTicks, def: 4},
		{v: &c.Rounds.BackoffMaxTicks, def: 32},
		{v: &c.Limits.OpTimeoutTicks, def: 400},
		{v: &c.Limits.UnavailableTicks, def: 160},
		{v: &c.Thrifty.WidenTicks, def: 4},
		{v: &c.Forward.HolderTicks, def: 40},
		{v: &c.Forward.WaitTicks, def: 40},
		{v: &c.Forward.RouteTicks, def: 400},
		{v: &c.Rounds.YieldMaxTicks, def: 40},
		{v: &c.Relay.ProbeTicks, def: 200},
	} {
		if *f.v < 0 {
			return c, fmt.Errorf("paxos: negative tick bound %d", *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		v   *int
		def int
	}{
		{v: &c.Limits.BatchMax, def: 256},
		{v: &c.Limits.QueueMax, def: 4096},
		{v: &c.Limits.AttemptsMax, def: 64},
		{v: &c.Limits.KeysMax, def: 1 << 20},
		{v: &c.Limits.CompactMin, def: 1024},
	} {
		if *f.v < 0 {
			return c, fmt.Errorf("paxos: negative bound %d", *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.Relay.SilenceTicks < 0 {
		return c, fmt.Errorf("paxos: negative SilenceTicks %d", c.Relay.SilenceTicks)
	}
	if c.Relay.SilenceTicks == 0 {
		c.Relay.SilenceTicks = max(1, c.Rounds.TimeoutTicks/2)
	}
	switch {
	case c.Forward.StickyTicks == 0:
		c.Forward.StickyTicks = 20
	case c.Forward.StickyTicks < 0:
		c.Forward.StickyTicks = 0
	}
	switch {
	case c.Rounds.YieldTicks == 0:
		c.Rounds.YieldTicks = 4
	case c.Rounds.YieldTicks < 0:
		c.Rounds.YieldTicks = 0
	}
	if c.Rounds.RetransmitTicks < 0 {
		return c, fmt.Errorf("paxos: negative RetransmitTicks %d", c.Rounds.RetransmitTicks)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// Core is one node: an acceptor and a proposer for every key.
type Core struct {
	cfg    Config
	log    *slog.Logger
	peers  []string // sorted, without self
	quorum int
	now    int64 // ticks
	out    core.Outbox[Msg, Outcome]

	acceptorState
	proposerState
	forwardingState
	relayState
	durableState
	recoveryState
}

// acceptorState is the acceptor role's (acceptor.go).
type acceptorState struct {
	store *Storage
	// foreign is the tick at which this node's acceptor last promised or
	// accepted another proposer's ballot, per key: a sign that a round
	// is under way there, which a new prepare would only break.
	foreign map[int64]int64
	// lastAccept is the tick at which this node's acceptor last took an
	// accept, per key (the accepted ballot names whose).
	lastAccept map[int64]int64
	// onAccept, if set, sees every acceptance by this node's acceptor
	// (the simulation checks invariants with it).
	onAccept func(node string, key int64, a AcceptorState)
}

// proposerState is the proposer role's (proposer.go): one proposer per
// key.
type proposerState struct {
	props map[int64]*proposer
	keys  []int64 // sorted keys of props
}

// forwardingState is what forwarding needs (forward.go).
type forwardingState struct {
	// routes: per key, the peer that last answered a forward of ours or
	// rejected our round for another proposer, and when: the way to the
	// key's busy proposer when this node's acceptor does not hear it
	// (Config.Forward).
	routes map[int64]route
	ranked []string // every node, sorted: a key's rank order starts at key mod len
	// self is the name this node's batches are applied under
	// (State.Applied): its ID, or after an amnesia start a name of that
	// start's own (amnesia.go).
	self string
}

// relayState is what relaying needs (relay.go).
type relayState struct {
	// links: per peer, when heard directly; with Config.Relay.On, which
	// directions work, and the routes around those that do not.
	links *linkhealth.Table
}

// New validates cfg and builds a core.
func New(cfg Config) (*Core, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var peers []string
	for _, n := range cfg.Nodes {
		if n != cfg.ID && !slices.Contains(peers, n) {
			peers = append(peers, n)
		}
	}
	slices.Sort(peers)
	ranked := slices.Sorted(slices.Values(append(slices.Clone(peers), cfg.ID)))
	c := &Core{
		cfg:             cfg,
		log:             cfg.Logger,
		peers:           peers,
		quorum:          (len(peers)+1)/2 + 1,
		acceptorState:   acceptorState{store: NewStorage(), foreign: map[int64]int64{}, lastAccept: map[int64]int64{}},
		proposerState:   proposerState{props: map[int64]*proposer{}},
		forwardingState: forwardingState{routes: map[int64]route{}, ranked: ranked},
		durableState:    durableState{compactMin: cfg.Limits.CompactMin},
	}
	links, err := linkhealth.New(cfg.ID, peers, linkhealth.Config{Relay: cfg.Relay.On, Quorum: c.quorum,
		SilenceTicks: cfg.Relay.SilenceTicks, ProbeTicks: cfg.Relay.ProbeTicks, RelayTicks: cfg.Limits.OpTimeoutTicks})
	if err != nil {
		return nil, err
	}
	c.links = links
	if err := c.recover(cfg.Recovered); err != nil {
		return nil, err
	}
	// A blank disk may be a lost one: relearn before serving (amnesia.go).
	c.recovering = cfg.Amnesia && cfg.Recovered.Fresh && len(peers) > 0
	if c.self == "" {
		c.self = cfg.ID
	}
	if c.recovering {
		c.self = amnesicName(cfg)
	}
	return c, nil
}

// Storage returns the acceptors' state and the counters used, as the
// durable writes record them (for tests and checks; read only).
func (c *Core) Storage() *Storage { return c.store }

// Drain returns, and forgets, the messages and replies produced since the
// last call.
func (c *Core) Drain() core.Output[Msg, Outcome] { return c.out.Take() }

// send emits m for peer to, around a broken link if need be (relay.go).
func (c *Core) send(to string, m Msg) {
	if slices.Contains(c.peers, to) {
		c.sendPeer(to, m)
	}
}

// emit queues m for peer to as it is.
func (c *Core) emit(to string, m Msg) { c.out.Send(to, m) }

// Command takes a client's operation: op.Src and op.Req name the request
// (client, msg_id), which the outcome answers, whichever node chooses it.
func (c *Core) Command(cmd core.Command[Request]) {
	op := cmd.Body.Op
	op.Src, op.Req = cmd.Client, cmd.MsgID
	c.propose(cmd.Client, cmd.Body.Key, op)
}

// Step handles one message from a peer.
func (c *Core) Step(from string, m Msg) {
	if m.Type == MsgRelay {
		c.noteLinks(from, Msg{}, true) // the relay's own link to this node works
		c.handleRelay(from, m)
		return
	}
	c.stepFrom(from, m, true)
}

// stepFrom handles m from from; direct is false when a relay brought it.
func (c *Core) stepFrom(from string, m Msg, direct bool) {
	c.noteLinks(from, m, direct)
	if c.recovering && (m.Type == MsgPrepare || m.Type == MsgAccept) {
		return // nothing to promise from until recovered
	}
	switch m.Type {
	case MsgRecover:
		c.handleRecover(from, m)
	case MsgRecovered:
		c.stepRecovery(from, m)
	case MsgPrepare:
		if r, ok := c.handlePrepare(m); ok {
			c.noteForeign(m, r)
			c.answer(from, m, r)
		}
	case MsgAccept:
		if r, ok := c.handleAccept(m); ok {
			c.noteForeign(m, r)
			c.answer(from, m, r)
			if m.Self && c.quorum == 2 && r.Type == MsgAccepted && m.Ballot.Node == from {
				c.learnChosen(m.Key, m.State)
			}
		}
	case MsgReject:
		if m.Of == MsgRecover {
			c.stepRecovery(from, m)
		} else if p := c.props[m.Key]; p != nil {
			c.stepProposer(p, from, m)
		}
	case MsgPromise, MsgAccepted:
		if p := c.props[m.Key]; p != nil {
			c.stepProposer(p, from, m)
		}
	case MsgForward:
		c.handleForward(from, m)
	case MsgForwardReply:
		c.handleForwardReply(from, m)
	default:
		c.log.Debug("paxos: dropping unexpected message", "from", from, "msg", m.String())
	}
}

// noteForeign records that another proposer's round made progress here.
func (c *Core) noteForeign(m, r Msg) {
	if r.Type != MsgReject && m.Ballot.Node != c.cfg.ID {
		c.foreign[m.Key] = c.now
	}
}

// Tick advances time by one tick: round timeouts, backoff ends, expiry.
func (c *Core) Tick() {
	c.now++
	c.links.Tick(c.now)
	c.tickRecovery()
	for _, k := range c.keys {
		c.tickProposer(c.props[k])
	}
}
