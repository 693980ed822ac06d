// Package topology builds the neighbour maps Maelstrom's broadcast workload
// sends each node in its topology message (maelstrom-spec.md section 6.3),
// neighbour order included, since nodes may depend on it.
package topology

import "fmt"

// Names returns the accepted --topology values; "grid" is the default.
func Names() []string {
	return []string{"grid", "line", "total", "tree", "tree2", "tree3", "tree4"}
}

// Default is Maelstrom's default topology.
const Default = "grid"

// Build returns the neighbour map of the named topology over nodes (in test
// order). Every neighbour list is non-nil, so a lone node encodes as [] in
// JSON. Node ids must be distinct and non-empty.
func Build(name string, nodes []string) (map[string][]string, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("topology: no nodes")
	}
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if n == "" {
			return nil, fmt.Errorf("topology: empty node id")
		}
		if seen[n] {
			return nil, fmt.Errorf("topology: duplicate node %q", n)
		}
		seen[n] = true
	}
	switch name {
	case "grid":
		return grid(nodes), nil
	case "line":
		return line(nodes), nil
	case "total":
		return total(nodes), nil
	case "tree", "tree2":
		return tree(nodes, 2), nil
	case "tree3":
		return tree(nodes, 3), nil
	case "tree4":
		return tree(nodes, 4), nil
	}
	return nil, fmt.Errorf("topology: unknown topology %q (want one of %v)", name, Names())
}

// ceilSqrt is the smallest s with s*s >= n, computed exactly (Maelstrom's
// Math/ceil of Math/sqrt, without floating point).
func ceilSqrt(n int) int {
	s := 0
	for s*s < n {
		s++
	}
	return s
}

// grid lays the nodes out row by row on a side x side square, side =
// ceil(sqrt(n)); each node's neighbours are the existing cells below,
// above, right and left, in that order.
func grid(nodes []string) map[string][]string {
	n := len(nodes)
	side := ceilSqrt(n)
	at := func(i, j int) (string, bool) {
		if i < 0 || j < 0 || j >= side {
			return "", false
		}
		idx := i*side + j
		if idx >= n {
			return "", false
		}
		return nodes[idx], true
	}
	out := make(map[string][]string, n)
	for idx, node := range nodes {
		i, j := idx/side, idx%side
		nb := []string{}
		for _, d := range [][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			if x, ok := at(i+d[0], j+d[1]); ok {
				nb = append(nb, x)
			}
		}
		out[node] = nb
	}
	return out
}

// line: first -> [second], last -> [second-to-last], others -> [left,
// right]. A single node gets no entry at all, as in Maelstrom.
func line(nodes []string) map[string][]string {
	n := len(nodes)
	out := make(map[string][]string, n)
	if n < 2 {
		return out
	}
	out[nodes[0]] = []string{nodes[1]}
	out[nodes[n-1]] = []string{nodes[n-2]}
	for i := 1; i < n-1; i++ {
		out[nodes[i]] = []string{nodes[i-1], nodes[i+1]}
	}
	return out
}

// total: every node -> every other node, in test order.
func total(nodes []string) map[string][]string {
	out := make(map[string][]string, len(nodes))
	for i, node := range nodes {
		nb := make([]string, 0, len(nodes)-1)
		nb = append(nb, nodes[:i]...)
		nb = append(nb, nodes[i+1:]...)
		out[node] = nb
	}
	return out
}

// tree: a heap layout with branching b (the children of index k are
// b*k+1 .. b*k+b), filled tier by tier in test order; neighbours are
// [parent, children...], the root having only children.
func tree(nodes []string, b int) map[string][]string {
	n := len(nodes)
	out := make(map[string][]string, n)
	for k, node := range nodes {
		nb := []string{}
		if k > 0 {
			nb = append(nb, nodes[(k-1)/b])
		}
		for c := b*k + 1; c <= b*k+b && c < n; c++ {
			nb = append(nb, nodes[c])
		}
		out[node] = nb
	}
	return out
}
