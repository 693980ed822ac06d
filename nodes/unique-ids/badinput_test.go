package main

import (
	"testing"

	"maelkit/lib/node/nodetest"
)

var binary = nodetest.Binary{Run: run, Good: `{"type":"generate"}`, GoodType: "generate_ok"}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1", "n2", "n3") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving (see lib/node/nodetest).
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "generate with a body that is not an object", Line: `{"src":"c1","dest":"n1","body":"generate"}`, NoReply: true},
		{Name: "generate nested 100,000 deep", Body: `{"type":"generate","x":` + nodetest.Deep(100_000) + `}`, Code: 12},
	}, "n1", "n2", "n3")
}
