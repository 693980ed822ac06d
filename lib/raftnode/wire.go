package raftnode

import (
	"encoding/json"
	"fmt"

	"maelkit/lib/raft"
)

// Message types of Msg: the traffic between raftnode cores.
const (
	// TypeRaft carries a raft message to its destination.
	TypeRaft = "raft"
	// TypeRelay carries a raft message, ping, pong or hello through a third
	// node, around a direction of a link that does not work (Relay; see
	// links.go and lib/linkhealth).
	TypeRelay = "raft_relay"
	// TypePing and TypePong measure the round trip (they size the tick)
	// and tell a node which peers it hears.
	TypePing = "raft_ping"
	TypePong = "raft_pong"
	// TypeHandoff asks a peer to serve a client's request when this node
	// knows no leader; TypeHandoffDone carries the peer's answer back (see
	// handoff.go).
	TypeHandoff     = "raft_handoff"
	TypeHandoffDone = "raft_handoff_done"
	// TypeHello asks a peer what it holds, from a node that started
	// without state and may have lost it; TypeHelloOK answers with the
	// peer's term and last log entry (see rejoin.go).
	TypeHello   = "raft_hello"
	TypeHelloOK = "raft_hello_ok"
)

// PeerTypes lists the message types cores exchange.
func PeerTypes() []string {
	return []string{TypeRaft, TypeRelay, TypePing, TypePong, TypeHandoff, TypeHandoffDone, TypeHello, TypeHelloOK}
}

// Msg is every message between raftnode cores; which fields are set
// depends on Type. The JSON form is what nodes exchange.
type Msg struct {
	Type string `json:"type"`
	// M is the raft message (raft).
	M raft.Message `json:"m,omitzero"`
	// Link health (raft, ping, pong, hello; see links.go). Hear says the sender
	// has lately had messages from the receiver without a relay. Via, on
	// a request (a ping, or a raft message that expects an answer), asks
	// for the answers through that peer, directly as well if Probe.
	Hear  bool   `json:"hear,omitempty"`
	Via   string `json:"via,omitempty"`
	Probe bool   `json:"probe,omitempty"`
	// Relay is a raft_relay's cargo.
	Relay *Relay `json:"relay,omitempty"`
	// T is a ping's send tick, echoed by the pong (zero: the round trip
	// went through a relay and measures nothing).
	T int64 `json:"t,omitempty"`
	// Handoffs: the sender's tag for the request; on raft_handoff the
	// client, its msg_id and its request body (type included); on
	// raft_handoff_done the answer, an error (Code, Text) or a reply Body.
	Tag    int64           `json:"tag,omitempty"`
	Client string          `json:"client,omitempty"`
	ID     int64           `json:"id,omitempty"`
	Req    json.RawMessage `json:"req,omitempty"`
	Code   int             `json:"code,omitempty"`
	Text   string          `json:"text,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
	// Held is a raft_hello_ok's account of the sender's state.
	Held Held `json:"held,omitzero"`
	// Inc is a raft_hello's incarnation of the sender's disk
	// (raft.Config.Incarnation).
	Inc uint64 `json:"inc,omitempty"`
}

// Relay is a message passed on by a third node (raft_relay): From sent it
// for To.
type Relay struct {
	From string `json:"from"`
	To   string `json:"to"`
	Msg  Msg    `json:"msg"`
}

// String is a one-line form for traces (the pointer's target, not its
// address, so that a seeded run's trace replays).
func (r *Relay) String() string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s->%s %v", r.From, r.To, r.Msg)
}

// Held is what a node holds: its term and its log's last index and term.
type Held struct {
	Term    int64 `json:"term"`
	Index   int64 `json:"index"`
	LogTerm int64 `json:"log_term"`
	// Other: the sender had recorded another incarnation of the asking
	// node, which therefore lost its disk (raft.Raft.Greet).
	Other bool `json:"other,omitempty"`
}

// Request is a client's request as the core takes it: its type and whole
// body, decoded by the Codec inside the core.
type Request struct {
	Type string
	Body json.RawMessage
}
