package sim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

// stampCore records the virtual time of every message it gets; node "a"
// sends one message to "b" per tick.
type stampCore struct {
	core.Outbox[int64, int64]
	id  string
	s   **Sim[int64, int64, int64]
	got []int64 // latencies seen at b
}

func (c *stampCore) Step(_ string, sent int64)   { c.got = append(c.got, (*c.s).Now()-sent) }
func (c *stampCore) Command(core.Command[int64]) {}
func (c *stampCore) Tick() {
	if c.id == "a" {
		c.Send("b", (*c.s).Now())
	}
}
func (c *stampCore) Drain() core.Output[int64, int64] { return c.Take() }

// TestExponentialLatency: with LatencyMeanMs the latencies have that mean,
// a long tail (Maelstrom's exponential distribution: about e^-3 of them
// above three means), and stay within the bounds.
func TestExponentialLatency(t *testing.T) {
	var s *Sim[int64, int64, int64]
	cores := map[string]*stampCore{}
	s = New(Config{Seed: 3, Nodes: []string{"a", "b"}, TickMs: 1, LatencyMinMs: 1, LatencyMaxMs: 200, LatencyMeanMs: 10},
		func(id string) core.Core[int64, int64, int64] {
			c := &stampCore{id: id, s: &s}
			cores[id] = c
			return c
		})
	s.RunFor(20_000)
	got := cores["b"].got
	require.Greater(t, len(got), 19_000)
	sum, tail := int64(0), 0
	for _, l := range got {
		require.GreaterOrEqual(t, l, int64(1))
		require.LessOrEqual(t, l, int64(200))
		sum += l
		if l > 30 {
			tail++
		}
	}
	mean := float64(sum) / float64(len(got))
	require.InDelta(t, 10, mean, 0.5)
	require.InDelta(t, 0.05, float64(tail)/float64(len(got)), 0.01, "P(latency > 3 means) = e^-3")
}
