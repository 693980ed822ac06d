// Command broadcast serves Maelstrom's broadcast workload on the gossip core
// (lib/gossip): a star with a batching hub, cumulative acknowledgements and
// digest anti-entropy. Reads are served locally. The given topology is
// acknowledged and ignored: the core builds its own spanning structure.
//
// Flags (pass them after eddy's options, e.g. `-- --batch-ms 200`) tune the
// core; see gossipnode.ParseFlags.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/gossip/gossipnode"
	"maelkit/lib/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "broadcast:", err)
		os.Exit(1)
	}
}

type broadcastReq struct {
	Message *int64 `json:"message"`
}

// topologyReq is decoded, though ignored, so that a malformed topology is
// answered 12 rather than acknowledged.
type topologyReq struct {
	Topology map[string][]string `json:"topology"`
}

type typeOnly struct {
	Type string `json:"type"`
}

// run is the whole node over the given arguments and streams.
func run(args []string, in io.Reader, out, logs io.Writer) error {
	opts, err := gossipnode.ParseFlags("broadcast", args, logs)
	if err != nil {
		return err
	}
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	g := gossipnode.Register(n, opts)
	node.Handle(n, "broadcast", func(req *node.Request, b broadcastReq) error {
		if b.Message == nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "broadcast request has no message")
		}
		if err := g.Add(json.RawMessage(strconv.AppendInt(nil, *b.Message, 10))); err != nil {
			return err
		}
		return req.Reply(typeOnly{Type: "broadcast_ok"})
	})
	node.Handle(n, "read", func(req *node.Request, _ struct{}) error {
		body := g.AppendValues([]byte(`{"type":"read_ok","messages":`))
		return req.Reply(json.RawMessage(append(body, '}')))
	})
	node.Handle(n, "topology", func(req *node.Request, _ topologyReq) error {
		return req.Reply(typeOnly{Type: "topology_ok"})
	})
	return n.Run()
}
