package kafkalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/core"
	"maelkit/lib/node"
	"maelkit/lib/raft"
	"maelkit/lib/raftnode"
	"maelkit/lib/rsm"
)

// Client request types the service serves.
const (
	TypeSend          = "send"
	TypePoll          = "poll"
	TypeCommitOffsets = "commit_offsets"
	TypeListCommitted = "list_committed_offsets"
)

// Types lists every client request type.
func Types() []string { return []string{TypeSend, TypePoll, TypeCommitOffsets, TypeListCommitted} }

// PollMax bounds the messages a poll returns per key: the client moves
// past what it got and asks again, and a poll reply stays small.
const PollMax = 512

// Client requests and replies.
type (
	sendReq struct {
		Key *string         `json:"key"`
		Msg json.RawMessage `json:"msg"`
	}
	offsetsReq struct {
		Offsets map[string]int64 `json:"offsets"`
	}
	keysReq struct {
		Keys []string `json:"keys"`
	}
	sendOK struct {
		Type   string `json:"type"`
		Offset int64  `json:"offset"`
	}
	pollOK struct {
		Type string             `json:"type"`
		Msgs map[string][]Entry `json:"msgs"`
	}
	commitOK struct {
		Type string `json:"type"`
	}
	listOK struct {
		Type    string           `json:"type"`
		Offsets map[string]int64 `json:"offsets"`
	}
)

// Config configures a Core.
type Config struct {
	// ID is this node; Nodes every node (Maelstrom's node_ids).
	ID    string
	Nodes []string
	// Timing is the Raft layer's (raftnode.Timing); its TickMin must be a
	// multiple of Flush.
	Timing raftnode.Timing
	// Flush is the Core's tick: sends and commits are held and handed to
	// Raft together once per Flush, so that one append (and, on a
	// follower, one forward) carries every write of the period. 0: no
	// holding, the Core ticks at Timing.TickMin and writes go to Raft as
	// they come (batched per drain only).
	Flush time.Duration
	// SnapshotEntries is rsm.Config.SnapshotEntries (0: DefaultSnapshotEntries).
	SnapshotEntries int64
	Rand            *rand.Rand
	// Recovered is the Raft layer's durable state found at start
	// (raftnode.CoreConfig.Recovered); the node's Host persists the
	// writes the Raft layer emits before it answers.
	Recovered core.Recovered
	// Dir is where the node keeps its store (empty: the working
	// directory); NoSync skips fsync (node.HostConfig).
	Dir    string
	NoSync bool
	// Amnesia: disks may be wiped (raftnode.CoreConfig.Amnesia).
	Amnesia bool
}

// DefaultSnapshotEntries: a snapshot holds every message, so it is taken
// every few seconds of a busy run, not every thousand entries.
const DefaultSnapshotEntries = 10_000

// DefaultConfig is the node's: writes flushed every 2.5 ms (a longer
// period saves messages but every client waits longer, and Maelstrom's
// clients wait for each answer before the next op: on Fly.io's 5b
// command a write waited about 4 ms on average for a 5 ms flush, and 5 ms
// gave 755 ops/s at 1.13 servers msgs-per-op where 2.5 ms gave 931 at
// 1.45), Raft ticking at least every 40 ms (a
// heartbeat per Raft tick is most of the idle traffic; the election
// timeout stays under a second) and at most every 200 ms, otherwise
// raftnode's defaults.
//
// The bound above matters under --nemesis pause: a peer paused for
// seconds answers a ping seconds late, the round-trip estimate that sizes
// the tick jumps, and with raftnode's default bound (1 s) the election
// timeout became 10 to 20 s and decayed back only as slowly: a leader
// that stepped down during a pause left the cluster without one for
// ten seconds after it, long enough for the final phase's commits to
// time out and its polls to read nothing. At 200 ms the election timeout
// stays within 2 to 4 s, and a tick still spans several round trips of
// Maelstrom's default network.
func DefaultConfig() Config {
	tm := raftnode.DefaultTiming()
	tm.TickMin = 40 * time.Millisecond
	tm.TickStart = 80 * time.Millisecond
	tm.TickMax = 200 * time.Millisecond
	return Config{Timing: tm, Flush: 2500 * time.Microsecond}
}

