package nemesis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultInterval is Maelstrom's --nemesis-interval default: 10 s.
const DefaultInterval = 10 * time.Second

// Nemesis op functions, as recorded in the history (:f).
const (
	FStart       = "start-partition"
	FStop        = "stop-partition"
	FKill        = "kill"
	FStartNode   = "start"
	FPause       = "pause"
	FResume      = "resume"
	FStartPacket = "start-packet"
	FStopPacket  = "stop-packet"
)

// Faults is the set of faults a run injects (--nemesis).
type Faults struct {
	Partition bool
	Kill      bool
	Pause     bool
	// Loss and Duplicate are eddy's own: message loss and duplication
	// between server nodes, injected as Jepsen's packet package does.
	Loss      bool
	Duplicate bool
}

// Packet reports whether the packet faults are on.
func (f Faults) Packet() bool { return f.Loss || f.Duplicate }

// Any reports whether any fault is on.
func (f Faults) Any() bool { return f.Partition || f.Kill || f.Pause || f.Packet() }

// ParseFaults reads --nemesis values: Maelstrom's partition, kill and pause,
// and eddy's loss and duplicate. Blanks around each name are ignored, as
// Maelstrom splits on `\s*,\s*`.
func ParseFaults(names []string) (Faults, error) {
	var f Faults
	for _, raw := range names {
		switch strings.TrimSpace(raw) {
		case "partition":
			f.Partition = true
		case "kill":
			f.Kill = true
		case "pause":
			f.Pause = true
		case "loss":
			f.Loss = true
		case "duplicate":
			f.Duplicate = true
		default:
			return Faults{}, fmt.Errorf("unknown nemesis %q; faults are partition, kill, pause (Maelstrom's) and loss, duplicate (eddy's)", raw)
		}
	}
	return f, nil
}

