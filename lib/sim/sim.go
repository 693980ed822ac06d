// Package sim is a deterministic simulator for sans-I/O protocol cores.
//
// One seed drives everything: message latencies (and so reordering), loss,
// duplication, partitions chosen by the test, and the order of simultaneous
// events. Time is virtual (milliseconds); nothing sleeps. The same seed
// replays the same run exactly, which TraceHash lets a test assert; a failing
// test prints its seed so that the run can be replayed under a debugger.
//
// It drives cores through their contract (lib/core): peer messages travel
// over the simulated network, a test's client commands reach a node at
// once, and the replies cores produce are collected for the test to
// inspect. Config.Journal receives the whole trace, which Golden compares
// with a file in testdata; Seeds gives every simulation test its seeds
// from one knob, SeedsEnv.
//
// NewDurable (durable.go) gives every node a simulated disk and store and
// makes the cores' durable writes before their messages and replies; its
// nodes die by process death, power loss, a wiped disk or a fault inside
// their writes, and come back rebuilt from what their disk kept.
package sim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"maelkit/lib/core"
)

// envelope is one peer message in flight.
type envelope[P any] struct {
	From, To string
	Msg      P
}

// Reply is a reply a core produced, with the node that produced it.
type Reply[R any] struct {
	From string
	core.Reply[R]
}

// Config shapes the simulated network. Latencies are virtual milliseconds.
type Config struct {
	Seed  uint64
	Nodes []string
	// TickMs is the virtual time between two Ticks of every core.
	TickMs int64
	// LatencyMinMs and LatencyMaxMs bound each message's latency, drawn
	// uniformly; unequal bounds reorder messages.
	LatencyMinMs, LatencyMaxMs int64
	// LatencyMeanMs, if positive, draws latencies from an exponential
	// distribution of that mean instead (Maelstrom's --latency-dist
	// exponential, whose long tail uniform bounds lack), kept within
	// [LatencyMinMs, LatencyMaxMs].
	LatencyMeanMs int64
	// Loss and Duplicate are per-message probabilities in [0, 1).
	Loss, Duplicate float64
	// Clone deep-copies a message before delivery, so that no two nodes
	// share memory through a message (nil: messages are values already).
	Clone func(any) any
	// Describe renders a message in trace lines (nil: fmt's %v).
	Describe func(any) string
	// Journal, if set, receives every trace line as it is recorded: the
	// whole run, where Trace keeps only the last lines (golden traces).
	Journal func(line string)
}

// event is a delivery or a tick, ordered by time then sequence number.
type event[P any] struct {
	at   int64
	seq  uint64
	tick bool
	env  envelope[P]
}

type queue[P any] []event[P]

func (q queue[P]) Len() int { return len(q) }
func (q queue[P]) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue[P]) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue[P]) Push(x any)   { *q = append(*q, x.(event[P])) }
func (q *queue[P]) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// Sim runs cores over a simulated network.
type Sim[P, C, R any] struct {
	cfg   Config
	r     *rand.Rand
	now   int64
	seq   uint64
	q     queue[P]
	cores map[string]core.Core[P, C, R]
	down  map[string]bool            // crashed nodes: deliveries and ticks skipped
	drop  map[string]map[string]bool // dest -> src -> dropped (a partition)
	out   []Reply[R]                 // replies to clients
	hash  uint64                     // running trace hash
	trace []string                   // the last events, for failure reports
	dur   *durable[P, C, R]          // disks and stores (NewDurable), or nil

	Sent, Delivered, Dropped int64
	faults                   Faults // durable nodes' deaths so far
}

// traceKeep bounds the trace a failing test prints.
const traceKeep = 200

// New builds a simulator; build makes the core of each node.
func New[P, C, R any](cfg Config, build func(id string) core.Core[P, C, R]) *Sim[P, C, R] {
	if cfg.TickMs <= 0 {
		panic("sim: TickMs must be positive")
	}
	if cfg.LatencyMaxMs < cfg.LatencyMinMs || cfg.LatencyMinMs < 0 || cfg.LatencyMeanMs < 0 {
		panic("sim: bad latency bounds")
	}
	s := &Sim[P, C, R]{
		cfg:   cfg,
		r:     rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		cores: map[string]core.Core[P, C, R]{},
		down:  map[string]bool{},
		drop:  map[string]map[string]bool{},
		hash:  14695981039346656037,
	}
	for _, id := range cfg.Nodes {
		s.cores[id] = build(id)
	}
	s.schedule(event[P]{at: cfg.TickMs, tick: true})
	return s
}

// Now is the virtual time in milliseconds.
func (s *Sim[P, C, R]) Now() int64 { return s.now }

