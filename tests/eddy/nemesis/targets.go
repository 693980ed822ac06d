package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"maelkit/tests/eddy/history"
)

// Target is a node spec, the value of a :kill or :pause op: which nodes a
// fault reaches, as jepsen.nemesis.combined's db-nodes reads it. The zero
// value is Jepsen's nil spec.
type Target string

const (
	// AnySubset (Jepsen's nil) is a random non-empty subset: a prefix of a
	// shuffle, its length uniform in 1..n.
	AnySubset Target = ""
	// OneNode is one random node.
	OneNode Target = "one"
	// MinorityThirdNodes is floor((n-1)/3) random nodes: none for n <= 3.
	MinorityThirdNodes Target = "minority-third"
	// MinorityNodes is majority(n)-1 random nodes: none for one node.
	MinorityNodes Target = "minority"
	// MajorityNodes is majority(n) random nodes.
	MajorityNodes Target = "majority"
	// AllNodes is every node, in test order.
	AllNodes Target = "all"
)

// Targets returns the node specs a kill or pause draws from, in Jepsen's
// order (node-specs). Maelstrom's DB has no primaries, so :primaries is not
// among them.
func Targets() []Target {
	return []Target{AnySubset, OneNode, MinorityThirdNodes, MinorityNodes, MajorityNodes, AllNodes}
}

// Value is the spec as the history records it: nil for AnySubset, else a
// keyword.
func (t Target) Value() any {
	if t == AnySubset {
		return nil
	}
	return history.Keyword(string(t))
}

// Nodes draws the nodes a spec selects. Every spec but AllNodes shuffles
// the nodes and takes a prefix; AllNodes keeps the test order.
func (t Target) Nodes(nodes []string, r *rand.Rand) ([]string, error) {
	n := len(nodes)
	var k int
	switch t {
	case AllNodes:
		return slices.Clone(nodes), nil
	case AnySubset:
		if n == 0 {
			return nil, nil
		}
		k = 1 + r.IntN(n)
	case OneNode:
		if n == 0 {
			return nil, nil
		}
		return []string{nodes[r.IntN(n)]}, nil
	case MinorityThirdNodes:
		k = max(n-1, 0) / 3
	case MinorityNodes:
		k = majority(n) - 1
	case MajorityNodes:
		k = min(majority(n), n)
	default:
		return nil, fmt.Errorf("nemesis: unknown node spec %q", string(t))
	}
	return shuffled(nodes, r)[:k], nil
}
