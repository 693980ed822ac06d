// Package linear is eddy's linearizability checker for the lin-kv workload:
// Jepsen's independent checker around Knossos, rebuilt on porcupine
// (github.com/anishathalye/porcupine). The history is split by key (ops
// carry Jepsen's independent tuples [key value]); each key's subhistory is
// checked against a compare-and-set register that starts at nil, with
// Knossos's model: a write sets the value, a cas succeeds only from its
// expected value, and a read is legal if it returned nil or the current
// value. Failed operations never happened and are dropped; indeterminate
// (:info) writes and cas stay open to the end of the history, free to take
// effect at any point after their invocation or never.
//
// On a non-linearizable key the checker narrows the failure down to the
// shortest stretch of the history that is non-linearizable on its own and
// writes porcupine's visualization, annotated with the partitions and that
// stretch, to independent/<key>/linear.html. A check that runs out of time
// answers :unknown with the reason, never a silent pass.
//
// Beyond Knossos, the checker lists under :eddy-only the reads and cas
// operations that found a key missing after a write to it was
// acknowledged (forgotten-key): Maelstrom drops them as failed operations
// or accepts them as nil reads, so they never change :valid? unless the
// run is strict.
package linear

import (
	"bytes"
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

// Options configure a check.
type Options struct {
	// Timeout bounds porcupine's search on one key (default 60 s); past it
	// the key is :unknown.
	Timeout time.Duration
	// StretchBudget bounds the search for the shortest non-linearizable
	// stretch of a failing key (default 10 s); past it the shortest stretch
	// found so far is reported.
	StretchBudget time.Duration
	// WriteFile, when set, receives independent/<key>/linear.html, with a
	// name relative to the run folder.
	WriteFile func(name string, data []byte) error
}

// Register operations, as the model sees them.
const (
	fRead byte = iota
	fWrite
	fCAS
)

// unknownState is a register value nobody knows: the initial state of a
// stretch cut out of the middle of a history.
const unknownState = -1

// input is an operation's invocation: values are interned ids, 0 is nil.
type input struct {
	f    byte
	a, b int  // write value, or cas from and to
	info bool // indeterminate: may or may not have taken effect
}

// output is a read's result.
type output struct{ v int }

// keyOp is one operation on a key, with history indices as times.
type keyOp struct {
	in       input
	out      output
	call     int64
	ret      int64 // completion index; openEnd for indeterminate ops
	process  int64
	inv, cmp *history.Op // cmp nil when the op never completed
}

// keyHistory is one key's operations and its value table.
type keyHistory struct {
	key    int64
	ops    []keyOp
	values []string // id -> printed value; values[0] = "nil"
	ids    map[string]int
	infos  int
}

func (kh *keyHistory) intern(v any) int {
	var k string
	switch v.(type) {
	case nil:
		return 0
	case int64, int, string, bool, history.JSON, history.Keyword, []any:
		k = history.Key(v)
	default: // not a history value; compare it by its printed form
		k = fmt.Sprintf("%T:%v", v, v)
	}
	if id, ok := kh.ids[k]; ok {
		return id
	}
	kh.ids[k] = len(kh.values)
	kh.values = append(kh.values, k)
	return len(kh.values) - 1
}

// model is Knossos's cas-register over interned values, exact from a known
// state; from unknownState it keeps only what a step pins down.
//
// lib/regmodel, the nodes' tests' model, cannot stand in for it: there a
// read of an absent key must answer error 20 and a failed cas is checked
// as a definite :fail with code 22, where Knossos takes a nil read as legal
// anywhere and drops failed ops; its registers hold int64s, where Jepsen's
// values may be any EDN value; and it has no unknown state, which the
// shrinking of a failure to a stretch of history starts from.
func (kh *keyHistory) model() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return 0 },
		Step: func(state, in, out any) (bool, any) {
			s, i := state.(int), in.(input)
			switch i.f {
			case fRead:
				v := out.(output).v
				switch {
				case v == 0:
					return true, s // a nil read is legal anywhere (Knossos)
				case s == unknownState:
					return true, v
				}
				return v == s, s
			case fWrite:
				return true, i.a
			}
			// cas
			switch {
			case s == unknownState && i.info:
				return true, unknownState
			case s == unknownState, s == i.a:
				return true, i.b
			case i.info:
				return true, s // it failed: a cas that does not match changes nothing
			}
			return false, s
		},
		Equal: func(a, b any) bool { return a.(int) == b.(int) },
		Hash:  func(s any) uint64 { return uint64(s.(int) + 1) },
		DescribeOperation: func(in, out any) string {
			i := in.(input)
			tag := ""
			if i.info {
				tag = " (indeterminate)"
			}
			switch i.f {
			case fRead:
				return "read() → " + kh.describe(out.(output).v)
			case fWrite:
				return "write(" + kh.describe(i.a) + ")" + tag
			}
			return "cas(" + kh.describe(i.a) + ", " + kh.describe(i.b) + ")" + tag
		},
		DescribeState: func(s any) string { return kh.describe(s.(int)) },
	}
}

