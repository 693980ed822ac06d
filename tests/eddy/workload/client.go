// Package workload is eddy's side of each Maelstrom workload: the client that
// speaks to one node over the simulated network, the generator of operations,
// the strict reply schemas, the mapping of errors and timeouts to history
// outcomes, and the checker that judges the history.
package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/netsim"
)

// Network is what a client needs of eddy's network: its own queue, sends,
// and the blocking receive of its next delivery.
type Network interface {
	Add(id string) error
	Remove(id string)
	Send(src, dest string, body json.RawMessage) (int64, error)
	Recv(ctx context.Context, id string) (netsim.Message, error)
}

// Header is the reserved part of every request body a client sends.
type Header struct {
	Type  string `json:"type"`
	MsgID int64  `json:"msg_id"`
}

func (h *Header) header() *Header { return h }

// Request is a typed request body: a struct that embeds Header.
type Request interface{ header() *Header }

// ErrTimeout is returned by Call when no matching reply arrived in time.
var ErrTimeout = errors.New("net-timeout")

// Client is one Maelstrom client (`c<k>`) bound to one node. It sends a
// request and waits for the message whose in_reply_to matches; everything
// else that reaches its queue (late replies to abandoned requests,
// unsolicited messages) is discarded, as Maelstrom's client does.
type Client struct {
	ID   string
	Node string
	net  Network
	next int64 // last msg_id used; Maelstrom clients start at 1

	timeout time.Duration // per call, the workload's
	mapping Mapping
}

// Close removes the client from the network: replies still in flight to it
// are counted as sent and never received.
func (c *Client) Close() { c.net.Remove(c.ID) }

// Call sends req to the client's node and waits up to timeout for the reply
// with the matching in_reply_to. It returns the raw reply body, ErrTimeout,
// or ctx's error.
func (c *Client) Call(ctx context.Context, req Request, timeout time.Duration) (json.RawMessage, error) {
	c.next++
	id := c.next
	req.header().MsgID = id
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	if _, err := c.net.Send(c.ID, c.Node, body); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		m, err := c.net.Recv(tctx, c.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, ErrTimeout
		}
		if irt, ok := inReplyTo(m.Body); ok && irt == id {
			return m.Body, nil
		}
	}
}

// inReplyTo extracts an in_reply_to within int64 from a body, if there is
// one. Maelstrom's client compares it with its msg_id (a Long) by Clojure's
// =, so a float (1.0, 1e0), a string, or an integer beyond int64 (which
// cheshire reads as a BigInteger) never matches: such a reply is discarded.
func inReplyTo(body json.RawMessage) (int64, bool) {
	var h struct {
		InReplyTo json.RawMessage `json:"in_reply_to"`
	}
	if json.Unmarshal(body, &h) != nil || h.InReplyTo == nil {
		return 0, false
	}
	return history.ParseInt(h.InReplyTo)
}

// NewClient registers a client participant bound to node, with the default
// 5 s timeout and no error mapping (eddy's init and setup calls).
func NewClient(net Network, id, node string) (*Client, error) {
	if err := net.Add(id); err != nil {
		return nil, err
	}
	return &Client{ID: id, Node: node, net: net, timeout: defaultTimeout}, nil
}
