package elle

import (
	"cmp"
	"slices"
	"time"
)

// rel is a set of dependency relations between two transactions.
type rel uint8

const (
	relWW       rel = 1 << iota // write-write: b overwrote a's version
	relWR                       // write-read: b read a's version
	relRW                       // read-write (anti-dependency): b overwrote the version a read
	relProcess                  // the same process ran a, then b
	relRealtime                 // a completed before b was invoked
)

// relOrder is the order in which an edge carrying several relations is
// explained: data dependencies first, as Elle's combined explainer does.
var relOrder = [...]rel{relWW, relWR, relRW, relProcess, relRealtime}

func (r rel) name() string {
	switch r {
	case relWW:
		return "ww"
	case relWR:
		return "wr"
	case relRW:
		return "rw"
	case relProcess:
		return "process"
	case relRealtime:
		return "realtime"
	}
	return "?"
}

// attr is the relation that explains an edge with relations m when only
// those in pool may be used; 0 when none may.
func attr(m, pool rel) rel {
	x := m & pool
	for _, r := range relOrder {
		if x&r != 0 {
			return r
		}
	}
	return 0
}

// graphBuilder collects edges between transaction ids.
type graphBuilder struct {
	edges map[uint64]rel
}

func newGraphBuilder() *graphBuilder { return &graphBuilder{edges: map[uint64]rel{}} }

// link adds relation r from a to b; self-edges are never added.
func (b *graphBuilder) link(a, c int32, r rel) {
	if a == c || a < 0 || c < 0 {
		return
	}
	b.edges[uint64(uint32(a))<<32|uint64(uint32(c))] |= r
}

// graph is a transaction dependency graph in compressed sparse rows: the
// out-edges of v are adj[off[v]:off[v+1]] with their relations in mask.
type graph struct {
	n    int
	off  []int32
	adj  []int32
	mask []rel
	rels rel // every relation present
}

func (b *graphBuilder) build(n int) *graph {
	g := &graph{n: n, off: make([]int32, n+1)}
	keys := make([]uint64, 0, len(b.edges))
	for k := range b.edges {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	g.adj = make([]int32, len(keys))
	g.mask = make([]rel, len(keys))
	for i, k := range keys {
		from := int32(k >> 32)
		g.off[from+1]++
		g.adj[i] = int32(uint32(k))
		g.mask[i] = b.edges[k]
		g.rels |= g.mask[i]
	}
	for v := 0; v < n; v++ {
		g.off[v+1] += g.off[v]
	}
	return g
}

// addRealtime links every ok transaction to the transactions invoked after
// it completed: Elle's realtime graph, transitively reduced by keeping a
// frontier of completions not yet implied by a later one. Info transactions
// never complete, so nothing follows them in real time.
func addRealtime(b *graphBuilder, txns []*txn) {
	type event struct {
		pos      int64
		t        *txn
		complete bool
	}
	var evs []event
	for _, t := range txns {
		if !t.possible() {
			continue
		}
		evs = append(evs, event{pos: t.inv, t: t})
		if t.ok() {
			evs = append(evs, event{pos: t.comp, t: t, complete: true})
		}
	}
	slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.pos, b.pos) })
	var frontier []int32
	preds := map[int32][]int32{}
	for _, e := range evs {
		id := e.t.id
		if !e.complete {
			for _, f := range frontier {
				b.link(f, id, relRealtime)
			}
			if e.t.ok() {
				preds[id] = slices.Clone(frontier)
			}
			continue
		}
		implied := preds[id]
		delete(preds, id)
		kept := frontier[:0]
		for _, f := range frontier {
			if !slices.Contains(implied, f) {
				kept = append(kept, f)
			}
		}
		frontier = append(kept, id)
	}
}

// addProcess links each process's consecutive ok transactions, as Elle's
// process graph does.
func addProcess(b *graphBuilder, txns []*txn) {
	last := map[int64]int32{}
	order := slices.Clone(txns)
	slices.SortFunc(order, func(a, b *txn) int { return cmp.Compare(a.inv, b.inv) })
	for _, t := range order {
		if !t.ok() {
			continue
		}
		if p, ok := last[t.process]; ok {
			b.link(p, t.id, relProcess)
		}
		last[t.process] = t.id
	}
}

// scratch is one worker's reusable search state over a graph: membership of
// the subset being searched, breadth-first search and Tarjan marks, all
// stamped with generations so that no array is cleared between searches.
type scratch struct {
	g *graph

	mem    []uint32
	memGen uint32

	seen    []uint32
	seenGen uint32
	parent  []int32
	prel    []rel
	queue   []int32

	tmark  []uint32
	tonstk []uint32
	tindex []int32
	tlow   []int32
	tgen   uint32

	// product-state search (G-nonadjacent): 6 states per vertex
	pseen   []uint32
	pparent []int32
	prelp   []rel

	deadline time.Time
	ticks    int
	timedOut bool
}

