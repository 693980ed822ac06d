// Package linkhealth tracks, per peer, which directions of a node's links
// work, and routes messages around a broken direction through a third
// node. It is deterministic and passive: the core feeds it events (a tick,
// a request sent, a message heard directly, an answer, a peer saying it
// hears this node, a peer asking for answers through a relay) and asks it
// for decisions (how to send a message, whether a peer is heard or
// reached, which peers work both ways). No clock, no goroutines, no I/O;
// the core owns the wire.
//
// The problem it solves: in Maelstrom's majorities-ring partition on three
// nodes every link is cut in one direction. Each node's requests reach one
// peer, whose answers are lost, and the other peer's answers reach it, but
// not its requests. Every node still hears from a majority, yet no request
// and its answer complete directly. Going around the broken direction
// through the third node completes them.
//
// What a node learns, per peer: a request left unanswered for SilenceTicks
// means a direction is broken, which one unknown (needOut and needIn both
// set). Any message that arrives directly proves the peer's link to this
// node (needIn cleared); every message says whether its sender has heard
// this node directly of late (the core's wire carries Hears), which proves
// this node's link to it (needOut cleared). While a flag is set, and only
// while this node lacks a quorum of peers with neither flag (Relaying):
//   - needOut: messages to the peer go through a relay, which passes them
//     on unopened;
//   - needIn: requests ask the peer to answer through a relay.
//
// A relay is a peer this node reaches (it said it hears this node within
// RelayTicks) for the outgoing direction, or one it hears directly within
// RelayTicks for answers; where there is none, as on a node cut off from
// everyone, only the probes try another peer.
//
// The direct copies a broken direction would waste are sent only as a
// probe, once per ProbeTicks (the request asks for a direct answer too): a
// probe that gets through clears the flag after the heal. They are sent as
// well for SilenceTicks after a new suspicion, which is as often a slow
// answer as a cut. Relayed copies duplicate messages at worst, which the
// cores tolerate.
package linkhealth

import (
	"fmt"
	"slices"
)

// Config shapes a Table. Ticks are the core's.
type Config struct {
	// Relay turns routing around broken directions on. Off, the table
	// still records when each peer was last heard directly (HeardAt), and
	// every message goes direct.
	Relay bool
	// Quorum is how many nodes, this one included, make a majority: a node
	// with Quorum-1 peers whose links work both ways does not relay.
	Quorum int
	// SilenceTicks: a peer that leaves a request unanswered this long is
	// taken to have a broken direction. It also bounds how long a fresh
	// suspicion keeps direct copies going, and half of it how long a
	// direct message lets this node say it hears the peer. At least 1.
	SilenceTicks int64
	// ProbeTicks: while a message goes around a broken direction, a direct
	// copy also goes this often, to notice the heal. At least 1.
	ProbeTicks int64
	// RelayTicks: a peer serves as a relay while it said it hears this
	// node (outgoing) or was heard directly (answers) within this many
	// ticks: a relay keeps being used while traffic through it flows one
	// way only. At least 1.
	RelayTicks int64
}

// Kind is what a message is to the link state.
type Kind int

const (
	// Request expects an answer from the peer: left unanswered for
	// SilenceTicks it marks the link, and it may ask for its answer
	// through a relay.
	Request Kind = iota
	// Answer answers the peer's latest request: it goes where that request
	// asked (Asked), else direct.
	Answer
	// Other is any other message: direct, or around a broken outgoing
	// direction.
	Other
)

// Route is how to send one message to a peer.
type Route struct {
	// Direct: send it straight to the peer.
	Direct bool
	// Via, if set: also send it through this peer, which passes it on.
	Via string
	// AskVia, on a request, if set: the peer should answer through this
	// peer; AskDirect: directly as well.
	AskVia    string
	AskDirect bool
}

