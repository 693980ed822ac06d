// Package netsim is eddy's simulated network: Maelstrom's real-time network
// between real processes (maelstrom-spec.md section 3).
//
// Every participant (server node, client, service) has one inbox ordered by
// delivery deadline. Send assigns a global message id, draws a latency,
// journals a send event and queues the message. Recv is a participant's
// single delivery path: it takes the earliest-deadline message, drops it if
// the current grudge says the receiver ignores its sender (partitions are
// decided at dequeue, on the receiving side), otherwise waits until the
// deadline and journals a receive event. Once taken, a message holds the
// line: later messages with earlier deadlines wait behind it, exactly as
// Maelstrom's per-node delivery thread sleeps on the message it took.
//
// The network owns no goroutines; callers drive it. All state sits behind
// one mutex, held only for short bookkeeping, never while waiting.
package netsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"maelkit/tests/eddy/journal"
)

// Latency distribution names, as accepted by Maelstrom's --latency-dist.
const (
	DistConstant    = "constant"
	DistUniform     = "uniform"
	DistExponential = "exponential"
)

// DefaultMaxQueued bounds the messages queued across the whole network when
// Config.MaxQueued is zero. Maelstrom has no bound (it would run out of
// memory); a node flooding the network gets ErrQueueFull from Send instead.
const DefaultMaxQueued = 1 << 22

var (
	// ErrUnknownDest: Send to an id that is not (or no longer) a participant.
	// Maelstrom raises "Invalid dest for message" here.
	ErrUnknownDest = errors.New("netsim: unknown destination")
	// ErrUnknownSrc: Send from an id that is not a participant.
	ErrUnknownSrc = errors.New("netsim: unknown source")
	// ErrNotParticipant: Recv on an id that is not, or stopped being, a
	// participant (Remove wakes its waiting receivers with this).
	ErrNotParticipant = errors.New("netsim: not a participant")
	// ErrQueueFull: the network already holds MaxQueued undelivered messages.
	ErrQueueFull = errors.New("netsim: too many queued messages")
)

// Config configures a Net. Validate it with New.
type Config struct {
	// LatencyMs is the mean latency of node<->node and node<->service
	// messages, in ms (Maelstrom's --latency). Messages with a client at
	// either end always get latency 0.
	LatencyMs int64
	// Dist is the latency shape: "constant" (exactly LatencyMs), "uniform"
	// (integer ms uniform in [0, 2*LatencyMs)) or "exponential" (mean
	// LatencyMs, truncated to whole ms). Empty means constant, Maelstrom's
	// default. Uniform and exponential need LatencyMs > 0: Maelstrom hangs or
	// divides by zero there, we refuse up front.
	Dist string
	// Seed seeds the latency draws. Draws happen in the order sends really
	// interleave, so a seed fixes the distribution, not every single draw.
	Seed int64
	// Start is the test's start: journal times are ns since it. Zero means
	// the moment New is called.
	Start time.Time
	// Log receives send/recv lines when LogSend/LogRecv are set (Maelstrom's
	// --log-net-send / --log-net-recv): the message is Message.LogLine, the
	// attributes "event" (send or recv) and "participant" (the sender of a
	// send, the receiver of a recv). Nil discards.
	Log              *slog.Logger
	LogSend, LogRecv bool
	// MaxQueued bounds undelivered messages across the network; zero means
	// DefaultMaxQueued.
	MaxQueued int64
}

// Grudge is a partition: for each destination node, the source nodes whose
// messages it drops. Only server nodes belong in a grudge. A destination
// with an empty list drops nothing.
type Grudge map[string][]string

// Net is the simulated network. Its methods are safe for concurrent use.
type Net struct {
	latencyMs int64
	dist      string
	start     time.Time
	log       *slog.Logger
	logSend   bool
	logRecv   bool
	maxQueued int64

	mu     sync.Mutex
	rng    *rand.Rand // latency draws; guarded by mu
	nextID int64
	queued int64 // messages in all inboxes
	queues map[string]*queue
	grudge map[string]map[string]struct{} // dest -> sources it drops
	events eventLog
	// Packet faults between non-client participants (eddy's loss and
	// duplicate nemeses); faulty is false when both rates are zero, so
	// delivery pays one boolean test when they are off.
	faulty        bool
	lossRate      float64
	duplicateRate float64
	faultRng      *rand.Rand
	// dupQueued holds the ids of duplicates still queued: a duplicate is
	// never lost or duplicated again. Touched only while faulty.
	dupQueued map[int64]struct{}

	sent, delivered, dropped atomic.Int64
}

