// Command pn-counter serves Maelstrom's pn-counter workload: a counter that
// goes both ways, replicated as a state-based CRDT (lib/crdt's PNCounter) by
// lib/counter's delta dissemination. Adds and reads are answered locally,
// so the node stays available under partitions; replicas agree once they
// can talk again.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"maelkit/lib/counter"
	"maelkit/lib/crdt"
	"maelkit/lib/node"
)

func main() {
	fs := flag.NewFlagSet("pn-counter", flag.ExitOnError)
	sync := fs.Bool("sync", true, "fsync every write before acknowledging; false keeps writes in the page cache (a power loss can lose acknowledged adds)")
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pn-counter: unexpected arguments %q\n", fs.Args())
		os.Exit(2)
	}
	if err := serve(counter.Options{Durable: true, NoSync: !*sync}, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pn-counter:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr),
// durable, with its store in storeDir().
func run(in io.Reader, out, logs io.Writer) error {
	return serve(counter.Options{Durable: true, Dir: storeDir()}, in, out, logs)
}

// storeDir is where run keeps the store: the working directory (""), as
// main does; tests give each run a directory of its own.
var storeDir = func() string { return "" }

func serve(o counter.Options, in io.Reader, out, logs io.Writer) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	counter.Serve(n, crdt.NewPNCounter, o)
	return n.Run()
}
