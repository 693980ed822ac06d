package raftnode

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/raft"
	"maelkit/lib/rsm"
)

// CoreConfig configures a Core.
type CoreConfig struct {
	// ID is this node; Nodes every node (Maelstrom's node_ids).
	ID    string
	Nodes []string
	// Types are the client request types the service serves.
	Types   []string
	Machine rsm.StateMachine
	Codec   Codec
	Timing  Timing
	// SnapshotEntries is rsm.Config.SnapshotEntries (0: its default).
	SnapshotEntries int64
	// QuietCommits is raft.Config.QuietCommits.
	QuietCommits bool
	// Durable, if set, is the Raft state to restart from; otherwise
	// Recovered is (what a restart found on disk, Fresh on a first boot).
	Durable   *raft.Durable
	Recovered core.Recovered
	// Amnesia says disks may be wiped (eddy's --kill-wipes-disk): a node
	// that starts without state then starts unsure and rejoins through its
	// peers before it votes (rejoin.go). Without it a start without state
	// is a first boot, which is all a start without state can be under
	// Maelstrom, whose kill keeps the disk: the node votes at once, and the
	// lowest id campaigns.
	Amnesia bool
	// Incarnation names this start's disk if it starts empty: random,
	// non-zero, different on every start (raft.Config.Incarnation). With
	// it a first boot needs a majority of its peers' answers; 0 (none)
	// waits for every peer's (rejoin.go).
	Incarnation uint64
	// Rand seeds Raft's election timeouts.
	Rand   *rand.Rand
	Logger *slog.Logger
}

// Core is a Raft-replicated service as one core.Core: it holds the client
// requests the node owes an answer, proposes commands (batched until
// Drain, or a busy leader's next tick), takes read indexes for queries,
// turns what the RSM applied or released into replies, sizes the Raft
// tick to the round trip, tracks which links work and routes around those
// that do not, and hands a request to its peers when it knows no leader. Time is counted in ticks
// of Timing.TickMin.
type Core struct {
	cfg   CoreConfig
	log   *slog.Logger
	rsm   *rsm.RSM
	peers []string
	out   core.Outbox[Msg, any]
	now   int64 // ticks so far
	lead  string

	links links
	ping  pingRound

	cmds     map[reqKey]pendingCmd
	queries  map[int64]pendingQuery
	queryCtx int64
	// batch holds commands submitted here, fwd those a follower forwarded
	// to this leader, not proposed yet; they are proposed as one append
	// (see propose for when).
	batch     [][]byte
	batchReqs []reqKey
	fwd       [][]byte
	// held: a leader holds the batch until its next tick.
	held bool

	handoffs handoffs
	rejoin   rejoin
}

// reqKey identifies a client request: Maelstrom client id and msg_id.
type reqKey struct {
	client string
	id     int64
}

// route says where a request's answer goes: a reply to request (client,
// msgID), or, for a request a peer handed off, a raft_handoff_done to that
// peer with its tag.
type route struct {
	client string
	msgID  int64
	peer   string
	tag    int64
}

type pendingCmd struct {
	to route
	at int64
}

type pendingQuery struct {
	to   route
	data []byte
	at   int64
}

// NewCore builds the RSM over cfg.Machine and the core around it. On a
// first boot the lowest id campaigns at once: Maelstrom's clients start as
// soon as every node is initialized, and pre-vote makes this safe whatever
// the others do, instead of answering "no leader" until the first election
// timeout. A node restarted with state waits for the leader's heartbeat
// instead: the cluster most likely has a leader.
func NewCore(cfg CoreConfig) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	restarted := cfg.Durable != nil
	var inc uint64
	if cfg.Durable == nil {
		d, err := raft.FromRecovered(cfg.Recovered)
		if err != nil {
			return nil, err
		}
		cfg.Durable, restarted = d, d != nil
		if !restarted {
			inc = cfg.Incarnation
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rs, err := rsm.New(rsm.Config{Raft: raft.Config{
		ID: cfg.ID, Voters: cfg.Nodes,
		ElectionTick: 10, HeartbeatTick: 1,
		PreVote: true, CheckQuorum: true,
		// Maelstrom's network reorders messages on a link (a tick is
		// about half a round trip plus its deviation, so four ticks
		// cover the latency tail): hold early appends, do not reject.
		ReorderTicks: 4,
		QuietCommits: cfg.QuietCommits,
		Rand:         cfg.Rand,
		Durable:      cfg.Durable,
		// A node without state may have lost it: it votes once its
		// peers told it what they hold (rejoin.go).
		Unsure:      cfg.Amnesia && !restarted && len(cfg.Nodes) > 1,
		Incarnation: inc,
		Logger:      log,
	}, SnapshotEntries: cfg.SnapshotEntries}, cfg.Machine)
	if err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, log: log, rsm: rs,
		cmds: map[reqKey]pendingCmd{}, queries: map[int64]pendingQuery{}}
	for _, id := range cfg.Nodes {
		if id != cfg.ID {
			c.peers = append(c.peers, id)
		}
	}
	c.links = newLinks(cfg.Timing, cfg.ID, c.peers)
	c.handoffs = handoffs{pending: map[int64]*handoff{}}
	c.startRejoin(rs.Raft())
	if !restarted && !cfg.Amnesia && c.firstCampaigner() {
		if err := rs.Raft().Campaign(); err != nil {
			log.Warn("initial campaign", "err", err)
		}
	}
	return c, nil
}

