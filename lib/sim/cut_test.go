package sim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

// Cut is one-way: n0 stops hearing n1 while n1 still hears n0, until Heal.
func TestCutIsOneWay(t *testing.T) {
	s := New(Config{Seed: 1, Nodes: []string{"n0", "n1"}, TickMs: 1000, LatencyMinMs: 1, LatencyMaxMs: 1}, func(id string) core.Core[int, int, int] {
		peer := map[string]string{"n0": "n1", "n1": "n0"}[id]
		return &flood{id: id, peers: []string{peer}, seen: map[int]bool{}}
	})
	s.Cut("n1", "n0")
	inject(s, "c0", "n1", 1) // n1 -> n0: dropped
	inject(s, "c0", "n0", 2) // n0 -> n1: delivered
	s.RunFor(10)
	require.False(t, s.Core("n0").(*flood).seen[1])
	require.True(t, s.Core("n1").(*flood).seen[2])
	require.False(t, s.Down("n0"))
	s.Heal()
	inject(s, "c0", "n1", 3)
	s.RunFor(10)
	require.True(t, s.Core("n0").(*flood).seen[3])
}
