package counter

import (
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/crdt"
	"maelkit/lib/node"
)

// DefaultTick is the real time of one core tick.
const DefaultTick = 100 * time.Millisecond

// Options configure Serve.
type Options struct {
	// Tick is the real time of one tick (DefaultTick when zero).
	Tick time.Duration
	// Core is the core's configuration; ID, NodeIDs and Logger are filled
	// in at init.
	Core Config
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
// (empty returns the empty counter of the matching type): add and read are
// answered at once from local state, so they never wait on the network and
// stay available under any partition; a Core built at init replicates the
// state, driven by a timer and by the peers' Sync messages, its output sent
// once per burst of input. Call it before n.Run.
func Serve[C crdt.Counter[C]](n *node.Node, empty func() C, o Options) {
	tick := o.Tick
	if tick <= 0 {
		tick = DefaultTick
	}
	var core *Core[C] // built at init, when the ids are known
	n.OnInit(func() error {
		cfg := o.Core
		cfg.ID, cfg.NodeIDs, cfg.Logger = n.ID(), n.NodeIDs(), n.Logger()
		c, err := New(cfg, empty())
		if err != nil {
			return err
		}
		core = c
		n.Every(tick, core.Tick)
		return nil
	})
	n.OnIdle(func() {
		if core == nil {
			return
		}
		for _, out := range core.Drain() {
			if err := n.Send(out.To, out.Msg); err != nil {
				n.Logger().Warn("counter: send failed", "to", out.To, "err", err)
			}
		}
	})
	// The runtime holds messages until init, so core is set in handlers;
	// the checks only guard against a runtime that would not.
	node.Handle(n, "add", func(req *node.Request, b addReq) error {
		switch {
		case core == nil:
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")
		case b.Delta == nil:
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "add has no delta")
		}
		if err := core.Add(*b.Delta); err != nil {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
		}
		return req.Reply(addOK{Type: "add_ok"})
	})
	node.Handle(n, "read", func(req *node.Request, _ struct{}) error {
		if core == nil {
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")
		}
		return req.Reply(readOK{Type: "read_ok", Value: core.Value()})
	})
	node.Handle(n, SyncType, func(req *node.Request, m Sync[C]) error {
		if core != nil {
			core.Step(req.Src, m)
		}
		return nil
	})
}
