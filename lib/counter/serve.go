package counter

import (
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/crdt"
	"maelkit/lib/node"
)

// DefaultTick is the real time of one core tick.
const DefaultTick = 100 * time.Millisecond

// Options configure Serve.
type Options struct {
	// Tick is the real time of one tick (DefaultTick when zero).
	Tick time.Duration
	// Core is the core's configuration; ID, NodeIDs, Logger and (when
	// Durable) Incarnation are filled in at init.
	Core Config
	// Durable makes the node survive kills (NewDurable): it keeps its own
	// entry in a store in the working directory and acknowledges an add
	// once the entry is on disk.
	Durable bool
	// Dir is where a Durable node keeps its store (empty: the working
	// directory).
	Dir string
	// NoSync skips fsync (node.HostConfig.NoSync).
	NoSync bool
}

// addReq is the workloads' add request; Delta is a pointer so that a
// missing field is refused rather than read as 0.
type addReq struct {
	Delta *int64 `json:"delta"`
}

type addOK struct {
	Type string `json:"type"`
}

type readOK struct {
	Type  string `json:"type"`
	Value int64  `json:"value"`
}

// Serve makes n a node of Maelstrom's g-counter or pn-counter workload
// (empty returns the empty counter of the matching type): a Core hosted on
// n (lib/node's Host) answers add and read at once from local state, so
// they never wait on the network and stay available under any partition,
// and replicates the state, driven by its ticks and the peers' Sync
// messages. Call it before n.Run.
func Serve[C crdt.Counter[C]](n *node.Node, empty func() C, o Options) {
	tick := o.Tick
	if tick <= 0 {
		tick = DefaultTick
	}
	hc := node.HostConfig[Sync[C], Command, Result]{
		Tick:      tick,
		PeerTypes: []string{SyncType},
		Reply:     replyBody,
		Dir:       o.Dir,
		NoSync:    o.NoSync,
	}
	config := func(n *node.Node) Config {
		cfg := o.Core
		cfg.ID, cfg.NodeIDs, cfg.Logger = n.ID(), n.NodeIDs(), n.Logger()
		return cfg
	}
	if o.Durable {
		hc.Durable = func(n *node.Node, rec core.Recovered) (core.Core[Sync[C], Command, Result], error) {
			cfg := config(n)
			// Wall-clock nanoseconds at boot: larger for every later
			// process of this node, disk or no disk.
			cfg.Incarnation = time.Now().UnixNano()
			return NewDurable(cfg, empty(), rec)
		}
	} else {
		hc.Build = func(n *node.Node) (core.Core[Sync[C], Command, Result], error) {
			return New(config(n), empty())
		}
	}
	h := node.NewHost(n, hc)
	node.HandleCommand(h, "add", func(b addReq) (Command, error) {
		if b.Delta == nil {
			return Command{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "add has no delta")
		}
		return Command{Delta: *b.Delta}, nil
	})
	node.HandleCommand(h, "read", func(struct{}) (Command, error) { return Command{Read: true}, nil })
}

// replyBody is the workload's reply to a Result.
func replyBody(r Result) any {
	switch {
	case r.Err != nil:
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, r.Err.Error())
	case r.Read:
		return readOK{Type: "read_ok", Value: r.Value}
	}
	return addOK{Type: "add_ok"}
}