func (kh *keyHistory) describe(id int) string {
	if id == unknownState {
		return "?"
	}
	if id >= 0 && id < len(kh.values) {
		return kh.values[id]
	}
	return "#" + strconv.Itoa(id)
}

// Check checks a lin-kv history.
func Check(h history.History, o Options) *history.Map {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.StretchBudget <= 0 {
		o.StretchBudget = 10 * time.Second
	}
	keys, err := split(h)
	if err != nil {
		return history.NewMap().Set("valid?", checker.Unknown).Set("error", err.Error())
	}
	parts := partitions(h)
	results := make([]*history.Map, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, kh := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = checkKey(kh, parts, o, int64(len(h)))
		}()
	}
	wg.Wait()
	byKey := history.NewMap()
	byKey.NumKeys = true
	var valids, failures []any
	for i, kh := range keys {
		byKey.Set(strconv.FormatInt(kh.key, 10), results[i])
		v, _ := results[i].Get("valid?")
		valids = append(valids, v)
		if v == false {
			failures = append(failures, kh.key)
		}
	}
	if failures == nil {
		failures = []any{}
	}
	out := history.NewMap().Set("valid?", checker.Merge(valids...)).Set("results", byKey).Set("failures", failures)
	if f := forgotten(h); f != nil {
		out.Set(checker.EddyOnlyKey, []any{f})
	}
	return out
}

// split pairs each client invocation with its completion and groups the
// operations by key, keys in ascending order.
func split(h history.History) ([]*keyHistory, error) {
	sp := &splitter{byKey: map[int64]*keyHistory{}, end: int64(len(h))}
	open := map[int64]int{}
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		if op.Type == history.Invoke {
			if j, dup := open[op.Process]; dup {
				if err := sp.add(&h[j], nil); err != nil {
					return nil, err
				}
			}
			open[op.Process] = i
			continue
		}
		j, ok := open[op.Process]
		if !ok {
			return nil, fmt.Errorf("op %d: completion without an invocation", op.Index)
		}
		delete(open, op.Process)
		if err := sp.add(&h[j], op); err != nil {
			return nil, err
		}
	}
	var rest []int
	for _, j := range open {
		rest = append(rest, j)
	}
	slices.Sort(rest)
	for _, j := range rest {
		if err := sp.add(&h[j], nil); err != nil {
			return nil, err
		}
	}
	out := make([]*keyHistory, 0, len(sp.byKey))
	for _, kh := range sp.byKey {
		slices.SortStableFunc(kh.ops, func(a, b keyOp) int { return cmp.Compare(a.call, b.call) })
		out = append(out, kh)
	}
	slices.SortFunc(out, func(a, b *keyHistory) int { return cmp.Compare(a.key, b.key) })
	return out, nil
}

// splitter gathers the per-key histories.
type splitter struct {
	byKey map[int64]*keyHistory
	end   int64 // past every event: where indeterminate ops end
}

// add files one op (cmp nil when it never completed) under its key.
func (sp *splitter) add(inv, cmp *history.Op) error {
	tuple, ok := inv.Value.([]any)
	if !ok || len(tuple) != 2 {
		return fmt.Errorf("op %d: value %v is not a [key value] tuple", inv.Index, inv.Value)
	}
	key, ok := history.Int(tuple[0])
	if !ok {
		return fmt.Errorf("op %d: key %v is not an integer", inv.Index, tuple[0])
	}
	kh := sp.byKey[key]
	if kh == nil {
		kh = &keyHistory{key: key, values: []string{"nil"}, ids: map[string]int{"null": 0}}
		sp.byKey[key] = kh
	}
	typ := history.Info
	if cmp != nil {
		typ = cmp.Type
	}
	op := keyOp{call: inv.Index, ret: sp.end, process: inv.Process, inv: inv, cmp: cmp}
	switch typ {
	case history.Fail:
		return nil // it never happened
	case history.OK:
		op.ret = cmp.Index
	}
	switch inv.F {
	case "read":
		if typ != history.OK {
			return nil // an unknown read constrains nothing
		}
		res, ok := cmp.Value.([]any)
		if !ok || len(res) != 2 {
			return fmt.Errorf("op %d: read result %v is not a [key value] tuple", cmp.Index, cmp.Value)
		}
		op.in = input{f: fRead}
		op.out = output{v: kh.intern(res[1])}
	case "write":
		op.in = input{f: fWrite, a: kh.intern(tuple[1]), info: typ == history.Info}
	case "cas":
		ft, ok := tuple[1].([]any)
		if !ok || len(ft) != 2 {
			return fmt.Errorf("op %d: cas value %v is not [from to]", inv.Index, tuple[1])
		}
		op.in = input{f: fCAS, a: kh.intern(ft[0]), b: kh.intern(ft[1]), info: typ == history.Info}
	default:
		return fmt.Errorf("op %d: unknown function %q", inv.Index, inv.F)
	}
	if op.in.info {
		kh.infos++
	}
	kh.ops = append(kh.ops, op)
	return nil
}

