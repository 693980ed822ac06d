package main

import (
	"io"
	"testing"

	"maelkit/lib/node/nodetest"
)

// binary runs the node with no arguments (default tuning).
var binary = nodetest.Binary{
	Run:  func(in io.Reader, out, logs io.Writer) error { return run(nil, in, out, logs) },
	Good: `{"type":"read"}`, GoodType: "read_ok",
}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1", "n2", "n3") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving (see lib/node/nodetest).
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "add without element", Body: `{"type":"add"}`, Code: 12},
		{Name: "add nested 100,000 deep", Body: `{"type":"add","element":` + nodetest.Deep(100_000) + `}`, Code: 12},
		{Name: "gossip with wrong types", Body: `{"type":"gossip","v":"x","h":5}`, Code: 12},
	}, "n1", "n2", "n3")
}