// Core is the kafka service as one core.Core: sends and commits go to a
// raftnode.Core (Raft-replicated, batched per drain, forwarded by
// followers to the leader, answered when they apply); polls and
// list_committed_offsets are answered at once from this node's applied
// Log, without a message to anyone.
type Core struct {
	raft *raftnode.Core
	log  *Log
	out  core.Outbox[raftnode.Msg, any]
	// held are the writes waiting for the next flush (nil slice: writes
	// go to Raft at once); every raftEvery ticks, Raft ticks once.
	held      []core.Command[raftnode.Request]
	hold      bool
	raftEvery int64
	now       int64
	// waitTicks is WaitForLeader in ticks; heard is when each peer was
	// last heard from (raftnode pings every peer every PingEvery), and
	// heardTicks how recent that must be for the peer to count as in
	// reach.
	waitTicks  int64
	heard      map[string]int64
	heardTicks int64
	// asked are the writes this node took from its clients and has not
	// answered: only their replies leave the node, and only within
	// AnswerWithin (see Drain).
	asked       map[reqKey]asked
	answerTicks int64
	// props are proposals followers forwarded, flushed with held writes
	// (see Step).
	props []heldProp
	id    string
}

// asked is a write a client is waiting for: the tick it came, and
// whether it is a commit_offsets.
type asked struct {
	at     int64
	commit bool
}

type heldProp struct {
	from string
	m    raftnode.Msg
}

// AnswerWithin is how long after a write the node may still answer it:
// less than a Maelstrom client's 5 s timeout, after which the client may
// have crashed and left the network. Later, the write gets no answer (its
// outcome stays unknown to the client, which recorded a timeout anyway).
const AnswerWithin = 4 * time.Second

type reqKey struct {
	client string
	id     int64
}

// NewCore builds a Core on a fresh Log.
func NewCore(cfg Config) (*Core, error) {
	l := NewLog()
	raftEvery := int64(1)
	if cfg.Flush > 0 {
		if cfg.Timing.TickMin%cfg.Flush != 0 {
			return nil, fmt.Errorf("kafkalog: Timing.TickMin %v is not a multiple of Flush %v", cfg.Timing.TickMin, cfg.Flush)
		}
		raftEvery = int64(cfg.Timing.TickMin / cfg.Flush)
	}
	snap := cfg.SnapshotEntries
	if snap == 0 {
		snap = DefaultSnapshotEntries
	}
	rc, err := raftnode.NewCore(raftnode.CoreConfig{
		ID: cfg.ID, Nodes: cfg.Nodes, Types: []string{TypeSend, TypeCommitOffsets},
		Machine: l, Codec: codec{}, Timing: cfg.Timing, SnapshotEntries: snap, Rand: cfg.Rand,
		Recovered: cfg.Recovered, Amnesia: cfg.Amnesia,
		// Every flush is an append and its answer; the commit index
		// follows in a quiet append, which needs no answer.
		QuietCommits: true,
	})
	if err != nil {
		return nil, err
	}
	if len(cfg.Nodes) == 1 {
		// Alone, the node is its own quorum: lead at once rather than
		// refuse sends until the first election timeout.
		if err := rc.RSM().Raft().Campaign(); err != nil {
			return nil, err
		}
	}
	// Alone, a node sends no messages to save: it never holds writes.
	hold := cfg.Flush > 0 && len(cfg.Nodes) > 1
	heard := map[string]int64{}
	for _, id := range cfg.Nodes {
		if id != cfg.ID {
			heard[id] = -1 // never
		}
	}
	return &Core{raft: rc, log: l, hold: hold, raftEvery: raftEvery,
		asked: map[reqKey]asked{}, answerTicks: int64(AnswerWithin / cfg.Tick()),
		waitTicks: int64(WaitForLeader / cfg.Tick()), id: cfg.ID,
		heard: heard, heardTicks: int64(2 * cfg.Timing.PingEvery / cfg.Tick())}, nil
}

// Log is the applied state.
func (c *Core) Log() *Log { return c.log }

// Raft is the raftnode core under the service.
func (c *Core) Raft() *raftnode.Core { return c.raft }

