package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/topology"
)

// Op is an operation a generator hands to a worker thread.
type Op struct {
	F     string
	Value any
	Final bool
}

// Generator produces the main phase's operations. Next is called by one
// scheduler goroutine, never concurrently, with the free thread that will
// run the op; false means that thread gets no more ops.
type Generator interface {
	Next(thread int) (Op, bool)
}

// FinalGen is a workload's final phase, shared by the worker threads. Each
// thread, independently of the others, asks Next for its next op and how
// long to wait before invoking it, runs it, and reports its completion to
// Update, until Next says the thread has no more ops. Both are called from
// the threads' goroutines concurrently.
type FinalGen interface {
	Next(thread int) (op Op, wait time.Duration, more bool)
	Update(thread int, op Op, out Outcome)
}

// once is the final phase of the workloads that run one op on every thread
// (Maelstrom's (gen/each-thread op)).
func once(op Op) func() FinalGen {
	return func() FinalGen { return &onceGen{op: op, done: map[int]bool{}} }
}

type onceGen struct {
	op   Op
	mu   sync.Mutex
	done map[int]bool
}

func (g *onceGen) Next(thread int) (Op, time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done[thread] {
		return Op{}, 0, false
	}
	g.done[thread] = true
	return g.op, 0, true
}

func (g *onceGen) Update(int, Op, Outcome) {}

// Params are the test options a workload reads.
type Params struct {
	Nodes       []string
	Concurrency int
	Topology    string // broadcast only
	LatencyMs   int64
	Rand        *rand.Rand // the workload generator's own seeded stream

	// The txn workloads' options; zero means Maelstrom's default (10 keys,
	// transactions of 1 to 4 micro-ops, 16 writes per key,
	// strict-serializable).
	KeyCount          int
	MaxTxnLength      int
	MaxWritesPerKey   int
	ConsistencyModels []string
}

// Workload is one Maelstrom workload as eddy runs it.
type Workload struct {
	Name    string
	Mapping Mapping
	// Reusable clients keep their id after an :info op; others are closed
	// and a fresh client is opened on the thread's next op.
	Reusable bool
	// Final builds the final phase when it begins, after the heal and the
	// recovery wait; nil for workloads without one.
	Final   func() FinalGen
	Timeout time.Duration
	// Setup, when set, runs once per node on its setup client after every
	// node is initialised (broadcast's topology message). An error aborts.
	Setup     func(ctx context.Context, c *Client) error
	Generator Generator
	// Invoke performs op on c and says how it completed.
	Invoke func(ctx context.Context, c *Client, op Op) Outcome
	Check  func(h history.History, env CheckEnv) *history.Map
}

// CheckEnv is what a checker may use besides the history: the run folder,
// for artifacts such as independent/<key>/linear.html and elle/.
type CheckEnv struct {
	// WriteFile writes name (relative to the run folder); nil when there
	// is no run folder.
	WriteFile func(name string, data []byte) error
}

// historyOnly adapts a checker that needs nothing but the history.
func historyOnly(check func(h history.History) *history.Map) func(history.History, CheckEnv) *history.Map {
	return func(h history.History, _ CheckEnv) *history.Map { return check(h) }
}

// Names lists the workloads eddy runs, in Maelstrom's order.
var Names = []string{"echo", "unique-ids", "broadcast", "g-set", "g-counter", "pn-counter",
	"kafka", "lin-kv", "txn-list-append", "txn-rw-register"}

// Open registers a client participant bound to node, set up to call with
// this workload's timeout and error mapping.
func (w *Workload) Open(net Network, id, node string) (*Client, error) {
	c, err := NewClient(net, id, node)
	if err != nil {
		return nil, err
	}
	c.timeout, c.mapping = w.Timeout, w.Mapping
	return c, nil
}

