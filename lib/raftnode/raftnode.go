// Package raftnode adapts a replicated state machine (lib/raft → lib/rsm →
// a service's StateMachine) to the node runtime (lib/node): it is the shell
// every Raft-replicated Maelstrom service shares, parameterised by the
// state machine and a small Codec that turns client requests into log
// commands or read-only queries and applied results into replies.
//
// Core (a core.Core, so the simulator runs it as the node does) does all
// of it, counting time in ticks of Timing.TickMin:
//   - time: the Raft tick is a number of core ticks derived from the round
//     trip measured with pings (Jacobson/Karels), so the node works at
//     --latency 0 and 100 (links.go);
//   - transport: raft messages travel as "raft" bodies between peers, and
//     around a direction of a link that does not work through a third
//     node ("raft_relay"; links.go, on lib/linkhealth, which Paxos shares);
//   - commands: a client's command is proposed (batched until the output
//     is drained, and by a leader with a round in flight until its next
//     tick: group commit, see Core.holding); raft forwards proposals from
//     a follower to the leader, which adds them to its batch;
//     the client is answered when the entry applies, at the node it asked
//     (outcome routing by client id and msg_id), and the leader also
//     answers a forwarded command's client directly (Maelstrom clients
//     match replies by in_reply_to only), one network leg sooner;
//   - queries: read-only requests take a ReadIndex (linearizable: the
//     leader confirms its leadership with a quorum after the request
//     arrived) and are served on the applied state once it has applied
//     past the read index;
//   - handoff: a node that knows no leader hands the request off to its
//     reachable peers ("raft_handoff", handoff.go), since it may be cut
//     off from the leader but not from a node that reaches it.
//
// Durability: Drain's Output carries Raft's writes (term and vote, log,
// snapshots; lib/raft's TakeWrites) with every message and reply that
// depends on them, and Register hosts the core on a durable host, which
// syncs them before it sends anything: a reply to a command goes out after
// its entry is on a majority's disks, a vote after it is on the voter's.
// A restarted node rebuilds from its disk; a node that finds nothing asks
// its peers what they hold before it votes (rejoin.go).
//
// Register hosts the core on a node (lib/node's Host).
//
// Errors follow Maelstrom's definiteness rule: 11 (definite) only when the
// request surely was not applied (nothing was proposed anywhere, or it is a
// query); a command that may have entered a log gets no answer or 13. The
// state machine must therefore apply a (client, msg_id) at most once:
// handoffs and retried forwards can put two copies of a command in the log.
package raftnode

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"maelkit/lib/core"
	"maelkit/lib/node"
	"maelkit/lib/rsm"
)

// Op is a decoded client request.
type Op struct {
	// Query marks a read-only request: it takes no log entry and is served
	// by Codec.Query after a ReadIndex. Otherwise Data is proposed.
	Query bool
	// Data is the command to propose (it must carry the client id and
	// msg_id the state machine deduplicates on), or the query to run.
	Data []byte
}

// Codec is the service side of the adapter. Its methods run on the loop.
type Codec interface {
	// Decode turns a client request (its type, whole raw body, the client
	// it is for and that client's msg_id) into an Op. An error goes back
	// to the client as is (use *maelstrom.RPCError, typically 12): nothing
	// was proposed, so it must be definite.
	Decode(typ string, body json.RawMessage, client string, id int64) (Op, error)
	// Query serves a read-only Op on the applied state: the reply body or
	// a *maelstrom.RPCError.
	Query(data []byte) any
	// Outcome maps an applied entry to the request it answers (client,
	// msg_id) and the reply; ok false for entries that answer no one.
	Outcome(a rsm.Applied) (client string, id int64, reply any, ok bool)
}