// New validates cfg and returns an empty network.
func New(cfg Config) (*Net, error) {
	dist := cfg.Dist
	if dist == "" {
		dist = DistConstant
	}
	switch dist {
	case DistConstant, DistUniform, DistExponential:
	default:
		return nil, fmt.Errorf("netsim: unknown latency distribution %q (want constant, uniform or exponential)", cfg.Dist)
	}
	if cfg.LatencyMs < 0 {
		return nil, fmt.Errorf("netsim: latency %d ms is negative", cfg.LatencyMs)
	}
	// An int64 ns deadline overflows beyond ~292 years; a day is already absurd.
	if cfg.LatencyMs > int64(24*time.Hour/time.Millisecond) {
		return nil, fmt.Errorf("netsim: latency %d ms exceeds one day", cfg.LatencyMs)
	}
	if dist != DistConstant && cfg.LatencyMs == 0 {
		return nil, fmt.Errorf("netsim: %s latency needs a mean above 0 ms (Maelstrom hangs or crashes there); use constant for zero latency", dist)
	}
	if cfg.MaxQueued < 0 {
		return nil, fmt.Errorf("netsim: MaxQueued %d is negative", cfg.MaxQueued)
	}
	n := &Net{
		latencyMs: cfg.LatencyMs,
		dist:      dist,
		start:     cfg.Start,
		log:       cfg.Log,
		logSend:   cfg.LogSend,
		logRecv:   cfg.LogRecv,
		maxQueued: cfg.MaxQueued,
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6e657473696d)), // "netsim"
		faultRng:  rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6661756c7473)), // "faults"
		queues:    map[string]*queue{},
		grudge:    map[string]map[string]struct{}{},
	}
	if n.start.IsZero() {
		n.start = time.Now()
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.maxQueued == 0 {
		n.maxQueued = DefaultMaxQueued
	}
	return n, nil
}

// now is the current time in ns since the test start (monotonic).
func (n *Net) now() int64 { return int64(time.Since(n.start)) }

