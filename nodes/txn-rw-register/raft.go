package main

import (
	"encoding/json"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/node"
	"maelkit/lib/raftnode"
	"maelkit/lib/rsm"
	"maelkit/lib/txn"
)

// txnCodec is the strict-serializable mode's side of the raft node
// adapter: a transaction that writes becomes a txn.Command in the log; a
// read-only one is a query, served on the applied state after a ReadIndex.
type txnCodec struct {
	m *txn.Machine
}

// Decode implements raftnode.Codec.
func (c txnCodec) Decode(_ string, body json.RawMessage, client string, id int64) (raftnode.Op, error) {
	var b txnReq
	if err := json.Unmarshal(body, &b); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode txn: "+err.Error())
	}
	cmd := txn.Command{Client: client, ID: id, Txn: b.Txn}
	if err := cmd.Validate(); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	if readOnly(b.Txn) {
		data, err := json.Marshal(b.Txn)
		if err != nil {
			return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
		}
		return raftnode.Op{Query: true, Data: data}, nil
	}
	data, err := txn.EncodeCommand(cmd)
	if err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return raftnode.Op{Data: data}, nil
}

// readOnly says whether t only reads.
func readOnly(t txn.Txn) bool {
	for _, m := range t {
		if m.F != txn.Read {
			return false
		}
	}
	return true
}

// Query implements raftnode.Codec: a read-only transaction on the applied
// state.
func (c txnCodec) Query(data []byte) any {
	var t txn.Txn
	if err := json.Unmarshal(data, &t); err != nil {
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return txnOK{Type: "txn_ok", Txn: c.m.Query(t)}
}

// Outcome implements raftnode.Codec.
func (c txnCodec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(txn.Result)
	if !ok || res.Client == "" {
		return "", 0, nil, false
	}
	if res.Outcome == txn.Applied {
		return res.Client, res.ID, txnOK{Type: "txn_ok", Txn: res.Txn}, true
	}
	// Skipped (stale or invalid): not applied, but another copy of it may
	// still be in flight, so stay indefinite.
	return res.Client, res.ID, maelstrom.NewRPCError(maelstrom.Crash, "transaction skipped"), true
}

// registerRaft installs the strict-serializable mode on n, with its Raft
// state kept in dir (see raftnode.Config).
func registerRaft(n *node.Node, o options, dir string) error {
	m := txn.NewMachine()
	_, err := raftnode.Register(n, raftnode.Config{
		Types:   []string{"txn"},
		Machine: m,
		Codec:   txnCodec{m: m},
		Timing:  raftnode.DefaultTiming(),
		NoSync:  o.noSync,
		Dir:     dir,
		Amnesia: o.amnesia,
	})
	return err
}
