package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
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

// NodeInvoke is the invocation of a :kill, :start, :pause or :resume op:
// its value is the node spec (nil for a random subset, else a keyword).
func NodeInvoke(f string, t Target) history.Op {
	return history.Op{Type: history.Info, Process: history.Nemesis, F: f, Value: t.Value()}
}

// NodeComplete is the completion of a node op: as jepsen.nemesis.combined's
// db-nemesis, the value becomes a map from each node acted on to what the
// DB answered for it (a keyword). Keys are sorted.
func NodeComplete(f string, results map[string]history.Keyword) history.Op {
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m := history.NewMap()
	m.String = true
	for _, k := range keys {
		m.Set(k, results[k])
	}
	return history.Op{Type: history.Info, Process: history.Nemesis, F: f, Value: m}
}

// PacketValue is the value of a start-packet op, in the shape of Jepsen's
// packet nemesis: [:all {:loss {:percent :10%}, :duplicate {...}}], with
// only the behaviours in force.
func PacketValue(loss, duplicate float64) []any {
	b := history.NewMap()
	pct := func(rate float64) *history.Map {
		return history.NewMap().Set("percent", history.Keyword(strconv.FormatFloat(rate*100, 'f', -1, 64)+"%"))
	}
	if loss > 0 {
		b.Set("loss", pct(loss))
	}
	if duplicate > 0 {
		b.Set("duplicate", pct(duplicate))
	}
	return []any{history.Keyword(AllNodes), b}
}

// DB acts on one node's process, as Jepsen's db/Kill and db/Pause
// protocols. Each method answers what the node's state now is, as a
// keyword for the history. Every method must be idempotent: start and
// resume go to all nodes, killed or not.
type DB interface {
	Kill(node string) history.Keyword
	Start(node string) history.Keyword
	Pause(node string) history.Keyword
	Resume(node string) history.Keyword
}

// Config configures a Nemesis.
type Config struct {
	Net   *netsim.Net
	Nodes []string // server nodes, in test order
	// Rand drives every choice: the schedule, shapes, grudges and targets.
	// Required.
	Rand *rand.Rand
	// Interval is the mean gap between one package's ops
	// (--nemesis-interval); zero means DefaultInterval.
	Interval time.Duration
	// Shapes restricts the shapes drawn; nil means Maelstrom's four.
	Shapes []Shape
	// Faults are the faults injected. The zero value injects partitions
	// only, the one fault Maelstrom had before kill and pause.
	Faults Faults
	// DB performs kills, restarts, pauses and resumes; required when
	// Faults has Kill or Pause.
	DB DB
	// LossRate and DuplicateRate are the packet faults' rates in [0, 1],
	// used when Faults has Loss or Duplicate.
	LossRate, DuplicateRate float64
	// Record receives each op as it happens (invocation, then completion),
	// with Type, Process, F and Value set; the recorder stamps Index and
	// Time. It is called from the goroutine performing the op.
	Record func(history.Op)
}

// Nemesis injects faults and records what it does. Safe for concurrent
// use; ops are serialized, as Jepsen's single nemesis process performs
// them.
type Nemesis struct {
	net      *netsim.Net
	nodes    []string
	interval time.Duration
	shapes   []Shape
	faults   Faults
	db       DB
	loss     float64
	dup      float64
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
	faults := cfg.Faults
	if !faults.Any() {
		faults.Partition = true
	}
	if (faults.Kill || faults.Pause) && cfg.DB == nil {
		return nil, errors.New("nemesis: kill and pause need a DB")
	}
	for _, rate := range []float64{cfg.LossRate, cfg.DuplicateRate} {
		if !(rate >= 0 && rate <= 1) {
			return nil, fmt.Errorf("nemesis: rate %v is not in [0, 1]", rate)
		}
	}
	var shapes []Shape
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
		faults:   faults,
		db:       cfg.DB,
		loss:     cfg.LossRate,
		dup:      cfg.DuplicateRate,
		record:   cfg.Record,
		r:        cfg.Rand,
	}, nil
}

