// Command echo serves Maelstrom's echo workload: each echo request comes back
// as echo_ok carrying the same payload, byte for byte.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/node"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

// echo is the request body; the payload stays raw so no value is re-encoded.
type echo struct {
	Echo json.RawMessage `json:"echo"`
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	node.Handle(n, "echo", func(req *node.Request, b echo) error {
		if b.Echo == nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "echo request has no echo field")
		}
		// Built by hand rather than from a struct: encoding/json would
		// re-compact the payload, and echo must return it unchanged.
		reply := append([]byte(`{"type":"echo_ok","echo":`), b.Echo...)
		return req.Reply(json.RawMessage(append(reply, '}')))
	})
	return n.Run()
}