// firstCampaigner says whether this node campaigns as soon as it knows
// the cluster is booting for the first time: the lowest id.
func (c *Core) firstCampaigner() bool {
	return len(c.cfg.Nodes) > 1 && c.cfg.ID == slices.Min(c.cfg.Nodes)
}

func (cfg CoreConfig) validate() error {
	tm := cfg.Timing
	switch {
	case cfg.Machine == nil || cfg.Codec == nil:
		return errors.New("raftnode: Machine and Codec are required")
	case len(cfg.Types) == 0:
		return errors.New("raftnode: no client request types")
	case slices.ContainsFunc(cfg.Types, internal):
		return fmt.Errorf("raftnode: client request types %q include an internal one (raft*)", cfg.Types)
	case tm.TickMin <= 0 || tm.TickMax < tm.TickMin || tm.TickStart <= 0 ||
		tm.PingEvery <= 0 || tm.PendingMax <= 0 || tm.PendingTTL <= 0:
		return errors.New("raftnode: Timing needs positive periods and bounds (see DefaultTiming)")
	case !slices.Contains(cfg.Nodes, cfg.ID):
		return fmt.Errorf("raftnode: %q is not among the nodes %q", cfg.ID, cfg.Nodes)
	}
	return nil
}

// RSM is the replicated state machine.
func (c *Core) RSM() *rsm.RSM { return c.rsm }

// Pending is the number of commands and queries waiting for an answer.
func (c *Core) Pending() int { return len(c.cmds) + len(c.queries) }

// Step takes a message from a peer.
func (c *Core) Step(from string, m Msg) {
	if !slices.Contains(c.peers, from) {
		return // raftnode traffic comes from peers only
	}
	if m.Type == TypeRelay {
		c.links.health.Heard(from) // the relay's own link to this node works
		c.stepRelay(from, m)
		return
	}
	c.stepPeer(from, m, true)
}

// stepPeer handles m from peer from; direct is false when a relay brought
// it (links.go).
func (c *Core) stepPeer(from string, m Msg, direct bool) {
	c.noteLinks(from, m, direct)
	switch m.Type {
	case TypeRaft:
		if m.M.To != c.cfg.ID {
			return
		}
		m.M.From = from
		c.stepRaft(m.M)
	case TypePing:
		pong := Msg{Type: TypePong}
		if direct {
			pong.T = m.T // a relayed ping's round trip does not size the tick
		}
		c.sendPeer(from, pong)
	case TypePong:
		if direct && m.T > 0 {
			c.pong(from, m.T) // a relayed pong's round trip does not size the tick
		}
	case TypeHandoff:
		c.serveHandoff(from, m)
	case TypeHandoffDone:
		c.handoffDone(from, m)
	case TypeHello:
		c.serveHello(from, m.Inc)
	case TypeHelloOK:
		c.helloOK(from, m.Held)
	}
}

// stepRaft hands a peer's raft message to the RSM; a leader adds the
// commands a follower forwarded to its own batch.
func (c *Core) stepRaft(m raft.Message) {
	if m.Term == 0 && m.Type != raft.MsgProp && m.Type != raft.MsgReadIndex {
		return // only forwarded requests travel without a term
	}
	if m.Type == raft.MsgProp && c.rsm.Raft().Status().State == raft.StateLeader && Plain(m.Entries) {
		for _, e := range m.Entries {
			c.fwd = append(c.fwd, e.Data)
		}
		return
	}
	if err := c.rsm.Step(m); err != nil && !errors.Is(err, raft.ErrProposalDropped) {
		c.log.Debug("raft step", "err", err)
	}
}