func newScratch(g *graph) *scratch {
	n := g.n
	return &scratch{g: g,
		mem: make([]uint32, n), seen: make([]uint32, n), parent: make([]int32, n), prel: make([]rel, n),
		tmark: make([]uint32, n), tonstk: make([]uint32, n), tindex: make([]int32, n), tlow: make([]int32, n),
	}
}

// tick reports whether the deadline has passed, checking the clock only
// every few thousand calls.
func (s *scratch) tick() bool {
	if s.timedOut {
		return true
	}
	s.ticks++
	if s.ticks&4095 == 1 && !s.deadline.IsZero() && time.Now().After(s.deadline) {
		s.timedOut = true
	}
	return s.timedOut
}

func (s *scratch) setMembers(nodes []int32) {
	s.memGen++
	for _, v := range nodes {
		s.mem[v] = s.memGen
	}
}

func (s *scratch) member(v int32) bool { return s.mem[v] == s.memGen }

// sccs returns the strongly connected components, of two or more vertices,
// of the current member set restricted to edges meeting pool, smallest
// first (iterative Tarjan).
func (s *scratch) sccs(nodes []int32, pool rel) [][]int32 {
	g := s.g
	s.tgen++
	gen := s.tgen
	var out [][]int32
	var counter int32
	var stack []int32
	type frame struct {
		v int32
		e int32
	}
	var calls []frame
	visit := func(v int32) {
		s.tmark[v] = gen
		s.tindex[v], s.tlow[v] = counter, counter
		counter++
		stack = append(stack, v)
		s.tonstk[v] = gen
		calls = append(calls, frame{v: v, e: g.off[v]})
	}
	for _, root := range nodes {
		if s.tmark[root] == gen {
			continue
		}
		visit(root)
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.v
			descended := false
			for f.e < g.off[v+1] {
				e := f.e
				f.e++
				if g.mask[e]&pool == 0 {
					continue
				}
				w := g.adj[e]
				if s.mem[w] != s.memGen {
					continue
				}
				if s.tmark[w] != gen {
					visit(w)
					descended = true
					break
				}
				if s.tonstk[w] == gen && s.tindex[w] < s.tlow[v] {
					s.tlow[v] = s.tindex[w]
				}
			}
			if descended {
				continue
			}
			if s.tlow[v] == s.tindex[v] {
				i := len(stack) - 1
				for stack[i] != v {
					i--
				}
				comp := slices.Clone(stack[i:])
				for _, w := range comp {
					s.tonstk[w] = 0
				}
				stack = stack[:i]
				if len(comp) > 1 {
					out = append(out, comp)
				}
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				if s.tlow[v] < s.tlow[p] {
					s.tlow[p] = s.tlow[v]
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b []int32) int { return len(a) - len(b) })
	return out
}

// step is one edge of a cycle, with the relation that explains it.
type step struct {
	from, to int32
	r        rel
}

// path is a shortest path from src to dst of at least one edge, over edges
// meeting pool, inside the member set and avoiding vertex avoid (-1: none).
// Each step is explained by a relation of pool. nil when there is none or
// the deadline passed.
func (s *scratch) path(src, dst int32, pool rel, avoid int32) []step {
	if s.bfs(src, dst, pool, avoid) {
		return s.walkBack(src, dst)
	}
	return nil
}

// bfs runs a breadth-first search from src as path describes, stopping
// early when it reaches dst (-1: search everything). It reports whether dst
// was reached; afterwards reached and walkBack tell about other vertices.
func (s *scratch) bfs(src, dst int32, pool rel, avoid int32) bool {
	g := s.g
	s.seenGen++
	gen := s.seenGen
	q := append(s.queue[:0], src)
	defer func() { s.queue = q[:0] }()
	if src != dst {
		s.seen[src] = gen
	}
	for head := 0; head < len(q); head++ {
		if s.tick() {
			return false
		}
		u := q[head]
		for e := g.off[u]; e < g.off[u+1]; e++ {
			m := g.mask[e] & pool
			if m == 0 {
				continue
			}
			w := g.adj[e]
			if s.mem[w] != s.memGen || w == avoid || s.seen[w] == gen {
				continue
			}
			s.seen[w] = gen
			s.parent[w] = u
			s.prel[w] = attr(m, pool)
			if w == dst {
				return true
			}
			q = append(q, w)
		}
	}
	return false
}

// reached reports whether the last bfs reached v (other than its source).
func (s *scratch) reached(v int32) bool { return s.seen[v] == s.seenGen }

func (s *scratch) walkBack(src, dst int32) []step {
	var steps []step
	cur := dst
	for i := 0; i <= s.g.n; i++ {
		p := s.parent[cur]
		steps = append(steps, step{from: p, to: cur, r: s.prel[cur]})
		if p == src {
			break
		}
		cur = p
	}
	slices.Reverse(steps)
	return steps
}
