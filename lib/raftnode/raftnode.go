// Package raftnode adapts a replicated state machine (lib/raft → lib/rsm →
// a service's StateMachine) to the node runtime (lib/node): it is the shell
// every Raft-replicated Maelstrom service shares, parameterised by the
// state machine and a small Codec that turns client requests into log
// commands or read-only queries and applied results into replies.
//
// What it does, on the node's single event loop (no locks):
//   - time: one Raft tick is derived from the round trip measured with
//     pings (Jacobson/Karels), so the node works at --latency 0 and 100;
//   - transport: raft messages travel as "raft" bodies between peers
//     (optionally also routed around a link that looks down, "raft_via");
//   - commands: a client's command is proposed (batched per loop turn);
//     raft forwards proposals from a follower to the leader; the client is
//     answered when the entry applies, at the node it asked (outcome routing
//     by client id and msg_id), and the leader also answers a forwarded
//     command's client directly (Maelstrom clients match replies by
//     in_reply_to only), one network leg sooner;
//   - queries: read-only requests take a ReadIndex (linearizable: the
//     leader confirms its leadership with a quorum after the request
//     arrived) and are served on the applied state once it has applied
//     past the read index;
//   - relay: a node that knows no leader asks its reachable peers to serve
//     the request ("raft_relay"), since it may be cut off from the leader
//     but not from a node that reaches it.
//
// Core is the sans-I/O part (pending requests, batching, outcome routing,
// expiry), so that a deterministic simulation runs the same code with
// virtual time; Server is the shell around it on lib/node.
//
// Errors follow Maelstrom's definiteness rule: 11 (definite) only when the
// request surely was not applied (nothing was proposed anywhere, or it is a
// query); a command that may have entered a log gets no answer or 13. The
// state machine must therefore apply a (client, msg_id) at most once:
// relays and retried forwards can put two copies of a command in the log.
package raftnode

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/node"
	"maelkit/lib/raft"
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
	// TickMin, TickMax bound the tick derived from the round trip;
	// TickStart is the tick before the first measurement.
	TickMin, TickMax, TickStart time.Duration
	// PingEvery is the round-trip measurement period.
	PingEvery time.Duration
	// PendingMax bounds client requests waiting for the log or a read.
	PendingMax int
	// PendingTTL: a command still pending after this long is forgotten
	// (its client gave up); queries wait PendingTTL/5.
	PendingTTL time.Duration
	// ViaRouting also sends a raft message through the other peers when
	// its link looks down (see sendRaft). It lets three nodes make progress
	// in a one-way ring partition, but it multiplies traffic exactly when a
	// node is slow, and on eddy (5 nodes, exponential latency) that fed a
	// queueing storm: off by default.
	ViaRouting bool
}

// DefaultTiming suits Maelstrom's latencies (0 to 100 ms and beyond).
func DefaultTiming() Timing {
	return Timing{
		TickMin: 10 * time.Millisecond, TickMax: time.Second, TickStart: 50 * time.Millisecond,
		PingEvery: time.Second, PendingMax: 10_000, PendingTTL: 10 * time.Second,
	}
}

// Config configures a Server.
type Config struct {
	// Types are the client request types the service serves.
	Types   []string
	Machine rsm.StateMachine
	Codec   Codec
	Timing  Timing
	// SnapshotEntries is rsm.Config.SnapshotEntries (0: its default).
	SnapshotEntries int64
}

// wire bodies ---------------------------------------------------------------

// internal says whether typ is a message type the adapter itself handles
// (or an empty one).
func internal(typ string) bool {
	switch typ {
	case "", "raft", "raft_via", "raft_ping", "raft_relay":
		return true
	}
	return false
}

type raftBody struct {
	Type string       `json:"type"`
	M    raft.Message `json:"m"`
	// Deaf says the sender has not heard from the receiver lately: the
	// receiver should also route its messages to the sender through peers.
	Deaf bool `json:"deaf,omitempty"`
}

// viaBody is a raft message routed through a third node, for links that
// are down in one or both directions while a two-hop path works (Maelstrom's
// majorities-ring partitions are one-way). Raft tolerates the duplicates.
type viaBody struct {
	Type string       `json:"type"` // raft_via
	To   string       `json:"to"`
	M    raft.Message `json:"m"`
	Deaf bool         `json:"deaf,omitempty"`
}

type pingBody struct {
	Type string `json:"type"`
}

// relayReq carries a client request to a peer when this node knows no
// leader. The peer answers as it would answer the client.
type relayReq struct {
	Type   string          `json:"type"` // raft_relay
	Client string          `json:"client"`
	ID     int64           `json:"id"`
	Req    json.RawMessage `json:"req"` // the client's body, type included
}