// link is what this node knows of its two directions with one peer.
type link struct {
	waiting         bool  // a request went out since the peer last answered
	since           int64 // tick of the oldest such request
	needOut, needIn bool
	probeAt         int64 // next tick a probe goes direct
	suspectAt       int64 // tick the flags were set while both were clear
	heard           bool  // a message came directly, at heardAt
	heardAt         int64
	outOK           bool // the peer said it hears this node, at outAt
	outAt           int64
	askVia          string // the peer's latest request asked for answers through this peer
	askDirect       bool   // and directly as well
}

// Table is one node's view of its links.
type Table struct {
	cfg   Config
	self  string
	peers []string // sorted, without self
	links map[string]*link
	now   int64
}

// New builds the table of node self with the given peers (self and
// duplicates are dropped).
func New(self string, peers []string, cfg Config) (*Table, error) {
	if cfg.Relay && (cfg.Quorum < 1 || cfg.SilenceTicks < 1 || cfg.ProbeTicks < 1 || cfg.RelayTicks < 1) {
		return nil, fmt.Errorf("linkhealth: Quorum and tick bounds must be positive: %+v", cfg)
	}
	t := &Table{cfg: cfg, self: self, links: map[string]*link{}}
	for _, p := range peers {
		if p != self && !slices.Contains(t.peers, p) {
			t.peers = append(t.peers, p)
		}
	}
	slices.Sort(t.peers)
	for _, p := range t.peers {
		t.links[p] = &link{}
	}
	return t, nil
}

// SetSilenceTicks changes SilenceTicks (a core whose tick follows the round
// trip keeps it a fixed number of round trips). At least 1.
func (t *Table) SetSilenceTicks(n int64) { t.cfg.SilenceTicks = max(1, n) }

// Peers are the peers the table tracks, sorted.
func (t *Table) Peers() []string { return t.peers }

// IsPeer says whether p is one of the tracked peers.
func (t *Table) IsPeer(p string) bool { return t.links[p] != nil }

// Now is the tick of the latest Tick.
func (t *Table) Now() int64 { return t.now }

// Tick sets the time and marks the peers that left a request unanswered
// for SilenceTicks: some direction is broken.
func (t *Table) Tick(now int64) {
	t.now = now
	if !t.cfg.Relay {
		return
	}
	for _, q := range t.peers {
		if l := t.links[q]; l.waiting && now-l.since >= t.cfg.SilenceTicks {
			if !l.needOut && !l.needIn {
				l.suspectAt = now // a new suspicion, not a lasting one
			}
			l.waiting = false
			l.needOut, l.needIn = true, true
		}
	}
}

// Heard notes a message that came straight from peer (not through a
// relay): its link to this node works.
func (t *Table) Heard(peer string) {
	if l := t.links[peer]; l != nil {
		l.heard, l.heardAt, l.needIn = true, t.now, false
	}
}

// HearsMe notes a message from peer, direct or relayed, saying whether it
// has lately heard this node directly: if so, this node's link to it
// works. A message saying no proves nothing (the peer may have had nothing
// to hear).
func (t *Table) HearsMe(peer string, hears bool) {
	if l := t.links[peer]; l != nil && t.cfg.Relay && hears {
		l.needOut, l.outOK, l.outAt = false, true, t.now
	}
}

// Answered notes an answer from peer to a request of this node, direct or
// relayed: the peer is not silent.
func (t *Table) Answered(peer string) {
	if l := t.links[peer]; l != nil && t.cfg.Relay {
		l.waiting = false
	}
}

// Asked notes a request from peer asking for its answer through via
// ("" for none), and directly as well if direct. It holds for answers to
// the peer until its next request. A via that is not another peer is
// ignored.
func (t *Table) Asked(peer, via string, direct bool) {
	l := t.links[peer]
	if l == nil {
		return
	}
	if via == peer || t.links[via] == nil {
		via, direct = "", false
	}
	l.askVia, l.askDirect = via, direct
}

// Hears says whether a message came directly from peer of late: within
// half of SilenceTicks, so that a link cut since cannot vouch for itself
// for as long as it takes to suspect it. The core sends it with every
// message to peer. Always false without Relay.
func (t *Table) Hears(peer string) bool {
	l := t.links[peer]
	return t.cfg.Relay && l != nil && l.heard && t.now-l.heardAt <= max(1, t.cfg.SilenceTicks/2)
}