// Core returns a node's core.
func (s *Sim[P, C, R]) Core(id string) core.Core[P, C, R] { return s.cores[id] }

// Seed is the seed the simulator was built with.
func (s *Sim[P, C, R]) Seed() uint64 { return s.cfg.Seed }

func (s *Sim[P, C, R]) schedule(e event[P]) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

// Command hands a client's command to node `to` at the current time, ahead
// of anything else due now; the network never loses it, but a crashed node
// does not get it.
func (s *Sim[P, C, R]) Command(to string, cmd core.Command[C]) {
	s.record("inject %s->%s %s", cmd.Client, to, s.describe(cmd.Body))
	c, ok := s.cores[to]
	if !ok || s.down[to] {
		s.Dropped++
		return
	}
	s.Delivered++
	s.record("recv %s->%s %s", cmd.Client, to, s.describe(cmd.Body))
	c.Command(cmd)
	s.collect(to)
}

// Partition makes the given groups unable to hear each other: each node
// drops messages from every node outside its group. Nodes not listed keep
// hearing everyone. It replaces any partition in force.
func (s *Sim[P, C, R]) Partition(groups ...[]string) {
	s.drop = map[string]map[string]bool{}
	for gi, g := range groups {
		for _, dst := range g {
			for gj, h := range groups {
				if gi == gj {
					continue
				}
				for _, src := range h {
					if s.drop[dst] == nil {
						s.drop[dst] = map[string]bool{}
					}
					s.drop[dst][src] = true
				}
			}
		}
	}
	s.record("partition %v", groups)
}

// Cut drops the messages src sends to dst, not those dst sends to src (a
// one-way partition), on top of any partition in force. Heal and Partition
// end it.
func (s *Sim[P, C, R]) Cut(src, dst string) {
	if s.drop[dst] == nil {
		s.drop[dst] = map[string]bool{}
	}
	s.drop[dst][src] = true
	s.record("cut %s->%s", src, dst)
}

// Down says whether a node is crashed.
func (s *Sim[P, C, R]) Down(id string) bool { return s.down[id] }

// Isolate cuts one node off from all others, both ways.
func (s *Sim[P, C, R]) Isolate(id string) {
	var rest []string
	for _, n := range s.cfg.Nodes {
		if n != id {
			rest = append(rest, n)
		}
	}
	s.Partition([]string{id}, rest)
}

// Heal ends any partition.
func (s *Sim[P, C, R]) Heal() {
	s.drop = map[string]map[string]bool{}
	s.record("heal")
}

// Crash stops a node: it receives nothing and does not tick until Restart.
func (s *Sim[P, C, R]) Crash(id string) {
	s.down[id] = true
	s.record("crash %s", id)
}

// Restart brings a crashed node back with the core build returns (a fresh
// core models lost memory; the old one models a pause).
func (s *Sim[P, C, R]) Restart(id string, c core.Core[P, C, R]) {
	delete(s.down, id)
	s.cores[id] = c
	s.record("restart %s", id)
}

// Replies returns, and forgets, the replies cores produced.
func (s *Sim[P, C, R]) Replies() []Reply[R] {
	out := s.out
	s.out = nil
	return out
}

// Step processes the next event; false when nothing is scheduled.
func (s *Sim[P, C, R]) Step() bool {
	if len(s.q) == 0 {
		return false
	}
	e := heap.Pop(&s.q).(event[P])
	s.now = e.at
	if e.tick {
		for _, id := range s.cfg.Nodes {
			if !s.down[id] {
				s.cores[id].Tick()
				s.collect(id)
			}
		}
		s.schedule(event[P]{at: s.now + s.cfg.TickMs, tick: true})
		return true
	}
	if s.drop[e.env.To][e.env.From] || s.down[e.env.To] {
		s.Dropped++
		s.record("drop %s->%s", e.env.From, e.env.To)
		return true
	}
	s.deliver(e.env)
	return true
}

func (s *Sim[P, C, R]) deliver(env envelope[P]) {
	c, ok := s.cores[env.To]
	if !ok || s.down[env.To] {
		s.Dropped++
		return
	}
	s.Delivered++
	s.record("recv %s->%s %s", env.From, env.To, s.describe(env.Msg))
	c.Step(env.From, env.Msg)
	s.collect(env.To)
}

