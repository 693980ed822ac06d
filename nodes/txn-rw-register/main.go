// Command txn-rw-register serves Maelstrom's txn-rw-register and
// txn-list-append workloads (lib/txn).
//
// The mode is the positional argument, which both Maelstrom and eddy pass
// after their options:
//
//	(none)            strict serializable: PROVISIONAL single-primary design
//	                  (primary.go), not partition tolerant; to be replaced
//	                  by transactions replicated through lib/raft
//	read-committed    totally available read committed (lib/txn Core)
//	read-uncommitted  the same replica (read committed is stronger)
//
// Anything else exits at once with a usage message on stderr.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/node"
	"maelkit/lib/txn"
)

const usage = `usage: txn-rw-register [read-committed | read-uncommitted]
  (no argument: strict serializable through a single primary, provisional)`

// tickMs is one core tick; tickCatchUpMax bounds the ticks replayed in one
// timer turn after a stall.
const (
	tickMs         = 10
	tickCatchUpMax = 1000
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "txn-rw-register:", err)
		os.Exit(2)
	}
}

// mode is the consistency the node provides.
type mode int8

const (
	strictSerializable mode = iota // provisional single primary
	readCommitted                  // totally available
)

// parseMode reads the positional arguments.
func parseMode(args []string) (mode, error) {
	switch {
	case len(args) == 0:
		return strictSerializable, nil
	case len(args) == 1 && (args[0] == "read-committed" || args[0] == "read-uncommitted"):
		return readCommitted, nil
	}
	return 0, fmt.Errorf("unknown arguments %q\n%s", args, usage)
}

// txnReq is a client's (or, in the primary mode, a forwarded) request.
type txnReq struct {
	Txn txn.Txn `json:"txn"`
}

type txnOK struct {
	Type string  `json:"type"`
	Txn  txn.Txn `json:"txn"`
}

// run is the whole node over the given arguments and streams.
func run(args []string, in io.Reader, out, logs io.Writer) error {
	m, err := parseMode(args)
	if err != nil {
		return err
	}
	n, err := node.New(node.Config{In: in, Out: out, Logger: node.NewLogger(logs, os.Getenv(node.LogEnv))})
	if err != nil {
		return err
	}
	if m == strictSerializable {
		registerPrimary(n)
		return n.Run()
	}
	registerReadCommitted(n)
	return n.Run()
}

// registerReadCommitted installs the available mode on n: a txn.Core
// driven by a ticker, its replication messages, and the "txn" handler.
func registerReadCommitted(n *node.Node) {
	var core *txn.Core
	n.OnInit(func() error {
		cfg := txn.Defaults(n.ID(), n.NodeIDs(), tickMs)
		cfg.Logger = n.Logger()
		c, err := txn.New(cfg)
		if err != nil {
			return err
		}
		core = c
		start, ticks := time.Now(), int64(0)
		// Ticks follow the monotonic clock, so a busy loop never stretches
		// the core's notion of time.
		n.Every(tickMs*time.Millisecond, func() {
			target := int64(time.Since(start) / (tickMs * time.Millisecond))
			for k := 0; ticks < target && k < tickCatchUpMax; k++ {
				core.Tick()
				ticks++
			}
		})
		return nil
	})
	node.Handle(n, txn.MessageType, func(req *node.Request, m txn.Message) error {
		if core != nil {
			core.Step(req.Src, m)
		}
		return nil
	})
	node.Handle(n, "txn", func(req *node.Request, b txnReq) error {
		if b.Txn == nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "txn request has no txn list")
		}
		done, err := core.Txn(b.Txn)
		switch {
		case errors.Is(err, txn.ErrLogFull):
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, err.Error())
		case err != nil:
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
		}
		return req.Reply(txnOK{Type: "txn_ok", Txn: done})
	})
	n.OnIdle(func() {
		if core == nil {
			return
		}
		for _, e := range core.Drain() {
			if err := n.Send(e.To, e.Msg); err != nil {
				n.Logger().Warn("txn: send failed", "to", e.To, "err", err)
			}
		}
	})
}
