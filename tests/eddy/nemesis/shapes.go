// Package nemesis is eddy's nemesis: Maelstrom's composition of Jepsen's
// combined packages (maelstrom-spec.md sections 3.3 and 3.3b). Partitions
// are grudges in Jepsen's four shapes (and eddy's one-way) applied to a
// netsim.Net; kills, restarts, pauses and resumes go to a DB the runner
// implements, on nodes drawn by Jepsen's node specs; eddy's packet faults
// set the network's loss and duplication rates. The schedule is Jepsen's
// stagger of each package's flip-flops, merged as gen/any merges them, and
// every op is recorded in the history exactly as Jepsen records it.
//
// Every random choice comes from a *rand.Rand the caller seeds, so a seed
// fixes the whole schedule (given when each op finished).
package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"maelkit/tests/eddy/netsim"
)

// Shape names a partition shape (Jepsen's partition spec).
type Shape string

const (
	// One isolates one random node from all others, both ways.
	One Shape = "one"
	// Majority shuffles the nodes and cuts them into floor(n/2) and the rest.
	Majority Shape = "majority"
	// MinorityThird shuffles and cuts off floor((n-1)/3) nodes: nothing for n <= 3.
	MinorityThird Shape = "minority-third"
	// MajoritiesRing lets every node hear from a majority (itself included),
	// each node a different one.
	MajoritiesRing Shape = "majorities-ring"
	// OneWay (eddy only, never drawn unless listed in --partition-shapes)
	// cuts one random node's outgoing links: every other node drops what
	// it sends, while it still hears them all.
	OneWay Shape = "one-way"
)

// Shapes returns the four shapes in Jepsen's order (partition-specs), the
// vector Random picks from.
func Shapes() []Shape { return []Shape{One, MinorityThird, Majority, MajoritiesRing} }

// ParseShape checks a shape name: Maelstrom's four or eddy's one-way.
func ParseShape(s string) (Shape, error) {
	for _, sh := range append(Shapes(), OneWay) {
		if string(sh) == s {
			return sh, nil
		}
	}
	return "", fmt.Errorf("nemesis: unknown partition shape %q (want one, majority, minority-third, majorities-ring or one-way)", s)
}

// Random picks a shape uniformly, as Jepsen's start-partition generator
// does, and builds its grudge.
func Random(nodes []string, r *rand.Rand) (Shape, netsim.Grudge, error) {
	all := Shapes()
	shape := all[r.IntN(len(all))]
	g, err := Grudge(shape, nodes, r)
	return shape, g, err
}

// Grudge builds a grudge of the given shape over nodes. Like Jepsen's, it
// has an entry for every node, possibly empty (a node that drops nothing).
// Nodes must be distinct and non-empty; an empty node list gives an empty
// grudge.
func Grudge(shape Shape, nodes []string, r *rand.Rand) (netsim.Grudge, error) {
	if err := checkNodes(nodes); err != nil {
		return nil, err
	}
	switch shape {
	case One:
		if len(nodes) == 0 {
			return netsim.Grudge{}, nil
		}
		loner := nodes[r.IntN(len(nodes))]
		rest := make([]string, 0, len(nodes)-1)
		for _, n := range nodes {
			if n != loner {
				rest = append(rest, n)
			}
		}
		return completeGrudge([]string{loner}, rest), nil
	case Majority:
		s := shuffled(nodes, r)
		k := len(s) / 2 // Jepsen's bisect: smaller half first
		return completeGrudge(s[:k], s[k:]), nil
	case MinorityThird:
		s := shuffled(nodes, r)
		k := 0
		if len(s) > 0 {
			k = (len(s) - 1) / 3
		}
		return completeGrudge(s[:k], s[k:]), nil
	case OneWay:
		g := make(netsim.Grudge, len(nodes))
		if len(nodes) == 0 {
			return g, nil
		}
		mute := nodes[r.IntN(len(nodes))]
		for _, n := range nodes {
			g[n] = []string{}
			if n != mute {
				g[n] = []string{mute}
			}
		}
		return g, nil
	case MajoritiesRing:
		if len(nodes) <= 5 {
			return ringPerfect(nodes, r), nil
		}
		return ringStochastic(nodes, r), nil
	}
	return nil, fmt.Errorf("nemesis: unknown partition shape %q", shape)
}

