package txn

import (
	"encoding/json"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/raftnode"
	"maelkit/lib/rsm"
)

// Request is a client's txn request.
type Request struct {
	Txn Txn `json:"txn"`
}

// OK is the txn_ok reply.
type OK struct {
	Type string `json:"type"`
	Txn  Txn    `json:"txn"`
}

// Codec is the txn workloads over lib/raftnode (raftnode.Codec), strict
// serializable: a transaction that writes becomes a Command in the log,
// answered when it applies; a read-only one is a query, served on the
// applied Machine after a ReadIndex.
type Codec struct {
	Machine *Machine
}

// Decode implements raftnode.Codec.
func (c Codec) Decode(_ string, body json.RawMessage, client string, id int64) (raftnode.Op, error) {
	var b Request
	if err := json.Unmarshal(body, &b); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode txn: "+err.Error())
	}
	cmd := Command{Client: client, ID: id, Txn: b.Txn}
	if err := cmd.Validate(); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	if ReadOnly(b.Txn) {
		data, err := json.Marshal(b.Txn)
		if err != nil {
			return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
		}
		return raftnode.Op{Query: true, Data: data}, nil
	}
	data, err := EncodeCommand(cmd)
	if err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return raftnode.Op{Data: data}, nil
}

// ReadOnly says whether t only reads.
func ReadOnly(t Txn) bool {
	for _, m := range t {
		if m.F != Read {
			return false
		}
	}
	return true
}

// Query implements raftnode.Codec: a read-only transaction on the applied
// state.
func (c Codec) Query(data []byte) any {
	var t Txn
	if err := json.Unmarshal(data, &t); err != nil {
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return OK{Type: "txn_ok", Txn: c.Machine.Query(t)}
}

// Outcome implements raftnode.Codec.
func (c Codec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(Result)
	if !ok || res.Client == "" {
		return "", 0, nil, false
	}
	if res.Outcome == Applied {
		return res.Client, res.ID, OK{Type: "txn_ok", Txn: res.Txn}, true
	}
	// Skipped (stale or invalid): not applied, but another copy of it may
	// still be in flight, so stay indefinite.
	return res.Client, res.ID, maelstrom.NewRPCError(maelstrom.Crash, "transaction skipped"), true
}
