package main

import (
	"encoding/json"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/kv"
	"maelkit/lib/raftnode"
	"maelkit/lib/rsm"
)

// clientReq is a lin-kv request: read {key}, write {key, value} or cas
// {key, from, to}.
type clientReq struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value,omitempty"`
	From  json.RawMessage `json:"from,omitempty"`
	To    json.RawMessage `json:"to,omitempty"`
}

type readOK struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type okBody struct {
	Type string `json:"type"`
}

// kvCodec is lin-kv's side of the raft node adapter: reads are queries
// (ReadIndex, then the applied store), writes and cas are kv.Commands in
// the log, answered when they apply.
type kvCodec struct {
	store *kv.Store
}

// Decode implements raftnode.Codec.
func (c kvCodec) Decode(typ string, body json.RawMessage, client string, id int64) (raftnode.Op, error) {
	var b clientReq
	if err := json.Unmarshal(body, &b); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode "+typ+": "+err.Error())
	}
	cmd := kv.Command{Client: client, ID: id, Op: kv.Op(typ), Key: b.Key, Value: b.Value, From: b.From, To: b.To}
	if err := cmd.Validate(); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	if cmd.Op == kv.OpRead {
		return raftnode.Op{Query: true, Data: cmd.Key}, nil
	}
	data, err := kv.Encode(cmd)
	if err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return raftnode.Op{Data: data}, nil
}

// Query implements raftnode.Codec: a read of the key in data.
func (c kvCodec) Query(key []byte) any {
	if v, found := c.store.Get(key); found {
		return readOK{Type: "read_ok", Value: v}
	}
	return maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "key does not exist")
}

// Outcome implements raftnode.Codec.
func (c kvCodec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(kv.Result)
	if !ok {
		return "", 0, nil, false
	}
	var cmd kv.Command
	if json.Unmarshal(a.Data, &cmd) != nil {
		return "", 0, nil, false
	}
	switch res.Code {
	case kv.OK:
		return cmd.Client, cmd.ID, okBody{Type: string(cmd.Op) + "_ok"}, true
	case kv.KeyNotFound:
		return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "key does not exist"), true
	case kv.PreconditionFailed:
		return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.PreconditionFailed, "current value differs from from"), true
	}
	// Skipped as stale or invalid: it did not take effect, but a copy of
	// it might still be in flight, so stay indefinite.
	return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.Crash, "request skipped"), true
}
