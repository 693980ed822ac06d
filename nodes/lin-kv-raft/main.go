// Command lin-kv-raft serves Maelstrom's lin-kv workload from a key-value
// store replicated with Raft (lib/raft → lib/rsm → lib/kv, on the node
// adapter lib/raftnode): linearizable writes and cas through the log,
// linearizable reads through ReadIndex.
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"maelkit/lib/kv"
	"maelkit/lib/node"
	"maelkit/lib/raftnode"
)

// opts are the command line's options.
type opts struct {
	// noSync turns fsync off (-sync=false), for measuring its cost.
	noSync bool
	// dir holds the node's store ("": the working directory).
	dir string
	// amnesia: disks may be wiped (-amnesia, raftnode.Config.Amnesia).
	amnesia bool
	// statsEvery logs the disk's work to the log stream this often
	// (-stats-every; 0: never), for the measurement scripts.
	statsEvery time.Duration
}

// amnesiaUsage is -amnesia's help.
const amnesiaUsage = "disks may be wiped (eddy's --kill-wipes-disk): a node that starts without state rejoins through its peers before it votes; without it such a start is a first boot (all it can be under Maelstrom), which votes at once"

// testDir gives each node a test runs in-process a directory of its own
// for its store (nil: the working directory).
var testDir func() string

func main() {
	sync := flag.Bool("sync", true, "fsync Raft's term, vote, log and snapshots before answering (false: measure the cost; a power loss can then lose acknowledged writes)")
	amnesia := flag.Bool("amnesia", false, amnesiaUsage)
	statsEvery := flag.Duration("stats-every", 0, "log the disk's work this often (0: never)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "lin-kv-raft: unexpected arguments", flag.Args())
		os.Exit(2)
	}
	if err := runOpts(os.Stdin, os.Stdout, os.Stderr, raftnode.DefaultTiming(), opts{noSync: !*sync, amnesia: *amnesia, statsEvery: *statsEvery}); err != nil {
		fmt.Fprintln(os.Stderr, "lin-kv-raft:", err)
		os.Exit(1)
	}
}

// run is the whole node over the given streams (stdin, stdout, stderr).
func run(in io.Reader, out, logs io.Writer) error {
	return runTiming(in, out, logs, raftnode.DefaultTiming())
}

func runTiming(in io.Reader, out, logs io.Writer, tm raftnode.Timing) error {
	var o opts
	if testDir != nil {
		o.dir = testDir()
	}
	return runOpts(in, out, logs, tm, o)
}

func runOpts(in io.Reader, out, logs io.Writer, tm raftnode.Timing, o opts) error {
	n, err := node.New(node.Stdio(in, out, logs))
	if err != nil {
		return err
	}
	store := kv.NewStore()
	cfg := raftnode.Config{
		Types:      []string{"read", "write", "cas"},
		Machine:    store,
		Codec:      kv.Codec{Store: store},
		Timing:     tm,
		NoSync:     o.noSync,
		Dir:        o.dir,
		Amnesia:    o.amnesia,
		StatsEvery: o.statsEvery,
	}
	if o.statsEvery > 0 {
		cfg.StatsLog = slog.New(slog.NewTextHandler(logs, nil))
	}
	if _, err := raftnode.Register(n, cfg); err != nil {
		return err
	}
	return n.Run()
}
