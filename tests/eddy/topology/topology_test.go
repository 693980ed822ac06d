package topology

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func nodeIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i)
	}
	return out
}

type topo = map[string][]string

func TestSmallTopologies(t *testing.T) {
	tests := []struct {
		name  string
		nodes int
		want  topo
	}{
		{name: "grid", nodes: 1, want: topo{"n0": {}}},
		{name: "line", nodes: 1, want: topo{}},
		{name: "total", nodes: 1, want: topo{"n0": {}}},
		{name: "tree", nodes: 1, want: topo{"n0": {}}},
		{name: "tree2", nodes: 1, want: topo{"n0": {}}},
		{name: "tree3", nodes: 1, want: topo{"n0": {}}},
		{name: "tree4", nodes: 1, want: topo{"n0": {}}},

		{name: "line", nodes: 2, want: topo{"n0": {"n1"}, "n1": {"n0"}}},
		{name: "grid", nodes: 2, want: topo{"n0": {"n1"}, "n1": {"n0"}}},

		{name: "grid", nodes: 5, want: topo{
			"n0": {"n3", "n1"}, "n1": {"n4", "n2", "n0"}, "n2": {"n1"},
			"n3": {"n0", "n4"}, "n4": {"n1", "n3"}}},
		{name: "line", nodes: 5, want: topo{
			"n0": {"n1"}, "n1": {"n0", "n2"}, "n2": {"n1", "n3"},
			"n3": {"n2", "n4"}, "n4": {"n3"}}},
		{name: "total", nodes: 5, want: topo{
			"n0": {"n1", "n2", "n3", "n4"}, "n1": {"n0", "n2", "n3", "n4"},
			"n2": {"n0", "n1", "n3", "n4"}, "n3": {"n0", "n1", "n2", "n4"},
			"n4": {"n0", "n1", "n2", "n3"}}},
		{name: "tree", nodes: 5, want: topo{
			"n0": {"n1", "n2"}, "n1": {"n0", "n3", "n4"}, "n2": {"n0"},
			"n3": {"n1"}, "n4": {"n1"}}},
		{name: "tree2", nodes: 5, want: topo{
			"n0": {"n1", "n2"}, "n1": {"n0", "n3", "n4"}, "n2": {"n0"},
			"n3": {"n1"}, "n4": {"n1"}}},
		{name: "tree3", nodes: 5, want: topo{
			"n0": {"n1", "n2", "n3"}, "n1": {"n0", "n4"}, "n2": {"n0"},
			"n3": {"n0"}, "n4": {"n1"}}},
		{name: "tree4", nodes: 5, want: topo{
			"n0": {"n1", "n2", "n3", "n4"}, "n1": {"n0"}, "n2": {"n0"},
			"n3": {"n0"}, "n4": {"n0"}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.name, tt.nodes), func(t *testing.T) {
			got, err := Build(tt.name, nodeIDs(tt.nodes))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestJSONEncoding(t *testing.T) {
	g, err := Build("grid", nodeIDs(1))
	require.NoError(t, err)
	b, err := json.Marshal(g)
	require.NoError(t, err)
	require.Equal(t, `{"n0":[]}`, string(b))
	l, err := Build("line", nodeIDs(1))
	require.NoError(t, err)
	b, err = json.Marshal(l)
	require.NoError(t, err)
	require.Equal(t, `{}`, string(b))
}

func TestTwentyFiveNodes(t *testing.T) {
	nodes := nodeIDs(25)
	pins := []struct {
		name string
		node string
		want []string
	}{
		// 5x5 grid, row-major: below, above, right, left.
		{name: "grid", node: "n0", want: []string{"n5", "n1"}},
		{name: "grid", node: "n4", want: []string{"n9", "n3"}},
		{name: "grid", node: "n6", want: []string{"n11", "n1", "n7", "n5"}},
		{name: "grid", node: "n12", want: []string{"n17", "n7", "n13", "n11"}},
		{name: "grid", node: "n20", want: []string{"n15", "n21"}},
		{name: "grid", node: "n24", want: []string{"n19", "n23"}},
		{name: "line", node: "n0", want: []string{"n1"}},
		{name: "line", node: "n13", want: []string{"n12", "n14"}},
		{name: "line", node: "n24", want: []string{"n23"}},
		{name: "total", node: "n7", want: slices.Delete(nodeIDs(25), 7, 8)},
		{name: "tree", node: "n0", want: []string{"n1", "n2"}},
		{name: "tree2", node: "n5", want: []string{"n2", "n11", "n12"}},
		{name: "tree2", node: "n11", want: []string{"n5", "n23", "n24"}},
		{name: "tree2", node: "n12", want: []string{"n5"}},
		{name: "tree3", node: "n0", want: []string{"n1", "n2", "n3"}},
		{name: "tree3", node: "n2", want: []string{"n0", "n7", "n8", "n9"}},
		{name: "tree3", node: "n7", want: []string{"n2", "n22", "n23", "n24"}},
		{name: "tree3", node: "n8", want: []string{"n2"}},
		{name: "tree4", node: "n0", want: []string{"n1", "n2", "n3", "n4"}},
		{name: "tree4", node: "n5", want: []string{"n1", "n21", "n22", "n23", "n24"}},
		{name: "tree4", node: "n6", want: []string{"n1"}},
	}
	for _, p := range pins {
		got, err := Build(p.name, nodes)
		require.NoError(t, err)
		require.Equal(t, p.want, got[p.node], "%s %s", p.name, p.node)
	}
	edges := map[string]int{"grid": 40, "line": 24, "total": 300, "tree": 24, "tree2": 24, "tree3": 24, "tree4": 24}
	maxDegree := map[string]int{"grid": 4, "line": 2, "total": 24, "tree": 3, "tree2": 3, "tree3": 4, "tree4": 5}
	for _, name := range Names() {
		got, err := Build(name, nodes)
		require.NoError(t, err)
		require.Equal(t, edges[name], countEdges(t, got, nodes), name)
		for _, nb := range got {
			require.LessOrEqual(t, len(nb), maxDegree[name], name)
		}
	}
}

// countEdges checks the map covers every node, is symmetric, has no self
// loops or repeats, and is connected; it returns the number of edges.
func countEdges(t *testing.T, g topo, nodes []string) int {
	t.Helper()
	require.Len(t, g, len(nodes))
	half := 0
	for a, nb := range g {
		require.Contains(t, nodes, a)
		seen := map[string]bool{}
		for _, b := range nb {
			require.NotEqual(t, a, b)
			require.False(t, seen[b], "repeated neighbour")
			seen[b] = true
			require.Contains(t, g[b], a, "%s->%s not symmetric", a, b)
			half++
		}
	}
	reached := map[string]bool{nodes[0]: true}
	frontier := []string{nodes[0]}
	for len(frontier) > 0 {
		x := frontier[0]
		frontier = frontier[1:]
		for _, y := range g[x] {
			if !reached[y] {
				reached[y] = true
				frontier = append(frontier, y)
			}
		}
	}
	require.Len(t, reached, len(nodes), "not connected")
	return half / 2
}

// referenceTree is Maelstrom's construction: cut the nodes into tiers of
// 1, b, b^2, ... and hand each parent, in order, the next b nodes of the
// tier below. Build's heap arithmetic must agree with it.
func referenceTree(nodes []string, b int) topo {
	var tiers [][]string
	rest := nodes
	for size := 1; len(rest) > 0; size *= b {
		k := min(size, len(rest))
		tiers = append(tiers, rest[:k])
		rest = rest[k:]
	}
	out := topo{}
	for _, n := range nodes {
		out[n] = []string{}
	}
	for ti := 0; ti+1 < len(tiers); ti++ {
		children := tiers[ti+1]
		for pi, parent := range tiers[ti] {
			for c := pi * b; c < pi*b+b && c < len(children); c++ {
				out[parent] = append(out[parent], children[c])
			}
		}
	}
	// Parent first, then children.
	for ti := 0; ti+1 < len(tiers); ti++ {
		children := tiers[ti+1]
		for pi, parent := range tiers[ti] {
			for c := pi * b; c < pi*b+b && c < len(children); c++ {
				child := children[c]
				out[child] = append([]string{parent}, out[child]...)
			}
		}
	}
	return out
}

func TestTreeMatchesTierConstruction(t *testing.T) {
	for _, b := range []int{2, 3, 4} {
		for n := 1; n <= 70; n++ {
			nodes := nodeIDs(n)
			got, err := Build(fmt.Sprintf("tree%d", b), nodes)
			require.NoError(t, err)
			require.Equal(t, referenceTree(nodes, b), got, "b=%d n=%d", b, n)
		}
	}
}

func TestGridSideAndOrder(t *testing.T) {
	for n := 1; n <= 50; n++ {
		nodes := nodeIDs(n)
		g, err := Build("grid", nodes)
		require.NoError(t, err)
		side := ceilSqrt(n)
		require.GreaterOrEqual(t, side*side, n)
		require.Less(t, (side-1)*(side-1), n)
		for idx, node := range nodes {
			i, j := idx/side, idx%side
			var want []string
			if idx+side < n {
				want = append(want, nodes[idx+side])
			}
			if i > 0 {
				want = append(want, nodes[idx-side])
			}
			if j+1 < side && idx+1 < n {
				want = append(want, nodes[idx+1])
			}
			if j > 0 {
				want = append(want, nodes[idx-1])
			}
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, g[node], "n=%d %s", n, node)
		}
		if n > 1 {
			countEdges(t, g, nodes)
		}
	}
}

func TestUsesGivenNamesInOrder(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"} // Maelstrom's default list
	g, err := Build("grid", nodes)
	require.NoError(t, err)
	require.Equal(t, []string{"n4", "n2"}, g["n1"])
}

func TestBuildErrors(t *testing.T) {
	_, err := Build("ring", nodeIDs(3))
	require.ErrorContains(t, err, "unknown topology")
	_, err = Build("grid", nil)
	require.ErrorContains(t, err, "no nodes")
	_, err = Build("grid", []string{"n1", "n1"})
	require.ErrorContains(t, err, "duplicate")
	_, err = Build("line", []string{"n1", ""})
	require.ErrorContains(t, err, "empty")
	for _, name := range Names() {
		_, err := Build(name, nodeIDs(3))
		require.NoError(t, err, name)
	}
}
