package nemesis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultInterval is Maelstrom's --nemesis-interval default: 10 s.
const DefaultInterval = 10 * time.Second

// Nemesis op functions, as recorded in the history (:f).
const (
	FStart = "start-partition"
	FStop  = "stop-partition"
)

// IntervalFromSeconds converts --nemesis-interval (float seconds) into a
// duration, refusing negative, NaN, infinite or absurd values.
func IntervalFromSeconds(s float64) (time.Duration, error) {
	if math.IsNaN(s) || s < 0 || s > 1e6 {
		return 0, fmt.Errorf("nemesis: interval %v s must be between 0 and 1e6 seconds", s)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// NextDelay is Jepsen's stagger: a delay uniform in [0, 2*interval), so the
// mean gap between nemesis ops is interval. A zero interval gives zero.
func NextDelay(r *rand.Rand, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(2 * int64(interval)))
}

// Step is one scheduled nemesis op: wait Delay after the previous op (or
// after the main phase starts), then perform F.
type Step struct {
	Delay time.Duration
	F     string // FStart or FStop
}

// Schedule produces the nemesis op sequence: start-partition immediately,
// then stop, start, stop, ..., each after a NextDelay. It is pure: a seeded
// rand gives the same schedule every time. Not safe for concurrent use.
type Schedule struct {
	interval time.Duration
	r        *rand.Rand
	count    int64
}

// NewSchedule returns a schedule with the given mean interval.
func NewSchedule(interval time.Duration, r *rand.Rand) (*Schedule, error) {
	if interval < 0 {
		return nil, fmt.Errorf("nemesis: negative interval %v", interval)
	}
	if r == nil {
		return nil, fmt.Errorf("nemesis: nil rand")
	}
	return &Schedule{interval: interval, r: r}, nil
}

// Next returns the next step. The first is an immediate start; afterwards
// ops alternate, each after a fresh staggered delay.
func (s *Schedule) Next() Step {
	step := Step{F: FStart}
	if s.count%2 == 1 {
		step.F = FStop
	}
	if s.count > 0 {
		step.Delay = NextDelay(s.r, s.interval)
	}
	s.count++
	return step
}
