package main

import (
	"testing"

	"maelkit/lib/node/nodetest"
)

var binary = nodetest.Binary{Run: run, Good: `{"type":"echo","echo":"x"}`, GoodType: "echo_ok"}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1", "n2", "n3") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving (see lib/node/nodetest).
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "no echo", Body: `{"type":"echo"}`, Code: 12},
		{Name: "echo nested 100,000 deep", Body: `{"type":"echo","echo":` + nodetest.Deep(100_000) + `}`, Code: 12},
	}, "n1", "n2", "n3")
}
