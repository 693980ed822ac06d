// Package sim is a deterministic simulator for sans-I/O protocol cores.
//
// One seed drives everything: message latencies (and so reordering), loss,
// duplication, partitions chosen by the test, and the order of simultaneous
// events. Time is virtual (milliseconds); nothing sleeps. The same seed
// replays the same run exactly, which TraceHash lets a test assert; a failing
// test prints its seed so that the run can be replayed under a debugger.
//
// A core is anything with Step (an incoming message), Tick (time passing)
// and Drain (the messages it produced). Messages to ids that are not nodes
// (clients, by convention "c..." ids) are collected as outputs for the test
// to inspect rather than delivered.
package sim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Envelope is one message in flight.
type Envelope[M any] struct {
	From, To string
	Msg      M
}

// Core is a protocol state machine as the simulator drives it.
type Core[M any] interface {
	Step(from string, msg M)
	Tick()
	// Drain returns, and forgets, the messages produced since the last call.
	Drain() []Envelope[M]
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
type event[M any] struct {
	at   int64
	seq  uint64
	tick bool
	env  Envelope[M]
}

type queue[M any] []event[M]

func (q queue[M]) Len() int { return len(q) }
func (q queue[M]) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue[M]) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue[M]) Push(x any)   { *q = append(*q, x.(event[M])) }
func (q *queue[M]) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// Sim runs cores over a simulated network.
type Sim[M any] struct {
	cfg   Config
	r     *rand.Rand
	now   int64
	seq   uint64
	q     queue[M]
	cores map[string]Core[M]
	down  map[string]bool            // crashed nodes: deliveries and ticks skipped
	drop  map[string]map[string]bool // dest -> src -> dropped (a partition)
	out   []Envelope[M]              // messages to non-node ids
	hash  uint64                     // running trace hash
	trace []string                   // the last events, for failure reports

	Sent, Delivered, Dropped int64
}

// traceKeep bounds the trace a failing test prints.
const traceKeep = 200

// New builds a simulator; build makes the core of each node.
func New[M any](cfg Config, build func(id string) Core[M]) *Sim[M] {
	if cfg.TickMs <= 0 {
		panic("sim: TickMs must be positive")
	}
	if cfg.LatencyMaxMs < cfg.LatencyMinMs || cfg.LatencyMinMs < 0 || cfg.LatencyMeanMs < 0 {
		panic("sim: bad latency bounds")
	}
	s := &Sim[M]{
		cfg:   cfg,
		r:     rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		cores: map[string]Core[M]{},
		down:  map[string]bool{},
		drop:  map[string]map[string]bool{},
		hash:  14695981039346656037,
	}
	for _, id := range cfg.Nodes {
		s.cores[id] = build(id)
	}
	s.schedule(event[M]{at: cfg.TickMs, tick: true})
	return s
}

// Now is the virtual time in milliseconds.
func (s *Sim[M]) Now() int64 { return s.now }

// Core returns a node's core.
func (s *Sim[M]) Core(id string) Core[M] { return s.cores[id] }

// Seed is the seed the simulator was built with.
func (s *Sim[M]) Seed() uint64 { return s.cfg.Seed }

func (s *Sim[M]) schedule(e event[M]) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

// Inject delivers msg to node `to` from `from` (a client, say) at the
// current time, ahead of anything else due now; the network never loses it.
func (s *Sim[M]) Inject(from, to string, msg M) {
	s.record("inject %s->%s %s", from, to, s.describe(msg))
	s.deliver(Envelope[M]{From: from, To: to, Msg: msg})
}

