package main

import (
	"io"
	"testing"

	"maelkit/lib/node/nodetest"
)

// strict is the strict-serializable mode on a one-node cluster: it answers
// 11 until it has elected itself.
var strict = nodetest.Binary{
	Run:  func(in io.Reader, out, logs io.Writer) error { return run(nil, in, out, logs) },
	Good: `{"type":"txn","txn":[["w",1,1]]}`, GoodType: "txn_ok",
	NotYet: func(r nodetest.Reply) bool { return r.IsError(11) },
}

// available is the read-committed mode.
var available = nodetest.Binary{
	Run:  func(in io.Reader, out, logs io.Writer) error { return run([]string{"read-committed"}, in, out, logs) },
	Good: `{"type":"txn","txn":[["w",1,1]]}`, GoodType: "txn_ok",
}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one, in both modes (see lib/node/nodetest).
func TestBadInit(t *testing.T) {
	t.Run("strict", func(t *testing.T) { nodetest.InitBattery(t, strict, "n1") })
	t.Run("read-committed", func(t *testing.T) { nodetest.InitBattery(t, available, "n1", "n2", "n3") })
}

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving, in both modes (see
// lib/node/nodetest).
func TestBadRequests(t *testing.T) {
	cases := []nodetest.BadRequest{
		{Name: "txn missing", Body: `{"type":"txn"}`, Code: 12},
		{Name: "txn null", Body: `{"type":"txn","txn":null}`, Code: 12},
		{Name: "txn a number", Body: `{"type":"txn","txn":5}`, Code: 12},
		{Name: "txn of numbers", Body: `{"type":"txn","txn":[1,2]}`, Code: 12},
		{Name: "micro-op too short", Body: `{"type":"txn","txn":[["r",1]]}`, Code: 12},
		{Name: "micro-op too long", Body: `{"type":"txn","txn":[["w",1,2,3]]}`, Code: 12},
		{Name: "unknown function", Body: `{"type":"txn","txn":[["x",1,2]]}`, Code: 12},
		{Name: "function a number", Body: `{"type":"txn","txn":[[1,1,2]]}`, Code: 12},
		{Name: "key a string", Body: `{"type":"txn","txn":[["w","k",2]]}`, Code: 12},
		{Name: "key past int64", Body: `{"type":"txn","txn":[["w",9223372036854775808,2]]}`, Code: 12},
		{Name: "value past int64", Body: `{"type":"txn","txn":[["w",1,9223372036854775808]]}`, Code: 12},
		{Name: "value a float", Body: `{"type":"txn","txn":[["w",1,1.5]]}`, Code: 12},
		{Name: "write of null", Body: `{"type":"txn","txn":[["w",1,null]]}`, Code: 12},
		{Name: "txn nested 100,000 deep", Body: `{"type":"txn","txn":` + nodetest.Deep(100_000) + `}`, Code: 12},
	}
	t.Run("strict", func(t *testing.T) {
		nodetest.RequestBattery(t, strict, append(cases,
			nodetest.BadRequest{Name: "handoff from a client", Body: `{"type":"raft_handoff","tag":1,"client":"c9","id":1,"req":{"type":"txn","txn":5}}`, NoReply: true},
		), "n1")
	})
	t.Run("read-committed", func(t *testing.T) {
		nodetest.RequestBattery(t, available, append(cases,
			nodetest.BadRequest{Name: "replication of the wrong shape", Body: `{"type":"txn_repl","e":5}`, Code: 12},
		), "n1", "n2", "n3")
	})
}
