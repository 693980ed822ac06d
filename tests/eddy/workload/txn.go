package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/history"
)

// --- txn-list-append and txn-rw-register ------------------------------

// Maelstrom's defaults for the txn workloads.
const (
	defaultKeyCount        = 10
	defaultMaxTxnLength    = 4
	defaultMaxWritesPerKey = 16
)

// microOp is one [f, k, v] of a txn request; V is nil for reads.
type microOp struct {
	F string
	K int64
	V *int64
}

// MarshalJSON writes the micro-op as Maelstrom's three-element array.
func (m microOp) MarshalJSON() ([]byte, error) {
	return json.Marshal([3]any{m.F, m.K, m.V})
}

type txnReq struct {
	Header
	Txn []microOp `json:"txn"`
}

// txnWorkload is txn-list-append (kind ListAppend) or txn-rw-register.
func txnWorkload(p Params, kind elle.Kind) (*Workload, error) {
	name, write := "txn-list-append", "append"
	if kind == elle.RWRegister {
		name, write = "txn-rw-register", "w"
	}
	keys, length, writes := p.KeyCount, p.MaxTxnLength, p.MaxWritesPerKey
	if keys == 0 {
		keys = defaultKeyCount
	}
	if length == 0 {
		length = defaultMaxTxnLength
	}
	if writes == 0 {
		writes = defaultMaxWritesPerKey
	}
	switch {
	case keys < 1 || keys > 1000:
		return nil, fmt.Errorf("%s: --key-count must be in 1..1000, not %d", name, keys)
	case length < 1:
		return nil, fmt.Errorf("%s: --max-txn-length must be at least 1, not %d", name, length)
	case writes < 1:
		return nil, fmt.Errorf("%s: --max-writes-per-key must be at least 1, not %d", name, writes)
	}
	models := p.ConsistencyModels
	for _, m := range models {
		if !elle.KnownModel(m) {
			return nil, fmt.Errorf("%s: unknown consistency model %q", name, m)
		}
	}
	gen := newTxnGen(p.Rand, keys, length, int64(writes), write)
	return &Workload{
		Name:      name,
		Mapping:   Mapping{Maps: true},
		Reusable:  true,
		Timeout:   defaultTimeout,
		Generator: gen,
		Invoke: func(ctx context.Context, c *Client, op Op) Outcome {
			return invokeTxn(ctx, c, op, kind, write)
		},
		Check: func(h history.History, env CheckEnv) *history.Map {
			return elle.Check(h, elle.Options{Kind: kind, Models: models, WriteFile: env.WriteFile})
		},
	}, nil
}

func invokeTxn(ctx context.Context, c *Client, op Op, kind elle.Kind, write string) Outcome {
	mops := op.Value.([]any)
	req := &txnReq{Header: Header{Type: "txn"}, Txn: make([]microOp, len(mops))}
	for i, m := range mops {
		t := m.([]any)
		req.Txn[i] = microOp{F: string(t[0].(history.Keyword)), K: t[1].(int64)}
		if v, ok := t[2].(int64); ok {
			req.Txn[i].V = &v
		}
	}
	return call(ctx, c, op, req, Schema{Type: "txn_ok", Fields: map[string]Kind{"txn": List}},
		func(f map[string]json.RawMessage, _ json.RawMessage) (any, error) {
			return completedTxn(req.Txn, f["txn"], kind, write)
		})
}

// completedTxn checks a txn_ok's micro-ops against the request, as
// Maelstrom's schema does (f is "r" or the workload's write, reads return
// a list or null for list-append) and, beyond it, that the node answered
// this very transaction: same length, same functions and keys, writes
// echoed unchanged. It returns the completed transaction as history holds
// it.
func completedTxn(req []microOp, raw json.RawMessage, kind elle.Kind, write string) (any, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("txn is not a list: %s", truncate(raw))
	}
	if len(items) != len(req) {
		return nil, fmt.Errorf("txn has %d micro-ops, the request had %d", len(items), len(req))
	}
	out := make([]any, len(items))
	for i, it := range items {
		var parts []json.RawMessage
		if err := json.Unmarshal(it, &parts); err != nil || len(parts) != 3 {
			return nil, fmt.Errorf("micro-op %s is not [f, k, v]", truncate(it))
		}
		var f string
		if err := json.Unmarshal(parts[0], &f); err != nil || (f != "r" && f != write) {
			return nil, fmt.Errorf("micro-op %s: f must be \"r\" or %q", truncate(it), write)
		}
		k, ok := history.ParseInt(parts[1])
		if !ok || f != req[i].F || k != req[i].K {
			return nil, fmt.Errorf("micro-op %s does not answer [%q, %d, ...]", truncate(it), req[i].F, req[i].K)
		}
		var v any
		switch {
		case f == write:
			n, ok := history.ParseInt(parts[2])
			if !ok || req[i].V == nil || n != *req[i].V {
				return nil, fmt.Errorf("micro-op %s does not echo the written value", truncate(it))
			}
			v = n
		case isNull(parts[2]):
			v = nil
		case kind == elle.ListAppend:
			elems, err := elements(parts[2])
			if err != nil {
				return nil, fmt.Errorf("micro-op %s: a read must return a list or null", truncate(it))
			}
			v = elems
		default:
			var err error
			if v, err = value(parts[2]); err != nil {
				return nil, err
			}
		}
		out[i] = []any{history.Keyword(f), k, v}
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool {
	var v any
	return json.Unmarshal(raw, &v) == nil && v == nil
}

// txnGen is Elle's wr-txns generator as Maelstrom configures it: a pool of
// keyCount active keys, picked with an exponential bias (base 2: the last
// slot about half the time); transactions of 1..maxLen micro-ops, each a
// read or a write with probability 1/2; written values per key 1, 2, 3...;
// once a key's next value would exceed maxWrites it is replaced in the pool
// by a fresh key, one more than the largest active key.
type txnGen struct {
	r         *rand.Rand
	active    []int64
	next      map[int64]int64 // key -> next value to write (absent: 1)
	maxLen    int
	maxWrites int64
	write     string
	scale     float64
}

const keyDistBase = 2.0

func newTxnGen(r *rand.Rand, keys, maxLen int, maxWrites int64, write string) *txnGen {
	g := &txnGen{r: r, next: map[int64]int64{}, maxLen: maxLen, maxWrites: maxWrites, write: write,
		scale: (math.Pow(keyDistBase, float64(keys)) - 1) * keyDistBase / (keyDistBase - 1)}
	for k := 0; k < keys; k++ {
		g.active = append(g.active, int64(k))
	}
	return g
}

// randKey is Elle's rand-key for the exponential distribution.
func (g *txnGen) randKey() int {
	i := int(math.Floor(math.Log(g.r.Float64()*g.scale+keyDistBase)/math.Log(keyDistBase) - 1))
	return min(max(i, 0), len(g.active)-1)
}

func (g *txnGen) Next(int) (Op, bool) {
	n := 1 + g.r.IntN(g.maxLen)
	txn := make([]any, 0, n)
	for len(txn) < n {
		read := g.r.IntN(2) == 0
		i := g.randKey()
		k := g.active[i]
		if read {
			txn = append(txn, []any{history.Keyword("r"), k, nil})
			continue
		}
		v := g.next[k]
		if v == 0 {
			v = 1
		}
		if v > g.maxWrites {
			g.active[i] = slices.Max(g.active) + 1
			continue
		}
		g.next[k] = v + 1
		txn = append(txn, []any{history.Keyword(g.write), k, v})
	}
	return Op{F: "txn", Value: txn}, true
}
