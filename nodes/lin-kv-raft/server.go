package main

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/kv"
	"maelkit/lib/node"
	"maelkit/lib/raft"
	"maelkit/lib/rsm"
)

// timing scales the Raft clock to the network: one tick is derived from the
// round trip observed with pings, so the node works at --latency 0 and 100.
type timing struct {
	tickMin, tickMax, tickStart time.Duration
	pingEvery                   time.Duration
	// pendingMax bounds client requests waiting for the log or a read.
	pendingMax int
	// pendingTTL: a request still pending after this long is forgotten
	// (its client gave up: lin-kv clients wait at most about a second).
	pendingTTL time.Duration
	// viaRouting also sends a raft message through the other peers when
	// its link looks down (see sendRaft). It lets three nodes make progress
	// in a one-way ring partition, but it multiplies traffic exactly when a
	// node is slow, and on eddy (5 nodes, exponential latency) that fed a
	// queueing storm: off by default.
	viaRouting bool
}

func defaultTiming() timing {
	return timing{
		tickMin: 10 * time.Millisecond, tickMax: time.Second, tickStart: 50 * time.Millisecond,
		pingEvery: time.Second, pendingMax: 10_000, pendingTTL: 10 * time.Second,
	}
}

// wire bodies ---------------------------------------------------------------

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

type readOK struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type okBody struct {
	Type string `json:"type"`
}

// server -------------------------------------------------------------------

// reqKey identifies a client request: Maelstrom client id and msg_id.
type reqKey struct {
	client string
	id     int64
}

type pendingWrite struct {
	req   *node.Request
	reply string // write_ok or cas_ok
	at    time.Time
}

type pendingRead struct {
	req *node.Request
	key json.RawMessage
	at  time.Time
}

// server glues the RSM to the node runtime. Everything runs on the node's
// loop, so it needs no locks.
type server struct {
	n     *node.Node
	tm    timing
	rsm   *rsm.RSM
	store *kv.Store

	writes  map[reqKey]pendingWrite
	reads   map[int64]pendingRead
	readCtx int64
	// batch holds commands received in this loop turn; they are proposed as
	// one append when the loop goes idle.
	batch     [][]byte
	batchReqs []reqKey

	// Round-trip estimate (Jacobson/Karels), for the tick period.
	srtt, rttvar time.Duration
	tick         time.Duration
	lead         string

	// heardAt: last message straight from each peer; deafAt: last time a
	// peer said it does not hear us. Together they pick links to route
	// around.
	heardAt, deafAt map[string]time.Time
}

