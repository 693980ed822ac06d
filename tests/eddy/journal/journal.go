// Package journal defines the record of every message eddy's network sent
// and delivered. The network appends events; the net checker counts them;
// the results writer stores them; the report draws them.
package journal

import "encoding/json"

// Kind says whether an event is a send or a delivery.
type Kind int8

const (
	Send Kind = iota
	Recv
)

func (k Kind) String() string {
	if k == Send {
		return "send"
	}
	return "recv"
}

// Event is one send or one delivery of the message with network id ID.
// A message dropped by a partition, or still queued when the run ends, has
// a Send event and no Recv event.
type Event struct {
	Time int64 // nanoseconds since the test started
	Kind Kind
	ID   int64 // the network's message id, unique per message, from 0
	Src  string
	Dest string
	Body json.RawMessage
}

// IsClient reports whether id names a Maelstrom client: ids that start with
// "c" are clients everywhere in Maelstrom (latency 0, client statistics).
func IsClient(id string) bool { return len(id) > 0 && id[0] == 'c' }

// ClientTraffic reports whether a client is at either end of the event.
func (e *Event) ClientTraffic() bool { return IsClient(e.Src) || IsClient(e.Dest) }
