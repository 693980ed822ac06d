// Package core is the contract every protocol core meets: a sans-I/O state
// machine with typed inputs and typed outputs, that the node host
// (lib/node) runs on stdin/stdout and real time and the simulator
// (lib/sim) runs on a seeded virtual network.
//
// Inputs are of three kinds, each with its own method: a message from a
// peer (Step), a client's command (Command), and the passing of time (Tick,
// one tick at a time; a core counts its timeouts in ticks). Outputs
// accumulate until the driver takes them with Drain: messages for peers
// and replies for clients. A core has no goroutine, clock, I/O or global
// state: the same inputs in the same order give the same outputs, which is
// what lets a seed replay a simulated run exactly.
//
// A core whose state must survive a crash also emits durable writes in its
// Output (Writes), which the driver makes durable, all of them with one
// sync, before it sends any message or reply of the same Output: a reply
// that promises durability therefore goes out only once its state is on
// disk. After a restart the driver hands the core what survived
// (Recovered) when it builds it.
package core

// Command is a client's request: the client's id and msg_id (a reply's
// in_reply_to) with its decoded body.
type Command[C any] struct {
	Client string
	MsgID  int64
	Body   C
}

// Send is a message for peer To.
type Send[P any] struct {
	To  string
	Msg P
}

// Reply answers client To's request InReplyTo. A core may answer a request
// another node received (the client matches replies by in_reply_to, not by
// sender), so To is not always a client of this node.
type Reply[R any] struct {
	To        string
	InReplyTo int64
	Body      R
}

// Output is what a core produced since the last Drain.
type Output[P, R any] struct {
	Messages []Send[P]
	Replies  []Reply[R]
	// Writes must be durable before Messages and Replies go out; the
	// driver applies them in order.
	Writes []Write
}

// Empty says whether there is nothing to write or send.
func (o Output[P, R]) Empty() bool {
	return len(o.Messages) == 0 && len(o.Replies) == 0 && len(o.Writes) == 0
}

// WriteKind says what a Write does to the core's durable state, which is
// made of one small stable value, a log of records numbered from 1, and a
// snapshot covering a prefix of the log.
type WriteKind uint8

const (
	// WriteState replaces the stable value with Data (term and vote,
	// promises: small state rewritten whole).
	WriteState WriteKind = iota + 1
	// WriteAppend appends Data as the log record numbered Index, which
	// must be one past the last record.
	WriteAppend
	// WriteTruncate drops every log record after Index (a conflicting
	// suffix); Index 0 drops them all.
	WriteTruncate
	// WriteSnapshot replaces the snapshot with Data, covering every
	// record up to Index, and drops those records from the log.
	WriteSnapshot
)

// Write is one durable write.
type Write struct {
	Kind  WriteKind
	Index uint64
	Data  []byte
}

// Recovered is a core's durable state as a (re)start finds it: what its
// constructor builds from. A node that never wrote anything, or whose disk
// was wiped (eddy's --kill-wipes-disk), finds Fresh true and nothing else:
// a core that must not forget (a vote, a promise) has to tell the two apart
// by asking its peers, not from its disk.
type Recovered struct {
	Fresh bool
	// State is the last stable value written, or nil.
	State []byte
	// Snapshot is the last snapshot, or nil.
	Snapshot *Snapshot
	// Log holds the records after the snapshot, the first numbered First.
	First uint64
	Log   [][]byte
}

// Snapshot is a state image covering every log record up to Index.
type Snapshot struct {
	Index uint64
	Data  []byte
}

// Core is a protocol core with peer messages P, client commands C and
// replies R.
type Core[P, C, R any] interface {
	// Step takes a message from peer from.
	Step(from string, msg P)
	// Command takes a client's command; its reply comes out of Drain, at
	// once or later, or never when the outcome is unknown (the client
	// times out and records it as indeterminate).
	Command(cmd Command[C])
	// Tick advances the core's time by one tick.
	Tick()
	// Drain returns, and forgets, the output produced since the last call.
	Drain() Output[P, R]
}

// Outbox accumulates a core's output; a core embeds it and returns Take
// from its Drain.
type Outbox[P, R any] struct {
	out Output[P, R]
}

// Send queues msg for peer to.
func (o *Outbox[P, R]) Send(to string, msg P) {
	o.out.Messages = append(o.out.Messages, Send[P]{To: to, Msg: msg})
}

// Reply queues body as the answer to client to's request inReplyTo.
func (o *Outbox[P, R]) Reply(to string, inReplyTo int64, body R) {
	o.out.Replies = append(o.out.Replies, Reply[R]{To: to, InReplyTo: inReplyTo, Body: body})
}

// Persist queues a durable write; the driver makes it durable before it
// sends anything queued with it.
func (o *Outbox[P, R]) Persist(w Write) {
	o.out.Writes = append(o.out.Writes, w)
}

// Take returns, and forgets, what was queued.
func (o *Outbox[P, R]) Take() Output[P, R] {
	out := o.out
	o.out = Output[P, R]{}
	return out
}
