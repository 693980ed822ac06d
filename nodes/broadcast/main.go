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

	"maelkit/lib/gossip"
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

type readOK struct {
	Type     string          `json:"type"`
	Messages json.RawMessage `json:"messages"`
}

// storeDir is where run keeps the store: the working directory (""); tests
// give each run a directory of its own.
var storeDir = func() string { return "" }

// run is the whole node over the given arguments and streams.
func run(args []string, in io.Reader, out, logs io.Writer) error {
	opts, err := gossipnode.ParseFlags("broadcast", args, logs)
	if err != nil {
		return err
	}
	opts.Dir = storeDir()
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	h := gossipnode.NewHost(n, opts, func(r gossip.Result) any {
		if r.Read {
			return readOK{Type: "read_ok", Messages: r.Value}
		}
		return typeOnly{Type: "broadcast_ok"}
	})
	node.HandleCommand(h, "broadcast", func(b broadcastReq) (gossip.Command, error) {
		if b.Message == nil {
			return gossip.Command{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "broadcast request has no message")
		}
		return gossip.Command{Value: json.RawMessage(strconv.AppendInt(nil, *b.Message, 10))}, nil
	})
	node.HandleCommand(h, "read", func(struct{}) (gossip.Command, error) { return gossip.Command{Read: true}, nil })
	node.Handle(n, "topology", func(req *node.Request, _ topologyReq) error {
		return req.Reply(typeOnly{Type: "topology_ok"})
	})
	return n.Run()
}
