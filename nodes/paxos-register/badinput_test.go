package main

import (
	"io"
	"os"
	"testing"

	"maelkit/lib/node/nodetest"
)

// binary is a one-node cluster with the default options.
var binary = nodetest.Binary{
	Run:  func(in io.Reader, out, logs io.Writer) error { return runInTemp(nil, in, out, logs) },
	Good: `{"type":"write","key":0,"value":1}`, GoodType: "write_ok",
}

// runInTemp runs the node with its durable state in a new temporary
// directory, removed when the node stops.
func runInTemp(args []string, in io.Reader, out, logs io.Writer) error {
	dir, err := os.MkdirTemp("", "paxos-register-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return run(append([]string{"-dir", dir}, args...), in, out, logs)
}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving (see lib/node/nodetest).
// Keys and values are integers.
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "read without key", Body: `{"type":"read"}`, Code: 12},
		{Name: "write without value", Body: `{"type":"write","key":1}`, Code: 12},
		{Name: "write without key", Body: `{"type":"write","value":1}`, Code: 12},
		{Name: "cas without from", Body: `{"type":"cas","key":1,"to":2}`, Code: 12},
		{Name: "cas without to", Body: `{"type":"cas","key":1,"from":1}`, Code: 12},
		{Name: "cas without key", Body: `{"type":"cas","from":1,"to":2}`, Code: 12},
		{Name: "cas with no fields", Body: `{"type":"cas"}`, Code: 12},
		{Name: "write of null", Body: `{"type":"write","key":1,"value":null}`, Code: 12},
		{Name: "key a string", Body: `{"type":"read","key":"1"}`, Code: 12},
		{Name: "key a float", Body: `{"type":"read","key":1.5}`, Code: 12},
		{Name: "key past int64", Body: `{"type":"read","key":9223372036854775808}`, Code: 12},
		{Name: "value past int64", Body: `{"type":"write","key":1,"value":9223372036854775808}`, Code: 12},
		{Name: "from past int64", Body: `{"type":"cas","key":1,"from":9223372036854775808,"to":1}`, Code: 12},
		{Name: "to a list", Body: `{"type":"cas","key":1,"from":1,"to":[1]}`, Code: 12},
		{Name: "prepare of the wrong shape", Body: `{"type":"prepare","key":"x"}`, Code: 12},
		{Name: "prepare from a client", Body: `{"type":"prepare","key":1,"ballot":{"c":7,"n":"c9"}}`, NoReply: true},
		{Name: "forward from a client", Body: `{"type":"forward","key":1,"tag":1,"ops":[{"f":"write","value":5}]}`, NoReply: true},
	}, "n1")
}
