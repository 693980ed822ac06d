package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
)

// call is one RPC: queued, then pending until its reply or deadline.
type call struct {
	id       int64 // msg_id, assigned when sent
	dest     string
	obj      []byte // the encoded body, without msg_id
	timeout  time.Duration
	cb       func(rep *Request, err error)
	deadline *timerEntry
}

// peer is the per-destination bound on calls in flight, with its FIFO.
type peer struct {
	inflight int
	queue    []*call
	head     int // queue[head:] waits
}

func (p *peer) queued() int { return len(p.queue) - p.head }

// Call sends body to dest as a request with a fresh msg_id and runs cb on
// the loop exactly once: with the reply decoded into T, or with an error:
// a *maelstrom.RPCError for an error reply (any code, 0 included) or a
// timeout (code 0 after timeout), ErrStopped if Run ends first, or a decode
// error. If Call returns an error, cb never runs. Past
// Config.PeerInflightMax calls in flight to dest, the call waits in a FIFO
// and its timeout starts when it is sent.
func Call[T any](n *Node, dest string, body any, timeout time.Duration, cb func(reply T, err error)) error {
	obj, err := n.enc.object(body)
	if err != nil {
		return err
	}
	return n.callRaw(dest, bytes.Clone(obj), timeout, func(rep *Request, err error) {
		v, err := decodeReply[T](rep, err)
		cb(v, err)
	})
}

// decodeReply turns the outcome of a call into T or an error.
func decodeReply[T any](rep *Request, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if err := errorOf(rep); err != nil {
		return v, err
	}
	if err := json.Unmarshal(rep.Body, &v); err != nil {
		return v, fmt.Errorf("node: decode %s reply from %s: %w", rep.Type, rep.Src, err)
	}
	return v, nil
}

// callRaw starts or queues a call whose body is already encoded.
func (n *Node) callRaw(dest string, obj []byte, timeout time.Duration, cb func(*Request, error)) error {
	switch {
	case n.stopping || n.stopped:
		return ErrStopped
	case n.id == "":
		return ErrNotInitialized
	case dest == "":
		return errors.New("node: Call with an empty dest")
	case timeout <= 0:
		return fmt.Errorf("node: Call timeout %v, must be positive", timeout)
	}
	p := n.dests[dest]
	if p == nil {
		p = &peer{}
		n.dests[dest] = p
	}
	c := &call{dest: dest, obj: obj, timeout: timeout, cb: cb}
	if p.inflight < n.cfg.PeerInflightMax {
		n.start(c, p)
		return nil
	}
	if p.queued() >= n.cfg.PeerQueueMax {
		return ErrQueueFull
	}
	p.queue = append(p.queue, c)
	return nil
}

// start sends a call and arms its deadline.
func (n *Node) start(c *call, p *peer) {
	n.nextMsgID++ // msg_ids start at 1: 0 means "none" on the wire
	c.id = n.nextMsgID
	n.pending[c.id] = c
	p.inflight++
	c.deadline = n.schedule(c.timeout, 0, func() { n.expire(c) }, nil)
	n.send(n.id, c.dest, c.obj, c.id, 0)
}

// release frees c's in-flight slot and sends the next queued calls.
func (n *Node) release(c *call) {
	p := n.dests[c.dest]
	p.inflight--
	for p.inflight < n.cfg.PeerInflightMax && p.queued() > 0 {
		next := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		n.start(next, p)
	}
	if p.head > 64 && p.head*2 >= len(p.queue) {
		p.queue = append(p.queue[:0], p.queue[p.head:]...)
		p.head = 0
	}
	if p.inflight == 0 && p.queued() == 0 {
		delete(n.dests, c.dest) // keeps the table bounded by live destinations
	}
}

// handleReply completes the call a reply answers, or drops the reply.
func (n *Node) handleReply(rep *Request) {
	c := n.pending[rep.inReplyTo]
	if c == nil || c.dest != rep.Src {
		if n.debug {
			n.log.Debug("dropped reply to no pending call (late or unknown)", "req", rep.String())
		}
		return
	}
	delete(n.pending, c.id)
	n.unschedule(c.deadline)
	n.release(c)
	n.guard("rpc callback", func() { c.cb(rep, nil) })
}

// expire completes a call whose deadline passed.
func (n *Node) expire(c *call) {
	if n.pending[c.id] != c {
		return // completed already; cannot happen as replies unschedule
	}
	delete(n.pending, c.id)
	n.release(c)
	err := maelstrom.NewRPCError(maelstrom.Timeout, fmt.Sprintf("%s to %s timed out after %v", typeOf(c.obj), c.dest, c.timeout))
	n.guard("rpc callback", func() { c.cb(nil, err) })
}