// Add registers a participant with an empty inbox.
func (n *Net) Add(id string) error {
	if id == "" {
		return errors.New("netsim: empty participant id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.queues[id]; ok {
		return fmt.Errorf("netsim: participant %q already exists", id)
	}
	n.queues[id] = &queue{}
	return nil
}

// Remove unregisters a participant (a closed client, say). Messages still
// queued to it stay sent and never received; receivers waiting on it return
// ErrNotParticipant. A message a receiver already took is still delivered.
// Removing an unknown id does nothing.
func (n *Net) Remove(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	q, ok := n.queues[id]
	if !ok {
		return
	}
	delete(n.queues, id)
	n.queued -= int64(q.len())
	q.heap = nil
	q.signal()
}

// Has reports whether id is a current participant.
func (n *Net) Has(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.queues[id]
	return ok
}

// Send puts a message from src to dest into the network and returns its id.
// The body is copied (no memory is shared across participants) and must be
// valid JSON; a body spanning several lines is compacted to one.
func (n *Net) Send(src, dest string, body json.RawMessage) (int64, error) {
	body, err := copyBody(body)
	if err != nil {
		return 0, err
	}
	n.mu.Lock()
	q, ok := n.queues[dest]
	if !ok {
		n.mu.Unlock()
		return 0, fmt.Errorf("%w: %q (message from %q)", ErrUnknownDest, dest, src)
	}
	if _, ok := n.queues[src]; !ok {
		n.mu.Unlock()
		return 0, fmt.Errorf("%w: %q (message to %q)", ErrUnknownSrc, src, dest)
	}
	if n.queued >= n.maxQueued {
		n.mu.Unlock()
		return 0, fmt.Errorf("%w: %d undelivered", ErrQueueFull, n.queued)
	}
	id := n.nextID
	n.nextID++
	// Time is read under the lock so that deadlines of constant-latency
	// messages never decrease in id order: per-pair FIFO follows.
	now := n.now()
	msg := Message{ID: id, Src: src, Dest: dest, Body: body}
	n.events.add(journal.Event{Time: now, Kind: journal.Send, ID: id, Src: src, Dest: dest, Body: body})
	n.sent.Add(1)
	if q.down {
		n.mu.Unlock()
		n.dropped.Add(1)
		if n.logSend {
			n.log.Info("send", "msg", msg.String())
		}
		return id, nil
	}
	q.push(envelope{deadline: now + n.latencyLocked(src, dest), msg: msg})
	n.queued++
	q.signal()
	n.mu.Unlock()
	if n.logSend {
		n.log.Info(msg.LogLine("send"), "event", "send", "participant", msg.Src)
	}
	return id, nil
}

// copyBody returns a private one-line copy of body.
func copyBody(body json.RawMessage) (json.RawMessage, error) {
	if bytes.IndexByte(body, '\n') < 0 && bytes.IndexByte(body, '\r') < 0 {
		return slices.Clone(body), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, fmt.Errorf("netsim: message body is not valid JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// latencyLocked draws one message's latency in ns. Caller holds mu.
func (n *Net) latencyLocked(src, dest string) int64 {
	if journal.IsClient(src) || journal.IsClient(dest) || n.latencyMs == 0 {
		return 0
	}
	var ms int64
	switch n.dist {
	case DistUniform:
		ms = n.rng.Int64N(2 * n.latencyMs)
	case DistExponential:
		// Truncate toward zero like Maelstrom's (long ...); cap absurd
		// tails so the deadline cannot overflow.
		ms = int64(math.Min(n.rng.ExpFloat64()*float64(n.latencyMs), float64(1000*n.latencyMs)))
	default:
		ms = n.latencyMs
	}
	return ms * int64(time.Millisecond)
}

// Recv delivers the next message for participant id, blocking until one is
// due. Messages the current grudge says id drops are discarded on the way
// (sent, never received). Cancelling ctx returns ctx.Err() promptly; a
// message taken but not yet due goes back to the inbox then.
func (n *Net) Recv(ctx context.Context, id string) (Message, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		n.mu.Lock()
		q, ok := n.queues[id]
		if !ok {
			n.mu.Unlock()
			return Message{}, fmt.Errorf("%w: %q", ErrNotParticipant, id)
		}
		if q.len() == 0 {
			wake := q.waiter()
			n.mu.Unlock()
			select {
			case <-ctx.Done():
				return Message{}, ctx.Err()
			case <-wake:
			}
			continue
		}
		env := q.pop()
		n.queued--
		if _, drop := n.grudge[id][env.msg.Src]; drop {
			n.mu.Unlock()
			n.dropped.Add(1)
			continue
		}
		if n.faulty && n.packetFaultLocked(q, env) {
			n.mu.Unlock()
			n.dropped.Add(1)
			continue
		}
		n.mu.Unlock()

		if wait := env.deadline - n.now(); wait > 0 {
			t := time.NewTimer(time.Duration(wait))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				n.requeue(id, env)
				return Message{}, ctx.Err()
			}
		}

		n.mu.Lock()
		n.events.add(journal.Event{Time: n.now(), Kind: journal.Recv, ID: env.msg.ID, Src: env.msg.Src, Dest: env.msg.Dest, Body: env.msg.Body})
		n.mu.Unlock()
		n.delivered.Add(1)
		if n.logRecv {
			n.log.Info(env.msg.LogLine("recv"), "event", "recv", "participant", env.msg.Dest)
		}
		return env.msg, nil
	}
}

// packetFaultLocked applies the packet faults to a message taken for
// delivery: true means it is lost. A duplicated message is delivered now
// and once more later: a copy with the same id goes back into the queue
// with a fresh latency, so the journal shows one send and two receives.
// Client traffic is never touched, as partitions never touch it. Caller
// holds mu.
func (n *Net) packetFaultLocked(q *queue, env envelope) bool {
	m := &env.msg
	if journal.IsClient(m.Src) || journal.IsClient(m.Dest) {
		return false
	}
	if _, dup := n.dupQueued[m.ID]; dup {
		delete(n.dupQueued, m.ID)
		return false
	}
	if n.lossRate > 0 && n.faultRng.Float64() < n.lossRate {
		return true
	}
	if n.duplicateRate > 0 && n.faultRng.Float64() < n.duplicateRate {
		dup := env
		dup.deadline = n.now() + n.latencyLocked(m.Src, m.Dest)
		q.push(dup)
		n.queued++
		if n.dupQueued == nil {
			n.dupQueued = map[int64]struct{}{}
		}
		n.dupQueued[m.ID] = struct{}{}
	}
	return false
}

// SetPacketFaults sets the rates at which messages between non-client
// participants are lost and duplicated, each in [0, 1]; zero for both
// turns the faults off. A message is duplicated at most once.
func (n *Net) SetPacketFaults(loss, duplicate float64) error {
	if !(loss >= 0 && loss <= 1) || !(duplicate >= 0 && duplicate <= 1) {
		return fmt.Errorf("netsim: packet fault rates %v, %v must be in [0, 1]", loss, duplicate)
	}
	n.mu.Lock()
	n.lossRate, n.duplicateRate = loss, duplicate
	n.faulty = loss > 0 || duplicate > 0
	n.mu.Unlock()
	return nil
}

// SetDown marks a participant down (a killed node) or up again. Going down
// drops everything queued to it; while down, messages sent to it are
// journaled as sent and dropped at once; coming up starts from an empty
// queue. Maelstrom keeps a killed node's queue, where messages pile up
// undelivered, and its restart installs a fresh one: the same messages are
// lost either way. Unknown ids are an error.
func (n *Net) SetDown(id string, down bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	q, ok := n.queues[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotParticipant, id)
	}
	q.down = down
	if down && q.len() > 0 {
		n.queued -= int64(q.len())
		n.dropped.Add(int64(q.len()))
		q.heap = nil
	}
	q.signal()
	return nil
}

// requeue puts back a message whose receiver gave up waiting for its
// deadline, unless the receiver is gone or down meanwhile.
func (n *Net) requeue(id string, env envelope) {
	n.mu.Lock()
	defer n.mu.Unlock()
	q, ok := n.queues[id]
	if !ok {
		return
	}
	if q.down {
		n.dropped.Add(1)
		return
	}
	q.push(env)
	n.queued++
	q.signal()
}

// SetGrudge replaces the current partition with g. Only server nodes may
// appear: a client id is an error (Maelstrom never partitions clients).
func (n *Net) SetGrudge(g Grudge) error {
	next := make(map[string]map[string]struct{}, len(g))
	for dest, srcs := range g {
		if dest == "" || journal.IsClient(dest) {
			return fmt.Errorf("netsim: grudge destination %q is not a server node", dest)
		}
		for _, src := range srcs {
			if src == "" || journal.IsClient(src) {
				return fmt.Errorf("netsim: grudge source %q is not a server node", src)
			}
			if next[dest] == nil {
				next[dest] = map[string]struct{}{}
			}
			next[dest][src] = struct{}{}
		}
	}
	n.mu.Lock()
	n.grudge = next
	n.mu.Unlock()
	return nil
}

// Heal removes every partition.
func (n *Net) Heal() {
	n.mu.Lock()
	n.grudge = map[string]map[string]struct{}{}
	n.mu.Unlock()
}

// Grudge returns a copy of the current partition: destinations that drop
// something, each with its sources sorted.
func (n *Net) Grudge() Grudge {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := make(Grudge, len(n.grudge))
	for dest, srcs := range n.grudge {
		list := make([]string, 0, len(srcs))
		for src := range srcs {
			list = append(list, src)
		}
		slices.Sort(list)
		g[dest] = list
	}
	return g
}

// Journal returns a copy of every send and receive event so far, in the
// order they happened. Bodies are shared but never mutated.
func (n *Net) Journal() []journal.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.events.all()
}

// eventLog is an append-only list of events stored in fixed-size chunks, so
// appending never copies what is already there (a long run's journal grows
// to millions of events; a doubling slice would copy them under the lock).
type eventLog struct {
	chunks [][]journal.Event
	count  int
}

const eventChunk = 4096

func (l *eventLog) add(e journal.Event) {
	if l.count%eventChunk == 0 {
		l.chunks = append(l.chunks, make([]journal.Event, 0, eventChunk))
	}
	last := len(l.chunks) - 1
	l.chunks[last] = append(l.chunks[last], e)
	l.count++
}

func (l *eventLog) all() []journal.Event {
	out := make([]journal.Event, 0, l.count)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

// Stats returns message counts without taking the lock, for progress lines:
// sent, delivered, and dropped by partitions. Messages still queued, or
// queued to a removed participant, are sent but neither delivered nor dropped.
func (n *Net) Stats() (sent, delivered, dropped int64) {
	return n.sent.Load(), n.delivered.Load(), n.dropped.Load()
}