// Step implements core.Core. A leader takes a follower's proposal into
// its own batching: holding writes of its own, it flushes them with it, as
// one append, rather than append the two apart; with an append of its own
// still uncommitted, it holds the proposal for its next flush, at most one
// Flush away, as it holds its clients' writes; otherwise it appends it at
// once. Left to raftnode, a proposal that comes while an append is in
// flight would wait for raftnode's next tick, a Raft tick (40 ms) away.
func (c *Core) Step(from string, m raftnode.Msg) {
	if _, peer := c.heard[from]; peer {
		c.heard[from] = c.now
	}
	if c.hold && m.Type == raftnode.TypeRaft && m.M.Type == raft.MsgProp && m.M.To == c.id && raftnode.Plain(m.M.Entries) && c.leading() {
		c.props = append(c.props, heldProp{from: from, m: m})
		if len(c.held) > 0 || !c.appending() {
			c.flush()
		}
		return
	}
	c.raft.Step(from, m)
}

func (c *Core) leading() bool { return c.raft.RSM().Raft().Status().State == raft.StateLeader }

// appending says whether entries this node appended are not committed yet.
func (c *Core) appending() bool {
	st := c.raft.RSM().Raft().Status()
	return st.LastIndex > st.Commit
}

// Tick implements core.Core: the held writes go to Raft, and Raft's own
// tick comes every raftEvery ticks.
func (c *Core) Tick() {
	c.now++
	c.flush()
	if c.now%c.answerTicks == 0 {
		c.forget()
	}
	if c.now%c.raftEvery == 0 {
		c.raft.Tick()
	}
}

// flush hands the held writes to Raft. A leader proposes its clients'
// writes and its followers' forwarded ones as one batch, straight to the
// RSM: raftnode's leader answers every entry it applies that it does not
// track, which covers its own clients' writes (and Drain lets out only
// those). A follower submits its clients' writes to raftnode, whose next
// Drain forwards them to the leader as one proposal. A node that knows no
// leader but hears a majority keeps its writes for the next flush, for up
// to WaitForLeader, and then hands them to raftnode (which asks its
// peers, or fails them).
func (c *Core) flush() {
	if len(c.held) == 0 && len(c.props) == 0 {
		return
	}
	var wait []core.Command[raftnode.Request]
	if !c.leading() {
		for _, p := range c.props {
			c.raft.Step(p.from, p.m) // raftnode forwards or drops them
		}
		waitLeader := c.raft.RSM().Raft().Status().Lead == "" && c.majorityInReach()
		for _, cmd := range c.held {
			if a, ok := c.asked[reqKey{cmd.Client, cmd.MsgID}]; ok && waitLeader && c.now-a.at < c.waitTicks {
				if _, err := (codec{}).Decode(cmd.Body.Type, cmd.Body.Body, cmd.Client, cmd.MsgID); err != nil {
					c.answerHeld(cmd, err) // bad input waits for nothing
					continue
				}
				wait = append(wait, cmd)
				continue
			}
			c.raft.Command(cmd)
		}
	} else {
		c.proposeHeld()
	}
	clear(c.held)
	c.held = append(c.held[:0], wait...)
	clear(c.props)
	c.props = c.props[:0]
}

// majorityInReach says whether this node heard from enough peers lately to
// be on a majority's side: only then is a leader likely soon. On a
// minority's side a write fails at once, as before, and its client
// goes on.
func (c *Core) majorityInReach() bool {
	n := 1
	for _, at := range c.heard {
		if at >= 0 && c.now-at <= c.heardTicks {
			n++
		}
	}
	return 2*n > len(c.heard)+1
}

// WaitForLeader is how long a node that knows no leader, but hears a
// majority, keeps a client's write before it gives up on one: an election after a partition heals or
// a paused majority resumes takes one or two election timeouts, and a
// write answered in the meantime fails (or, for a commit_offsets, makes
// the client start over: see asked.outcome), where one kept commits once
// the leader is in place. It leaves time, under AnswerWithin, for
// raftnode's own attempt (asking the peers) and for the commit.
const WaitForLeader = 2500 * time.Millisecond

