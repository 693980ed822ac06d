package raftnode

import "time"

// Which pongs size the Raft tick. A pong measures the network only when
// its peer answered at once; a peer that was paused (SIGSTOP, Maelstrom's
// pause) answers every ping it held when it resumes, seconds late, and a
// node that fed those delays to the estimator would run with a Raft tick
// of up to TickMax for many seconds after: elections ten to twenty ticks
// long, and a follower that keeps ignoring pre-votes for its silent
// leader that long (leader stickiness). So a node takes, of each ping
// round, only the first pong of that round: the fastest peer's, which a
// paused peer never is while another one answers. When every peer was
// away (paused, killed, cut off), the first pong after they come back may
// still be late, and so is a node's own round after it was paused: the
// host replays the ticks it missed at once, so the pings of the last
// replayed round leave up to a round later than their tick says. A sample
// beyond twice the retransmission bound of the estimate (srtt + 4·rttvar,
// and at least suspectFloor; before any sample, suspectFloor) is taken
// only if the next round's sample is beyond it too, which a change in the
// network is and a pause is not.

// suspectFloor is the smallest delay that can look suspect.
const suspectFloor = 100 * time.Millisecond

// pingRound is the latest ping round: its send tick, whether a pong of it
// was taken, and whether the last sample taken was held back as suspect.
type pingRound struct {
	t       int64
	sampled bool
	suspect bool
}

// newRound starts a ping round at tick now.
func (p *pingRound) newRound(now int64) { p.t, p.sampled = now, false }

// pong judges a pong echoing ping tick t, received at tick now, and
// feeds the estimator when it is the round's first and not suspect.
func (c *Core) pong(t int64) {
	p := &c.ping
	if t != p.t || p.sampled {
		return
	}
	p.sampled = true
	l := &c.links
	rtt := time.Duration(c.now-t) * l.tm.TickMin
	bound := suspectFloor
	if l.sampled {
		bound = max(2*(l.srtt+4*l.rttvar), suspectFloor)
	}
	if rtt > bound && !p.suspect {
		p.suspect = true
		return
	}
	p.suspect = rtt > bound
	l.observe(c.now - t)
}
