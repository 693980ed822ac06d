package elle

import (
	"runtime"
	"slices"
	"sync"
	"time"
)

// Cycle search, after Elle's elle.txn: the graph is cut into strongly
// connected components; in each, first the cheap "a cycle exists in this
// projection" facts (one Tarjan pass per projection), then typed searches
// from the most to the least severe anomaly, skipping types that are
// implied by one already found or ruled out by the projections. Every
// search is exact or bounded by the component's deadline; a component whose
// deadline passes reports :cycle-search-timeout plus some cycle of it.

// baseCycleTypes are the data-dependency cycle anomalies, most severe first.
var baseCycleTypes = [...]string{"G0", "G1c", "G-single", "G-nonadjacent", "G2-item"}

// cycleExistsSpec is one of Elle's cycle-exists-specs: if the projection of
// the graph onto rels has a cycle, model cannot hold. (Elle's snapshot
// isolation specs use a sequential extension of graphs and are omitted.)
type cycleExistsSpec struct {
	model    string // canonical
	rels     rel
	subgraph []string
}

var cycleExistsSpecs = []cycleExistsSpec{
	{model: "PL-1", rels: relWW, subgraph: []string{"ww"}},
	{model: "PL-2", rels: relWW | relWR, subgraph: []string{"ww", "wr"}},
	{model: "PL-3", rels: relWW | relWR | relRW, subgraph: []string{"ww", "wr", "rw"}},
	{model: "strong-session-PL-1", rels: relWW | relProcess, subgraph: []string{"ww", "process"}},
	{model: "strong-session-PL-2", rels: relWW | relWR | relProcess, subgraph: []string{"ww", "wr", "process"}},
	{model: "strong-session-serializable", rels: relWW | relWR | relRW | relProcess, subgraph: []string{"ww", "wr", "rw", "process"}},
	{model: "strong-PL-1", rels: relWW | relRealtime, subgraph: []string{"ww", "realtime"}},
	{model: "strong-PL-2", rels: relWW | relWR | relRealtime, subgraph: []string{"ww", "wr", "realtime"}},
	{model: "PL-SS", rels: relWW | relWR | relRW | relRealtime, subgraph: []string{"ww", "wr", "rw", "realtime"}},
}

// cycleSearch is the configuration shared by all components.
type cycleSearch struct {
	g       *graph
	models  *modelGraph
	types   []searchType // in search order
	all     map[string]bool
	timeout time.Duration
}

// searchType is one typed search: a base anomaly with an optional extra
// relation (process or realtime) its cycles may use.
type searchType struct {
	name  string
	base  string
	extra rel
}

func newCycleSearch(g *graph, mg *modelGraph, timeout time.Duration) *cycleSearch {
	cs := &cycleSearch{g: g, models: mg, all: map[string]bool{}, timeout: timeout}
	variants := []struct {
		suffix string
		extra  rel
	}{{"", 0}, {"-process", relProcess}, {"-realtime", relRealtime}}
	for _, v := range variants {
		for _, b := range baseCycleTypes {
			name := b + v.suffix
			cs.all[name] = true
			if v.extra != 0 && g.rels&v.extra == 0 {
				continue // no such edges: nothing to find
			}
			cs.types = append(cs.types, searchType{name: name, base: b, extra: v.extra})
		}
	}
	return cs
}

// foundCycle is a cycle anomaly: its steps close (last.to == first.from).
type foundCycle struct {
	typ   string
	steps []step
}

// existsCase is a cycle-exists anomaly.
type existsCase struct {
	model string // canonical
	spec  cycleExistsSpec
	scc   []int32
}

// timeoutCase is a cycle-search-timeout anomaly.
type timeoutCase struct {
	searching string
	notFound  []string
	sccSize   int
}

// sccResult is what one component yields.
type sccResult struct {
	exists   []existsCase
	cycles   []foundCycle
	timeouts []timeoutCase
}

// run searches every component of the graph, in parallel, and returns the
// results in component order.
func (cs *cycleSearch) run() []sccResult {
	all := make([]int32, cs.g.n)
	for i := range all {
		all[i] = int32(i)
	}
	top := newScratch(cs.g)
	top.setMembers(all)
	comps := top.sccs(all, relWW|relWR|relRW|relProcess|relRealtime)
	results := make([]sccResult, len(comps))
	workers := min(runtime.GOMAXPROCS(0), len(comps))
	var wg sync.WaitGroup
	next := make(chan int, len(comps))
	for i := range comps {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScratch(cs.g)
			for i := range next {
				results[i] = cs.searchSCC(s, comps[i])
			}
		}()
	}
	wg.Wait()
	return results
}