// Partition makes the given groups unable to hear each other: each node
// drops messages from every node outside its group. Nodes not listed keep
// hearing everyone. It replaces any partition in force.
func (s *Sim[M]) Partition(groups ...[]string) {
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
func (s *Sim[M]) Cut(src, dst string) {
	if s.drop[dst] == nil {
		s.drop[dst] = map[string]bool{}
	}
	s.drop[dst][src] = true
	s.record("cut %s->%s", src, dst)
}

// Down says whether a node is crashed.
func (s *Sim[M]) Down(id string) bool { return s.down[id] }

// Isolate cuts one node off from all others, both ways.
func (s *Sim[M]) Isolate(id string) {
	var rest []string
	for _, n := range s.cfg.Nodes {
		if n != id {
			rest = append(rest, n)
		}
	}
	s.Partition([]string{id}, rest)
}

// Heal ends any partition.
func (s *Sim[M]) Heal() {
	s.drop = map[string]map[string]bool{}
	s.record("heal")
}

// Crash stops a node: it receives nothing and does not tick until Restart.
func (s *Sim[M]) Crash(id string) {
	s.down[id] = true
	s.record("crash %s", id)
}

// Restart brings a crashed node back with the core build returns (a fresh
// core models lost memory; the old one models a pause).
func (s *Sim[M]) Restart(id string, c Core[M]) {
	delete(s.down, id)
	s.cores[id] = c
	s.record("restart %s", id)
}

// Outputs returns, and forgets, the messages cores sent to non-node ids.
func (s *Sim[M]) Outputs() []Envelope[M] {
	out := s.out
	s.out = nil
	return out
}

// Step processes the next event; false when nothing is scheduled.
func (s *Sim[M]) Step() bool {
	if len(s.q) == 0 {
		return false
	}
	e := heap.Pop(&s.q).(event[M])
	s.now = e.at
	if e.tick {
		for _, id := range s.cfg.Nodes {
			if !s.down[id] {
				s.cores[id].Tick()
				s.collect(id)
			}
		}
		s.schedule(event[M]{at: s.now + s.cfg.TickMs, tick: true})
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

func (s *Sim[M]) deliver(env Envelope[M]) {
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

// collect sends what a core produced: to nodes over the network, to any
// other id into the outputs.
func (s *Sim[M]) collect(id string) {
	for _, env := range s.cores[id].Drain() {
		if _, isNode := s.cores[env.To]; !isNode {
			s.out = append(s.out, env)
			s.record("out %s->%s %s", env.From, env.To, s.describe(env.Msg))
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
				m = s.cfg.Clone(m).(M)
			}
			lat := s.cfg.LatencyMinMs
			if s.cfg.LatencyMeanMs > 0 {
				lat = min(max(lat, int64(math.Round(s.r.ExpFloat64()*float64(s.cfg.LatencyMeanMs)))), s.cfg.LatencyMaxMs)
			} else if span := s.cfg.LatencyMaxMs - s.cfg.LatencyMinMs; span > 0 {
				lat += s.r.Int64N(span + 1)
			}
			s.schedule(event[M]{at: s.now + lat, env: Envelope[M]{From: env.From, To: env.To, Msg: m}})
		}
	}
}

// RunFor advances virtual time by ms, processing every event due.
func (s *Sim[M]) RunFor(ms int64) {
	end := s.now + ms
	for len(s.q) > 0 && s.q[0].at <= end {
		s.Step()
	}
	s.now = end
}

// RunUntil advances until done() holds, checking after every event, for at
// most limitMs of virtual time. It reports whether done() held.
func (s *Sim[M]) RunUntil(done func() bool, limitMs int64) bool {
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
func (s *Sim[M]) InFlight() int {
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
func (s *Sim[M]) Rand() *rand.Rand { return s.r }

func (s *Sim[M]) describe(m M) string {
	if s.cfg.Describe != nil {
		return s.cfg.Describe(m)
	}
	return fmt.Sprint(m)
}

// Note adds a line of the test's own to the trace (a client's view of a
// reply, a state summary), so that a golden trace shows it in place.
func (s *Sim[M]) Note(format string, args ...any) {
	s.record("# "+format, args...)
}

func (s *Sim[M]) record(format string, args ...any) {
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
func (s *Sim[M]) TraceHash() uint64 { return s.hash }

// Trace returns the last events, oldest first, for a failure report.
func (s *Sim[M]) Trace() []string { return slices.Clone(s.trace) }

// Nodes returns the node ids in sorted order.
func (s *Sim[M]) Nodes() []string {
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