// IntervalFromSeconds converts --nemesis-interval (float seconds) into a
// duration, refusing negative, NaN, infinite or absurd values.
func IntervalFromSeconds(s float64) (time.Duration, error) {
	if math.IsNaN(s) || s < 0 || s > 1e6 {
		return 0, fmt.Errorf("nemesis: interval %v s must be between 0 and 1e6 seconds", s)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// NextDelay is Jepsen's stagger draw: uniform in [0, 2*interval), so the
// mean gap between ops is interval. A zero interval gives zero.
func NextDelay(r *rand.Rand, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(2 * int64(interval)))
}

// Step is one nemesis op the schedule emits. F is one of the F constants.
// Shape is set for FStart, Target for FKill and FPause (FStartNode and
// FResume always go to every node).
type Step struct {
	At     time.Duration // when it goes out, since the schedule began
	F      string
	Shape  Shape
	Target Target
}

// stagger is one package's generator wrapped in Jepsen's stagger: an op
// goes out at the later of its scheduled time and the moment the nemesis
// is free to perform it, and the next op is scheduled a fresh draw after
// the time this one went out, so time lost while the nemesis was busy is
// never caught up.
type stagger struct {
	next    time.Duration
	started bool // false: the first op goes out as soon as the nemesis is free
	emit    func() Step
}

func (s *stagger) when(now time.Duration) time.Duration {
	if !s.started || s.next < now {
		return now
	}
	return s.next
}

// flipFlop alternates between a fault op and its heal, as gen/flip-flop.
type flipFlop struct {
	healNext bool
	fault    func() Step
	heal     Step
}

func (f *flipFlop) emit() Step {
	f.healNext = !f.healNext
	if f.healNext {
		return f.fault()
	}
	return f.heal
}

// Schedule is the nemesis generator of Maelstrom's nemesis package: Jepsen's
// compose-packages of the partition package and the DB package, plus
// eddy's packet package, each staggered on its own and merged with gen/any
// (the package whose op is due soonest goes next; a tie is broken at
// random). The partition and packet packages each flip-flop between a fault
// and its heal; the DB package is gen/mix of two flip-flops, pause/resume
// and kill/start, each op drawn from one of them at random. It is pure: a
// seeded rand gives the same steps for the same sequence of Next times. Not
// safe for concurrent use.
type Schedule struct {
	interval time.Duration
	r        *rand.Rand
	pkgs     []*stagger
	mix      []*flipFlop
	mixNext  int
	draw     *stagger // the package whose next gap is still to be drawn
	drawAt   time.Duration
}

// NewSchedule returns the schedule of the given faults with the given mean
// interval. shapes are the partition shapes drawn (nil: all four); kill and
// pause targets are drawn from Targets.
func NewSchedule(f Faults, interval time.Duration, shapes []Shape, r *rand.Rand) (*Schedule, error) {
	if interval < 0 {
		return nil, fmt.Errorf("nemesis: negative interval %v", interval)
	}
	if r == nil {
		return nil, fmt.Errorf("nemesis: nil rand")
	}
	if shapes == nil {
		shapes = Shapes()
	}
	if len(shapes) == 0 {
		return nil, fmt.Errorf("nemesis: empty shape list")
	}
	s := &Schedule{interval: interval, r: r}
	targets := Targets()
	if f.Partition {
		ff := &flipFlop{
			fault: func() Step { return Step{F: FStart, Shape: shapes[r.IntN(len(shapes))]} },
			heal:  Step{F: FStop},
		}
		s.pkgs = append(s.pkgs, &stagger{emit: ff.emit})
	}
	if f.Kill || f.Pause {
		// Jepsen's db-generators list pause before kill.
		if f.Pause {
			s.mix = append(s.mix, &flipFlop{
				fault: func() Step { return Step{F: FPause, Target: targets[r.IntN(len(targets))]} },
				heal:  Step{F: FResume, Target: AllNodes},
			})
		}
		if f.Kill {
			s.mix = append(s.mix, &flipFlop{
				fault: func() Step { return Step{F: FKill, Target: targets[r.IntN(len(targets))]} },
				heal:  Step{F: FStartNode, Target: AllNodes},
			})
		}
		s.mixNext = r.IntN(len(s.mix))
		s.pkgs = append(s.pkgs, &stagger{emit: s.emitMix})
	}
	if f.Packet() {
		ff := &flipFlop{
			fault: func() Step { return Step{F: FStartPacket, Target: AllNodes} },
			heal:  Step{F: FStopPacket},
		}
		s.pkgs = append(s.pkgs, &stagger{emit: ff.emit})
	}
	return s, nil
}

func (s *Schedule) emitMix() Step {
	step := s.mix[s.mixNext].emit()
	s.mixNext = s.r.IntN(len(s.mix))
	return step
}

// Empty reports whether the schedule never emits anything (no faults).
func (s *Schedule) Empty() bool { return len(s.pkgs) == 0 }

// Next returns the next op, given that the nemesis is free from now on
// (time since the schedule began). Its At is never before now. The caller
// performs it at At and asks again once it is done. An empty schedule
// returns a Step with an empty F.
func (s *Schedule) Next(now time.Duration) Step {
	if len(s.pkgs) == 0 {
		return Step{}
	}
	// The gap after the last op is drawn now, once that op is done, so
	// the draws interleave with the op's own (the grudge's) as they always
	// have: a seed gives the partitions it gave before kill and pause.
	if p := s.draw; p != nil {
		p.next = s.drawAt + NextDelay(s.r, s.interval)
		s.draw = nil
	}
	best, at, weight := -1, time.Duration(0), 0
	for i, p := range s.pkgs {
		t := p.when(now)
		switch {
		case best < 0 || t < at:
			best, at, weight = i, t, 1
		case t == at:
			// gen/any's soonest-op-map: a tie goes to each in proportion
			// to its weight, one per package.
			weight++
			if s.r.IntN(weight) == 0 {
				best = i
			}
		}
	}
	p := s.pkgs[best]
	step := p.emit()
	step.At = at
	p.started = true
	s.draw, s.drawAt = p, at
	return step
}

// Final is the final generator of the composed packages, in Jepsen's order:
// heal the network, then resume and restart every node, then lift the
// packet faults.
func Final(f Faults) []Step {
	var out []Step
	if f.Partition {
		out = append(out, Step{F: FStop})
	}
	if f.Pause {
		out = append(out, Step{F: FResume, Target: AllNodes})
	}
	if f.Kill {
		out = append(out, Step{F: FStartNode, Target: AllNodes})
	}
	if f.Packet() {
		out = append(out, Step{F: FStopPacket})
	}
	return out
}
