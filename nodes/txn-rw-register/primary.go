package main

import (
	"errors"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/node"
	"maelkit/lib/txn"
)

// PROVISIONAL strict-serializable mode, until the Raft-replicated one
// exists: a single primary (the first node of node_ids) holds the only
// copy of the data and applies every transaction serially (txn.Store.Apply);
// the other nodes forward their clients' transactions to it and relay the
// answer.
//
// Strict serializable: the primary's application order is a total order of
// the committed transactions, and a transaction is answered only after it
// was applied, so one that completes before another starts was applied
// first. Not partition tolerant, nor fault tolerant: a node cut off from
// the primary cannot serve anything, and the primary's loss would lose the
// data. Errors follow Maelstrom's definiteness rule: 11 (definite) only
// when the forward surely never left this node; a forward that timed out
// or failed otherwise may have been applied, so it gets 13 (indefinite).

// forwardTimeout bounds the wait for the primary, below the client's 5 s,
// so that the client hears an indefinite error rather than nothing.
const forwardTimeout = 2 * time.Second

// fwdReq is a transaction forwarded to the primary: the same body as a
// client's request, so the primary serves both alike.
type fwdReq struct {
	Type string  `json:"type"`
	Txn  txn.Txn `json:"txn"`
}

// registerPrimary installs the "txn" handler of the primary mode on n.
func registerPrimary(n *node.Node) {
	store := txn.NewStore()
	node.Handle(n, "txn", func(req *node.Request, b txnReq) error {
		if b.Txn == nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "txn request has no txn list")
		}
		if err := b.Txn.Validate(); err != nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
		}
		primary := n.NodeIDs()[0]
		if n.ID() == primary {
			return req.Reply(txnOK{Type: "txn_ok", Txn: store.Apply(b.Txn)})
		}
		err := node.Call(n, primary, fwdReq{Type: "txn", Txn: b.Txn}, forwardTimeout, func(reply txnOK, err error) {
			if err == nil {
				reply.Type = "txn_ok"
				_ = req.Reply(reply)
				return
			}
			var rpc *maelstrom.RPCError
			if errors.As(err, &rpc) && rpc.Code != maelstrom.Timeout {
				_ = req.Reply(rpc) // the primary's own answer, definite or not
				return
			}
			_ = req.Reply(maelstrom.NewRPCError(maelstrom.Crash, "primary did not answer: "+err.Error()))
		})
		if err != nil {
			// The forward was never sent: surely not applied.
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "cannot forward to the primary: "+err.Error())
		}
		return nil
	})
}
