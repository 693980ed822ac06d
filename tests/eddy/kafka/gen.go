package kafka

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"maelkit/tests/eddy/history"
)

// Op is an operation the generator hands to a worker thread: the shape of
// eddy's workload.Op. Final marks the final phase's assign, which seeks to
// the beginning of every key.
type Op struct {
	F     string
	Value any
	Final bool
}

// Outcome is how one operation completed: the shape of eddy's
// workload.Outcome.
type Outcome struct {
	Type      history.Type // OK, Fail or Info
	Value     any
	Error     any
	Exception string
}

// Maelstrom's defaults for the kafka workload.
const (
	DefaultKeyCount        = 10
	DefaultMaxWritesPerKey = 16
	// AssignP is the chance that an op is replaced by an assign of its key.
	AssignP = 1.0 / 64
	// CrashInterval is how often, on average, each client is crashed.
	CrashInterval = 30 * time.Second
	// FinalLimit caps the final phase.
	FinalLimit = 10 * time.Second
	// FinalPollInterval is the mean pause between two final polls.
	FinalPollInterval = 200 * time.Millisecond
)

// Params configure the generator; zero fields take Maelstrom's defaults.
type Params struct {
	KeyCount        int
	MaxWritesPerKey int
	Concurrency     int
	Rand            *rand.Rand
	// Clock is the time since the test started.
	Clock func() time.Duration
}

// Generator is the main phase's op source, Jepsen's kafka generator as
// Maelstrom configures it: list-append transactions of one micro-op, a read
// becoming [:poll] and an append [:send k v]; with probability 1/64 an
// assign of the op's key instead, a third of which also take every key with
// sent but not yet polled messages; and, mixed in, a crash of whichever
// client asks next at random intervals averaging 30 s / concurrency, the
// first at once.
//
// Next is called by one scheduler goroutine; Update, with every completion,
// may be called from any goroutine.
type Generator struct {
	mu    sync.Mutex
	r     *rand.Rand
	clock func() time.Duration

	active    []int64
	next      map[int64]int64 // key -> next message (absent: 1)
	maxWrites int64
	scale     float64

	crashEvery time.Duration // mean interval between crashes
	nextCrash  time.Duration

	sent   map[string]int64 // key -> highest offset sent, while unpolled
	polled map[string]int64 // key -> highest offset polled, likewise
	maxOff map[string]int64 // key -> highest offset any :ok op saw
}

const keyDistBase = 2.0

// NewGenerator builds the main phase's generator.
func NewGenerator(p Params) (*Generator, error) {
	keys, writes := p.KeyCount, p.MaxWritesPerKey
	if keys == 0 {
		keys = DefaultKeyCount
	}
	if writes == 0 {
		writes = DefaultMaxWritesPerKey
	}
	switch {
	case keys < 1 || keys > 1000:
		return nil, fmt.Errorf("kafka: --key-count must be in 1..1000, not %d", keys)
	case writes < 1:
		return nil, fmt.Errorf("kafka: --max-writes-per-key must be at least 1, not %d", writes)
	case p.Concurrency < 1:
		return nil, fmt.Errorf("kafka: concurrency must be at least 1, not %d", p.Concurrency)
	case p.Rand == nil || p.Clock == nil:
		return nil, fmt.Errorf("kafka: the generator needs a random source and a clock")
	}
	g := &Generator{
		r: p.Rand, clock: p.Clock, next: map[int64]int64{}, maxWrites: int64(writes),
		scale:      (math.Pow(keyDistBase, float64(keys)) - 1) * keyDistBase / (keyDistBase - 1),
		crashEvery: CrashInterval / time.Duration(p.Concurrency),
		sent:       map[string]int64{}, polled: map[string]int64{}, maxOff: map[string]int64{},
	}
	for k := 0; k < keys; k++ {
		g.active = append(g.active, int64(k))
	}
	g.nextCrash = p.Clock()
	return g, nil
}

// randKey is Elle's exponentially biased pick of an active key slot.
func (g *Generator) randKey() int {
	i := int(math.Floor(math.Log(g.r.Float64()*g.scale+keyDistBase)/math.Log(keyDistBase) - 1))
	return min(max(i, 0), len(g.active)-1)
}

// Next returns the next op for thread; the main phase never runs out.
func (g *Generator) Next(int) (Op, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := g.clock(); now >= g.nextCrash {
		g.nextCrash = max(g.nextCrash, now) + g.stagger(g.crashEvery)
		return Op{F: FCrash}, true
	}
	for {
		read := g.r.IntN(2) == 0
		i := g.randKey()
		k := g.active[i]
		key := strconv.FormatInt(k, 10)
		v := g.next[k]
		if v == 0 {
			v = 1
		}
		if !read && v > g.maxWrites {
			// The key is spent: a fresh one takes its slot.
			g.active[i] = slices.Max(g.active) + 1
			continue
		}
		if g.r.Float64() < AssignP {
			// The op is dropped, its message not consumed.
			return Op{F: FAssign, Value: g.assignKeys(key)}, true
		}
		if read {
			return Op{F: FPoll, Value: []any{[]any{history.Keyword("poll")}}}, true
		}
		g.next[k] = v + 1
		return Op{F: FSend, Value: []any{[]any{history.Keyword("send"), key, v}}}, true
	}
}

