package paxos

import "maelkit/lib/core"

// Test names for the two kinds of answers in envelopes.
const (
	msgReply   = "reply"   // an outcome
	msgExpired = "expired" // Outcome.Unknown
)

// envelope is a core's peer message, or an answer to a client: Msg of
// type msgReply or msgExpired with the answered Op, as hand-driven tests
// route them.
type envelope struct {
	From, To string
	Msg      Msg
	Op       Op
}

// drain flattens a core's output: its replies, then its messages (the
// order the simulator takes them in).
func drain(c *Core) []envelope {
	out := c.Drain()
	var envs []envelope
	for _, r := range out.Replies {
		typ := msgReply
		if r.Body.Unknown {
			typ = msgExpired
		}
		envs = append(envs, envelope{From: c.cfg.ID, To: r.To, Msg: Msg{Type: typ, Key: r.Body.Key}, Op: r.Body.Op})
	}
	for _, m := range out.Messages {
		envs = append(envs, envelope{From: c.cfg.ID, To: m.To, Msg: m.Msg})
	}
	return envs
}

// request hands c the operation op on key from client, op.ID as its
// msg_id.
func request(c *Core, client string, key int64, op Op) {
	c.Command(core.Command[Request]{Client: client, MsgID: op.ID, Body: Request{Key: key, Op: op}})
}