// proposeHeld proposes, as one append, the held writes (an invalid one is
// answered at once, definitely) and the held forwarded proposals.
func (c *Core) proposeHeld() {
	var data [][]byte
	var own []core.Command[raftnode.Request]
	for _, cmd := range c.held {
		op, err := codec{}.Decode(cmd.Body.Type, cmd.Body.Body, cmd.Client, cmd.MsgID)
		if err != nil {
			c.answerHeld(cmd, err)
			continue
		}
		data = append(data, op.Data)
		own = append(own, cmd)
	}
	for _, p := range c.props {
		for _, e := range p.m.M.Entries {
			if len(e.Data) > 0 {
				data = append(data, e.Data)
			}
		}
	}
	err := c.raft.RSM().Propose(data)
	if err == nil {
		return
	}
	// Nothing entered the log when the proposal was dropped: a definite
	// answer is safe; otherwise nothing definite can be said. Forwarded
	// writes are left to their followers' clients' timeouts.
	body := maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
	if !errors.Is(err, raft.ErrProposalDropped) {
		body = maelstrom.NewRPCError(maelstrom.Crash, "propose: "+err.Error())
	}
	for _, cmd := range own {
		c.answerHeld(cmd, body)
	}
}

// answerHeld answers a held write at once.
func (c *Core) answerHeld(cmd core.Command[raftnode.Request], body any) {
	k := reqKey{cmd.Client, cmd.MsgID}
	a := c.asked[k]
	delete(c.asked, k)
	c.out.Reply(cmd.Client, cmd.MsgID, a.outcome(body))
}

// outcome is the answer to a write: body, but for a commit_offsets that
// failed for want of a leader, whose failure is reported as indefinite.
// Maelstrom's kafka client polls, moves its offsets past what it got, and
// then commits them, as one op: a definite error fails the op, and the
// client's next poll resumes past messages the history never shows it
// read (a poll-skip); an indefinite one makes the op :info, after which
// the client is reopened and starts over from the committed offsets.
func (a asked) outcome(body any) any {
	if e, ok := body.(*maelstrom.RPCError); ok && a.commit && e.Code == maelstrom.TemporarilyUnavailable {
		return maelstrom.NewRPCError(maelstrom.Crash, "commit_offsets not done: "+e.Text)
	}
	return body
}

// Tick is the period of a Core tick for cfg.
func (cfg Config) Tick() time.Duration {
	if cfg.Flush > 0 {
		return cfg.Flush
	}
	return cfg.Timing.TickMin
}

// Command implements core.Core: reads are served here, writes go to Raft.
func (c *Core) Command(cmd core.Command[raftnode.Request]) {
	switch cmd.Body.Type {
	case TypePoll:
		var b offsetsReq
		if err := json.Unmarshal(cmd.Body.Body, &b); err != nil {
			c.out.Reply(cmd.Client, cmd.MsgID, malformed(cmd.Body.Type, err))
			return
		}
		c.out.Reply(cmd.Client, cmd.MsgID, pollOK{Type: "poll_ok", Msgs: c.log.Poll(b.Offsets, PollMax)})
	case TypeListCommitted:
		var b keysReq
		if err := json.Unmarshal(cmd.Body.Body, &b); err != nil {
			c.out.Reply(cmd.Client, cmd.MsgID, malformed(cmd.Body.Type, err))
			return
		}
		c.out.Reply(cmd.Client, cmd.MsgID, listOK{Type: "list_committed_offsets_ok", Offsets: c.log.Committed(b.Keys)})
	default:
		c.asked[reqKey{cmd.Client, cmd.MsgID}] = asked{at: c.now, commit: cmd.Body.Type == TypeCommitOffsets}
		if c.hold {
			c.held = append(c.held, cmd)
			return
		}
		c.raft.Command(cmd)
	}
}

// Drain implements core.Core: this core's replies, then Raft's output.
//
// Of Raft's replies, only those to requests this node took go out, once:
// raftnode's leader also answers a follower's client directly, and the
// follower answers again when the entry applies, but Maelstrom removes a
// crashed client from the network, and a reply to a client that is gone
// makes Maelstrom stop reading the node. Maelstrom's kafka workload
// crashes clients all the time, and a client's next op may be its crash,
// so a second copy of an answer is a hazard, not a harmless duplicate.
func (c *Core) Drain() core.Output[raftnode.Msg, any] {
	mine := c.out.Take()
	out := c.raft.Drain()
	replies := mine.Replies
	for _, r := range out.Replies {
		k := reqKey{r.To, r.InReplyTo}
		if a, ok := c.asked[k]; ok {
			delete(c.asked, k)
			if c.now-a.at <= c.answerTicks {
				r.Body = a.outcome(r.Body)
				replies = append(replies, r)
			}
		}
	}
	out.Replies = replies
	return out
}

