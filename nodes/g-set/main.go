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

	"maelkit/lib/gossip"
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

type readOK struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// storeDir is where run keeps the store: the working directory (""); tests
// give each run a directory of its own.
var storeDir = func() string { return "" }

// run is the whole node over the given arguments and streams.
func run(args []string, in io.Reader, out, logs io.Writer) error {
	opts, err := gossipnode.ParseFlags("g-set", args, logs)
	if err != nil {
		return err
	}
	opts.Dir = storeDir()
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	h := gossipnode.NewHost(n, opts, func(r gossip.Result) any {
		switch {
		case r.Err != nil:
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, r.Err.Error())
		case r.Read:
			return readOK{Type: "read_ok", Value: r.Value}
		}
		return typeOnly{Type: "add_ok"}
	})
	node.HandleCommand(h, "add", func(b addReq) (gossip.Command, error) {
		if b.Element == nil {
			return gossip.Command{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "add request has no element")
		}
		return gossip.Command{Value: b.Element}, nil
	})
	node.HandleCommand(h, "read", func(struct{}) (gossip.Command, error) { return gossip.Command{Read: true}, nil })
	return n.Run()
}
