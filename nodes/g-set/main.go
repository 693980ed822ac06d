// Command g-set serves Maelstrom's g-set workload: a grow-only set of JSON
// values of any type (lib/gset), replicated by the same gossip core as the
// broadcast binary. Reads are served locally.
//
// Flags (pass them after eddy's options, e.g. `-- --batch-ms 200`) tune the
// core; see gossipnode.ParseFlags.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/gossip/gossipnode"
	"maelkit/lib/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "g-set:", err)
		os.Exit(1)
	}
}

// addReq keeps the element raw: it may be any JSON value.
type addReq struct {
	Element json.RawMessage `json:"element"`
}

type typeOnly struct {
	Type string `json:"type"`
}

// run is the whole node over the given arguments and streams.
func run(args []string, in io.Reader, out, logs io.Writer) error {
	opts, err := gossipnode.ParseFlags("g-set", args, logs)
	if err != nil {
		return err
	}
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	g := gossipnode.Register(n, opts)
	node.Handle(n, "add", func(req *node.Request, b addReq) error {
		if b.Element == nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "add request has no element")
		}
		if err := g.Add(b.Element); err != nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
		}
		return req.Reply(typeOnly{Type: "add_ok"})
	})
	node.Handle(n, "read", func(req *node.Request, _ struct{}) error {
		body := g.AppendValues([]byte(`{"type":"read_ok","value":`))
		return req.Reply(json.RawMessage(append(body, '}')))
	})
	return n.Run()
}
