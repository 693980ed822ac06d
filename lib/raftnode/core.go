package raftnode

import (
	"errors"
	"maps"
	"slices"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"

	"maelkit/lib/raft"
	"maelkit/lib/rsm"
)

// Core is the sans-I/O part of the adapter: it holds the client requests a
// node owes an answer, proposes commands (batched until Advance), takes read
// indexes for queries, and turns what the RSM applied or released into
// replies. The Server drives it from the node's loop; a deterministic
// simulation drives the same code with virtual time. A reply goes to To,
// the caller's handle for the request (a *node.Request in the Server).
type Core struct {
	rsm        *rsm.RSM
	codec      Codec
	pendingMax int

	cmds     map[reqKey]pendingCmd
	queries  map[int64]pendingQuery
	queryCtx int64
	// batch holds commands submitted since the last Advance; they are
	// proposed as one append.
	batch     [][]byte
	batchReqs []reqKey
}

// reqKey identifies a client request: Maelstrom client id and msg_id.
type reqKey struct {
	client string
	id     int64
}

type pendingCmd struct {
	to any
	at time.Time
}

type pendingQuery struct {
	to   any
	data []byte
	at   time.Time
}

// Reply is an answer for the request whose handle is To: a reply body or
// a *maelstrom.RPCError.
type Reply struct {
	To   any
	Body any
}

// Direct is an answer the leader sends straight to a client whose request
// a follower forwarded (see CoreOutput.Direct).
type Direct struct {
	Client string
	ID     int64 // the client's msg_id: the reply's in_reply_to
	Body   any
}

// CoreOutput is what one Advance produced.
type CoreOutput struct {
	Messages []raft.Message
	Replies  []Reply
	// Direct holds, at the leader, the answers to applied commands that
	// another node submitted. Maelstrom clients match replies by
	// in_reply_to whoever sends them, so the leader answers at once
	// instead of the follower a commit message later (one network leg
	// less per forwarded write). The follower still answers when it
	// applies; the client discards the second copy.
	Direct []Direct
	Lead   string
	Term   int64
	State  raft.StateType
}

// NewCore wraps an RSM; pendingMax bounds the commands and, separately, the
// queries waiting for an answer.
func NewCore(r *rsm.RSM, codec Codec, pendingMax int) (*Core, error) {
	if r == nil || codec == nil || pendingMax <= 0 {
		return nil, errors.New("raftnode: NewCore needs an RSM, a Codec and a positive bound")
	}
	return &Core{rsm: r, codec: codec, pendingMax: pendingMax,
		cmds: map[reqKey]pendingCmd{}, queries: map[int64]pendingQuery{}}, nil
}

// RSM is the replicated state machine.
func (c *Core) RSM() *rsm.RSM { return c.rsm }

// Pending is the number of commands and queries waiting for an answer.
func (c *Core) Pending() int { return len(c.cmds) + len(c.queries) }

// Submit takes a decoded request from client with msg_id id, answered later
// through a Reply to `to`. An error is a definite answer for now (nothing
// was proposed): no leader known, too many pending. A command already
// pending under the same (client, id) is not proposed twice: one answer,
// when it applies.
func (c *Core) Submit(to any, client string, id int64, op Op, now time.Time) error {
	if op.Query {
		if len(c.queries) >= c.pendingMax {
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "too many pending reads")
		}
		c.queryCtx++
		if err := c.rsm.Read(c.queryCtx); err != nil {
			// A query has no effect: failing it definitely is always right.
			return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader: "+err.Error())
		}
		c.queries[c.queryCtx] = pendingQuery{to: to, data: op.Data, at: now}
		return nil
	}
	if len(op.Data) == 0 {
		return maelstrom.NewRPCError(maelstrom.MalformedRequest, "empty command")
	}
	k := reqKey{client: client, id: id}
	if _, dup := c.cmds[k]; dup {
		return nil
	}
	if len(c.cmds) >= c.pendingMax {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "too many pending writes")
	}
	if c.rsm.Raft().Status().Lead == "" {
		return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
	}
	c.cmds[k] = pendingCmd{to: to, at: now}
	c.batch = append(c.batch, op.Data)
	c.batchReqs = append(c.batchReqs, k)
	return nil
}

// Advance proposes the batch, drains the RSM and answers what completed:
// applied commands through Codec.Outcome, released queries through
// Codec.Query. An error is a broken invariant (a snapshot that does not
// encode or decode).
func (c *Core) Advance() (CoreOutput, error) {
	var replies []Reply
	if len(c.batch) > 0 {
		if err := c.rsm.Propose(c.batch); err != nil {
			// Dropped: nothing entered the log, a definite answer is safe.
			// Any other error: say nothing definite.
			body := maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "no leader")
			if !errors.Is(err, raft.ErrProposalDropped) {
				body = maelstrom.NewRPCError(maelstrom.Crash, "propose: "+err.Error())
			}
			for _, k := range c.batchReqs {
				replies = append(replies, Reply{To: c.cmds[k].to, Body: body})
				delete(c.cmds, k)
			}
		}
		c.batch, c.batchReqs = c.batch[:0], c.batchReqs[:0]
	}
	out, err := c.rsm.Advance()
	if err != nil {
		return CoreOutput{}, err
	}
	var direct []Direct
	for _, a := range out.Applied {
		client, id, reply, ok := c.codec.Outcome(a)
		if !ok {
			continue
		}
		k := reqKey{client: client, id: id}
		p, ok := c.cmds[k]
		if !ok {
			// Proposed elsewhere, or expired here.
			if out.State == raft.StateLeader && client != "" && id > 0 {
				direct = append(direct, Direct{Client: client, ID: id, Body: reply})
			}
			continue
		}
		delete(c.cmds, k)
		replies = append(replies, Reply{To: p.to, Body: reply})
	}
	for _, ctx := range out.Reads {
		q, ok := c.queries[ctx]
		if !ok {
			continue
		}
		delete(c.queries, ctx)
		replies = append(replies, Reply{To: q.to, Body: c.codec.Query(q.data)})
	}
	return CoreOutput{Messages: out.Messages, Replies: replies, Direct: direct, Lead: out.Lead, Term: out.Term, State: out.State}, nil
}

// Expire forgets requests whose clients have given up: commands older than
// cmdTTL get no answer (they may still commit, so nothing definite can be
// said); queries older than queryTTL get a definite error (a query has no
// effect). Replies come in submission order of their keys (deterministic).
func (c *Core) Expire(now time.Time, cmdTTL, queryTTL time.Duration) []Reply {
	for k, p := range c.cmds {
		if now.Sub(p.at) > cmdTTL {
			delete(c.cmds, k)
		}
	}
	var replies []Reply
	for _, ctx := range slices.Sorted(maps.Keys(c.queries)) {
		if q := c.queries[ctx]; now.Sub(q.at) > queryTTL {
			replies = append(replies, Reply{To: q.to, Body: maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "read timed out")})
			delete(c.queries, ctx)
		}
	}
	return replies
}
