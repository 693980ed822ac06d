package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
	"maelkit/tests/eddy/netsim"
)

// GrudgeValue is the grudge as Jepsen records it: a map from each node (an
// EDN string key) to the set of nodes it drops, here a sorted vector of
// strings. Keys are sorted; nodes that drop nothing keep an empty vector.
func GrudgeValue(g netsim.Grudge) *history.Map {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m := history.NewMap()
	m.String = true
	for _, k := range keys {
		srcs := slices.Clone(g[k])
		slices.Sort(srcs)
		vals := make([]any, len(srcs))
		for i, s := range srcs {
			vals[i] = s
		}
		m.Set(k, vals)
	}
	return m
}

// StartInvoke is the history invocation of a start-partition op: Jepsen's
// generator emits {:type :info, :f :start-partition, :value :<shape>}.
// Index and Time are left for the recorder.
func StartInvoke(shape Shape) history.Op {
	return history.Op{Type: history.Info, Process: history.Nemesis, F: FStart, Value: history.Keyword(shape)}
}

// StartComplete is the completion of a start-partition op: Jepsen's
// partitioner answers [:isolated grudge].
func StartComplete(g netsim.Grudge) history.Op {
	return history.Op{Type: history.Info, Process: history.Nemesis, F: FStart,
		Value: []any{history.Keyword("isolated"), GrudgeValue(g)}}
}

// StopInvoke is the invocation of a stop-partition op (value nil).
func StopInvoke() history.Op {
	return history.Op{Type: history.Info, Process: history.Nemesis, F: FStop}
}

// StopComplete is the completion of a stop-partition op: :network-healed.
func StopComplete() history.Op {
	return history.Op{Type: history.Info, Process: history.Nemesis, F: FStop, Value: history.Keyword("network-healed")}
}

// Config configures a Nemesis.
type Config struct {
	Net   *netsim.Net
	Nodes []string // server nodes, in test order
	// Rand drives every choice: shapes, grudges and delays. Required.
	Rand *rand.Rand
	// Interval is the mean gap between nemesis ops (--nemesis-interval);
	// zero means DefaultInterval.
	Interval time.Duration
	// Shapes restricts the shapes Random draws from; nil means all four,
	// Maelstrom's only behaviour.
	Shapes []Shape
	// Record receives each op as it happens (invocation, then completion),
	// with Type, Process, F and Value set; the recorder stamps Index and
	// Time. It is called from the goroutine performing the op.
	Record func(history.Op)
}

// Nemesis partitions a network and records what it does. Safe for
// concurrent use; ops are serialized.
type Nemesis struct {
	net      *netsim.Net
	nodes    []string
	interval time.Duration
	shapes   []Shape
	record   func(history.Op)

	mu sync.Mutex // serializes ops and guards r
	r  *rand.Rand
}

// New validates cfg.
func New(cfg Config) (*Nemesis, error) {
	if cfg.Net == nil || cfg.Rand == nil || cfg.Record == nil {
		return nil, errors.New("nemesis: Net, Rand and Record are required")
	}
	if err := checkNodes(cfg.Nodes); err != nil {
		return nil, err
	}
	for _, n := range cfg.Nodes {
		if journal.IsClient(n) {
			return nil, fmt.Errorf("nemesis: node %q looks like a client id", n)
		}
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("nemesis: negative interval %v", cfg.Interval)
	}
	interval := cfg.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	shapes := Shapes()
	if cfg.Shapes != nil {
		if len(cfg.Shapes) == 0 {
			return nil, errors.New("nemesis: empty shape list")
		}
		for _, s := range cfg.Shapes {
			if _, err := ParseShape(string(s)); err != nil {
				return nil, err
			}
		}
		shapes = slices.Clone(cfg.Shapes)
	}
	return &Nemesis{
		net:      cfg.Net,
		nodes:    slices.Clone(cfg.Nodes),
		interval: interval,
		shapes:   shapes,
		record:   cfg.Record,
		r:        cfg.Rand,
	}, nil
}

// StartPartition picks a shape, builds its grudge, applies it and records
// the op. It replaces any partition in force (Maelstrom never overlaps them:
// the schedule alternates).
func (n *Nemesis) StartPartition() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	shape := n.shapes[n.r.IntN(len(n.shapes))]
	n.record(StartInvoke(shape))
	g, err := Grudge(shape, n.nodes, n.r)
	if err != nil {
		return err
	}
	if err := n.net.SetGrudge(g); err != nil {
		return err
	}
	n.record(StartComplete(g))
	return nil
}

// StopPartition heals the network and records the op. The final phase calls
// it once whatever the state, as Jepsen's final generator does.
func (n *Nemesis) StopPartition() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.record(StopInvoke())
	n.net.Heal()
	n.record(StopComplete())
}

// Run performs the schedule (start at once, then alternate after staggered
// delays) until ctx ends, the end of the main phase. A partition in force
// then stays until StopPartition. It returns nil when ctx ends.
func (n *Nemesis) Run(ctx context.Context) error {
	n.mu.Lock()
	sched, err := NewSchedule(n.interval, n.r)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	for {
		n.mu.Lock()
		step := sched.Next()
		n.mu.Unlock()
		if step.Delay > 0 {
			t := time.NewTimer(step.Delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if step.F == FStart {
			if err := n.StartPartition(); err != nil {
				return err
			}
		} else {
			n.StopPartition()
		}
	}
}
