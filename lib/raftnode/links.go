package raftnode

import (
	"math"
	"slices"
	"time"

	"maelkit/lib/raft"
)

// links is what a core knows about time and its links: the round-trip
// estimate that sizes the Raft tick, and when each peer was last heard
// from (and last said it does not hear us), which tells the links that
// look down. Times are in core ticks of Timing.TickMin.
type links struct {
	tm Timing
	// Round-trip estimate (Jacobson/Karels).
	srtt, rttvar time.Duration
	sampled      bool
	// period is the Raft tick in core ticks; nextRaftTick when it is due.
	period, nextRaftTick int64
	// heardAt: last message straight from each peer; deafAt: last time a
	// peer said it does not hear us.
	heardAt, deafAt map[string]int64
}

func newLinks(tm Timing) links {
	l := links{tm: tm, heardAt: map[string]int64{}, deafAt: map[string]int64{}}
	l.period = l.ticks(tm.TickStart)
	l.nextRaftTick = l.period
	return l
}

// ticks converts a duration to core ticks, rounded, at least one.
func (l *links) ticks(d time.Duration) int64 {
	return max(1, int64((d+l.tm.TickMin/2)/l.tm.TickMin))
}

// Tick is the current Raft tick period.
func (l *links) Tick() time.Duration { return time.Duration(l.period) * l.tm.TickMin }

// observe takes a round trip of rtt core ticks and resizes the Raft tick:
// about half a round trip plus the deviation makes the heartbeat (1 tick)
// frequent enough and the election timeout (10 to 20 ticks) several round
// trips long, including the tail of the latency distribution.
func (l *links) observe(rttTicks int64) {
	l.observeRTT(time.Duration(rttTicks) * l.tm.TickMin)
}

func (l *links) observeRTT(rtt time.Duration) {
	if !l.sampled {
		l.srtt, l.rttvar, l.sampled = rtt, rtt/2, true
	} else {
		d := l.srtt - rtt
		if d < 0 {
			d = -d
		}
		l.rttvar = (3*l.rttvar + d) / 4
		l.srtt = (7*l.srtt + rtt) / 8
	}
	tick := min(max(l.srtt/2+l.rttvar, l.tm.TickMin), l.tm.TickMax)
	l.period = l.ticks(tick)
}

// heard notes a message that came straight from peer at tick now; deaf
// says the peer does not hear us.
func (l *links) heard(peer string, deaf bool, now int64) {
	if deaf {
		l.deafAt[peer] = now
	}
	l.heardAt[peer] = now
}

// since is how long ago t (from a map of ticks) was; a peer never heard
// from is infinitely long ago.
func since(at map[string]int64, peer string, now int64) int64 {
	t, ok := at[peer]
	if !ok {
		return math.MaxInt64
	}
	return now - t
}

// staleAfter is how long silence on a link means it is down: a leader and
// its followers exchange a message every Raft tick.
func (l *links) staleAfter() int64 { return max(4*l.period, l.ticks(50*time.Millisecond)) }

// sendRaft sends a raft message directly and, with RelayRouting, when the
// link to its destination looks down in either direction, relayed through
// every other peer too. Relaying lets three nodes make progress in a one-way
// ring partition.
func (c *Core) sendRaft(m raft.Message) {
	stale := since(c.links.heardAt, m.To, c.now) > c.links.staleAfter()
	deaf := since(c.links.deafAt, m.To, c.now) < c.links.staleAfter()
	c.out.Send(m.To, Msg{Type: TypeRaft, M: m, Deaf: stale})
	if !c.cfg.Timing.RelayRouting || (!stale && !deaf) {
		return
	}
	for _, p := range c.peers {
		if p != m.To {
			c.out.Send(p, Msg{Type: TypeRelay, To: m.To, M: m, Deaf: stale})
		}
	}
}

// stepRelay takes a raft message relayed through a third node: a hop passes
// it on once, to its destination; the destination steps it.
func (c *Core) stepRelay(from string, m Msg) {
	if m.To != c.cfg.ID {
		if m.To != from && slices.Contains(c.peers, m.To) {
			c.out.Send(m.To, m)
		}
		return
	}
	if !slices.Contains(c.peers, m.M.From) || m.M.To != c.cfg.ID {
		return
	}
	c.links.heard(from, false, c.now)
	if m.Deaf {
		c.links.deafAt[m.M.From] = c.now
	}
	c.stepRaft(m.M)
}
