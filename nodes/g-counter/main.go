// Command g-counter serves Maelstrom's g-counter workload: a grow-only
// counter replicated as a state-based CRDT (lib/crdt's GCounter) by
// lib/counter's delta dissemination. Adds and reads are answered locally,
// so the node stays available under partitions; replicas agree once they
// can talk again.
package main

import (
	"fmt"
	"io"
	"os"

	"maelkit/lib/counter"
	"maelkit/lib/crdt"
	"maelkit/lib/node"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "g-counter:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	counter.Serve(n, crdt.NewGCounter, counter.Options{})
	return n.Run()
}
