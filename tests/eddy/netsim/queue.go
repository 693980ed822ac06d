package netsim

// envelope is a queued message and the time it becomes deliverable.
type envelope struct {
	deadline int64 // ns since the test start
	msg      Message
}

// before orders envelopes by deadline, then by id: equal deadlines keep send
// order, which is what makes constant latency per-pair FIFO.
func (e *envelope) before(o *envelope) bool {
	if e.deadline != o.deadline {
		return e.deadline < o.deadline
	}
	return e.msg.ID < o.msg.ID
}

// queue is one participant's inbox: a binary min-heap of envelopes held by
// value (no per-message allocation beyond the body), plus the channel its
// receivers wait on.
type queue struct {
	heap []envelope
	// wake is closed (and set to nil) when a message arrives or the
	// participant is removed; a waiting receiver makes it on demand. Closing
	// rather than signalling wakes every waiter, so several goroutines may
	// safely wait on one participant.
	wake chan struct{}
	// down marks a killed node: messages sent to it are dropped at once,
	// as they are lost in Maelstrom (they pile up in a queue that the
	// node's restart replaces).
	down bool
}

func (q *queue) len() int { return len(q.heap) }

func (q *queue) push(e envelope) {
	q.heap = append(q.heap, e)
	i := len(q.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.heap[i].before(&q.heap[p]) {
			break
		}
		q.heap[i], q.heap[p] = q.heap[p], q.heap[i]
		i = p
	}
}

// pop removes and returns the earliest envelope; the queue must be non-empty.
func (q *queue) pop() envelope {
	h := q.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = envelope{} // drop references so bodies can be collected
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].before(&h[l]) {
			m = r
		}
		if !h[m].before(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.heap = h
	// Give memory back after a burst: a drained queue that once held many
	// messages would otherwise pin its largest backing array for the run.
	if len(h) == 0 && cap(h) > 1024 {
		q.heap = nil
	}
	return top
}

// signal wakes every receiver waiting on q.
func (q *queue) signal() {
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
}

// waiter returns the channel to wait on for the next change to q.
func (q *queue) waiter() chan struct{} {
	if q.wake == nil {
		q.wake = make(chan struct{})
	}
	return q.wake
}