// HeardAt is when a message last came directly from peer; ok is false if
// none ever did.
func (t *Table) HeardAt(peer string) (at int64, ok bool) {
	if l := t.links[peer]; l != nil && l.heard {
		return l.heardAt, true
	}
	return 0, false
}

// Reaches says whether this node's messages have lately reached peer
// directly (it said so within SilenceTicks) with no silence since.
func (t *Table) Reaches(peer string) bool {
	l := t.links[peer]
	return t.cfg.Relay && l != nil && !l.needOut && l.outOK && t.now-l.outAt <= t.cfg.SilenceTicks
}

// TwoWay lists the peers with no direction suspected, sorted.
func (t *Table) TwoWay() []string {
	var out []string
	for _, q := range t.peers {
		if l := t.links[q]; !l.needOut && !l.needIn {
			out = append(out, q)
		}
	}
	return out
}

// Relaying says whether messages to peer take a detour: a direction to it
// is believed broken and this node does not reach a quorum without it.
func (t *Table) Relaying(peer string) bool {
	l := t.links[peer]
	if !t.cfg.Relay || l == nil || !l.needOut && !l.needIn {
		return false
	}
	return 1+len(t.TwoWay()) < t.cfg.Quorum
}

// relayFor picks the peer to go through towards peer: for out, one this
// node's messages reach (it said so lately), else, for answers, one whose
// messages reach this node (heard directly lately). Without such a peer,
// any other peer serves, but only for a probe, so that a node cut off from
// everyone does not double its futile traffic.
func (t *Table) relayFor(peer string, out, probe bool) string {
	var any string
	for _, q := range t.peers {
		if q == peer {
			continue
		}
		l := t.links[q]
		if out && l.outOK && t.now-l.outAt <= t.cfg.RelayTicks ||
			!out && l.heard && t.now-l.heardAt <= t.cfg.RelayTicks {
			return q
		}
		if any == "" {
			any = q
		}
	}
	if probe {
		return any
	}
	return ""
}

// Send decides how a message of kind k goes to peer, and notes it: a
// request starts the wait for an answer; a probe moves the next one
// ProbeTicks on. A peer the table does not track gets the message direct.
func (t *Table) Send(peer string, k Kind) Route {
	l := t.links[peer]
	if !t.cfg.Relay || l == nil {
		return Route{Direct: true}
	}
	if k == Answer {
		if l.askVia == "" {
			return Route{Direct: true}
		}
		return Route{Direct: l.askDirect, Via: l.askVia}
	}
	request := k == Request
	if request && !l.waiting {
		l.waiting, l.since = true, t.now
	}
	if !t.Relaying(peer) {
		return Route{Direct: true}
	}
	probe := t.now >= l.probeAt
	if probe {
		l.probeAt = t.now + t.cfg.ProbeTicks
	}
	// A suspicion younger than SilenceTicks may be a slow answer, not a
	// cut (with Maelstrom's exponential latency, mean 10 ms, one round
	// trip in 25 exceeds 50 ms): go direct too, and ask for direct
	// answers, since the relay may not reach the peer either.
	fresh := t.now-l.suspectAt < t.cfg.SilenceTicks
	var r Route
	if l.needOut {
		r.Via = t.relayFor(peer, true, probe)
	}
	if request && l.needIn {
		if r.AskVia = t.relayFor(peer, false, probe); r.AskVia != "" {
			r.AskDirect = probe || fresh
		}
	}
	r.Direct = !l.needOut || probe || fresh || r.Via == ""
	return r
}

// PassOn says whether this node, asked by from to relay a message that
// origin sent for to, passes it on: only the sender's own message, once,
// between two peers.
func (t *Table) PassOn(from, origin, to string) bool {
	return t.cfg.Relay && from == origin && to != from && to != t.self && t.IsPeer(from) && t.IsPeer(to)
}
