package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/linear"
)

// --- lin-kv -----------------------------------------------------------

type kvReadReq struct {
	Header
	Key int64 `json:"key"`
}

type kvWriteReq struct {
	Header
	Key   int64 `json:"key"`
	Value int64 `json:"value"`
}

type kvCASReq struct {
	Header
	Key  int64 `json:"key"`
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// linKVProcessLimit is Jepsen's process-limit on each key: a key's
// generator ends once this many distinct processes have touched it.
const linKVProcessLimit = 20

// linKV is Maelstrom's lin-kv workload: a compare-and-set register per key,
// Jepsen's independent concurrent generator, Knossos's checker (here
// porcupine, see package linear).
func linKV(p Params) (*Workload, error) {
	n := len(p.Nodes)
	if n == 0 {
		return nil, fmt.Errorf("lin-kv: no nodes")
	}
	if p.Concurrency <= 0 || p.Concurrency%(2*n) != 0 {
		return nil, fmt.Errorf("lin-kv needs --concurrency to be a positive multiple of 2 × the node count (2 × %d = %d), e.g. 2n or 4n; got %d",
			n, 2*n, p.Concurrency)
	}
	timeout := max(time.Duration(10*p.LatencyMs)*time.Millisecond, time.Second)
	g := newLinKVGen(p.Rand, n, p.Concurrency)
	return &Workload{
		Name:      "lin-kv",
		Mapping:   Mapping{Maps: true, Idempotent: map[string]bool{"read": true}},
		Reusable:  true,
		Timeout:   timeout,
		Generator: g,
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			out := invokeLinKV(ctx, c, op)
			g.completed(op, out.Type)
			return out
		},
		Check: func(h history.History, env CheckEnv) *history.Map {
			return linear.Check(h, linear.Options{WriteFile: env.WriteFile})
		},
	}, nil
}

func invokeLinKV(ctx context.Context, c *Client, op Op) Outcome {
	tuple := op.Value.([]any)
	key := tuple[0].(int64)
	switch op.F {
	case "read":
		return call(ctx, c, op, &kvReadReq{Header: Header{Type: "read"}, Key: key},
			Schema{Type: "read_ok", Fields: map[string]Kind{"value": AnyValue}},
			func(f map[string]json.RawMessage, _ json.RawMessage) (any, error) {
				v, err := registerValue(f["value"])
				return []any{key, v}, err
			})
	case "write":
		return call(ctx, c, op, &kvWriteReq{Header: Header{Type: "write"}, Key: key, Value: tuple[1].(int64)},
			Schema{Type: "write_ok"}, keepValue(op))
	}
	ft := tuple[1].([]any)
	return call(ctx, c, op, &kvCASReq{Header: Header{Type: "cas"}, Key: key, From: ft[0].(int64), To: ft[1].(int64)},
		Schema{Type: "cas_ok"}, keepValue(op))
}

// registerValue is a read value as history holds it: nil for null, int64
// for an integer, canonical JSON for anything else.
func registerValue(raw json.RawMessage) (any, error) {
	v, err := value(raw)
	if v == history.JSON("null") {
		return nil, err
	}
	return v, err
}

// linKVGen is Jepsen's independent/concurrent-generator as Maelstrom's
// lin-kv uses it: threads form groups of 2N; each group works on one key at
// a time, its first N threads reading and the other N writing (1/3) or
// cas-ing (2/3) values in 0..4; a key's generator ends once more than 20
// distinct processes have touched it (a thread's process changes after an
// :info), and the group moves on to the next unused key.
//
// The generator must know each thread's process, which the runner bumps
// after an :info completion. Invoke reports completions back through
// completed, matched to the thread by the identity of the op's value.
type linKVGen struct {
	mu      sync.Mutex
	r       *rand.Rand
	n, conc int
	limit   int
	nextKey int64
	groups  []linKVGroup
	procs   []int64      // each thread's current process
	pending map[*any]int // the op in flight -> its thread
}

type linKVGroup struct {
	key  int64
	seen map[int64]bool // processes that touched key
}

func newLinKVGen(r *rand.Rand, n, conc int) *linKVGen {
	g := &linKVGen{r: r, n: n, conc: conc, procs: make([]int64, conc), pending: map[*any]int{},
		// With more than 20 threads in a group Jepsen's process limit would
		// exhaust every key at once and hang; eddy lets each key run until
		// its first process change instead.
		limit: max(linKVProcessLimit, 2*n)}
	for i := range g.procs {
		g.procs[i] = int64(i)
	}
	for i := 0; i < conc/(2*n); i++ {
		g.groups = append(g.groups, g.freshGroup())
	}
	return g
}

// freshGroup takes the next key, its process set starting empty.
func (g *linKVGen) freshGroup() linKVGroup {
	k := g.nextKey
	g.nextKey++
	return linKVGroup{key: k, seen: map[int64]bool{}}
}

func (g *linKVGen) Next(thread int) (Op, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if thread < 0 || thread >= g.conc {
		return Op{}, false
	}
	size := 2 * g.n
	gi := thread / size
	for tries := 0; ; tries++ {
		grp := &g.groups[gi]
		for t := gi * size; t < (gi+1)*size; t++ {
			grp.seen[g.procs[t]] = true
		}
		if len(grp.seen) <= g.limit || tries > 0 {
			break
		}
		*grp = g.freshGroup()
	}
	key := g.groups[gi].key
	var v []any
	var f string
	switch {
	case thread%size < g.n:
		f, v = "read", []any{key, nil}
	case g.r.IntN(3) == 0:
		f, v = "write", []any{key, g.r.Int64N(5)}
	default:
		f, v = "cas", []any{key, []any{g.r.Int64N(5), g.r.Int64N(5)}}
	}
	g.pending[&v[0]] = thread
	return Op{F: f, Value: v}, true
}

// completed learns how an op ended: after :info its thread has a new
// process.
func (g *linKVGen) completed(op Op, t history.Type) {
	v, ok := op.Value.([]any)
	if !ok || len(v) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	thread, ok := g.pending[&v[0]]
	if !ok {
		return
	}
	delete(g.pending, &v[0])
	if t == history.Info {
		g.procs[thread] += int64(g.conc)
	}
}