func checkNodes(nodes []string) error {
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if n == "" {
			return fmt.Errorf("nemesis: empty node id")
		}
		if seen[n] {
			return fmt.Errorf("nemesis: duplicate node %q", n)
		}
		seen[n] = true
	}
	return nil
}

func shuffled(nodes []string, r *rand.Rand) []string {
	s := slices.Clone(nodes)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

// majority is the smallest integer strictly greater than half of n.
func majority(n int) int { return n/2 + 1 }

// completeGrudge cuts the nodes into components that hear nothing from each
// other: every node drops every node outside its own component.
func completeGrudge(components ...[]string) netsim.Grudge {
	g := netsim.Grudge{}
	for ci, comp := range components {
		for _, node := range comp {
			drops := []string{}
			for cj, other := range components {
				if cj != ci {
					drops = append(drops, other...)
				}
			}
			slices.Sort(drops)
			g[node] = drops
		}
	}
	return g
}

// ringPerfect is Jepsen's majorities-ring for n <= 5: shuffle the nodes into
// a ring; for each window of majority(n) consecutive nodes, the window's
// middle node drops everything outside the window. Each node is the middle
// of exactly one window, so every node hears from a different majority; the
// drops are one-directional.
func ringPerfect(nodes []string, r *rand.Rand) netsim.Grudge {
	ring := shuffled(nodes, r)
	n := len(ring)
	m := majority(n)
	g := make(netsim.Grudge, n)
	for start := range n {
		in := make(map[string]bool, m)
		for k := range m {
			in[ring[(start+k)%n]] = true
		}
		middle := ring[(start+m/2)%n]
		drops := []string{}
		for _, node := range ring {
			if !in[node] {
				drops = append(drops, node)
			}
		}
		slices.Sort(drops)
		g[middle] = drops
	}
	return g
}

// ringStochastic is Jepsen's majorities-ring for n > 5, where no exact ring
// exists for every n: start with every node hearing only itself, and
// repeatedly link a random least-connected node a to a random node b of the
// lowest degree that a is not linked to yet, until every node hears from a
// majority; then every node drops everything it is not linked to. Links are
// symmetric, so here drops go both ways. Jepsen takes the first entries of
// a list shuffled within each degree; picking uniformly within the lowest
// eligible degree draws from the same distribution.
func ringStochastic(nodes []string, r *rand.Rand) netsim.Grudge {
	n := len(nodes)
	m := majority(n)
	linked := make([][]bool, n)
	degree := make([]int, n)
	for i := range linked {
		linked[i] = make([]bool, n)
		linked[i][i] = true
		degree[i] = 1
	}
	candidates := make([]int, 0, n)
	// Each pass adds one link; there are at most n(n-1)/2 of them.
	for range n * n {
		minDeg := degree[0]
		for _, d := range degree {
			minDeg = min(minDeg, d)
		}
		if minDeg >= m {
			break
		}
		candidates = candidates[:0]
		for i, d := range degree {
			if d == minDeg {
				candidates = append(candidates, i)
			}
		}
		a := candidates[r.IntN(len(candidates))]
		bDeg := -1
		candidates = candidates[:0]
		for i, d := range degree {
			if linked[a][i] || (bDeg >= 0 && d > bDeg) {
				continue
			}
			if bDeg < 0 || d < bDeg {
				bDeg = d
				candidates = candidates[:0]
			}
			candidates = append(candidates, i)
		}
		// a's degree is below m <= n, so some node is not linked to a yet.
		b := candidates[r.IntN(len(candidates))]
		linked[a][b], linked[b][a] = true, true
		degree[a]++
		degree[b]++
	}
	g := make(netsim.Grudge, n)
	for i, node := range nodes {
		drops := []string{}
		for j, other := range nodes {
			if !linked[i][j] {
				drops = append(drops, other)
			}
		}
		slices.Sort(drops)
		g[node] = drops
	}
	return g
}