// StartPartition picks a shape, builds its grudge, applies it and records
// the op. It replaces any partition in force (the schedule alternates, so
// partitions never overlap).
func (n *Nemesis) StartPartition() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	shapes := n.shapes
	if shapes == nil {
		shapes = Shapes()
	}
	return n.startPartition(shapes[n.r.IntN(len(shapes))])
}

func (n *Nemesis) startPartition(shape Shape) error {
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

// StopPartition heals the network and records the op.
func (n *Nemesis) StopPartition() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopPartition()
}

func (n *Nemesis) stopPartition() {
	n.record(StopInvoke())
	n.net.Heal()
	n.record(StopComplete())
}

// nodeOp draws the nodes of t and applies f to each, in parallel as
// Jepsen's on-nodes does, recording the invocation and the per-node
// results.
func (n *Nemesis) nodeOp(f string, t Target) error {
	n.record(NodeInvoke(f, t))
	nodes, err := t.Nodes(n.nodes, n.r)
	if err != nil {
		return err
	}
	act := map[string]func(string) history.Keyword{
		FKill: n.db.Kill, FStartNode: n.db.Start, FPause: n.db.Pause, FResume: n.db.Resume,
	}[f]
	results := make([]history.Keyword, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = act(node)
		}()
	}
	wg.Wait()
	m := make(map[string]history.Keyword, len(nodes))
	for i, node := range nodes {
		m[node] = results[i]
	}
	n.record(NodeComplete(f, m))
	return nil
}

func (n *Nemesis) startPacket() {
	v := PacketValue(n.lossRate(), n.dupRate())
	n.record(history.Op{Type: history.Info, Process: history.Nemesis, F: FStartPacket, Value: v})
	n.net.SetPacketFaults(n.lossRate(), n.dupRate())
	n.record(history.Op{Type: history.Info, Process: history.Nemesis, F: FStartPacket, Value: v})
}

func (n *Nemesis) stopPacket() {
	n.record(history.Op{Type: history.Info, Process: history.Nemesis, F: FStopPacket})
	n.net.SetPacketFaults(0, 0)
	n.record(history.Op{Type: history.Info, Process: history.Nemesis, F: FStopPacket, Value: history.Keyword("network-healed")})
}

func (n *Nemesis) lossRate() float64 {
	if n.faults.Loss {
		return n.loss
	}
	return 0
}

func (n *Nemesis) dupRate() float64 {
	if n.faults.Duplicate {
		return n.dup
	}
	return 0
}

// perform carries out one step. Caller holds mu.
func (n *Nemesis) perform(s Step) error {
	switch s.F {
	case FStart:
		return n.startPartition(s.Shape)
	case FStop:
		n.stopPartition()
	case FKill, FStartNode, FPause, FResume:
		return n.nodeOp(s.F, s.Target)
	case FStartPacket:
		n.startPacket()
	case FStopPacket:
		n.stopPacket()
	default:
		return fmt.Errorf("nemesis: unknown op %q", s.F)
	}
	return nil
}

// Run performs the schedule until ctx ends, the end of the main phase:
// each op goes out when the schedule says, and the next is drawn once it
// is done. Faults in force then stay until Final. It returns nil when ctx
// ends.
func (n *Nemesis) Run(ctx context.Context) error {
	n.mu.Lock()
	sched, err := NewSchedule(n.faults, n.interval, n.shapes, n.r)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	t0 := time.Now()
	for {
		n.mu.Lock()
		step := sched.Next(time.Since(t0))
		n.mu.Unlock()
		if wait := time.Until(t0.Add(step.At)); wait > 0 {
			t := time.NewTimer(wait)
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
		n.mu.Lock()
		err := n.perform(step)
		n.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Final heals everything, in the order of Jepsen's final generators: the
// network, then every node resumed and restarted, then the packet faults.
// The final phase calls it once whatever the state.
func (n *Nemesis) Final() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range Final(n.faults) {
		if err := n.perform(s); err != nil {
			return err
		}
	}
	return nil
}
