package kafka

import (
	"fmt"
	"strings"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

// Edge kinds of the dependency graph.
const (
	edgeWR   = iota + 1
	edgeTime // to, from or between time nodes: real-time order
)

type edge struct {
	to   int
	kind int
}

// cycles looks for dependency cycles as Jepsen's kafka checker asks Elle
// to under strict-serializable, without write-write edges (Maelstrom does
// not set :ww-deps): write-read edges from each send to every poll that
// returned its message, and real-time order (Elle adds no process edges
// when it has real-time ones). A cycle of write-read edges alone is G1c
// (only ops that both send and poll can form one); with real-time order it
// is G1c-realtime: with one micro-op per op, a poll returned a message
// before its send could have been made. A history with no edge at all gets
// Elle's empty-transaction-graph marker, which makes it invalid.
//
// Nodes are the completions of sends and polls; :fail ones are kept, as
// Elle keeps them: they send (write-read edges from a failed send to its
// readers) and are invoked after other ops complete. Real-time order is
// encoded with a chain of time nodes, one per :ok completion: an op links
// to the time node of its completion, each time node to the next, and the
// time node of the last :ok completion before an op's invocation links to
// the op, so A reaches B through time nodes exactly when A completed before
// B was invoked.
func (a *Analysis) cycles() {
	var nodes []*parsed
	id := map[int64]int{} // op index -> node
	for _, p := range a.ops {
		if dataOp(p.op.F) && p.op.Type != history.Invoke {
			id[p.op.Index] = len(nodes)
			nodes = append(nodes, p)
		}
	}
	n := len(nodes)
	adj := make([][]edge, n)
	edges := false
	for _, k := range sortedKeys(a.readers) {
		for _, v := range sortedKeys(a.readers[k]) {
			w := a.writerOf[k][v]
			if w == nil {
				continue
			}
			wi, ok := id[w.op.Index]
			if !ok {
				continue
			}
			for _, r := range a.readers[k][v] {
				if ri, ok := id[r.op.Index]; ok && ri != wi {
					adj[wi] = append(adj[wi], edge{ri, edgeWR})
					edges = true
				}
			}
		}
	}
	lastTime := -1
	timeBefore := map[int64]int{} // invocation index -> time node or -1
	for _, p := range a.ops {
		if p.op.Type == history.Invoke {
			timeBefore[p.op.Index] = lastTime
			continue
		}
		i, ok := id[p.op.Index]
		if !ok || p.op.Type != history.OK {
			continue
		}
		t := len(adj)
		adj = append(adj, nil)
		adj[i] = append(adj[i], edge{t, edgeTime})
		if lastTime >= 0 {
			adj[lastTime] = append(adj[lastTime], edge{t, edgeTime})
		}
		lastTime = t
	}
	for i, p := range nodes {
		if iv := a.inv[p.op.Index]; iv != nil {
			if t := timeBefore[iv.Index]; t >= 0 {
				adj[t] = append(adj[t], edge{i, edgeTime})
				edges = true
			}
		}
	}
	if !edges {
		a.add("empty-transaction-graph", &Case{
			Text: "no send or poll depends on another: no poll returned a sent message and no two completed one after the other",
		})
		return
	}
	wrComp := wrComponents(adj, n)
	for _, scc := range tarjan(adj) {
		ops := 0
		for _, v := range scc {
			if v < n {
				ops++
			}
		}
		if ops < 2 {
			continue
		}
		a.reportCycle(scc, adj, n, nodes, wrComp)
	}
}

// reportCycle records one short cycle through a write-read edge of scc:
// one of write-read edges alone when scc holds one (wrComp gives each op
// node's strongly connected component in the write-read graph, -1 when
// alone), otherwise one through real-time order. Within a strongly
// connected component every write-read edge closes a cycle, so each pass
// runs one search.
func (a *Analysis) reportCycle(scc []int, adj [][]edge, n int, nodes []*parsed, wrComp []int) {
	in := map[int]bool{}
	for _, v := range scc {
		in[v] = true
	}
	for _, allowTime := range []bool{false, true} {
		for _, w := range scc {
			if w >= n {
				continue
			}
			for _, e := range adj[w] {
				if e.kind != edgeWR || !in[e.to] {
					continue
				}
				if !allowTime && (wrComp[w] < 0 || wrComp[w] != wrComp[e.to]) {
					continue
				}
				if path := bfs(adj, e.to, w, in, allowTime); path != nil {
					a.recordCycle(append([]edge{{e.to, edgeWR}}, path...), w, n, nodes)
					return
				}
			}
		}
	}
}

// wrComponents numbers the strongly connected components of the
// write-read edges among the n op nodes; -1 for a node in none.
func wrComponents(adj [][]edge, n int) []int {
	wr := make([][]edge, n)
	for v := 0; v < n; v++ {
		for _, e := range adj[v] {
			if e.kind == edgeWR {
				wr[v] = append(wr[v], e)
			}
		}
	}
	comp := make([]int, n)
	for i := range comp {
		comp[i] = -1
	}
	for i, c := range tarjan(wr) {
		for _, v := range c {
			comp[v] = i
		}
	}
	return comp
}

// bfs returns the edges of a shortest path from src to dst inside in.
func bfs(adj [][]edge, src, dst int, in map[int]bool, allowTime bool) []edge {
	prev := map[int]edge{}
	from := map[int]int{src: -1}
	q := []int{src}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		if v == dst {
			var out []edge
			for v != src {
				out = append([]edge{prev[v]}, out...)
				v = from[v]
			}
			return out
		}
		for _, e := range adj[v] {
			if !in[e.to] || (e.kind == edgeTime && !allowTime) {
				continue
			}
			if _, seen := from[e.to]; seen {
				continue
			}
			from[e.to], prev[e.to] = v, e
			q = append(q, e.to)
		}
	}
	return nil
}

