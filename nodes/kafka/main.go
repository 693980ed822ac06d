// Command kafka serves Maelstrom's kafka workload (Gossip Glomers 5a-5c)
// from a log per key replicated with Raft: lib/kafkalog on lib/raftnode.
// Sends and commits are ordered by the Raft leader and answered when they
// apply; polls and list_committed_offsets are served from the node's
// applied state.
package main

import (
	"fmt"
	"io"
	"os"

	"maelkit/lib/kafkalog"
	"maelkit/lib/node"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kafka:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	kafkalog.Register(n, kafkalog.DefaultConfig())
	return n.Run()
}
