package paxos

import "fmt"

// Message types, all between nodes (clients' operations are Commands,
// their answers Outcomes): Prepare, Promise, Accept, Accepted and Reject
// run rounds.
const (
	MsgPrepare  = "prepare"
	MsgPromise  = "promise"
	MsgAccept   = "accept"
	MsgAccepted = "accepted"
	MsgReject   = "reject"
	// MsgForward carries a batch of client operations (Ops, with the
	// forwarder's Tag) to a busier proposer, and MsgForwardReply their
	// Results back (Config.Forward). The proposer that gets a forwarded
	// operation chosen also answers its client (Op.Src, Op.Req) at once;
	// the forwarder answers too when the forward's reply reaches it; the
	// client keeps whichever comes first (Maelstrom clients match replies
	// by in_reply_to), so the answer arrives without the hops back.
	MsgForward      = "forward"
	MsgForwardReply = "forward_reply"
	// MsgRelay carries a message (Relay) for a peer the sender does not
	// reach directly, through a third node (Config.Relay, see relay.go).
	MsgRelay = "relay"
)

// PeerTypes lists the message types nodes exchange, each to be passed to
// Step by the node that receives it.
func PeerTypes() []string {
	return []string{MsgPrepare, MsgPromise, MsgAccept, MsgAccepted, MsgReject, MsgForward, MsgForwardReply, MsgRelay,
		MsgRecover, MsgRecovered}
}

// Msg is every message between Cores. Which fields are set depends on
// Type; the JSON form is what nodes exchange.
type Msg struct {
	Type string `json:"type"`
	Key  int64  `json:"key"`
	// Ballot is the round's ballot (prepare, accept) or the ballot answered
	// (promise, accepted, reject).
	Ballot Ballot `json:"ballot,omitzero"`
	// Next is the ballot an accept asks to be promised too (one round trip).
	Next Ballot `json:"next,omitzero"`
	// From is the ballot at which an accept's base state was accepted.
	From Ballot `json:"from,omitzero"`
	// Accepted is a promise's highest accepted ballot (State its state).
	Accepted Ballot `json:"accepted,omitzero"`
	// Promised is a reject's reason: the acceptor's promise.
	Promised Ballot `json:"promised,omitzero"`
	// Of says which request a reject answers (MsgPrepare or MsgAccept): a
	// round's prepare and accept share its ballot.
	Of    string `json:"of,omitempty"`
	State State  `json:"state,omitzero"`
	// Forwarding: the forwarder's batch tag, its operations, their outcomes.
	Tag     int64    `json:"tag,omitempty"`
	Ops     []Op     `json:"ops,omitempty"`
	Results []Result `json:"results,omitempty"`
	// Origin names the batch's forwarder when relays carry the forward or
	// its reply (see forward.go); empty on a direct hop. Path lists the
	// relays a forward passed through, the sender last; on a reply, those
	// it still has to pass through back to Origin.
	Origin string   `json:"origin,omitempty"`
	Path   []string `json:"path,omitempty"`
	// As, on a forward or its reply, is the name the batch is applied
	// under (State.Applied) when it is not the forwarder's node name: a
	// node that relearned its state after amnesia applies under a name
	// of its own (Core.self, amnesia.go). Empty: the forwarder's name.
	As string `json:"as,omitempty"`
	// Self, on an accept, says its proposer's own acceptor took it first:
	// with three nodes, a peer that accepts it knows it is chosen.
	Self bool `json:"self,omitempty"`
	// Relaying (see relay.go). Via, on a prepare or accept, asks for the
	// answer through that peer (directly as well if Probe); Hear says the
	// sender has lately had messages from the recipient without a relay;
	// Relay is MsgRelay's cargo.
	Via   string `json:"via,omitempty"`
	Probe bool   `json:"probe,omitempty"`
	Hear  bool   `json:"hear,omitempty"`
	Relay *Relay `json:"relay,omitempty"`
	// Recovery after amnesia (amnesia.go): MsgRecovered's keys, or Amnesic
	// when its sender is recovering itself. Inc, on MsgRecover and on an
	// Amnesic MsgRecovered, is the recovering sender's Config.Incarnation;
	// Vouch, on a promise, says the sender saw that incarnation blank when
	// it found every node blank.
	Keys    []KeyState `json:"keys,omitempty"`
	Amnesic bool       `json:"amnesic,omitempty"`
	Inc     int64      `json:"inc,omitempty"`
	Vouch   bool       `json:"vouch,omitempty"`
}

// String is a compact one-line form for traces.
func (m Msg) String() string {
	switch m.Type {
	case MsgPrepare:
		return fmt.Sprintf("prepare k=%d b=%v", m.Key, m.Ballot)
	case MsgPromise:
		return fmt.Sprintf("promise k=%d b=%v acc=%v st=%v", m.Key, m.Ballot, m.Accepted, m.State)
	case MsgAccept:
		return fmt.Sprintf("accept k=%d b=%v next=%v from=%v st=%v", m.Key, m.Ballot, m.Next, m.From, m.State)
	case MsgAccepted:
		return fmt.Sprintf("accepted k=%d b=%v", m.Key, m.Ballot)
	case MsgReject:
		return fmt.Sprintf("reject %s k=%d b=%v promised=%v", m.Of, m.Key, m.Ballot, m.Promised)
	case MsgForward:
		return fmt.Sprintf("forward k=%d tag=%d origin=%q ops=%v", m.Key, m.Tag, m.Origin, m.Ops)
	case MsgRelay:
		if m.Relay != nil {
			return fmt.Sprintf("relay %s->%s: %v", m.Relay.From, m.Relay.To, m.Relay.Msg)
		}
	case MsgRecover:
		return fmt.Sprintf("recover b=%v", m.Ballot)
	case MsgRecovered:
		if m.Vouch {
			return fmt.Sprintf("recovered b=%v amnesic=%v keys=%d vouch", m.Ballot, m.Amnesic, len(m.Keys))
		}
		return fmt.Sprintf("recovered b=%v amnesic=%v keys=%d", m.Ballot, m.Amnesic, len(m.Keys))
	case MsgForwardReply:
		return fmt.Sprintf("forward_reply k=%d tag=%d origin=%q results=%v", m.Key, m.Tag, m.Origin, m.Results)
	}
	return fmt.Sprintf("%s k=%d", m.Type, m.Key)
}