// reqType reads a relayed body's type.
type reqType struct {
	Type string `json:"type"`
}

// server --------------------------------------------------------------------

// Server glues the RSM to the node runtime. Everything runs on the node's
// loop, so it needs no locks.
type Server struct {
	n     *node.Node
	cfg   Config
	tm    Timing
	core  *Core // nil before init
	types []string

	// Round-trip estimate (Jacobson/Karels), for the tick period.
	srtt, rttvar time.Duration
	tick         time.Duration
	lead         string

	// heardAt: last message straight from each peer; deafAt: last time a
	// peer said it does not hear us. Together they pick links to route
	// around.
	heardAt, deafAt map[string]time.Time
}

// Register installs the adapter on n (before n.Run): init builds the RSM,
// and handlers serve cfg.Types, raft traffic, pings and relays.
func Register(n *node.Node, cfg Config) (*Server, error) {
	switch {
	case cfg.Machine == nil || cfg.Codec == nil:
		return nil, errors.New("raftnode: Machine and Codec are required")
	case len(cfg.Types) == 0:
		return nil, errors.New("raftnode: no client request types")
	case slices.ContainsFunc(cfg.Types, internal):
		return nil, fmt.Errorf("raftnode: client request types %q include an internal one (raft*)", cfg.Types)
	case cfg.Timing.TickMin <= 0 || cfg.Timing.TickMax < cfg.Timing.TickMin || cfg.Timing.TickStart <= 0 ||
		cfg.Timing.PingEvery <= 0 || cfg.Timing.PendingMax <= 0 || cfg.Timing.PendingTTL <= 0:
		return nil, errors.New("raftnode: Timing needs positive periods and bounds (see DefaultTiming)")
	}
	s := &Server{n: n, cfg: cfg, tm: cfg.Timing, types: slices.Clone(cfg.Types),
		tick:    cfg.Timing.TickStart,
		heardAt: map[string]time.Time{}, deafAt: map[string]time.Time{}}
	n.OnInit(s.init)
	n.OnIdle(s.flush)
	node.Handle(n, "raft_via", s.handleVia)
	node.Handle(n, "raft", func(req *node.Request, b raftBody) error {
		if s.core == nil || !slices.Contains(n.Peers(), req.Src) || b.M.To != n.ID() {
			return nil // raft traffic comes from peers only
		}
		s.heard(req.Src, b.Deaf)
		b.M.From = req.Src
		s.step(b.M)
		return nil
	})
	node.Handle(n, "raft_ping", func(req *node.Request, _ pingBody) error {
		s.heard(req.Src, false)
		return req.Reply(pingBody{Type: "raft_pong"})
	})
	for _, typ := range s.types {
		node.Handle(n, typ, func(req *node.Request, _ json.RawMessage) error {
			return s.client(req, req.Src, req.MsgID, typ, req.Body, false)
		})
	}
	node.Handle(n, "raft_relay", func(req *node.Request, b relayReq) error {
		if b.Client == "" || b.ID <= 0 {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "relay without client or id")
		}
		var rt reqType
		if err := json.Unmarshal(b.Req, &rt); err != nil || !slices.Contains(s.types, rt.Type) {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "relay of "+rt.Type)
		}
		return s.client(req, b.Client, b.ID, rt.Type, b.Req, true)
	})
	return s, nil
}

// Core is the sans-I/O core (nil before init), for tests.
func (s *Server) Core() *Core { return s.core }

// Tick is the current tick period.
func (s *Server) Tick() time.Duration { return s.tick }

func (s *Server) handleVia(req *node.Request, b viaBody) error {
	n := s.n
	if s.core == nil || !slices.Contains(n.Peers(), req.Src) {
		return nil
	}
	if b.To != n.ID() {
		// A relay hop: pass it on once, to a peer.
		if slices.Contains(n.Peers(), b.To) && b.To != req.Src {
			_ = n.Send(b.To, b)
		}
		return nil
	}
	if !slices.Contains(n.Peers(), b.M.From) || b.M.To != n.ID() {
		return nil
	}
	s.heard(req.Src, false)
	if b.Deaf {
		s.deafAt[b.M.From] = time.Now()
	}
	s.step(b.M)
	return nil
}

// step hands a peer's raft message to the core.
func (s *Server) step(m raft.Message) {
	if m.Term == 0 && m.Type != raft.MsgProp && m.Type != raft.MsgReadIndex {
		return // only forwarded requests travel without a term
	}
	if err := s.core.RSM().Step(m); err != nil && !errors.Is(err, raft.ErrProposalDropped) {
		s.n.Logger().Debug("raft step", "err", err)
	}
}

