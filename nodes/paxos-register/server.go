package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/node"
	"maelkit/lib/paxos"
)

// options are the node's tunables.
type options struct {
	// tick is the core's unit of time: its round timeout (20 ticks),
	// backoff and yield are counted in ticks. 5 ms keeps a round timeout
	// (100 ms) well above a round trip at Maelstrom's usual latencies and
	// well below lin-kv's 1 s client timeout.
	tick     time.Duration
	thrifty  thrifty
	fastPath bool
	forward  bool
	relay    bool
	// dir holds the node's durable state (promises, acceptances, ballot
	// counters); empty: the working directory, where eddy and Maelstrom
	// start the node. sync false skips fsync (node.HostConfig.NoSync).
	dir  string
	sync bool
	// statsEvery, if positive, logs the disk's work this often, and when
	// the node first served and answered after its init, to figures
	// (node.HostConfig.StatsEvery).
	statsEvery time.Duration
	figures    io.Writer
	// amnesia: disks may be wiped (-amnesia, paxos.Config.Amnesia).
	amnesia bool
}

func defaultOptions() options {
	return options{tick: 5 * time.Millisecond, thrifty: thriftyAuto, fastPath: true, forward: true, relay: true, sync: true}
}

// thrifty says whether rounds go to a bare quorum first (paxos.Config.Thrifty):
// on, off, or auto, which is on for three nodes only. There the one peer an
// accept goes to is the forwarder of the batch it carries, which learns the
// outcome from the accept itself (paxos.Msg.Self): half the messages of a
// round and no forward reply, for the latency of one peer instead of the
// faster of two. With five nodes the wait for two given peers out of four
// costs more and saves less.
type thrifty string

const (
	thriftyAuto thrifty = "auto"
	thriftyOn   thrifty = "true"
	thriftyOff  thrifty = "false"
)

func (t *thrifty) String() string   { return string(*t) }
func (t *thrifty) IsBoolFlag() bool { return true } // a bare -thrifty means on
func (t *thrifty) Set(v string) error {
	switch thrifty(v) {
	case thriftyAuto, thriftyOn, thriftyOff:
		*t = thrifty(v)
		return nil
	}
	return fmt.Errorf("want true, false or auto, got %q", v)
}

// on resolves auto for a cluster of n nodes.
func (t thrifty) on(n int) bool { return t == thriftyOn || t == thriftyAuto && n == 3 }

// Client request bodies. Keys and values are integers; pointers tell a
// missing field (refused, 12) from a zero.
type readReq struct {
	Key *int64 `json:"key"`
}

type writeReq struct {
	Key   *int64 `json:"key"`
	Value *int64 `json:"value"`
}

type casReq struct {
	Key  *int64 `json:"key"`
	From *int64 `json:"from"`
	To   *int64 `json:"to"`
}

// missing is the error for a request without one of its fields.
func missing(typ string, fields ...string) error {
	return maelstrom.NewRPCError(maelstrom.MalformedRequest, fmt.Sprintf("%s needs %s", typ, strings.Join(fields, ", ")))
}

// Reply bodies: exactly the fields lin-kv's schema allows.
type readOK struct {
	Type  string `json:"type"`
	Value int64  `json:"value"`
}

type okBody struct {
	Type string `json:"type"`
}

// newHost hosts a paxos core on n (lib/node's Host) as a Durable core:
// the host opens the node's store in opt.dir, builds the core from what it
// recovers, and makes each drained Output's writes durable before it sends
// any of its messages and replies, so no promise, acceptance or reserved
// ballot is announced before it is on disk. It registers the lin-kv
// requests as the core's commands. Close the host once the node stopped.
func newHost(n *node.Node, opt options) *node.Host[paxos.Msg, paxos.Request, paxos.Outcome] {
	cfg := node.HostConfig[paxos.Msg, paxos.Request, paxos.Outcome]{
		Durable: func(n *node.Node, rec core.Recovered) (core.Core[paxos.Msg, paxos.Request, paxos.Outcome], error) {
			return paxos.New(paxos.Config{
				ID: n.ID(), Nodes: n.NodeIDs(), Rand: n.Rand(), Logger: n.Logger(),
				Recovered: rec, Amnesia: opt.amnesia, Incarnation: time.Now().UnixNano(),
				Rounds:  paxos.RoundConfig{DisableFastPath: !opt.fastPath},
				Thrifty: paxos.ThriftyConfig{On: opt.thrifty.on(len(n.NodeIDs()))},
				Forward: paxos.ForwardConfig{On: opt.forward},
				Relay:   paxos.RelayConfig{On: opt.relay},
			})
		},
		Dir:        opt.dir,
		NoSync:     !opt.sync,
		StatsEvery: opt.statsEvery,
		Tick:       opt.tick,
		PeerTypes:  paxos.PeerTypes(),
		Reply:      replyBody,
	}
	if opt.statsEvery > 0 && opt.figures != nil {
		cfg.StatsLog = slog.New(slog.NewTextHandler(opt.figures, nil))
	}
	h := node.NewHost(n, cfg)
	node.HandleCommand(h, "read", func(b readReq) (paxos.Request, error) {
		if b.Key == nil {
			return paxos.Request{}, missing("read", "key")
		}
		return paxos.Request{Key: *b.Key, Op: paxos.Op{F: paxos.OpRead}}, nil
	})
	node.HandleCommand(h, "write", func(b writeReq) (paxos.Request, error) {
		if b.Key == nil || b.Value == nil {
			return paxos.Request{}, missing("write", "key", "value")
		}
		return paxos.Request{Key: *b.Key, Op: paxos.Op{F: paxos.OpWrite, Value: *b.Value}}, nil
	})
	node.HandleCommand(h, "cas", func(b casReq) (paxos.Request, error) {
		if b.Key == nil || b.From == nil || b.To == nil {
			return paxos.Request{}, missing("cas", "key", "from", "to")
		}
		return paxos.Request{Key: *b.Key, Op: paxos.Op{F: paxos.OpCas, From: *b.From, To: *b.To}}, nil
	})
	return h
}

// replyBody is the client's reply for an operation's outcome; nothing when
// the outcome is unknown (the client times out and records it as
// indeterminate).
func replyBody(o paxos.Outcome) any {
	op := o.Op
	switch {
	case o.Unknown:
		return nil
	case op.Code != paxos.CodeOK:
		return maelstrom.NewRPCError(int(op.Code), errorText(op.Code))
	case op.F == paxos.OpRead:
		return readOK{Type: "read_ok", Value: op.Value}
	default:
		return okBody{Type: op.F + "_ok"}
	}
}

func errorText(code int64) string {
	switch code {
	case paxos.CodeKeyDoesNotExist:
		return "key does not exist"
	case paxos.CodePreconditionFailed:
		return "current value does not match from"
	case paxos.CodeUnavailable:
		return "too many operations queued for this key"
	}
	return "error"
}