// period is a stretch of the history during which the network was
// partitioned, in history indices.
type period struct {
	from, to int64
	what     string
}

// partitions reads the nemesis's start-partition / stop-partition ops.
func partitions(h history.History) []period {
	var out []period
	var cur *period
	for i := range h {
		op := &h[i]
		if op.IsClient() {
			continue
		}
		switch {
		case op.F == "start-partition" && cur == nil:
			cur = &period{from: op.Index, what: fmt.Sprint(op.Value)}
		case op.F == "start-partition":
			if v, ok := op.Value.([]any); ok && len(v) == 2 {
				cur.what = render(v[1])
			}
		case op.F == "stop-partition" && cur != nil:
			cur.to = op.Index
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		cur.to = int64(len(h))
		out = append(out, *cur)
	}
	return out
}

// operations renders a key's ops for porcupine, each process a row.
func (kh *keyHistory) operations(ops []keyOp) []porcupine.Operation {
	rows := map[int64]int{}
	out := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		row, ok := rows[op.process]
		if !ok {
			row = len(rows)
			rows[op.process] = row
		}
		out[i] = porcupine.Operation{ClientId: row, Input: op.in, Output: op.out, Call: op.call, Return: op.ret}
	}
	return out
}

func checkKey(kh *keyHistory, parts []period, o Options, end int64) *history.Map {
	lin := history.NewMap().Set("valid?", nil) // first key; set below
	m := kh.model()
	ops := kh.operations(kh.ops)
	began := time.Now()
	verdict := porcupine.CheckOperationsTimeout(m, ops, o.Timeout)
	took := time.Since(began)
	lin.Set("analyzer", history.Keyword("porcupine")).
		Set("op-count", int64(len(kh.ops))).Set("info-count", int64(kh.infos)).
		Set("time-ms", took.Milliseconds())
	var valid any
	switch verdict {
	case porcupine.Ok:
		valid = true
	case porcupine.Unknown:
		valid = checker.Unknown
		lin.Set("error", fmt.Sprintf("porcupine found no linearization and no contradiction within %v (%d operations, %d indeterminate)",
			o.Timeout, len(kh.ops), kh.infos))
	default:
		valid = false
		st := kh.shortestStretch(m, end, o.StretchBudget)
		lin.Set("stretch", st.result(kh))
		lin.Set("explanation", st.explain(kh))
		if o.WriteFile != nil {
			name := fmt.Sprintf("independent/%d/linear.html", kh.key)
			if err := kh.visualize(m, ops, parts, st, o, name); err != nil {
				lin.Set("file-error", err.Error())
			} else {
				lin.Set("file", name)
			}
		}
	}
	lin.Set("valid?", valid)
	out := history.NewMap()
	out.Set("linearizable", lin)
	out.Set("timeline", history.NewMap().Set("valid?", true))
	out.Set("valid?", valid)
	return out
}

// visualize writes porcupine's HTML for the whole key, with the partitions
// and the stretch as annotations.
func (kh *keyHistory) visualize(m porcupine.Model, ops []porcupine.Operation, parts []period, st stretch, o Options, name string) error {
	_, info := porcupine.CheckOperationsVerbose(m, ops, o.Timeout)
	var notes []porcupine.Annotation
	for _, p := range parts {
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: p.from, End: p.to,
			Description: "partition", Details: p.what, BackgroundColor: "#ffe3b3"})
	}
	notes = append(notes, porcupine.Annotation{Tag: "eddy", Start: st.from, End: st.to,
		Description: "shortest non-linearizable stretch", Details: st.explain(kh), BackgroundColor: "#ffc4c4"})
	info.AddAnnotations(notes)
	var buf bytes.Buffer
	if err := porcupine.Visualize(m, info, &buf); err != nil {
		return err
	}
	return o.WriteFile(name, buf.Bytes())
}