// forget drops the writes too old to answer: their clients gave up.
func (c *Core) forget() {
	for k, a := range c.asked {
		if c.now-a.at > c.answerTicks {
			delete(c.asked, k)
		}
	}
}

func malformed(typ string, err error) *maelstrom.RPCError {
	return maelstrom.NewRPCError(maelstrom.MalformedRequest, "decode "+typ+": "+err.Error())
}

// codec is the raftnode side of sends and commits.
type codec struct{}

// Decode implements raftnode.Codec.
func (codec) Decode(typ string, body json.RawMessage, client string, id int64) (raftnode.Op, error) {
	cmd := Command{Client: client, ID: id}
	switch typ {
	case TypeSend:
		var b sendReq
		if err := json.Unmarshal(body, &b); err != nil {
			return raftnode.Op{}, malformed(typ, err)
		}
		if b.Key == nil {
			return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "send without key")
		}
		cmd.Op, cmd.Key, cmd.Msg = OpSend, *b.Key, b.Msg
	case TypeCommitOffsets:
		var b offsetsReq
		if err := json.Unmarshal(body, &b); err != nil {
			return raftnode.Op{}, malformed(typ, err)
		}
		cmd.Op, cmd.Offsets = OpCommit, b.Offsets
	default:
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.NotSupported, "not a log command: "+typ)
	}
	if err := cmd.Validate(); err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	data, err := Encode(cmd)
	if err != nil {
		return raftnode.Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, err.Error())
	}
	return raftnode.Op{Data: data}, nil
}

// Query implements raftnode.Codec; reads never reach Raft (Core serves
// them), so any query is refused.
func (codec) Query([]byte) any {
	return maelstrom.NewRPCError(maelstrom.NotSupported, "kafkalog serves reads locally")
}

// Outcome implements raftnode.Codec.
func (codec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(Result)
	if !ok {
		return "", 0, nil, false
	}
	var cmd Command
	if json.Unmarshal(a.Data, &cmd) != nil {
		return "", 0, nil, false
	}
	if res.Code != OK {
		// Stale or invalid: it took no effect, but a copy of it may
		// still be in flight, so stay indefinite.
		return cmd.Client, cmd.ID, maelstrom.NewRPCError(maelstrom.Crash, "request skipped"), true
	}
	if cmd.Op == OpSend {
		return cmd.Client, cmd.ID, sendOK{Type: "send_ok", Offset: res.Offset}, true
	}
	return cmd.Client, cmd.ID, commitOK{Type: "commit_offsets_ok"}, true
}

// Host is a Core hosted on a node.
type Host = node.Host[raftnode.Msg, raftnode.Request, any]

// Register hosts a Core for cfg on n (before n.Run): init builds it (with
// the node's id, cluster and randomness), and handlers serve the kafka
// requests and the cores' traffic.
func Register(n *node.Node, cfg Config) *Host {
	h := node.NewHost(n, node.HostConfig[raftnode.Msg, raftnode.Request, any]{
		Durable: func(n *node.Node, rec core.Recovered) (core.Core[raftnode.Msg, raftnode.Request, any], error) {
			r := n.Rand()
			c := cfg
			c.ID, c.Nodes, c.Recovered = n.ID(), n.NodeIDs(), rec
			c.Rand = rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
			return NewCore(c)
		},
		Dir:       cfg.Dir,
		NoSync:    cfg.NoSync,
		Tick:      cfg.Tick(),
		PeerTypes: raftnode.PeerTypes(),
		Reply:     func(body any) any { return body },
	})
	for _, typ := range Types() {
		node.HandleCommand(h, typ, func(b json.RawMessage) (raftnode.Request, error) {
			return raftnode.Request{Type: typ, Body: b}, nil
		})
	}
	return h
}