// Command takes a client's request.
func (c *Core) Command(cmd core.Command[Request]) {
	to := route{client: cmd.Client, msgID: cmd.MsgID}
	c.request(to, cmd.Client, cmd.MsgID, cmd.Body, false)
}

// request serves a request from client with msg_id id, answered through
// to; a request a peer handed off is never handed off again.
func (c *Core) request(to route, client string, id int64, req Request, handedOff bool) {
	op, err := c.cfg.Codec.Decode(req.Type, req.Body, client, id)
	if err == nil && !handedOff && c.rsm.Raft().Status().Lead == "" && len(c.peers) > 0 {
		err = c.handOff(to, client, id, req.Body, op.Query)
	} else if err == nil {
		err = c.submit(to, client, id, op)
	}
	if err != nil {
		c.answer(to, asRPCError(err))
	}
}

// asRPCError keeps an *maelstrom.RPCError and makes anything else a crash.
func asRPCError(err error) *maelstrom.RPCError {
	var rpc *maelstrom.RPCError
	if errors.As(err, &rpc) {
		return rpc
	}
	return maelstrom.NewRPCError(maelstrom.Crash, err.Error())
}

// submit takes a decoded request. An error is a definite answer for now
// (nothing was proposed): no leader known, too many pending. A command
// already pending under the same (client, id) is not proposed twice: one
// answer, when it applies.
func (c *Core) submit(to route, client string, id int64, op Op) error {
	if op.Query {
		if len(c.queries) >= c.cfg.Timing.PendingMax {
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "too many pending reads")
		}
		c.queryCtx++
		if err := c.rsm.Read(c.queryCtx); err != nil {
			// A query has no effect: failing it definitely is always right.
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader: "+err.Error())
		}
		c.queries[c.queryCtx] = pendingQuery{to: to, data: op.Data, at: c.now}
		return nil
	}
	if len(op.Data) == 0 {
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, "empty command")
	}
	k := reqKey{client: client, id: id}
	if _, dup := c.cmds[k]; dup {
		return nil
	}
	if len(c.cmds) >= c.cfg.Timing.PendingMax {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "too many pending writes")
	}
	if c.rsm.Raft().Status().Lead == "" {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
	}
	c.cmds[k] = pendingCmd{to: to, at: c.now}
	c.batch = append(c.batch, op.Data)
	c.batchReqs = append(c.batchReqs, k)
	return nil
}

// Tick advances time by one tick: a Raft tick when one is due (the period
// follows the round trip), pings, expiry and handoff timeouts.
func (c *Core) Tick() {
	c.now++
	c.links.health.Tick(c.now)
	c.propose() // what a leader held back for a tick at most
	c.held = false
	if c.now >= c.links.nextRaftTick {
		c.rsm.Tick()
		c.links.nextRaftTick = c.now + c.links.period
	}
	if c.now == 1 || c.now%c.links.ticks(c.cfg.Timing.PingEvery) == 0 {
		c.ping.newRound(c.now)
		for _, p := range c.peers {
			c.sendPeer(p, Msg{Type: TypePing, T: c.now})
		}
	}
	if (c.now-1)%c.links.ticks(helloEvery) == 0 {
		c.helloDue()
	}
	if c.now%c.links.ticks(expireEvery) == 0 {
		c.expire()
	}
	c.handoffs.timeouts(c)
}

// Drain proposes the batch, drains the RSM and answers what completed:
// applied commands through Codec.Outcome, released queries through
// Codec.Query; then it returns, and forgets, the writes, messages and
// replies. The writes (term, vote, log, snapshots) are in the same Output
// as every message and reply that depends on them, so the driver's sync
// before sending covers them: an acknowledged write is on a majority's
// disks.
// It panics on a broken invariant (a snapshot that does not encode or
// decode).
func (c *Core) Drain() core.Output[Msg, any] {
	if c.held = c.held || c.holding(); !c.held {
		c.propose()
	}
	out, err := c.rsm.Advance()
	if err != nil {
		panic(err)
	}
	if out.Lead != c.lead {
		c.log.Info("leader changed", "lead", out.Lead, "term", out.Term, "state", out.State.String())
		c.lead = out.Lead
	}
	for _, w := range out.Writes {
		c.out.Persist(w)
	}
	for _, m := range out.Messages {
		c.sendRaft(m)
	}
	for _, a := range out.Applied {
		client, id, reply, ok := c.cfg.Codec.Outcome(a)
		if !ok {
			continue
		}
		k := reqKey{client: client, id: id}
		p, ok := c.cmds[k]
		if !ok {
			// Proposed elsewhere, or expired here. Maelstrom clients
			// match replies by in_reply_to whoever sends them, so the
			// leader answers a forwarded command at once instead of the
			// follower a commit message later (one network leg less).
			// The follower still answers when it applies; the client
			// discards the second copy.
			if out.State == raft.StateLeader && client != "" && id > 0 {
				c.out.Reply(client, id, reply)
			}
			continue
		}
		delete(c.cmds, k)
		c.answer(p.to, reply)
	}
	for _, ctx := range out.Reads {
		q, ok := c.queries[ctx]
		if !ok {
			continue
		}
		delete(c.queries, ctx)
		c.answer(q.to, c.cfg.Codec.Query(q.data))
	}
	return c.out.Take()
}

