package gossip

import (
	"encoding/json"
	"fmt"
	"strings"

	"maelkit/lib/gset"
)

// MessageType is the Maelstrom body type of every Message.
const MessageType = "gossip"

// Message is the only message the core exchanges. Every message carries the
// sender's digest (Have): it is both the cumulative acknowledgement of what
// the receiver sent and the anti-entropy summary. Values travel as runs of
// consecutive dots.
type Message struct {
	Type string `json:"type"`
	// Fwd holds values the receiver must also forward to every other node:
	// the sender has chosen the receiver as its hub.
	Fwd []Run `json:"f,omitempty"`
	// Vals holds values for the receiver alone.
	Vals []Run `json:"v,omitempty"`
	// Have is the sender's context when it sent the message.
	Have gset.Digest `json:"h"`
	// AckNow asks for an immediate acknowledgement: the sender is
	// retransmitting and wants to know promptly that the link works again.
	AckNow bool `json:"a,omitempty"`
	// Sent is the sender's tick when it sent an upload; the hub returns it
	// in Echo with how long it held it, so the leaf measures the round
	// trip without synchronized clocks.
	Sent int64 `json:"t,omitempty"`
	Echo *Echo `json:"e,omitempty"`
	// Phase is 1 + how many ticks past its last periodic flush the sender
	// sent this message: with the arrival time it tells a leaf when the
	// hub's next flushes will reach it.
	Phase int64 `json:"p,omitempty"`
	// Inc is the sender's incarnation (0: a core that never restarts),
	// Seen the receiver's incarnation as the sender last heard it, and
	// Hello asks the receiver for a message naming the sender's
	// incarnation in Seen (see Config.Incarnation).
	Inc   int64 `json:"i,omitempty"`
	Seen  int64 `json:"n,omitempty"`
	Hello bool  `json:"g,omitempty"`
}

// Echo returns an upload's Sent tick with the ticks the hub held it.
type Echo struct {
	Sent int64 `json:"t"`
	Held int64 `json:"d"`
}

// Run is the values of consecutive dots of one origin, from Seq on.
type Run struct {
	Origin string            `json:"o"`
	Seq    int64             `json:"s"`
	Vals   []json.RawMessage `json:"v"`
}

// Command is a client's request: add Value to the set, or (Read) read it.
type Command struct {
	Read  bool
	Value json.RawMessage
}

// Result answers a Command: for an add, the value added (or Err, a value
// that is not JSON); for a read, the set's values as one JSON array.
type Result struct {
	Read  bool
	Value json.RawMessage
	Err   error
}

// String is a compact one-line form for traces:
// "gossip fwd=n1:3-4 vals=n2:7 have=[n1:1-4 n2:1-7] ack!".
func (m Message) String() string {
	var b strings.Builder
	b.WriteString("gossip")
	runs := func(name string, rs []Run) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(&b, " %s=", name)
		for i, r := range rs {
			if i > 0 {
				b.WriteByte(',')
			}
			if len(r.Vals) == 1 {
				fmt.Fprintf(&b, "%s:%d", r.Origin, r.Seq)
			} else {
				fmt.Fprintf(&b, "%s:%d-%d", r.Origin, r.Seq, r.Seq+int64(len(r.Vals))-1)
			}
		}
	}
	runs("fwd", m.Fwd)
	runs("vals", m.Vals)
	b.WriteString(" have=[")
	for i, e := range m.Have {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:", e.Origin)
		for j := 0; j+1 < len(e.Ranges); j += 2 {
			if j > 0 {
				b.WriteByte(',')
			}
			if e.Ranges[j] == e.Ranges[j+1] {
				fmt.Fprintf(&b, "%d", e.Ranges[j])
			} else {
				fmt.Fprintf(&b, "%d-%d", e.Ranges[j], e.Ranges[j+1])
			}
		}
	}
	b.WriteByte(']')
	if m.AckNow {
		b.WriteString(" ack!")
	}
	if m.Sent != 0 {
		fmt.Fprintf(&b, " t=%d", m.Sent)
	}
	if m.Echo != nil {
		fmt.Fprintf(&b, " echo=%d+%d", m.Echo.Sent, m.Echo.Held)
	}
	if m.Phase != 0 {
		fmt.Fprintf(&b, " phase=%d", m.Phase-1)
	}
	if m.Inc != 0 {
		fmt.Fprintf(&b, " inc=%d seen=%d", m.Inc, m.Seen)
	}
	if m.Hello {
		b.WriteString(" hello")
	}
	return b.String()
}

// Clone deep-copies m, so that simulated nodes share no memory.
func (m Message) Clone() Message {
	out := m
	cloneRuns := func(rs []Run) []Run {
		if rs == nil {
			return nil
		}
		c := make([]Run, len(rs))
		for i, r := range rs {
			c[i] = Run{Origin: r.Origin, Seq: r.Seq, Vals: make([]json.RawMessage, len(r.Vals))}
			for j, v := range r.Vals {
				c[i].Vals[j] = append(json.RawMessage(nil), v...)
			}
		}
		return c
	}
	if m.Echo != nil {
		e := *m.Echo
		out.Echo = &e
	}
	out.Fwd = cloneRuns(m.Fwd)
	out.Vals = cloneRuns(m.Vals)
	if m.Have != nil {
		out.Have = make(gset.Digest, len(m.Have))
		for i, e := range m.Have {
			out.Have[i] = gset.DigestEntry{Origin: e.Origin, Ranges: append([]int64(nil), e.Ranges...)}
		}
	}
	return out
}
