package main

import (
	"testing"

	"maelkit/lib/node/nodetest"
)

// binary is a one-node cluster: it answers 11 until it has elected itself.
var binary = nodetest.Binary{Run: run, Good: `{"type":"write","key":0,"value":1}`, GoodType: "write_ok",
	NotYet: func(r nodetest.Reply) bool { return r.IsError(11) }}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving (see lib/node/nodetest).
// Keys and values may be any JSON (the store keeps them raw).
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "read without key", Body: `{"type":"read"}`, Code: 12},
		{Name: "write without value", Body: `{"type":"write","key":1}`, Code: 12},
		{Name: "write without key", Body: `{"type":"write","value":1}`, Code: 12},
		{Name: "cas without from", Body: `{"type":"cas","key":1,"to":2}`, Code: 12},
		{Name: "cas without to", Body: `{"type":"cas","key":1,"from":1}`, Code: 12},
		{Name: "cas without key", Body: `{"type":"cas","from":1,"to":2}`, Code: 12},
		{Name: "cas with no fields", Body: `{"type":"cas"}`, Code: 12},
		{Name: "write nested 100,000 deep", Body: `{"type":"write","key":1,"value":` + nodetest.Deep(100_000) + `}`, Code: 12},
		{Name: "raft of the wrong shape", Body: `{"type":"raft","m":5}`, Code: 12},
		{Name: "raft from a client", Body: `{"type":"raft","m":{"type":3,"term":99,"to":"n1"}}`, NoReply: true},
		{Name: "handoff from a client", Body: `{"type":"raft_handoff","tag":1,"client":"c9","id":1,"req":{"type":"read","key":1}}`, NoReply: true},
		{Name: "handoff answer from a client", Body: `{"type":"raft_handoff_done","tag":1,"body":{"type":"read_ok","value":1}}`, NoReply: true},
		{Name: "handoff of the wrong shape", Body: `{"type":"raft_handoff","tag":"x"}`, Code: 12},
		{Name: "ping from a client", Body: `{"type":"raft_ping","t":1}`, NoReply: true},
		{Name: "hello from a client", Body: `{"type":"raft_hello"}`, NoReply: true},
		{Name: "hello answer from a client", Body: `{"type":"raft_hello_ok","held":{"term":9,"index":9,"log_term":9}}`, NoReply: true},
		{Name: "hello answer of the wrong shape", Body: `{"type":"raft_hello_ok","held":5}`, Code: 12},
	}, "n1")
}
