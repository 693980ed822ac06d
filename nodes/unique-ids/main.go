// Command unique-ids serves Maelstrom's unique-ids workload: every generate
// request gets an id no other request, node or run of this node ever got,
// without coordination (see lib/flakeid).
package main

import (
	"fmt"
	"io"
	"os"

	"maelkit/lib/flakeid"
	"maelkit/lib/node"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "unique-ids:", err)
		os.Exit(1)
	}
}

type generateOK struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	var ids *flakeid.Generator // built at init, when the node id is known
	n.OnInit(func() error {
		g, err := flakeid.New(n.ID())
		if err != nil {
			return err
		}
		ids = g
		return nil
	})
	node.Handle(n, "generate", func(req *node.Request, _ struct{}) error {
		return req.Reply(generateOK{Type: "generate_ok", ID: ids.Next()})
	})
	return n.Run()
}
