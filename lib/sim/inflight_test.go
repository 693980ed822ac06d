package sim

import (
	"testing"

	"maelkit/lib/core"
)

// echoCore answers every ping with a pong to the sender, once.
type echoCore struct {
	core.Outbox[string, string]
}

func (c *echoCore) Step(from, msg string) {
	if msg == "ping" {
		c.Send(from, "pong")
	}
}
func (c *echoCore) Command(core.Command[string])       {}
func (c *echoCore) Tick()                              {}
func (c *echoCore) Drain() core.Output[string, string] { return c.Take() }

func TestInFlight(t *testing.T) {
	cores := map[string]*echoCore{}
	s := New(Config{Seed: 1, Nodes: []string{"a", "b"}, TickMs: 10, LatencyMinMs: 50, LatencyMaxMs: 50},
		func(id string) core.Core[string, string, string] { c := &echoCore{}; cores[id] = c; return c })
	if s.InFlight() != 0 {
		t.Fatalf("in flight at start: %d", s.InFlight())
	}
	cores["a"].Send("b", "ping")
	s.RunFor(10) // the tick collects a's ping
	if s.InFlight() != 1 {
		t.Fatalf("after the send: %d in flight, want 1", s.InFlight())
	}
	s.RunFor(50) // delivered; b's pong is on its way
	if s.InFlight() != 1 {
		t.Fatalf("after the ping: %d in flight, want 1", s.InFlight())
	}
	s.RunFor(60)
	if s.InFlight() != 0 {
		t.Fatalf("after the pong: %d in flight, want 0", s.InFlight())
	}
}
