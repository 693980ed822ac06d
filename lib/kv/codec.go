package kv

import (
	"encoding/json"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

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

// Codec is lin-kv over lib/raftnode (raftnode.Codec): reads are queries
// (ReadIndex, then the applied Store), writes and cas are Commands in the
// log, answered when they apply.
type Codec struct {
	Store *Store
}

// Decode implements raftnode.Codec.
func (c Codec) Decode(typ string, body json.RawMessage, client string, id int64) (raftnode.Op, error) {
	var b clientReq
	if err := json.Unmarshal(body, &b); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode "+typ+": "+err.Error())
	}
	cmd := Command{Client: client, ID: id, Op: Op(typ), Key: b.Key, Value: b.Value, From: b.From, To: b.To}
	if err := cmd.Validate(); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	if cmd.Op == OpRead {
		return raftnode.Op{Query: true, Data: cmd.Key}, nil
	}
	data, err := Encode(cmd)
	if err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return raftnode.Op{Data: data}, nil
}

// Query implements raftnode.Codec: a read of the key in data.
func (c Codec) Query(key []byte) any {
	if v, found := c.Store.Get(key); found {
		return readOK{Type: "read_ok", Value: v}
	}
	return maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "key does not exist")
}

// Outcome implements raftnode.Codec.
func (c Codec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(Result)
	if !ok {
		return "", 0, nil, false
	}
	var cmd Command
	if json.Unmarshal(a.Data, &cmd) != nil {
		return "", 0, nil, false
	}
	switch res.Code {
	case OK:
		return cmd.Client, cmd.ID, okBody{Type: string(cmd.Op) + "_ok"}, true
	case KeyNotFound:
		return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "key does not exist"), true
	case PreconditionFailed:
		return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.PreconditionFailed, "current value differs from from"), true
	}
	// Skipped as stale or invalid: it did not take effect, but a copy of
	// it might still be in flight, so stay indefinite.
	return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.Crash, "request skipped"), true
}
