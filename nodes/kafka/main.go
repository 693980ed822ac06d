// Command kafka serves Maelstrom's kafka workload (Gossip Glomers 5a-5c)
// from a log per key replicated with Raft: lib/kafkalog on lib/raftnode.
// Sends and commits are ordered by the Raft leader and answered when they
// apply; polls and list_committed_offsets are served from the node's
// applied state.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"maelkit/lib/kafkalog"
	"maelkit/lib/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kafka:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(args []string, in io.Reader, out, logs io.Writer) error {
	cfg, err := parseOptions(args, logs)
	if err != nil {
		return err
	}
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	if storeDir != nil {
		cfg.Dir = storeDir()
	}
	kafkalog.Register(n, cfg)
	return n.Run()
}

// storeDir gives each node a test runs in-process a store directory of its
// own (nil: the working directory, where eddy and Maelstrom start nodes).
var storeDir func() string

// parseOptions reads the optional flags (eddy and Maelstrom pass their
// positional arguments to the binary).
func parseOptions(args []string, logs io.Writer) (kafkalog.Config, error) {
	cfg := kafkalog.DefaultConfig()
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	fs.SetOutput(logs)
	sync := fs.Bool("sync", true, "fsync the Raft state before answering (false: written, not synced)")
	fs.DurationVar(&cfg.Flush, "flush", cfg.Flush, "hold writes and hand them to Raft together once per period (0: at once)")
	fs.DurationVar(&cfg.Timing.TickMin, "raft-tick", cfg.Timing.TickMin, "the shortest Raft tick (a heartbeat per tick); a multiple of -flush")
	fs.DurationVar(&cfg.Timing.TickMax, "raft-tick-max", cfg.Timing.TickMax, "the longest Raft tick, which the round trip sizes between the two (the election timeout is 10 to 20 ticks)")
	fs.BoolVar(&cfg.Timing.RelayRouting, "relay", cfg.Timing.RelayRouting, "route raft messages around a direction of a link that does not work, through a third node (raftnode.Timing.RelayRouting; -relay=false: never)")
	fs.BoolVar(&cfg.Amnesia, "amnesia", false, "disks may be wiped (eddy's --kill-wipes-disk): a node that starts without state rejoins through its peers before it votes; without it such a start is a first boot (all it can be under Maelstrom), which votes at once")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.NoSync = !*sync
	switch {
	case cfg.Flush < 0 || cfg.Timing.TickMin <= 0:
		return cfg, fmt.Errorf("-flush must be >= 0 and -raft-tick > 0, got %v and %v", cfg.Flush, cfg.Timing.TickMin)
	case cfg.Flush > 0 && cfg.Timing.TickMin%cfg.Flush != 0:
		return cfg, fmt.Errorf("-raft-tick %v is not a multiple of -flush %v", cfg.Timing.TickMin, cfg.Flush)
	}
	cfg.Timing.TickStart = max(cfg.Timing.TickStart, cfg.Timing.TickMin)
	cfg.Timing.TickMax = max(cfg.Timing.TickMax, cfg.Timing.TickMin)
	return cfg, nil
}