// New builds the named workload.
func New(name string, p Params) (*Workload, error) {
	if p.Rand == nil {
		return nil, fmt.Errorf("workload %s: no random source", name)
	}
	switch name {
	case "echo":
		return echo(p), nil
	case "unique-ids":
		return uniqueIDs(p), nil
	case "broadcast":
		return broadcast(p)
	case "g-set":
		return gset(p), nil
	case "g-counter":
		return counter(p, false), nil
	case "pn-counter":
		return counter(p, true), nil
	case "lin-kv":
		return linKV(p)
	case "txn-list-append":
		return txnWorkload(p, elle.ListAppend)
	case "txn-rw-register":
		return txnWorkload(p, elle.RWRegister)
	case "kafka":
		return kafkaWorkload(p)
	}
	return nil, fmt.Errorf("unknown workload %q (eddy supports %v)", name, Names)
}

// genFunc adapts a function to Generator.
type genFunc func(thread int) (Op, bool)

func (g genFunc) Next(thread int) (Op, bool) { return g(thread) }

const defaultTimeout = 5 * time.Second

// --- echo -------------------------------------------------------------

type echoReq struct {
	Header
	Echo string `json:"echo"`
}

func echo(p Params) *Workload {
	r := p.Rand
	return &Workload{
		Name:    "echo",
		Mapping: Mapping{Maps: true},
		Timeout: defaultTimeout,
		Generator: genFunc(func(int) (Op, bool) {
			return Op{F: "echo", Value: fmt.Sprintf("Please echo %d", r.IntN(128))}, true
		}),
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			payload := op.Value.(string)
			return call(ctx, c, op, &echoReq{Header: Header{Type: "echo"}, Echo: payload},
				Schema{Type: "echo_ok", Fields: map[string]Kind{"echo": AnyValue}},
				func(_ map[string]json.RawMessage, raw json.RawMessage) (any, error) {
					return history.CanonicalJSON(raw)
				})
		},
		Check: historyOnly(checker.Echo),
	}
}

// --- unique-ids -------------------------------------------------------

func uniqueIDs(p Params) *Workload {
	return &Workload{
		Name:      "unique-ids",
		Mapping:   Mapping{Maps: true},
		Reusable:  true,
		Timeout:   defaultTimeout,
		Generator: genFunc(func(int) (Op, bool) { return Op{F: "generate"}, true }),
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			return call(ctx, c, op, &Header{Type: "generate"},
				Schema{Type: "generate_ok", Fields: map[string]Kind{"id": AnyValue}},
				func(f map[string]json.RawMessage, _ json.RawMessage) (any, error) {
					return history.CanonicalJSON(f["id"])
				})
		},
		Check: historyOnly(checker.UniqueIDs),
	}
}

// --- broadcast and g-set ----------------------------------------------

type broadcastReq struct {
	Header
	Message int64 `json:"message"`
}

type topologyReq struct {
	Header
	Topology map[string][]string `json:"topology"`
}

// setMix is the 50/50 mix of adds (unique values 0, 1, 2, …) and reads that
// broadcast and g-set share.
func setMix(r *rand.Rand, addF string) Generator {
	var next int64
	return genFunc(func(int) (Op, bool) {
		if r.IntN(2) == 0 {
			v := next
			next++
			return Op{F: addF, Value: v}, true
		}
		return Op{F: "read"}, true
	})
}

func broadcast(p Params) (*Workload, error) {
	name := p.Topology
	if name == "" {
		name = "grid"
	}
	topo, err := topology.Build(name, p.Nodes)
	if err != nil {
		return nil, err
	}
	return &Workload{
		Name:      "broadcast",
		Mapping:   Mapping{Maps: true, Idempotent: map[string]bool{"read": true}},
		Final:     once(Op{F: "read", Final: true}),
		Timeout:   defaultTimeout,
		Generator: setMix(p.Rand, "broadcast"),
		Setup: func(ctx context.Context, c *Client) error {
			raw, err := c.Call(ctx, &topologyReq{Header: Header{Type: "topology"}, Topology: topo}, defaultTimeout)
			if err != nil {
				return fmt.Errorf("topology for %s: %w", c.Node, err)
			}
			_, err = Decode(raw, Schema{Type: "topology_ok"})
			return err
		},
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			if op.F == "broadcast" {
				return call(ctx, c, op, &broadcastReq{Header: Header{Type: "broadcast"}, Message: op.Value.(int64)},
					Schema{Type: "broadcast_ok"}, keepValue(op))
			}
			return call(ctx, c, op, &Header{Type: "read"},
				Schema{Type: "read_ok", Fields: map[string]Kind{"messages": List}},
				func(f map[string]json.RawMessage, _ json.RawMessage) (any, error) { return elements(f["messages"]) })
		},
		Check: historyOnly(func(h history.History) *history.Map { return checker.SetFull(h, "broadcast") }),
	}, nil
}

