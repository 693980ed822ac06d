package raftnode

import (
	"slices"
	"time"
)

// Which pongs size the Raft tick. Every peer's pong of the latest ping
// round is a sample, so the estimate follows the round trip to a typical
// peer and its deviation, the latency tail included. Taking only the
// fastest peer's would size the tick to the low end of the distribution:
// with five nodes and exponential latency, the heartbeat would go out
// about twice as often as with every peer's (the Raft tick at TickMin),
// and the election timeout would be short against the tail.
//
// A pong measures the network only when its peer answered at once. A peer
// that was paused (SIGSTOP, Maelstrom's pause) answers every ping it held
// when it resumes, seconds late, and a node that fed those delays to the
// estimator would run with a Raft tick of up to TickMax for many seconds
// after: elections ten to twenty ticks long, and a follower that keeps
// ignoring pre-votes for its silent leader that long (leader stickiness).
// So only pongs of the latest round count, one per peer: the held pings of
// earlier rounds measure nothing. The latest round's pong of a resumed
// peer may still be late, and so is every pong of a node's own round
// after the node was paused: the host replays the ticks it missed at once,
// so the pings of the last replayed round leave up to a round later than
// their tick says. A sample beyond twice the retransmission bound of the
// estimate (srtt + 4·rttvar, and at least suspectFloor; before any sample,
// suspectFloor) is taken only once a sample of an earlier round was beyond
// it too and no timely one came since: a change in the network lasts
// across rounds, a pause does not, however many peers it held.

// suspectFloor is the smallest delay that can look suspect.
const suspectFloor = 100 * time.Millisecond

// pingRound is the latest ping round: its send tick and the peers whose
// pong of it was judged; lateRound is the round of the late sample held
// back since the last timely one (0: none).
type pingRound struct {
	t         int64
	answered  []string
	lateRound int64
}

// newRound starts a ping round at tick now.
func (p *pingRound) newRound(now int64) { p.t, p.answered = now, p.answered[:0] }

// pong judges from's pong echoing ping tick t, received at tick now, and
// feeds the estimator when it is from's first of the latest round and
// not suspect.
func (c *Core) pong(from string, t int64) {
	p := &c.ping
	if t != p.t || slices.Contains(p.answered, from) {
		return
	}
	p.answered = append(p.answered, from)
	l := &c.links
	rtt := time.Duration(c.now-t) * l.tm.TickMin
	bound := suspectFloor
	if l.sampled {
		bound = max(2*(l.srtt+4*l.rttvar), suspectFloor)
	}
	switch {
	case rtt <= bound:
		p.lateRound = 0
	case p.lateRound == 0 || p.lateRound == t:
		p.lateRound = t
		return
	}
	l.observe(c.now - t)
}
