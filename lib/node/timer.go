package node

import (
	"container/heap"
	"time"
)

// timerEntry is one scheduled function. RPC deadlines, retry back-offs and
// user timers share one heap, driven by a single time.Timer in the loop, so
// that no timer costs a goroutine.
type timerEntry struct {
	when   time.Time
	seq    uint64        // tie-break: equal deadlines fire in scheduling order
	period time.Duration // > 0 for Every
	fn     func()
	// onStop runs if the node stops while the entry is still pending; retry
	// back-offs use it to keep their callback's exactly-once promise.
	onStop  func()
	index   int // position in the heap, -1 when not scheduled
	stopped bool
}

type timerHeap []*timerEntry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// Timer is a function scheduled on the loop by After or Every.
type Timer struct {
	n *Node
	e *timerEntry
}

// Stop cancels the timer. It reports whether this prevented a future run:
// false when a one-shot timer already ran or the timer was already stopped.
// Stopping a periodic timer from inside its own function ends it.
func (t *Timer) Stop() bool {
	if t == nil || t.e == nil || t.e.stopped {
		return false
	}
	t.e.stopped = true
	if t.e.index >= 0 {
		heap.Remove(&t.n.timers, t.e.index)
		return true
	}
	return t.e.period > 0 // a periodic timer stopped while running
}

// After runs fn on the loop once, d from now (at the next loop turn if
// d <= 0). After Run has ended the timer never fires.
func (n *Node) After(d time.Duration, fn func()) *Timer {
	return &Timer{n: n, e: n.schedule(d, 0, fn, nil)}
}

// Every runs fn on the loop every d, the first time d from now. Each next run
// is scheduled d after the previous one ends, so a busy loop delays ticks
// instead of bunching them into a catch-up burst. It panics if d <= 0, like
// time.NewTicker.
func (n *Node) Every(d time.Duration, fn func()) *Timer {
	if d <= 0 {
		panic("node: Every needs a positive period")
	}
	return &Timer{n: n, e: n.schedule(d, d, fn, nil)}
}

func (n *Node) schedule(d, period time.Duration, fn, onStop func()) *timerEntry {
	n.timerSeq++
	e := &timerEntry{when: time.Now().Add(d), seq: n.timerSeq, period: period, fn: fn, onStop: onStop, index: -1}
	if n.stopping {
		e.stopped = true // never fires; Stop reports false
		return e
	}
	heap.Push(&n.timers, e)
	return e
}

// unschedule removes e if it is pending.
func (n *Node) unschedule(e *timerEntry) {
	e.stopped = true
	if e.index >= 0 {
		heap.Remove(&n.timers, e.index)
	}
}

// fireDue runs the entries due at now. Entries scheduled while it runs wait
// for the next turn, which bounds the work of one turn (After(0) inside
// After(0) cannot spin here).
func (n *Node) fireDue(now time.Time) {
	for budget := len(n.timers); budget > 0 && len(n.timers) > 0; budget-- {
		e := n.timers[0]
		if e.when.After(now) {
			return
		}
		heap.Pop(&n.timers)
		n.guard("timer", e.fn)
		if e.period > 0 && !e.stopped && !n.stopping {
			e.when = time.Now().Add(e.period)
			n.timerSeq++
			e.seq = n.timerSeq
			heap.Push(&n.timers, e)
		} else {
			e.stopped = true
		}
	}
}

// armWake points the loop's single time.Timer at the earliest entry and
// returns the channel to wait on (nil when nothing is scheduled).
func (n *Node) armWake() <-chan time.Time {
	if len(n.timers) == 0 {
		if n.wakeArmed {
			n.wake.Stop()
			n.wakeArmed = false
		}
		return nil
	}
	when := n.timers[0].when
	if !n.wakeArmed || !when.Equal(n.wakeAt) {
		n.wake.Reset(time.Until(when))
		n.wakeAt = when
		n.wakeArmed = true
	}
	return n.wake.C
}

// stopTimers empties the heap at shutdown, running the onStop hooks.
func (n *Node) stopTimers() {
	for len(n.timers) > 0 {
		e := heap.Pop(&n.timers).(*timerEntry)
		e.stopped = true
		if e.onStop != nil {
			n.guard("timer stop", e.onStop)
		}
	}
	if n.wakeArmed {
		n.wake.Stop()
		n.wakeArmed = false
	}
}
