package sim

import "testing"

// echoCore sends every message it gets back to the sender, once.
type echoCore struct {
	id  string
	out []Envelope[string]
}

func (c *echoCore) Step(from, msg string) {
	if msg == "ping" {
		c.out = append(c.out, Envelope[string]{From: c.id, To: from, Msg: "pong"})
	}
}
func (c *echoCore) Tick() {}
func (c *echoCore) Drain() []Envelope[string] {
	out := c.out
	c.out = nil
	return out
}

func TestInFlight(t *testing.T) {
	cores := map[string]*echoCore{}
	s := New(Config{Seed: 1, Nodes: []string{"a", "b"}, TickMs: 10, LatencyMinMs: 50, LatencyMaxMs: 50},
		func(id string) Core[string] { c := &echoCore{id: id}; cores[id] = c; return c })
	if s.InFlight() != 0 {
		t.Fatalf("in flight at start: %d", s.InFlight())
	}
	cores["a"].out = append(cores["a"].out, Envelope[string]{From: "a", To: "b", Msg: "ping"})
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