// heard notes a message that came straight from peer; deaf says the peer
// does not hear us.
func (s *Server) heard(peer string, deaf bool) {
	if deaf {
		s.deafAt[peer] = time.Now()
	}
	s.heardAt[peer] = time.Now()
}

// staleAfter is how long silence on a link means it is down: a leader and
// its followers exchange a message every tick.
func (s *Server) staleAfter() time.Duration { return max(4*s.tick, 50*time.Millisecond) }

// sendRaft sends a raft message directly and, with ViaRouting, when the
// link to its destination looks down in either direction, through every
// other peer too.
func (s *Server) sendRaft(m raft.Message) {
	now := time.Now()
	stale := now.Sub(s.heardAt[m.To]) > s.staleAfter()
	deaf := now.Sub(s.deafAt[m.To]) < s.staleAfter()
	_ = s.n.Send(m.To, raftBody{Type: "raft", M: m, Deaf: stale})
	if !s.tm.ViaRouting || (!stale && !deaf) {
		return
	}
	for _, p := range s.n.Peers() {
		if p != m.To {
			_ = s.n.Send(p, viaBody{Type: "raft_via", To: m.To, M: m, Deaf: stale})
		}
	}
}

// client serves a request from client (or relayed for it by a peer).
func (s *Server) client(req *node.Request, client string, id int64, typ string, body json.RawMessage, relayed bool) error {
	if s.core == nil {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")
	}
	op, err := s.cfg.Codec.Decode(typ, body, client, id)
	if err != nil {
		return err
	}
	if !relayed && s.core.RSM().Raft().Status().Lead == "" && len(s.n.Peers()) > 0 {
		return s.relay(req, client, id, body, op.Query)
	}
	return s.core.Submit(req, client, id, op, time.Now())
}