func newServer(n *node.Node, tm timing) *server {
	s := &server{n: n, tm: tm, store: kv.NewStore(), writes: map[reqKey]pendingWrite{}, reads: map[int64]pendingRead{}, tick: tm.tickStart,
		heardAt: map[string]time.Time{}, deafAt: map[string]time.Time{}}
	n.OnInit(s.init)
	n.OnIdle(s.flush)
	node.Handle(n, "raft_via", func(req *node.Request, b viaBody) error {
		if s.rsm == nil || !slices.Contains(n.Peers(), req.Src) {
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
	})
	node.Handle(n, "raft", func(req *node.Request, b raftBody) error {
		if s.rsm == nil || !slices.Contains(n.Peers(), req.Src) || b.M.To != n.ID() {
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

	for _, typ := range []string{"read", "write", "cas"} {
		node.Handle(n, typ, func(req *node.Request, b clientReq) error {
			b.Type = typ
			return s.client(req, req.Src, req.MsgID, b, false)
		})
	}
	node.Handle(n, "kv_relay", func(req *node.Request, b relayReq) error {
		if b.Client == "" || b.ID <= 0 {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "relay without client or id")
		}
		switch b.Req.Type {
		case "read", "write", "cas":
		default:
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "relay of "+b.Req.Type)
		}
		return s.client(req, b.Client, b.ID, b.Req, true)
	})
	return s
}

// step hands a peer's raft message to the core.
func (s *server) step(m raft.Message) {
	if m.Term == 0 && m.Type != raft.MsgProp && m.Type != raft.MsgReadIndex {
		return // only forwarded requests travel without a term
	}
	if err := s.rsm.Step(m); err != nil && !errors.Is(err, raft.ErrProposalDropped) {
		s.n.Logger().Debug("raft step", "err", err)
	}
}

// heard notes a message that came straight from peer; deaf says the peer
// does not hear us.
func (s *server) heard(peer string, deaf bool) {
	if deaf {
		s.deafAt[peer] = time.Now()
	}
	s.heardAt[peer] = time.Now()
}

// staleAfter is how long silence on a link means it is down: a leader and
// its followers exchange a message every tick.
func (s *server) staleAfter() time.Duration { return max(4*s.tick, 50*time.Millisecond) }

// sendRaft sends a raft message directly and, with viaRouting, when the
// link to its destination looks down in either direction, through every
// other peer too.
func (s *server) sendRaft(m raft.Message) {
	now := time.Now()
	stale := now.Sub(s.heardAt[m.To]) > s.staleAfter()
	deaf := now.Sub(s.deafAt[m.To]) < s.staleAfter()
	_ = s.n.Send(m.To, raftBody{Type: "raft", M: m, Deaf: stale})
	if !s.tm.viaRouting || (!stale && !deaf) {
		return
	}
	for _, p := range s.n.Peers() {
		if p != m.To {
			_ = s.n.Send(p, viaBody{Type: "raft_via", To: m.To, M: m, Deaf: stale})
		}
	}
}

// clientReq is a lin-kv request: read {key}, write {key, value} or cas
// {key, from, to}.
type clientReq struct {
	Type  string          `json:"type"`
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value,omitempty"`
	From  json.RawMessage `json:"from,omitempty"`
	To    json.RawMessage `json:"to,omitempty"`
}

// relayReq carries a client request to a peer when this node knows no
// leader (it may be cut off from the leader but not from a node that
// reaches it). The peer answers as it would answer the client.
type relayReq struct {
	Type   string    `json:"type"`
	Client string    `json:"client"`
	ID     int64     `json:"id"`
	Req    clientReq `json:"req"`
}

// relayReply is any answer to a relayed request.
type relayReply struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value,omitempty"`
}

// client serves a request from client (or relayed for it by a peer).
func (s *server) client(req *node.Request, client string, id int64, b clientReq, relayed bool) error {
	if s.rsm == nil {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialized")
	}
	if !relayed && s.rsm.Raft().Status().Lead == "" && len(s.n.Peers()) > 0 {
		return s.relay(req, client, id, b)
	}
	switch b.Type {
	case "read":
		return s.read(req, b.Key)
	case "write":
		return s.propose(req, "write_ok", kv.Command{Client: client, ID: id, Op: kv.OpWrite, Key: b.Key, Value: b.Value})
	default:
		return s.propose(req, "cas_ok", kv.Command{Client: client, ID: id, Op: kv.OpCas, Key: b.Key, From: b.From, To: b.To})
	}
}

// relay asks every peer to serve the request. The first answer that is not
// "no leader" goes to the client; if every peer says "no leader", nothing
// was proposed anywhere and 11 is definite; if some peer did not answer, a
// write may have been proposed: no answer (the client times out: :info).
// Duplicates are harmless: the kv sessions apply a request id once.
func (s *server) relay(req *node.Request, client string, id int64, b clientReq) error {
	// Only peers we heard from lately (followers hear each other through
	// pings only): a relay into silence would turn a definite "no leader"
	// into an indefinite timeout.
	var peers []string
	for _, p := range s.n.Peers() {
		if time.Since(s.heardAt[p]) <= 2*s.tm.pingEvery {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader, no peer in reach")
	}
	st := &relayState{left: len(peers)}
	for _, p := range peers {
		err := node.Call(s.n, p, relayReq{Type: "kv_relay", Client: client, ID: id, Req: b}, s.relayTimeout(), func(rep relayReply, err error) {
			st.left--
			if st.done {
				return
			}
			var rpcErr *maelstrom.RPCError
			switch {
			case err == nil:
				st.done = true
				_ = req.Reply(rep)
				return
			case errors.As(err, &rpcErr) && rpcErr.Code == maelstrom.TemporarilyUnavailable:
				st.unavailable++
			case errors.As(err, &rpcErr) && rpcErr.Code != 0 && rpcErr.Code != maelstrom.Crash:
				st.done = true // a definite answer (20, 22, 12): pass it on
				_ = req.Reply(rpcErr)
				return
			default:
				st.unknown++
			}
			if st.left == 0 {
				st.done = true
				if st.unknown == 0 || b.Type == "read" {
					_ = req.Reply(maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader"))
				}
			}
		})
		if err != nil {
			st.left--
			st.unknown++
		}
	}
	if st.left == 0 && !st.done {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
	}
	return nil
}

type relayState struct {
	left, unavailable, unknown int
	done                       bool
}

// relayTimeout is a few round trips: long enough for the peer to commit,
// short enough to answer before the client's own timeout (1 s at least).
func (s *server) relayTimeout() time.Duration {
	return min(max(20*s.tick, 300*time.Millisecond), 900*time.Millisecond)
}

func (s *server) init() error {
	r := s.n.Rand()
	cfg := rsm.Config{Raft: raft.Config{
		ID: s.n.ID(), Voters: s.n.NodeIDs(),
		ElectionTick: 10, HeartbeatTick: 1,
		PreVote: true, CheckQuorum: true,
		Rand:   rand.New(rand.NewPCG(r.Uint64(), r.Uint64())),
		Logger: s.n.Logger(),
	}}
	var err error
	if s.rsm, err = rsm.New(cfg, s.store); err != nil {
		return err
	}
	s.scheduleTick()
	s.ping()
	s.n.Every(s.tm.pingEvery, s.ping)
	s.n.Every(time.Second, s.expire)
	return nil
}

// scheduleTick re-arms the tick with the current period (it changes as the
// round-trip estimate does).
func (s *server) scheduleTick() {
	s.n.After(s.tick, func() {
		s.rsm.Tick()
		s.scheduleTick()
	})
}

// ping measures the round trip to every peer.
func (s *server) ping() {
	for _, p := range s.n.Peers() {
		start := time.Now()
		_ = node.Call(s.n, p, pingBody{Type: "raft_ping"}, 10*time.Second, func(_ pingBody, err error) {
			if err == nil {
				s.observeRTT(time.Since(start))
				s.heard(p, false)
			}
		})
	}
}

// observeRTT updates the estimate and the tick: a tick of about half a
// round trip plus the deviation makes the heartbeat (1 tick) frequent
// enough and the election timeout (10 to 20 ticks) several round trips
// long, including the tail of the latency distribution.
func (s *server) observeRTT(rtt time.Duration) {
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
	s.tick = min(max(s.srtt/2+s.rttvar, s.tm.tickMin), s.tm.tickMax)
}

func (s *server) read(req *node.Request, key json.RawMessage) error {
	if !json.Valid(key) {
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, "read without a key")
	}
	if len(s.reads) >= s.tm.pendingMax {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "too many pending reads")
	}
	s.readCtx++
	if err := s.rsm.Read(s.readCtx); err != nil {
		// A read has no effect: failing it definitely is always right.
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader: "+err.Error())
	}
	s.reads[s.readCtx] = pendingRead{req: req, key: key, at: time.Now()}
	return nil
}

func (s *server) propose(req *node.Request, reply string, c kv.Command) error {
	if err := c.Validate(); err != nil {
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	k := reqKey{client: c.Client, id: c.ID}
	if _, dup := s.writes[k]; dup {
		return nil // the same request twice: one answer, when it applies
	}
	if len(s.writes) >= s.tm.pendingMax {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "too many pending writes")
	}
	if s.rsm.Raft().Status().Lead == "" {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
	}
	data, err := kv.Encode(c)
	if err != nil {
		return err
	}
	s.writes[k] = pendingWrite{req: req, reply: reply, at: time.Now()}
	s.batch = append(s.batch, data)
	s.batchReqs = append(s.batchReqs, k)
	return nil
}

// flush runs when the loop is idle: propose the batch, then drain the core
// and answer what completed.
func (s *server) flush() {
	if s.rsm == nil {
		return
	}
	if len(s.batch) > 0 {
		if err := s.rsm.Propose(s.batch); errors.Is(err, raft.ErrProposalDropped) {
			// Nothing entered the log: a definite answer is safe.
			for _, k := range s.batchReqs {
				_ = s.writes[k].req.Reply(maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader"))
				delete(s.writes, k)
			}
		}
		s.batch, s.batchReqs = s.batch[:0], s.batchReqs[:0]
	}
	out, err := s.rsm.Advance()
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
	for _, a := range out.Applied {
		res, ok := a.Result.(kv.Result)
		if !ok {
			continue
		}
		var c struct {
			Client string `json:"c"`
			ID     int64  `json:"id"`
		}
		if json.Unmarshal(a.Data, &c) != nil {
			continue
		}
		k := reqKey{client: c.Client, id: c.ID}
		w, ok := s.writes[k]
		if !ok {
			continue
		}
		delete(s.writes, k)
		switch res.Code {
		case kv.OK:
			_ = w.req.Reply(okBody{Type: w.reply})
		case kv.KeyNotFound:
			_ = w.req.Reply(maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "key does not exist"))
		case kv.PreconditionFailed:
			_ = w.req.Reply(maelstrom.NewRPCError(maelstrom.PreconditionFailed, "current value differs from from"))
		default:
			// Skipped as stale or invalid: it did not take effect, but a
			// copy of it might still be in flight, so stay indefinite.
			_ = w.req.Reply(maelstrom.NewRPCError(maelstrom.Crash, "request skipped"))
		}
	}
	for _, ctx := range out.Reads {
		r, ok := s.reads[ctx]
		if !ok {
			continue
		}
		delete(s.reads, ctx)
		if v, found := s.store.Get(r.key); found {
			_ = r.req.Reply(readOK{Type: "read_ok", Value: v})
		} else {
			_ = r.req.Reply(maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "key does not exist"))
		}
	}
}

// expire forgets requests whose clients have given up. Reads are answered
// with a definite error (a read has no effect); writes get no answer (they
// may still commit, so nothing definite can be said).
func (s *server) expire() {
	now := time.Now()
	for k, w := range s.writes {
		if now.Sub(w.at) > s.tm.pendingTTL {
			delete(s.writes, k)
		}
	}
	for ctx, r := range s.reads {
		if now.Sub(r.at) > s.tm.pendingTTL/5 {
			_ = r.req.Reply(maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "read timed out"))
			delete(s.reads, ctx)
		}
	}
}