func (cs *cycleSearch) searchSCC(s *scratch, nodes []int32) sccResult {
	var res sccResult
	s.setMembers(nodes)
	s.deadline = time.Now().Add(cs.timeout)
	s.timedOut, s.ticks = false, 0

	// Cycle existence per projection.
	redundant := map[string]bool{}
	for _, spec := range cycleExistsSpecs {
		if redundant[spec.model] {
			continue
		}
		sub := s.sccs(nodes, spec.rels)
		if len(sub) == 0 {
			continue
		}
		res.exists = append(res.exists, existsCase{model: spec.model, spec: spec, scc: sub[0]})
		for m := range closure([]string{spec.model}, cs.models.impliedBy) {
			redundant[m] = true
		}
	}
	// Cycle types the projections rule out.
	skip := cs.impossibleTypes(res.exists)
	var searched []string
	for _, st := range cs.types {
		if skip[st.name] {
			continue
		}
		searched = append(searched, st.name)
		steps := cs.find(s, nodes, st)
		if s.timedOut {
			var notFound []string
			for _, t := range searched[:len(searched)-1] {
				if !slices.ContainsFunc(res.cycles, func(c foundCycle) bool { return c.typ == t }) {
					notFound = append(notFound, t)
				}
			}
			res.timeouts = append(res.timeouts, timeoutCase{searching: st.name, notFound: notFound, sccSize: len(nodes)})
			// Some cycle, so the component is never reported empty-handed.
			s.timedOut, s.deadline = false, time.Time{}
			if c := s.path(nodes[0], nodes[0], relWW|relWR|relRW|relProcess|relRealtime, -1); c != nil {
				if typ := classify(c); typ != "" && !skip[typ] {
					res.cycles = append(res.cycles, foundCycle{typ: typ, steps: c})
				}
			}
			break
		}
		if steps == nil {
			continue
		}
		typ := classify(steps)
		if typ == "" || skip[typ] {
			continue
		}
		res.cycles = append(res.cycles, foundCycle{typ: typ, steps: steps})
		for a := range closure([]string{typ}, cs.models.anomOut) {
			skip[a] = true
		}
	}
	return res
}

// impossibleTypes is Elle's cycle-exists-cases->impossible-cycle-anomalies:
// the cycle types prohibited by a model whose projection had no cycle.
func (cs *cycleSearch) impossibleTypes(exists []existsCase) map[string]bool {
	var nots []string
	for _, e := range exists {
		nots = append(nots, e.model)
	}
	impossible := closure(nots, cs.models.impliedBy)
	var possible []string
	for _, spec := range cycleExistsSpecs {
		if !impossible[spec.model] {
			possible = append(possible, spec.model)
		}
	}
	out := map[string]bool{}
	if len(possible) == 0 {
		return out
	}
	for a := range cs.models.prohibited(possible) {
		if cs.all[a] {
			out[a] = true
		}
	}
	return out
}

// find looks for a cycle of type st among nodes (the member set).
func (cs *cycleSearch) find(s *scratch, nodes []int32, st searchType) []step {
	x := st.extra
	switch st.base {
	case "G0":
		return s.anyCycle(nodes, relWW|x)
	case "G1c":
		return s.closedBy(nodes, relWW|relWR|x, relWR)
	case "G-single":
		return s.closedBy(nodes, relWW|relWR|x, relRW)
	case "G-nonadjacent":
		return s.nonadjacent(nodes, relWW|relWR|relRW|x)
	case "G2-item":
		return s.adjacentRW(nodes, relWW|relWR|relRW|x)
	}
	return nil
}

// anyCycle finds a short cycle in the projection onto pool.
func (s *scratch) anyCycle(nodes []int32, pool rel) []step {
	sub := s.sccs(nodes, pool)
	if len(sub) == 0 {
		return nil
	}
	defer s.setMembers(nodes)
	s.setMembers(sub[0])
	return s.path(sub[0][0], sub[0][0], pool, -1)
}

