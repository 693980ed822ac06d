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
		{Name: "broadcast without message", Body: `{"type":"broadcast"}`, Code: 12},
		{Name: "broadcast of null", Body: `{"type":"broadcast","message":null}`, Code: 12},
		{Name: "broadcast of a string", Body: `{"type":"broadcast","message":"7"}`, Code: 12},
		{Name: "broadcast of a float", Body: `{"type":"broadcast","message":1.5}`, Code: 12},
		{Name: "broadcast past int64", Body: `{"type":"broadcast","message":9223372036854775808}`, Code: 12},
		{Name: "topology of the wrong shape", Body: `{"type":"topology","topology":5}`, Code: 12},
		{Name: "gossip with wrong types", Body: `{"type":"gossip","v":"x","h":5}`, Code: 12},
	}, "n1", "n2", "n3")
}
