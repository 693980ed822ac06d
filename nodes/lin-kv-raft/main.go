// Command lin-kv-raft serves Maelstrom's lin-kv workload from a key-value
// store replicated with Raft (lib/raft → lib/rsm → lib/kv, on the node
// adapter lib/raftnode): linearizable writes and cas through the log,
// linearizable reads through ReadIndex.
package main

import (
	"fmt"
	"io"
	"os"

	"maelkit/lib/kv"
	"maelkit/lib/node"
	"maelkit/lib/raftnode"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lin-kv-raft:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	return runTiming(in, out, logs, raftnode.DefaultTiming())
}

func runTiming(in io.Reader, out, logs io.Writer, tm raftnode.Timing) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	store := kv.NewStore()
	if _, err := raftnode.Register(n, raftnode.Config{
		Types:   []string{"read", "write", "cas"},
		Machine: store,
		Codec:   kvCodec{store: store},
		Timing:  tm,
	}); err != nil {
		return err
	}
	return n.Run()
}
