// Package gossipnode runs a gossip.Core on the node runtime (lib/node): it
// routes "gossip" messages to the core, drives its ticks from the monotonic
// clock, and sends what the core drains once per burst of input. The
// broadcast and g-set binaries are this plus their workload's handlers.
package gossipnode

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

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
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
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

// ErrNotReady: the node has no core yet (init has not arrived).
var ErrNotReady = errors.New("gossipnode: not initialized")

// Server is a core hosted on a node. All methods run on the node's loop.
type Server struct {
	n     *node.Node
	opts  Options
	core  *gossip.Core
	start time.Time
	tick  time.Duration
	ticks int64 // core ticks so far
}

// tickCatchUpMax bounds the ticks replayed in one timer turn after a stall.
const tickCatchUpMax = 1000

// Register installs the gossip handler, the init hook, the ticker and the
// output drain on n. Call it before n.Run.
func Register(n *node.Node, opts Options) *Server {
	s := &Server{n: n, opts: opts}
	n.OnInit(func() error {
		cfg := opts.Config(n.ID(), n.NodeIDs())
		cfg.Logger = n.Logger()
		core, err := gossip.New(cfg)
		if err != nil {
			return err
		}
		s.core = core
		s.start = time.Now()
		tick := time.Duration(max(opts.TickMs, 0)) * time.Millisecond
		if tick == 0 {
			tick = 10 * time.Millisecond
		}
		s.tick = tick
		n.Every(tick, s.advance)
		return nil
	})
	node.Handle(n, gossip.MessageType, func(req *node.Request, m gossip.Message) error {
		if s.core != nil {
			s.advance()
			s.core.Step(req.Src, m)
		}
		return nil
	})
	n.OnIdle(s.drain)
	return s
}

// advance ticks the core up to the monotonic clock. Ticks follow the clock
// rather than count timer runs, and every input first brings the core up to
// date, so a late timer or a starved process never skews the core's
// notion of time (upload alignment depends on it).
func (s *Server) advance() {
	target := int64(time.Since(s.start) / s.tick)
	for k := 0; s.ticks < target && k < tickCatchUpMax; k++ {
		s.core.Tick()
		s.ticks++
	}
}

func (s *Server) drain() {
	if s.core == nil {
		return
	}
	for _, e := range s.core.Drain() {
		if err := s.n.Send(e.To, e.Msg); err != nil {
			s.n.Logger().Warn("gossip: send failed", "to", e.To, "err", err)
		}
	}
}

// Add adds a client's value; once it returns nil the value is stored and
// will reach every node, so the client may be acknowledged.
func (s *Server) Add(value json.RawMessage) error {
	if s.core == nil {
		return ErrNotReady
	}
	s.advance()
	return s.core.Add(value)
}

// AppendValues appends the local values as a JSON array to buf.
func (s *Server) AppendValues(buf []byte) []byte {
	if s.core == nil {
		return append(buf, "[]"...)
	}
	return s.core.Set().AppendJSON(buf)
}

// Core exposes the core, for tests.
func (s *Server) Core() *gossip.Core { return s.core }