// closedBy finds a cycle made of one edge explained by closing, from u to
// v, and a path from v back to u over pool (which excludes closing unless
// closing is part of pool, as wr is for G1c).
func (s *scratch) closedBy(nodes []int32, pool, closing rel) []step {
	g := s.g
	full := pool | closing
	// Components of the path projection: a closing edge inside one
	// component always closes a cycle.
	sub := s.sccs(nodes, pool)
	for _, c := range sub {
		s.setMembers(c)
		for _, u := range c {
			for e := g.off[u]; e < g.off[u+1]; e++ {
				v := g.adj[e]
				if !s.member(v) || attr(g.mask[e], full) != closing {
					continue
				}
				if p := s.path(v, u, pool, -1); p != nil {
					s.setMembers(nodes)
					return append([]step{{from: u, to: v, r: closing}}, p...)
				}
				if s.timedOut {
					s.setMembers(nodes)
					return nil
				}
			}
		}
	}
	s.setMembers(nodes)
	if closing&pool != 0 {
		return nil // every such cycle lies inside one component
	}
	// Otherwise the path may cross components: search from each closing
	// edge's head until the deadline.
	targets := map[int32][]int32{} // v -> sources u of closing edges u->v
	var heads []int32
	for _, u := range nodes {
		for e := g.off[u]; e < g.off[u+1]; e++ {
			v := g.adj[e]
			if s.member(v) && attr(g.mask[e], full) == closing {
				if _, ok := targets[v]; !ok {
					heads = append(heads, v)
				}
				targets[v] = append(targets[v], u)
			}
		}
	}
	for _, v := range heads {
		s.bfs(v, -1, pool, -1)
		if s.timedOut {
			return nil
		}
		for _, u := range targets[v] {
			if u != v && s.reached(u) {
				return append([]step{{from: u, to: v, r: closing}}, s.walkBack(v, u)...)
			}
		}
	}
	return nil
}

// adjacentRW finds a cycle with two consecutive rw edges a->b->c and a
// path from c back to a that avoids b (G2-item).
func (s *scratch) adjacentRW(nodes []int32, pool rel) []step {
	g := s.g
	in := map[int32][]int32{}
	var mids []int32
	for _, u := range nodes {
		for e := g.off[u]; e < g.off[u+1]; e++ {
			v := g.adj[e]
			if s.member(v) && attr(g.mask[e], pool) == relRW {
				if _, ok := in[v]; !ok {
					mids = append(mids, v)
				}
				in[v] = append(in[v], u)
			}
		}
	}
	for _, b := range mids {
		for e := g.off[b]; e < g.off[b+1]; e++ {
			c := g.adj[e]
			if !s.member(c) || attr(g.mask[e], pool) != relRW {
				continue
			}
			if slices.Contains(in[b], c) {
				return []step{{from: c, to: b, r: relRW}, {from: b, to: c, r: relRW}}
			}
			s.bfs(c, -1, pool, b)
			if s.timedOut {
				return nil
			}
			for _, a := range in[b] {
				if s.reached(a) {
					first := []step{{from: a, to: b, r: relRW}, {from: b, to: c, r: relRW}}
					return append(first, s.walkBack(c, a)...)
				}
			}
		}
	}
	return nil
}

// nonadjacent finds a cycle with at least two rw edges, no two of them
// adjacent (G-nonadjacent), by a breadth-first search over (vertex, last
// edge was rw, rw count) states from the head of each rw edge; the walk is
// kept only if it is a simple cycle. Every head is tried until one gives a
// cycle or the component's deadline passes, as Elle searches until its
// timeout: a cap on the starts could miss the cycle, and under
// snapshot-isolation, which prohibits G-nonadjacent but not G2-item,
// that would pass a history Elle fails.
func (s *scratch) nonadjacent(nodes []int32, pool rel) []step {
	g := s.g
	if s.pseen == nil {
		s.pseen = make([]uint32, 6*g.n)
		s.pparent = make([]int32, 6*g.n)
		s.prelp = make([]rel, 6*g.n)
	}
	for _, src := range s.rwHeads(nodes, pool) {
		if c, stop := s.nonadjacentFrom(src, pool); c != nil || stop {
			return c
		}
	}
	return nil
}

