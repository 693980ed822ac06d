package main

import (
	"testing"

	"maelkit/lib/node/nodetest"
)

var binary = nodetest.Binary{Run: run, Good: `{"type":"read"}`, GoodType: "read_ok"}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1", "n2", "n3") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving (see lib/node/nodetest).
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "add without delta", Body: `{"type":"add"}`, Code: 12},
		{Name: "add of null", Body: `{"type":"add","delta":null}`, Code: 12},
		{Name: "add of a string", Body: `{"type":"add","delta":"1"}`, Code: 12},
		{Name: "add of a float", Body: `{"type":"add","delta":1.5}`, Code: 12},
		{Name: "add past int64", Body: `{"type":"add","delta":9223372036854775808}`, Code: 12},
		{Name: "add below int64", Body: `{"type":"add","delta":-9223372036854775809}`, Code: 12},
		{Name: "add of a negative delta", Body: `{"type":"add","delta":-1}`, Code: 12},
		{Name: "sync with wrong types", Body: `{"type":"counter_sync","entries":"x","acks":[1]}`, Code: 12},
	}, "n1", "n2", "n3")
}
