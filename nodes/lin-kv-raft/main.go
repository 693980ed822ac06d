// Command lin-kv-raft serves Maelstrom's lin-kv workload from a key-value
// store replicated with Raft (lib/raft → lib/rsm → lib/kv): linearizable
// writes and cas through the log, linearizable reads through ReadIndex.
package main

import (
	"fmt"
	"io"
	"os"

	"maelkit/lib/node"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lin-kv-raft:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	return runTiming(in, out, logs, defaultTiming())
}

func runTiming(in io.Reader, out, logs io.Writer, tm timing) error {
	n, err := node.New(node.Config{In: in, Out: out, Logger: node.NewLogger(logs, os.Getenv(node.LogEnv))})
	if err != nil {
		return err
	}
	newServer(n, tm)
	return n.Run()
}
