// Command paxos-register serves Maelstrom's lin-kv workload with one
// CASPaxos register per key (lib/paxos): every node proposes for the
// clients that reach it, so there is no leader, no election and no
// failover gap; a node on the majority side keeps answering through a
// partition.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"maelkit/lib/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "paxos-register:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given arguments and streams (stdin,
// stdout, stderr).
func run(args []string, in io.Reader, out, logs io.Writer) error {
	opt, err := parseOptions(args, logs)
	if err != nil {
		return err
	}
	opt.figures = logs
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	h := newHost(n, opt)
	err = n.Run()
	return errors.Join(err, h.Close())
}

// parseOptions reads the optional flags (eddy and Maelstrom pass their
// positional arguments to the binary).
func parseOptions(args []string, logs io.Writer) (options, error) {
	opt := defaultOptions()
	fs := flag.NewFlagSet("paxos-register", flag.ContinueOnError)
	fs.SetOutput(logs)
	fs.DurationVar(&opt.tick, "tick", opt.tick, "the core's tick period")
	fs.Var(&opt.thrifty, "thrifty", "send each round to a bare quorum first: true, false, or auto (three nodes only)")
	fs.BoolVar(&opt.fastPath, "fast-path", opt.fastPath, "piggyback the next prepare on each accept")
	fs.BoolVar(&opt.forward, "forward", opt.forward, "hand operations to the proposer busy on their key")
	fs.BoolVar(&opt.relay, "relay", opt.relay, "go around links that work one way only, through a third node")
	fs.StringVar(&opt.dir, "dir", opt.dir, "directory for the node's durable state (default: the working directory)")
	fs.BoolVar(&opt.sync, "sync", opt.sync, "fsync durable writes before answering (false: a power loss may lose acknowledged state)")
	fs.BoolVar(&opt.amnesia, "amnesia", opt.amnesia, "disks may be wiped (eddy's --kill-wipes-disk): a node that starts without state relearns from a quorum of peers before it serves; without it such a start is a first start (all it can be under Maelstrom), which serves at once")
	fs.DurationVar(&opt.statsEvery, "stats-every", opt.statsEvery, "log the disk's work this often (0: never)")
	if err := fs.Parse(args); err != nil {
		return opt, err
	}
	if opt.tick <= 0 {
		return opt, fmt.Errorf("-tick must be positive, got %v", opt.tick)
	}
	return opt, nil
}