// recordCycle turns a cycle starting at op node start into Elle's
// {:type :cycle :steps} case.
func (a *Analysis) recordCycle(path []edge, start, n int, nodes []*parsed) {
	var ops, steps []any
	var lines []string
	typ := "G1c"
	cur := start
	for i := 0; i < len(path); i++ {
		e := path[i]
		if e.kind == edgeTime {
			// Collapse a run of time edges into one real-time step.
			for path[i].to >= n {
				i++
			}
			e = edge{path[i].to, edgeTime}
		}
		from, to := nodes[cur], nodes[e.to]
		ops = append(ops, checker.OpMap(from.op))
		var data *history.Map
		var why string
		switch e.kind {
		case edgeWR:
			k, v := a.wrWitness(from, to)
			data = history.NewMap().Set("type", history.Keyword("wr")).Set("key", k).Set("value", v).
				Set("a-mop-index", mopIndex(from.op, true, k, v)).Set("b-mop-index", mopIndex(to.op, false, k, v))
			why = fmt.Sprintf("T%d sent %s to %q which was polled by T%d", from.op.Index, render(v), k, to.op.Index)
		default:
			typ = "G1c-realtime"
			var invIdx int64 = -1
			if iv := a.inv[to.op.Index]; iv != nil {
				invIdx = iv.Index
			}
			data = history.NewMap().Set("type", history.Keyword("realtime")).
				Set("completed", from.op.Index).Set("invoked", invIdx)
			why = fmt.Sprintf("T%d completed at index %d, before the invocation of T%d, at index %d",
				from.op.Index, from.op.Index, to.op.Index, invIdx)
		}
		steps = append(steps, data)
		lines = append(lines, fmt.Sprintf("T%d < T%d, because %s", from.op.Index, to.op.Index, why))
		cur = e.to
	}
	ops = append(ops, checker.OpMap(nodes[start].op))
	for i := range lines {
		if i == len(lines)-1 {
			lines[i] = "However, " + lines[i] + ": a contradiction!"
		} else {
			lines[i] += "."
		}
	}
	a.add(typ, &Case{
		data:   history.NewMap().Set("type", history.Keyword(typ)).Set("cycle", ops).Set("steps", steps),
		Text:   strings.Join(lines, " "),
		sortBy: int64(len(steps)),
	})
}

// wrWitness is a key and message that w sent and r polled.
func (a *Analysis) wrWitness(w, r *parsed) (string, any) {
	for _, wk := range w.writes {
		rs, ok := r.readsOf(wk.key)
		if !ok {
			continue
		}
		for _, x := range wk.pairs {
			for _, y := range rs {
				if x.id == y.id {
					return wk.key, x.msg
				}
			}
		}
	}
	return "", nil
}

// tarjan returns the strongly connected components of adj, iteratively.
func tarjan(adj [][]edge) [][]int {
	n := len(adj)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	counter := 0
	type frame struct{ v, next int }
	for s := 0; s < n; s++ {
		if index[s] >= 0 {
			continue
		}
		call := []frame{{s, 0}}
		index[s], low[s] = counter, counter
		counter++
		stack = append(stack, s)
		onStack[s] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.next < len(adj[f.v]) {
				w := adj[f.v][f.next].to
				f.next++
				if index[w] < 0 {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > 1 {
					out = append(out, comp)
				}
			}
		}
	}
	return out
}

// mopIndex is Jepsen's mop-index: the position in op's value of the first
// send (or poll) micro-op that sent (or returned) v on key k, or nil.
func mopIndex(op *history.Op, send bool, k string, v any) any {
	id := history.Key(v)
	for i, m := range parseMops(op.Value) {
		if m.send != send {
			continue
		}
		if send && m.key == k && m.p.id == id {
			return int64(i)
		}
		for _, kp := range m.polls {
			if kp.key != k {
				continue
			}
			for _, x := range kp.pairs {
				if x.id == id {
					return int64(i)
				}
			}
		}
	}
	return nil
}
