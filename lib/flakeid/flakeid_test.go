package flakeid

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestUniqueAcrossNodesAndBoots: 3 nodes × 2 boots × 100k ids, all distinct.
func TestUniqueAcrossNodesAndBoots(t *testing.T) {
	const perBoot = 100_000
	seen := make(map[string]struct{}, 3*2*perBoot)
	for _, node := range []string{"n0", "n1", "n2"} {
		for range 2 {
			g, err := New(node)
			require.NoError(t, err)
			for range perBoot {
				id := g.Next()
				_, dup := seen[id]
				require.False(t, dup, "duplicate id %s", id)
				seen[id] = struct{}{}
			}
		}
	}
	require.Len(t, seen, 3*2*perBoot)
}

// TestAdversarialNodeIDs: node ids built to look like other nodes' ids,
// sharing one boot token, still never collide, because Parse inverts Next.
func TestAdversarialNodeIDs(t *testing.T) {
	const boot = 0
	nodes := []string{"n1", "n1-0000000000000000", "n1-0000000000000000-1", "n", "1", "-", "n1-", "0000000000000000"}
	seen := map[string]string{}
	for _, node := range nodes {
		g, err := NewWithBoot(node, boot)
		require.NoError(t, err)
		for seq := range 20 {
			id := g.Next()
			gotNode, gotBoot, gotSeq, err := Parse(id)
			require.NoError(t, err, id)
			require.Equal(t, node, gotNode, id)
			require.Equal(t, uint64(boot), gotBoot, id)
			require.Equal(t, uint64(seq), gotSeq, id)
			prev, dup := seen[id]
			require.False(t, dup, "%s from %s and %s", id, prev, node)
			seen[id] = node
		}
	}
}

// TestParseInvertsNext is a seeded property test over random parts.
func TestParseInvertsNext(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 3))
	const alphabet = "n0123456789-abc"
	for range 5000 {
		node := make([]byte, 1+rng.IntN(12))
		for i := range node {
			node[i] = alphabet[rng.IntN(len(alphabet))]
		}
		boot := rng.Uint64()
		g, err := NewWithBoot(string(node), boot)
		require.NoError(t, err)
		g.seq = rng.Uint64N(math.MaxUint64)
		want := g.seq
		id := g.Next()
		gotNode, gotBoot, gotSeq, err := Parse(id)
		require.NoError(t, err, "seed %d id %s", seed, id)
		require.Equal(t, string(node), gotNode, "seed %d", seed)
		require.Equal(t, boot, gotBoot, "seed %d", seed)
		require.Equal(t, want, gotSeq, "seed %d", seed)
	}
}

func TestFormat(t *testing.T) {
	g, err := NewWithBoot("n3", 0xdeadbeef)
	require.NoError(t, err)
	require.Equal(t, "n3-00000000deadbeef-0", g.Next())
	require.Equal(t, "n3-00000000deadbeef-1", g.Next())
}

func TestErrors(t *testing.T) {
	_, err := New("")
	require.Error(t, err)
	for _, bad := range []string{"", "x", "n1-0", "n1-00000000deadbeef-", "n1-00000000deadbeef-01", "n1-00000000DEADBEEF-1",
		"n1-00000000deadbeeg-1", "n1x00000000deadbeef-1", "-00000000deadbeef-1", "n1-00000000deadbeef-+1", "n1-00000000deadbeef-18446744073709551616"} {
		_, _, _, err := Parse(bad)
		require.Error(t, err, bad)
	}
	g, err := NewWithBoot("n1", 1)
	require.NoError(t, err)
	g.seq = math.MaxUint64
	require.Panics(t, func() { g.Next() })
}

func BenchmarkNext(b *testing.B) {
	g, err := New("n1")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Next()
	}
}

func ExampleGenerator_Next() {
	g, _ := NewWithBoot("n1", 42)
	fmt.Println(g.Next(), g.Next())
	// Output: n1-000000000000002a-0 n1-000000000000002a-1
}