// rwHeads are the heads of the rw edges among nodes, each once.
func (s *scratch) rwHeads(nodes []int32, pool rel) []int32 {
	g := s.g
	var starts []int32
	isStart := map[int32]bool{}
	for _, u := range nodes {
		for e := g.off[u]; e < g.off[u+1]; e++ {
			v := g.adj[e]
			if s.member(v) && attr(g.mask[e], pool) == relRW && !isStart[v] {
				isStart[v] = true
				starts = append(starts, v)
			}
		}
	}
	return starts
}

// productState numbers a state of nonadjacent's search: vertex v, whether
// the last edge was rw, and the rw edges so far (up to 2).
func productState(v int32, lastRW bool, n int) int32 {
	st := int32(v)*6 + int32(n)
	if lastRW {
		st += 3
	}
	return st
}

// nonadjacentFrom searches for a G-nonadjacent cycle through src; stop
// says the component's deadline passed.
func (s *scratch) nonadjacentFrom(src int32, pool rel) (cycle []step, stop bool) {
	g := s.g
	s.seenGen++
	gen := s.seenGen
	// The first edge out of src is not rw (src is the head of an rw
	// edge), so the cycle's last edge may be.
	var q []int32
	for e := g.off[src]; e < g.off[src+1]; e++ {
		v := g.adj[e]
		r := attr(g.mask[e], pool)
		if !s.member(v) || r == 0 || r == relRW || v == src {
			continue
		}
		st := productState(v, false, 0)
		if s.pseen[st] != gen {
			s.pseen[st], s.pparent[st], s.prelp[st] = gen, -1-src, r
			q = append(q, st)
		}
	}
	for head := 0; head < len(q); head++ {
		if s.tick() {
			return nil, true
		}
		cur := q[head]
		u := cur / 6
		lastRW := cur%6 >= 3
		n := int(cur % 3)
		for e := g.off[u]; e < g.off[u+1]; e++ {
			v := g.adj[e]
			if !s.member(v) {
				continue
			}
			r := attr(g.mask[e], pool)
			if r == 0 || (r == relRW && lastRW) {
				continue
			}
			nn := n
			if r == relRW && nn < 2 {
				nn++
			}
			if v == src {
				if nn < 2 {
					continue
				}
				if c := s.productCycle(src, cur, r); c != nil {
					return c, false
				}
				continue
			}
			st := productState(v, r == relRW, nn)
			if s.pseen[st] == gen {
				continue
			}
			s.pseen[st], s.pparent[st], s.prelp[st] = gen, cur, r
			q = append(q, st)
		}
	}
	return nil, false
}

// productCycle rebuilds the walk src -> ... -> last -> src found by
// nonadjacent, or nil when it visits a vertex twice.
func (s *scratch) productCycle(src, last int32, closing rel) []step {
	steps := []step{{from: last / 6, to: src, r: closing}}
	seen := map[int32]bool{src: true}
	cur := last
	for i := 0; i < 6*s.g.n; i++ {
		v := cur / 6
		if seen[v] {
			return nil
		}
		seen[v] = true
		p := s.pparent[cur]
		if p < 0 {
			steps = append(steps, step{from: -1 - p, to: v, r: s.prelp[cur]})
			break
		}
		steps = append(steps, step{from: p / 6, to: v, r: s.prelp[cur]})
		cur = p
	}
	slices.Reverse(steps)
	return steps
}

// classify is Elle's cycle explainer: the anomaly a cycle shows, from the
// relations explaining its steps; "" when it is no anomaly we know.
func classify(steps []step) string {
	var ww, wr, rw, proc, rt int
	adjacent := false
	for i, st := range steps {
		switch st.r {
		case relWW:
			ww++
		case relWR:
			wr++
		case relRW:
			rw++
			if steps[(i+len(steps)-1)%len(steps)].r == relRW {
				adjacent = true
			}
		case relProcess:
			proc++
		case relRealtime:
			rt++
		}
	}
	var t string
	switch {
	case rw == 1:
		t = "G-single"
	case rw > 1 && adjacent:
		t = "G2-item"
	case rw > 1:
		t = "G-nonadjacent"
	case wr > 0:
		t = "G1c"
	case ww > 0:
		t = "G0"
	default:
		return ""
	}
	switch {
	case rt > 0:
		t += "-realtime"
	case proc > 0:
		t += "-process"
	}
	return t
}
