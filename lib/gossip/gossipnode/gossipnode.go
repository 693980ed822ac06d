// Package gossipnode sets up a gossip.Core on the node runtime's Host
// (lib/node) from command-line options. The broadcast and g-set binaries
// are this plus their workload's commands and reply bodies.
package gossipnode

import (
	"flag"
	"fmt"
	"io"
	"time"

	"maelkit/lib/core"
	"maelkit/lib/gossip"
	"maelkit/lib/node"
)

// Options tunes the core from the command line. Zero fields keep
// gossip.Defaults.
type Options struct {
	TickMs        int64 // one core tick; default 10
	BatchMs       int64 // flush period (the latency / messages trade-off)
	AckDelayMs    int64
	RTOMs         int64
	RTOMaxMs      int64
	SuspectMs     int64
	BatchMax      int
	AntiEntropyMs int64
	NoAlign       bool // upload at once instead of just in time for the hub's flush
	// NoSync skips fsync (--sync=false; node.HostConfig.NoSync).
	NoSync bool
	// Dir is where the node keeps its store (empty: the working
	// directory); not a flag: tests set it.
	Dir string
}

// ParseFlags reads Options from a binary's arguments, e.g.
// ["--batch-ms", "200"]. Unknown flags and positional arguments are errors.
func ParseFlags(name string, args []string, errOut io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Int64Var(&o.TickMs, "tick-ms", 0, "core tick in ms (default 10)")
	fs.Int64Var(&o.BatchMs, "batch-ms", 0, "flush period in ms: larger is fewer messages, more latency (default 300)")
	fs.Int64Var(&o.AckDelayMs, "ack-delay-ms", 0, "longest wait for a piggyback before a standalone ack (default 1000)")
	fs.Int64Var(&o.RTOMs, "rto-ms", 0, "first retransmission timeout in ms (default 2000)")
	fs.Int64Var(&o.RTOMaxMs, "rto-max-ms", 0, "cap of the doubling retransmission timeout in ms (default 3000)")
	fs.Int64Var(&o.SuspectMs, "suspect-ms", 0, "how long a silent hub is passed over in ms (default 10000)")
	fs.Int64Var(&o.AntiEntropyMs, "anti-entropy-ms", 0, "age before anti-entropy offers a value in ms (default 2000)")
	fs.IntVar(&o.BatchMax, "batch-max", 0, "values per message at most (default 1024)")
	fs.BoolVar(&o.NoAlign, "no-align", false, "upload values at once rather than just in time for the hub's next flush")
	sync := fs.Bool("sync", true, "fsync every write before acknowledging; false keeps writes in the page cache (a power loss can lose acknowledged values)")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	o.NoSync = !*sync
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("%s: unexpected arguments %q", name, fs.Args())
	}
	for _, v := range []int64{o.TickMs, o.BatchMs, o.AckDelayMs, o.RTOMs, o.RTOMaxMs, o.SuspectMs, o.AntiEntropyMs, int64(o.BatchMax)} {
		if v < 0 {
			return Options{}, fmt.Errorf("%s: negative option", name)
		}
	}
	return o, nil
}

// Config builds the core's configuration for a node.
func (o Options) Config(id string, nodes []string) gossip.Config {
	tick := o.TickMs
	if tick == 0 {
		tick = 10
	}
	cfg := gossip.Defaults(id, nodes, tick)
	ticks := func(ms int64, dst *int64) {
		if ms > 0 {
			*dst = max(1, (ms+tick-1)/tick)
		}
	}
	ticks(o.BatchMs, &cfg.BatchTicks)
	ticks(o.AckDelayMs, &cfg.AckDelayTicks)
	ticks(o.RTOMs, &cfg.RTOTicks)
	ticks(o.RTOMaxMs, &cfg.RTOMaxTicks)
	ticks(o.SuspectMs, &cfg.SuspectTicks)
	ticks(o.AntiEntropyMs, &cfg.AntiEntropyTicks)
	if o.BatchMax > 0 {
		cfg.BatchMax = o.BatchMax
	}
	cfg.AlignUploads = !o.NoAlign
	// Keep the timeouts consistent when only some were given.
	if cfg.RTOTicks <= cfg.AckDelayTicks {
		cfg.RTOTicks = cfg.AckDelayTicks + max(1, 1000/tick)
	}
	cfg.RTOMaxTicks = max(cfg.RTOMaxTicks, cfg.RTOTicks)
	return cfg
}

// Host is a gossip core hosted on a node.
type Host = node.Host[gossip.Message, gossip.Command, gossip.Result]

// NewHost hosts a durable gossip core (gossip.NewDurable) configured by
// opts on n, with its store in opts.Dir; reply makes the workload's reply
// bodies. The binary registers its client commands with
// node.HandleCommand. Call it before n.Run.
func NewHost(n *node.Node, opts Options, reply func(gossip.Result) any) *Host {
	tick := time.Duration(max(opts.TickMs, 0)) * time.Millisecond
	if tick == 0 {
		tick = 10 * time.Millisecond
	}
	return node.NewHost(n, node.HostConfig[gossip.Message, gossip.Command, gossip.Result]{
		Durable: func(n *node.Node, rec core.Recovered) (core.Core[gossip.Message, gossip.Command, gossip.Result], error) {
			cfg := opts.Config(n.ID(), n.NodeIDs())
			cfg.Logger = n.Logger()
			// Wall-clock nanoseconds at boot: larger for every later
			// process of this node, disk or no disk.
			cfg.Incarnation = time.Now().UnixNano()
			return gossip.NewDurable(cfg, rec)
		},
		Dir:       opts.Dir,
		NoSync:    opts.NoSync,
		Tick:      tick,
		PeerTypes: []string{gossip.MessageType},
		Reply:     reply,
	})
}
