package eddy

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// The main phase's client schedule is Maelstrom's: Jepsen's gen/stagger of
// 1/rate over the workload's generator, under gen/time-limit, with ops
// handed to the interpreter's worker threads (jepsen 0.3.7: jepsen.generator,
// jepsen.generator.context and jepsen.generator.interpreter).
//
//   - An op goes out at the later of its scheduled time and the moment a
//     worker thread is free for it.
//   - The next op is scheduled a uniform random gap in [0, 2/rate) after the
//     moment the previous one actually went out. Time lost waiting for a
//     thread, or to a late wake-up on a loaded host, is never caught up: a
//     slow node gets fewer ops, not a burst of late ones.
//   - The first op is due at once. Once an op's time (its scheduled time, or
//     later when it waited for a thread) is at or past the deadline, the
//     client schedule ends.
//   - The free thread an op goes to is the first at or after a pointer that
//     moves on by one place after every op, wrapping around; the places are
//     the client threads and, last, the nemesis thread, whose place no
//     client op takes (it wraps to thread 0). Nemesis ops move Jepsen's
//     pointer too; eddy's nemesis runs apart from this loop and does not.

// stagger is the client op schedule: when the next op is due.
type stagger struct {
	gapMax time.Duration  // 2/rate
	draw   func() float64 // uniform in [0, 1)
	next   time.Time      // the next op's scheduled time; zero before the first op
	// sleep waits for an op's time; false if ctx ended first. Runs use
	// waitUntil, whose wake-ups are precise; tests on synctest's virtual
	// clock use sleepUntil, since a nanosleep does not move that clock.
	sleep func(ctx context.Context, t time.Time) bool
}

// newStagger schedules ops at rate per second on average (rate > 0). A rate
// so low that 2/rate seconds overflows a Duration gets the longest one.
func newStagger(rate float64, r *rand.Rand) *stagger {
	gapMax := time.Duration(math.MaxInt64)
	if g := 2 / rate * float64(time.Second); g < float64(math.MaxInt64) {
		gapMax = time.Duration(g)
	}
	return &stagger{gapMax: gapMax, draw: r.Float64, sleep: waitUntil}
}

// due is when the next op may go out, seen at now: its scheduled time, or
// now when that has passed.
func (s *stagger) due(now time.Time) time.Time {
	if s.next.After(now) {
		return s.next
	}
	return now
}

// sent records that an op went out at t and schedules the next one a fresh
// gap after t.
func (s *stagger) sent(t time.Time) { s.next = t.Add(s.gap()) }

// gap draws the time from one op to the scheduled time of the next.
func (s *stagger) gap() time.Duration { return time.Duration(s.draw() * float64(s.gapMax)) }

// pool holds the client worker threads that are free for an op. Only the
// scheduling goroutine takes threads; workers put them back when their op
// completes.
type pool struct {
	mu    sync.Mutex
	free  []bool
	nfree int
	ptr   int           // Jepsen's next-thread-index, over len(free)+1 places
	ready chan struct{} // signalled when a thread comes back
}

func newPool(n int) *pool {
	p := &pool{free: make([]bool, n), nfree: n, ready: make(chan struct{}, 1)}
	for i := range p.free {
		p.free[i] = true
	}
	return p
}

func (p *pool) size() int { return len(p.free) }

func (p *pool) put(t int) {
	p.mu.Lock()
	if !p.free[t] {
		p.free[t] = true
		p.nfree++
	}
	p.mu.Unlock()
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// take marks a free thread busy and returns it: the first free one at or
// after the pointer, else the first free one from thread 0. The pointer
// moves on by one place. False when no thread is free.
func (p *pool) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nfree == 0 {
		return 0, false
	}
	t := -1
	for i := p.ptr; i < len(p.free); i++ {
		if p.free[i] {
			t = i
			break
		}
	}
	for i := 0; t < 0; i++ {
		if p.free[i] {
			t = i
		}
	}
	p.free[t] = false
	p.nfree--
	p.ptr = (p.ptr + 1) % (len(p.free) + 1)
	return t, true
}

// wait blocks until some thread is free; false if none was free before
// deadline or ctx ended.
func (p *pool) wait(ctx context.Context, deadline time.Time) bool {
	for {
		p.mu.Lock()
		n := p.nfree
		p.mu.Unlock()
		if n > 0 {
			return ctx.Err() == nil
		}
		tm := time.NewTimer(time.Until(deadline))
		select {
		case <-ctx.Done():
			tm.Stop()
			return false
		case <-tm.C:
			return false
		case <-p.ready:
			tm.Stop()
		}
	}
}

// issueOps runs the client schedule until deadline or until ctx ends, and
// returns how many ops went out. start hands the next op to thread t, taken
// from p; the op's worker puts t back into p when the op completes. When
// start returns false, thread t gets no more ops and stays out of p; the
// schedule ends once every thread is out.
func issueOps(ctx context.Context, p *pool, s *stagger, deadline time.Time, start func(t int) bool) int {
	issued, retired := 0, 0
	for retired < p.size() {
		at := s.due(time.Now())
		if !at.Before(deadline) || !s.sleep(ctx, at) || !p.wait(ctx, deadline) {
			break
		}
		now := time.Now()
		if !now.Before(deadline) {
			break
		}
		t, ok := p.take()
		if !ok {
			continue
		}
		if !start(t) {
			retired++
			continue
		}
		issued++
		s.sent(now)
	}
	return issued
}