// Timing scales the Raft clock to the network and bounds what waits.
type Timing struct {
	// TickMin, TickMax bound the Raft tick derived from the round trip;
	// TickStart is the tick before the first measurement. TickMin is
	// also the core's own tick, the unit every period is counted in.
	TickMin, TickMax, TickStart time.Duration
	// PingEvery is the round-trip measurement period.
	PingEvery time.Duration
	// PendingMax bounds client requests waiting for the log or a read.
	PendingMax int
	// PendingTTL: a command still pending after this long is forgotten
	// (its client gave up); queries wait PendingTTL/5.
	PendingTTL time.Duration
	// RelayRouting routes raft messages, pings and pongs around a
	// direction of a link that does not work, through a third node, while
	// this node lacks a majority of peers it reaches both ways (see
	// links.go and lib/linkhealth): it lets three nodes make progress in a
	// one-way ring partition. It costs nothing while the links work. On by
	// default.
	RelayRouting bool
}

// DefaultTiming suits Maelstrom's latencies (0 to 100 ms and beyond).
func DefaultTiming() Timing {
	return Timing{
		TickMin: 10 * time.Millisecond, TickMax: time.Second, TickStart: 50 * time.Millisecond,
		PingEvery: time.Second, PendingMax: 10_000, PendingTTL: 10 * time.Second,
		RelayRouting: true,
	}
}

// Config configures a Raft-replicated service on a node.
type Config struct {
	// Types are the client request types the service serves.
	Types   []string
	Machine rsm.StateMachine
	Codec   Codec
	Timing  Timing
	// SnapshotEntries is rsm.Config.SnapshotEntries (0: its default).
	SnapshotEntries int64
	// NoSync turns fsync off (node.HostConfig.NoSync): for measuring what
	// durability costs, not for safety against power loss.
	NoSync bool
	// Dir is where the node keeps its store (empty: the working
	// directory, node.HostConfig.Dir).
	Dir string
	// Amnesia: disks may be wiped (CoreConfig.Amnesia).
	Amnesia bool
	// StatsEvery and StatsLog log the disk's work for the measurement
	// scripts (node.HostConfig.StatsEvery).
	StatsEvery time.Duration
	StatsLog   *slog.Logger
}

// internal says whether typ is a message type of the cores (or empty).
func internal(typ string) bool { return typ == "" || strings.HasPrefix(typ, "raft") }

// Host is a raftnode Core hosted on a node.
type Host = node.Host[Msg, Request, any]

// Register hosts a Core for cfg on n (before n.Run): init builds it from
// the node's store (Raft's term, vote, log and snapshot survive a kill;
// see node.HostConfig.Durable), and handlers serve cfg.Types and the
// cores' traffic. It checks cfg at once.
func Register(n *node.Node, cfg Config) (*Host, error) {
	cc := CoreConfig{ID: "n", Nodes: []string{"n"}, Types: cfg.Types, Machine: cfg.Machine, Codec: cfg.Codec,
		Timing: cfg.Timing, SnapshotEntries: cfg.SnapshotEntries, Amnesia: cfg.Amnesia}
	if err := cc.validate(); err != nil {
		return nil, err
	}
	h := node.NewHost(n, node.HostConfig[Msg, Request, any]{
		Durable: func(n *node.Node, rec core.Recovered) (core.Core[Msg, Request, any], error) {
			r := n.Rand()
			cc.ID, cc.Nodes, cc.Logger = n.ID(), n.NodeIDs(), n.Logger()
			cc.Rand = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
			cc.Incarnation = r.Uint64() | 1
			cc.Recovered = rec
			return NewCore(cc)
		},
		NoSync:     cfg.NoSync,
		Dir:        cfg.Dir,
		StatsEvery: cfg.StatsEvery,
		StatsLog:   cfg.StatsLog,
		Tick:       cfg.Timing.TickMin,
		PeerTypes:  PeerTypes(),
		Reply:      func(body any) any { return body },
	})
	for _, typ := range cfg.Types {
		node.HandleCommand(h, typ, func(b json.RawMessage) (Request, error) {
			return Request{Type: typ, Body: b}, nil
		})
	}
	return h, nil
}
