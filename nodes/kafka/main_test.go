package main

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/node/nodetest"
)

func runDefault(in io.Reader, out, logs io.Writer) error { return run(nil, in, out, logs) }

var binary = nodetest.Binary{Run: runDefault, Good: `{"type":"send","key":"k","msg":1}`, GoodType: "send_ok",
	NotYet: func(r nodetest.Reply) bool { return r.IsError(11) }}

// TestBadInit: a malformed or impossible init is refused and the node then
// takes a good one (see lib/node/nodetest).
func TestBadInit(t *testing.T) { nodetest.InitBattery(t, binary, "n1") }

// TestBadRequests: malformed requests get their error, or nothing when they
// cannot be answered, and the node goes on serving.
func TestBadRequests(t *testing.T) {
	nodetest.RequestBattery(t, binary, []nodetest.BadRequest{
		{Name: "send without key", Body: `{"type":"send","msg":1}`, Code: 12},
		{Name: "send without msg", Body: `{"type":"send","key":"k"}`, Code: 12},
		{Name: "send with a number key", Body: `{"type":"send","key":1,"msg":1}`, Code: 12},
		{Name: "send nested 100,000 deep", Body: `{"type":"send","key":"k","msg":` + nodetest.Deep(100_000) + `}`, Code: 12},
		{Name: "poll with a list", Body: `{"type":"poll","offsets":[1]}`, Code: 12},
		{Name: "poll with a string offset", Body: `{"type":"poll","offsets":{"k":"0"}}`, Code: 12},
		{Name: "commit with a negative offset", Body: `{"type":"commit_offsets","offsets":{"k":-1}}`, Code: 12},
		{Name: "commit with a string offset", Body: `{"type":"commit_offsets","offsets":{"k":"x"}}`, Code: 12},
		{Name: "list with a number", Body: `{"type":"list_committed_offsets","keys":5}`, Code: 12},
		{Name: "raft from a client", Body: `{"type":"raft","m":{"y":3,"t":99,"o":"n1"}}`, NoReply: true},
	}, "n1")
}

// TestServes: a send, a poll from its offset (exact integers, keys without
// messages left out), a commit and the committed offset, on one node.
func TestServes(t *testing.T) {
	s := nodetest.Start(t, runDefault)
	s.Init(1, "n1", "n1")
	// Alone, the node leads from the start: no "no leader" answer first.
	r := s.Request("c1", "n1", 2, `{"type":"send","key":"k","msg":9007199254740993}`)
	require.JSONEq(t, `{"type":"send_ok","offset":0}`, without(t, r.String(), "in_reply_to"))
	r = s.Request("c1", "n1", 100, `{"type":"poll","offsets":{"k":0,"other":0}}`)
	require.JSONEq(t, `{"type":"poll_ok","msgs":{"k":[[0,9007199254740993]]}}`, without(t, r.String(), "in_reply_to"))
	r = s.Request("c1", "n1", 101, `{"type":"commit_offsets","offsets":{"k":0}}`)
	require.Equal(t, "commit_offsets_ok", r.Type)
	r = s.Request("c1", "n1", 102, `{"type":"list_committed_offsets","keys":["k","other"]}`)
	require.JSONEq(t, `{"type":"list_committed_offsets_ok","offsets":{"k":0}}`, without(t, r.String(), "in_reply_to"))
}

func TestParseOptions(t *testing.T) {
	cfg, err := parseOptions([]string{"-flush=10ms", "-raft-tick=50ms"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 10*time.Millisecond, cfg.Flush)
	require.Equal(t, 50*time.Millisecond, cfg.Timing.TickMin)
	for _, bad := range [][]string{{"-flush=3ms", "-raft-tick=40ms"}, {"-flush=-1ms"}, {"-raft-tick=0"}, {"-nope"}} {
		_, err := parseOptions(bad, io.Discard)
		require.Error(t, err, "%v", bad)
	}
}

// without removes a field from a JSON object.
func without(t *testing.T, body, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	delete(m, field)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// TestMain gives every in-process node a store directory of its own.
func TestMain(m *testing.M) { nodetest.MainWithStores(m, &storeDir) }