// assignKeys is the value of an assign of key: a third of the time also
// every key with sent messages no poll has returned yet.
func (g *Generator) assignKeys(key string) []any {
	keys := []any{key}
	if g.r.Float64() < 1.0/3 && len(g.sent) > 0 {
		for _, k := range sortedNumeric(g.sent) {
			if k != key {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// stagger is a uniformly random pause in [0, 2·mean).
func (g *Generator) stagger(mean time.Duration) time.Duration {
	if mean <= 0 {
		return 0
	}
	return time.Duration(g.r.Int64N(int64(2 * mean)))
}

// Update tells the generator how op completed: :ok sends and polls move
// the offsets that assigns catch up on and that the final phase polls to.
func (g *Generator) Update(op Op, out Outcome) {
	if out.Type != history.OK {
		return
	}
	p := parse(&history.Op{Type: history.OK, F: op.F, Value: out.Value})
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, o := range maxOffsets(p) {
		if old, ok := g.maxOff[k]; !ok || o > old {
			g.maxOff[k] = o
		}
	}
	for _, w := range p.writes {
		for _, x := range w.pairs {
			if old, ok := g.sent[w.key]; x.hasOffset && (!ok || x.offset > old) {
				g.sent[w.key] = x.offset
			}
		}
	}
	for _, r := range p.reads {
		m := int64(-1)
		for _, x := range r.pairs {
			if x.hasOffset && x.offset > m {
				m = x.offset
			}
		}
		if old, ok := g.polled[r.key]; !ok || m > old {
			g.polled[r.key] = m
		}
	}
	touched := map[string]bool{}
	for _, w := range p.writes {
		touched[w.key] = true
	}
	for _, r := range p.reads {
		touched[r.key] = true
	}
	for k := range touched {
		sent, ok := g.sent[k]
		if !ok {
			sent = -1
		}
		polled, ok := g.polled[k]
		if !ok {
			polled = -1
		}
		if polled >= sent {
			delete(g.sent, k)
			delete(g.polled, k)
		}
	}
}

// Targets returns the highest offset of each key that any :ok op of the
// main phase saw: what the final phase polls up to.
func (g *Generator) Targets() map[string]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int64, len(g.maxOff))
	for k, o := range g.maxOff {
		out[k] = o
	}
	return out
}

// sortedNumeric returns keys in numeric order (decimal strings), others
// after them in text order.
func sortedNumeric[V any](m map[string]V) []string {
	ks := sortedKeys(m)
	sort.SliceStable(ks, func(i, j int) bool {
		a, errA := strconv.ParseInt(ks[i], 10, 64)
		b, errB := strconv.ParseInt(ks[j], 10, 64)
		switch {
		case errA == nil && errB == nil:
			return a < b
		case (errA == nil) != (errB == nil):
			return errA == nil
		}
		return ks[i] < ks[j]
	})
	return ks
}

// Final is the final phase for every thread: crash the client, assign every
// key the main phase saw with seek-to-beginning, then poll, at random
// intervals averaging 0.2 s, until its polls have reached each key's
// target offset or the phase's 10 s are up. A thread whose targets are all
// reached gets no more ops.
type Final struct {
	mu      sync.Mutex
	r       *rand.Rand
	clock   func() time.Duration
	targets map[string]int64
	keys    []any
	start   time.Duration
	started bool
	threads map[int]*finalThread
}

type finalThread struct {
	step     int              // 0: crash, 1: assign, 2: polls
	waiting  map[string]int64 // targets not reached yet
	nextPoll time.Duration
}

// NewFinal builds the final phase from the main phase's targets.
func NewFinal(targets map[string]int64, r *rand.Rand, clock func() time.Duration) *Final {
	f := &Final{r: r, clock: clock, targets: targets, threads: map[int]*finalThread{}}
	for _, k := range sortedNumeric(targets) {
		f.keys = append(f.keys, k)
	}
	return f
}

// Next returns thread's next op and how long to wait before invoking it,
// or false when the thread is done.
func (f *Final) Next(thread int) (Op, time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock()
	if !f.started {
		f.start, f.started = now, true
	}
	t := f.threads[thread]
	if t == nil {
		t = &finalThread{waiting: map[string]int64{}}
		for k, o := range f.targets {
			t.waiting[k] = o
		}
		f.threads[thread] = t
	}
	if len(t.waiting) == 0 || now-f.start >= FinalLimit {
		return Op{}, 0, false
	}
	switch t.step {
	case 0:
		t.step = 1
		return Op{F: FCrash}, 0, true
	case 1:
		t.step = 2
		t.nextPoll = now
		return Op{F: FAssign, Value: append([]any(nil), f.keys...), Final: true}, 0, true
	}
	wait := max(t.nextPoll-now, 0)
	if now+wait-f.start >= FinalLimit {
		return Op{}, 0, false
	}
	t.nextPoll = max(t.nextPoll, now) + time.Duration(f.r.Int64N(int64(2*FinalPollInterval)))
	return Op{F: FPoll, Value: []any{[]any{history.Keyword("poll")}}}, wait, true
}

// Update tells the final phase how thread's op completed: an :ok poll
// crosses off each key it read at or past its target.
func (f *Final) Update(thread int, op Op, out Outcome) {
	if out.Type != history.OK || op.F != FPoll {
		return
	}
	p := parse(&history.Op{Type: history.OK, F: op.F, Value: out.Value})
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.threads[thread]
	if t == nil {
		return
	}
	for k, o := range maxOffsets(p) {
		if target, ok := t.waiting[k]; ok && target <= o {
			delete(t.waiting, k)
		}
	}
}