type addElementReq struct {
	Header
	Element int64 `json:"element"`
}

func gset(p Params) *Workload {
	return &Workload{
		Name:      "g-set",
		Mapping:   Mapping{Maps: false},
		Final:     once(Op{F: "read"}),
		Timeout:   defaultTimeout,
		Generator: setMix(p.Rand, "add"),
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			if op.F == "add" {
				return call(ctx, c, op, &addElementReq{Header: Header{Type: "add"}, Element: op.Value.(int64)},
					Schema{Type: "add_ok"}, keepValue(op))
			}
			return call(ctx, c, op, &Header{Type: "read"},
				Schema{Type: "read_ok", Fields: map[string]Kind{"value": List}},
				func(f map[string]json.RawMessage, _ json.RawMessage) (any, error) { return elements(f["value"]) })
		},
		Check: historyOnly(func(h history.History) *history.Map { return checker.SetFull(h, "add") }),
	}
}

// --- g-counter and pn-counter -----------------------------------------

type addDeltaReq struct {
	Header
	Delta int64 `json:"delta"`
}

func counter(p Params, negative bool) *Workload {
	r := p.Rand
	name := "g-counter"
	if negative {
		name = "pn-counter"
	}
	return &Workload{
		Name:    name,
		Mapping: Mapping{Maps: false},
		Final:   once(Op{F: "read", Final: true}),
		Timeout: defaultTimeout,
		// The pn-counter stream (50/50 add of a delta in [-5, 4] and read);
		// g-counter drops the negative adds from it, as Maelstrom does, so
		// about a third of its ops are adds of 0..4.
		Generator: genFunc(func(int) (Op, bool) {
			for {
				if r.IntN(2) == 0 {
					return Op{F: "read"}, true
				}
				d := int64(r.IntN(10)) - 5
				if d >= 0 || negative {
					return Op{F: "add", Value: d}, true
				}
			}
		}),
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			if op.F == "add" {
				return call(ctx, c, op, &addDeltaReq{Header: Header{Type: "add"}, Delta: op.Value.(int64)},
					Schema{Type: "add_ok"}, keepValue(op))
			}
			return call(ctx, c, op, &Header{Type: "read"},
				Schema{Type: "read_ok", Fields: map[string]Kind{"value": Int}},
				func(f map[string]json.RawMessage, _ json.RawMessage) (any, error) {
					n, _ := parseInt(f["value"])
					return n, nil
				})
		},
		Check: historyOnly(checker.Counter),
	}
}

// --- shared -----------------------------------------------------------

// call sends req, decodes the reply against s and turns it into an outcome;
// okValue computes the :ok completion's value from the reply's fields.
func call(ctx context.Context, c *Client, op Op, req Request, s Schema, okValue func(map[string]json.RawMessage, json.RawMessage) (any, error)) Outcome {
	raw, err := c.Call(ctx, req, c.timeout)
	if err == nil {
		var fields map[string]json.RawMessage
		if fields, err = Decode(raw, s); err == nil {
			var v any
			if v, err = okValue(fields, raw); err == nil {
				return Outcome{Type: history.OK, Value: v}
			}
			err = &MalformedError{Reason: err.Error()}
		}
	}
	return c.mapping.Failed(op.F, op.Value, err)
}

// keepValue completes an op with its invocation value (adds and broadcasts).
func keepValue(op Op) func(map[string]json.RawMessage, json.RawMessage) (any, error) {
	return func(map[string]json.RawMessage, json.RawMessage) (any, error) { return op.Value, nil }
}