// failCalls completes every pending and queued call with err, at shutdown:
// pending ones by msg_id, then queued ones per destination in FIFO order.
func (n *Node) failCalls(err error) {
	var all []*call
	for _, id := range slices.Sorted(maps.Keys(n.pending)) {
		c := n.pending[id]
		n.unschedule(c.deadline)
		all = append(all, c)
	}
	for _, dest := range slices.Sorted(maps.Keys(n.dests)) {
		p := n.dests[dest]
		all = append(all, p.queue[p.head:]...)
	}
	clear(n.pending)
	clear(n.dests)
	for _, c := range all {
		n.guard("rpc callback", func() { c.cb(nil, err) })
	}
}

// typeOf extracts the type of an encoded body for error texts.
func typeOf(obj []byte) string {
	var h header
	_ = json.Unmarshal(obj, &h)
	if h.Type == "" {
		return "request"
	}
	return strings.Clone(h.Type)
}

// Retry configures CallRetry. Attempts and BackoffMax bound the work: at
// most Attempts sends, each waiting up to Timeout, separated by back-offs
// that double from BackoffMin up to BackoffMax, jittered down to half (so
// that peers retrying together spread out).
type Retry struct {
	Attempts   int           // sends at most, >= 1
	Timeout    time.Duration // per attempt, > 0
	BackoffMin time.Duration // wait before the second attempt, >= 0
	BackoffMax time.Duration // cap on a wait, in [BackoffMin, 1h]
	// Retryable says whether an attempt's error deserves another attempt;
	// nil means RetryableError. Retry only idempotent requests on errors
	// that are not definite.
	Retryable func(error) bool
}

func (r Retry) validate() error {
	switch {
	case r.Attempts < 1:
		return fmt.Errorf("node: Retry.Attempts = %d, must be >= 1", r.Attempts)
	case r.Timeout <= 0:
		return fmt.Errorf("node: Retry.Timeout = %v, must be positive", r.Timeout)
	case r.BackoffMin < 0 || r.BackoffMax < r.BackoffMin || r.BackoffMax > time.Hour:
		return fmt.Errorf("node: Retry back-off [%v, %v] must satisfy 0 <= min <= max <= 1h", r.BackoffMin, r.BackoffMax)
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt (attempt >= 1):
// BackoffMin·2^(attempt-1), capped, then drawn uniformly from [d/2, d].
func (r Retry) backoff(attempt int, rng *rand.Rand) time.Duration {
	d := r.BackoffMin
	for i := 1; i < attempt && d < r.BackoffMax; i++ {
		d *= 2 // cannot overflow: d < BackoffMax <= 1h
	}
	d = min(d, r.BackoffMax)
	if d < 2 {
		return d
	}
	half := d / 2
	return half + time.Duration(rng.Int64N(int64(d-half)+1))
}

// RetryableError reports whether err may go away on a retry without the
// request having been applied twice by a definite failure: a timeout (code
// 0), temporarily-unavailable (11), or a full peer queue.
func RetryableError(err error) bool {
	switch maelstrom.ErrorCode(err) {
	case maelstrom.Timeout, maelstrom.TemporarilyUnavailable:
		return true
	}
	return errors.Is(err, ErrQueueFull)
}

// CallRetry is Call with retries: each attempt is a new request (a new
// msg_id) with its own Timeout; after a retryable failure it waits a back-off
// and tries again, up to r.Attempts. cb runs exactly once, with the first
// success or the last error (ErrStopped if Run ends during a back-off). If
// CallRetry returns an error, cb never runs.
func CallRetry[T any](n *Node, dest string, body any, r Retry, cb func(reply T, err error)) error {
	if err := r.validate(); err != nil {
		return err
	}
	obj, err := n.enc.object(body)
	if err != nil {
		return err
	}
	obj = bytes.Clone(obj)
	retryable := r.Retryable
	if retryable == nil {
		retryable = RetryableError
	}
	finish := func(rep *Request, err error) {
		v, err := decodeReply[T](rep, err)
		cb(v, err)
	}
	attempt := 1
	var try func() error
	var done func(rep *Request, err error)
	done = func(rep *Request, err error) {
		if err == nil {
			err = errorOf(rep)
		}
		if err == nil || attempt >= r.Attempts || n.stopping || !retryable(err) {
			finish(rep, err)
			return
		}
		delay := r.backoff(attempt, n.rand)
		attempt++
		n.schedule(delay, 0, func() {
			if err := try(); err != nil {
				done(nil, err)
			}
		}, func() { finish(nil, ErrStopped) })
	}
	try = func() error { return n.callRaw(dest, obj, r.Timeout, done) }
	return try()
}