// Group commit. Every append a leader makes costs a sync on the leader
// and on every follower it reaches, so a leader that proposed each drain's
// commands at once would pay about one sync per node for every command or
// two under load. Instead a leader that has commands to propose (its
// clients' and those followers forward to it) while entries it appended
// are still uncommitted holds them, and whatever comes after, until its
// next tick, and proposes them all in one append: at low load nothing
// waits, and a command waits one tick (Timing.TickMin) at most. Under load
// a leader appends at each tick with what it held, and once more between
// ticks for the first command that finds its appends committed, when the
// commit round (two fsyncs, two hops) is shorter than a tick. Followers
// forward their clients' commands at once (a forward costs no sync) and
// persist each append they receive with one sync.

// holding says whether a leader holds a batch until its next tick:
// entries it appended are in flight and it has commands to propose.
func (c *Core) holding() bool {
	if len(c.batch) == 0 && len(c.fwd) == 0 {
		return false
	}
	st := c.rsm.Raft().Status()
	return st.State == raft.StateLeader && st.LastIndex > st.Commit
}

// Plain says whether a proposal's entries are all client commands, which
// a leader may batch with its own (a membership change is not batched).
func Plain(ents []raft.Entry) bool {
	for _, e := range ents {
		if e.Type != raft.EntryNormal || len(e.Data) == 0 {
			return false
		}
	}
	return len(ents) > 0
}

// propose appends the batch of commands, with those forwarded to this
// leader, in one append. Dropped: nothing entered the log, a definite
// answer is safe; any other error: nothing definite. Forwarded commands
// that are dropped get no answer here (their followers answer them).
func (c *Core) propose() {
	if len(c.batch) == 0 && len(c.fwd) == 0 {
		return
	}
	cmds := append(c.batch, c.fwd...)
	c.fwd = c.fwd[:0]
	if err := c.rsm.Propose(cmds); err != nil {
		body := maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
		if !errors.Is(err, raft.ErrProposalDropped) {
			body = maelstrom.NewRPCError(maelstrom.Crash, "propose: "+err.Error())
		}
		for _, k := range c.batchReqs {
			c.answer(c.cmds[k].to, body)
			delete(c.cmds, k)
		}
	}
	c.batch, c.batchReqs = c.batch[:0], c.batchReqs[:0]
}

// expireEvery is how often expire runs.
const expireEvery = time.Second

// expire forgets requests whose clients have given up: commands older
// than PendingTTL get no answer (they may still commit, so nothing
// definite can be said); queries older than PendingTTL/5 get a definite
// error (a query has no effect). Replies go in context order.
func (c *Core) expire() {
	cmdTTL := c.links.ticks(c.cfg.Timing.PendingTTL)
	queryTTL := c.links.ticks(c.cfg.Timing.PendingTTL / 5)
	for k, p := range c.cmds {
		if c.now-p.at > cmdTTL {
			delete(c.cmds, k)
		}
	}
	for _, ctx := range slices.Sorted(maps.Keys(c.queries)) {
		if q := c.queries[ctx]; c.now-q.at > queryTTL {
			c.answer(q.to, maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "read timed out"))
			delete(c.queries, ctx)
		}
	}
}

// answer sends body (a reply body or a *maelstrom.RPCError) where to says.
func (c *Core) answer(to route, body any) {
	if to.peer != "" {
		c.sendPeer(to.peer, handoffAnswer(to.tag, body))
		return
	}
	c.out.Reply(to.client, to.msgID, body)
}