// relay asks every peer to serve the request. The first answer that is not
// "no leader" goes to the client; if every peer says "no leader", nothing
// was proposed anywhere and 11 is definite; if some peer did not answer, a
// command may have been proposed: 13, indefinite (the client records
// :info, as it would on a timeout, but sooner).
// Duplicates are harmless: the state machine applies a request id once.
func (s *Server) relay(req *node.Request, client string, id int64, body json.RawMessage, query bool) error {
	// Only peers we heard from lately (followers hear each other through
	// pings only): a relay into silence would turn a definite "no leader"
	// into an indefinite timeout.
	var peers []string
	for _, p := range s.n.Peers() {
		if time.Since(s.heardAt[p]) <= 2*s.tm.PingEvery {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader, no peer in reach")
	}
	st := &relayState{left: len(peers)}
	for _, p := range peers {
		err := node.Call(s.n, p, relayReq{Type: "raft_relay", Client: client, ID: id, Req: body}, s.relayTimeout(), func(rep json.RawMessage, err error) {
			st.left--
			if st.done {
				return
			}
			var rpcErr *maelstrom.RPCError
			switch {
			case err == nil:
				st.done = true
				if b, err := stripReserved(rep); err == nil {
					_ = req.Reply(b)
				} else {
					_ = req.Reply(maelstrom.NewRPCError(maelstrom.Crash, "bad relayed reply: "+err.Error()))
				}
				return
			case errors.As(err, &rpcErr) && rpcErr.Code == maelstrom.TemporarilyUnavailable:
				st.unavailable++
			case errors.As(err, &rpcErr) && rpcErr.Code != maelstrom.Timeout && rpcErr.Code != maelstrom.Crash:
				st.done = true // a definite answer (20, 22, 12, ...): pass it on
				_ = req.Reply(rpcErr)
				return
			default:
				st.unknown++
			}
			if st.left == 0 {
				st.done = true
				if st.unknown == 0 || query {
					_ = req.Reply(maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader"))
					return
				}
				// Indefinite, but said now: the client (whose timeout may
				// be 5 s) moves on instead of waiting for nothing.
				_ = req.Reply(maelstrom.NewRPCError(maelstrom.Crash, "no leader here; a relayed copy may have been proposed"))
			}
		})
		if err != nil {
			st.left--
			st.unknown++
		}
	}
	if st.left == 0 && !st.done {
		// No call was even sent: nothing was proposed anywhere.
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
	}
	return nil
}

type relayState struct {
	left, unavailable, unknown int
	done                       bool
}

// stripReserved removes msg_id and in_reply_to from a peer's reply body, so
// that it can be passed on to the client (the runtime adds its own).
func stripReserved(body json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	delete(fields, "msg_id")
	delete(fields, "in_reply_to")
	return json.Marshal(fields)
}

// relayTimeout is a few round trips: long enough for the peer to commit,
// short enough to answer before the client's own timeout (1 s at least).
func (s *Server) relayTimeout() time.Duration {
	return min(max(20*s.tick, 300*time.Millisecond), 900*time.Millisecond)
}

func (s *Server) init() error {
	r := s.n.Rand()
	cfg := rsm.Config{Raft: raft.Config{
		ID: s.n.ID(), Voters: s.n.NodeIDs(),
		ElectionTick: 10, HeartbeatTick: 1,
		PreVote: true, CheckQuorum: true,
		// Maelstrom's network reorders messages on a link (a tick is
		// about half a round trip plus its deviation, so four ticks
		// cover the latency tail): hold early appends, do not reject.
		ReorderTicks: 4,
		Rand:         rand.New(rand.NewPCG(r.Uint64(), r.Uint64())),
		Logger:       s.n.Logger(),
	}, SnapshotEntries: s.cfg.SnapshotEntries}
	rs, err := rsm.New(cfg, s.cfg.Machine)
	if err != nil {
		return err
	}
	if s.core, err = NewCore(rs, s.cfg.Codec, s.tm.PendingMax); err != nil {
		return err
	}
	s.scheduleTick()
	s.ping()
	s.n.Every(s.tm.PingEvery, s.ping)
	s.n.Every(time.Second, s.expire)
	if ids := s.n.NodeIDs(); len(ids) > 1 && s.n.ID() == slices.Min(ids) {
		// Maelstrom's clients start as soon as every node is initialized:
		// the lowest id campaigns at once (pre-vote first, so this is safe
		// whatever the others do) instead of letting the first election
		// timeout, 10-19 ticks, answer every request "no leader".
		if err := s.core.RSM().Raft().Campaign(); err != nil {
			s.n.Logger().Warn("initial campaign", "err", err)
		}
	}
	return nil
}

// scheduleTick re-arms the tick with the current period (it changes as the
// round-trip estimate does).
func (s *Server) scheduleTick() {
	s.n.After(s.tick, func() {
		s.core.RSM().Tick()
		s.scheduleTick()
	})
}

// ping measures the round trip to every peer.
func (s *Server) ping() {
	for _, p := range s.n.Peers() {
		start := time.Now()
		_ = node.Call(s.n, p, pingBody{Type: "raft_ping"}, 10*time.Second, func(_ pingBody, err error) {
			if err == nil {
				s.ObserveRTT(time.Since(start))
				s.heard(p, false)
			}
		})
	}
}

// ObserveRTT updates the estimate and the tick: a tick of about half a
// round trip plus the deviation makes the heartbeat (1 tick) frequent
// enough and the election timeout (10 to 20 ticks) several round trips
// long, including the tail of the latency distribution.
func (s *Server) ObserveRTT(rtt time.Duration) {
	if s.srtt == 0 {
		s.srtt, s.rttvar = rtt, rtt/2
	} else {
		d := s.srtt - rtt
		if d < 0 {
			d = -d
		}
		s.rttvar = (3*s.rttvar + d) / 4
		s.srtt = (7*s.srtt + rtt) / 8
	}
	s.tick = min(max(s.srtt/2+s.rttvar, s.tm.TickMin), s.tm.TickMax)
}

// flush runs when the loop is idle: propose the batch, then drain the core
// and answer what completed.
func (s *Server) flush() {
	if s.core == nil {
		return
	}
	out, err := s.core.Advance()
	if err != nil {
		// A snapshot that fails to encode or decode is a broken invariant.
		panic(err)
	}
	if out.Lead != s.lead {
		s.n.Logger().Info("leader changed", "lead", out.Lead, "term", out.Term, "state", out.State.String())
		s.lead = out.Lead
	}
	for _, m := range out.Messages {
		s.sendRaft(m)
	}
	s.reply(out.Replies)
	for _, d := range out.Direct {
		_ = s.n.ReplyTo(d.Client, d.ID, d.Body)
	}
}

// reply sends the core's replies to their requests.
func (s *Server) reply(rs []Reply) {
	for _, r := range rs {
		if req, ok := r.To.(*node.Request); ok {
			_ = req.Reply(r.Body)
		}
	}
}

// expire forgets requests whose clients have given up (see Core.Expire).
func (s *Server) expire() {
	s.reply(s.core.Expire(time.Now(), s.tm.PendingTTL, s.tm.PendingTTL/5))
}