// collect takes what a core produced: replies into the outputs, messages
// to nodes over the network (a message to an id that is no node is
// dropped).
func (s *Sim[P, C, R]) collect(id string) {
	out := s.cores[id].Drain()
	if !s.persist(id, out.Writes) {
		return
	}
	for _, r := range out.Replies {
		s.out = append(s.out, Reply[R]{From: id, Reply: r})
		s.record("out %s->%s %s", id, r.To, s.describe(r.Body))
	}
	for _, send := range out.Messages {
		env := envelope[P]{From: id, To: send.To, Msg: send.Msg}
		if _, isNode := s.cores[env.To]; !isNode {
			s.Dropped++
			s.record("misaddressed %s->%s %s", env.From, env.To, s.describe(env.Msg))
			continue
		}
		s.Sent++
		if s.r.Float64() < s.cfg.Loss {
			s.Dropped++
			s.record("lose %s->%s", env.From, env.To)
			continue
		}
		copies := 1
		if s.r.Float64() < s.cfg.Duplicate {
			copies = 2
		}
		for range copies {
			m := env.Msg
			if s.cfg.Clone != nil {
				m = s.cfg.Clone(m).(P)
			}
			lat := s.cfg.LatencyMinMs
			if s.cfg.LatencyMeanMs > 0 {
				lat = min(max(lat, int64(math.Round(s.r.ExpFloat64()*float64(s.cfg.LatencyMeanMs)))), s.cfg.LatencyMaxMs)
			} else if span := s.cfg.LatencyMaxMs - s.cfg.LatencyMinMs; span > 0 {
				lat += s.r.Int64N(span + 1)
			}
			s.schedule(event[P]{at: s.now + lat, env: envelope[P]{From: env.From, To: env.To, Msg: m}})
		}
	}
}

// RunFor advances virtual time by ms, processing every event due.
func (s *Sim[P, C, R]) RunFor(ms int64) {
	end := s.now + ms
	for len(s.q) > 0 && s.q[0].at <= end {
		s.Step()
	}
	s.now = end
}

// RunUntil advances until done() holds, checking after every event, for at
// most limitMs of virtual time. It reports whether done() held.
func (s *Sim[P, C, R]) RunUntil(done func() bool, limitMs int64) bool {
	end := s.now + limitMs
	for !done() {
		if len(s.q) == 0 || s.q[0].at > end {
			s.now = end
			return done()
		}
		s.Step()
	}
	return true
}

// InFlight is the number of messages scheduled for delivery and not yet
// delivered or dropped: zero means the network is empty.
func (s *Sim[P, C, R]) InFlight() int {
	n := 0
	for _, e := range s.q {
		if !e.tick {
			n++
		}
	}
	return n
}

// Rand is the simulator's random source, for tests that draw their own
// workload from the same seed.
func (s *Sim[P, C, R]) Rand() *rand.Rand { return s.r }

func (s *Sim[P, C, R]) describe(m any) string {
	if s.cfg.Describe != nil {
		return s.cfg.Describe(m)
	}
	return fmt.Sprint(m)
}

// Note adds a line of the test's own to the trace (a client's view of a
// reply, a state summary), so that a golden trace shows it in place.
func (s *Sim[P, C, R]) Note(format string, args ...any) {
	s.record("# "+format, args...)
}

func (s *Sim[P, C, R]) record(format string, args ...any) {
	line := fmt.Sprintf("t=%d ", s.now) + fmt.Sprintf(format, args...)
	if s.cfg.Journal != nil {
		s.cfg.Journal(line)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(line))
	s.hash = s.hash*1099511628211 ^ h.Sum64()
	if len(s.trace) == traceKeep {
		s.trace = slices.Delete(s.trace, 0, 1)
	}
	s.trace = append(s.trace, line)
}

// TraceHash summarises every event so far: equal seeds give equal hashes.
func (s *Sim[P, C, R]) TraceHash() uint64 { return s.hash }

// Trace returns the last events, oldest first, for a failure report.
func (s *Sim[P, C, R]) Trace() []string { return slices.Clone(s.trace) }

// Nodes returns the node ids in sorted order.
func (s *Sim[P, C, R]) Nodes() []string {
	ids := slices.Clone(s.cfg.Nodes)
	sort.Strings(ids)
	return ids
}

// RandomSplit cuts nodes into two non-empty random groups drawn from r (a
// random order, then a random cut point), for a Partition of a chaos run.
// Taking r rather than the simulator's own source keeps a caller's stream
// of draws its own. nodes needs at least two entries.
func RandomSplit(r *rand.Rand, nodes []string) (a, b []string) {
	perm := r.Perm(len(nodes))
	cut := 1 + r.IntN(len(nodes)-1)
	for i, p := range perm {
		if i < cut {
			a = append(a, nodes[p])
		} else {
			b = append(b, nodes[p])
		}
	}
	return a, b
}
