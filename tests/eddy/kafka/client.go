package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"maelkit/tests/eddy/history"
)

// Transport sends one request body to the client's node and returns the
// raw reply body. It sets msg_id itself (WithMsgID helps), returns
// ErrTimeout when no reply came in time, and ctx's error when ctx ended.
type Transport interface {
	Call(ctx context.Context, body any, timeout time.Duration) (json.RawMessage, error)
}

// ErrTimeout is the error a Transport returns when the reply did not come.
var ErrTimeout = errors.New("net-timeout")

// Requests, as Maelstrom's kafka client sends them.
type (
	SendReq struct {
		Type string `json:"type"` // "send"
		Key  string `json:"key"`
		Msg  int64  `json:"msg"`
	}
	PollReq struct {
		Type    string           `json:"type"` // "poll"
		Offsets map[string]int64 `json:"offsets"`
	}
	CommitOffsetsReq struct {
		Type    string           `json:"type"` // "commit_offsets"
		Offsets map[string]int64 `json:"offsets"`
	}
	ListCommittedOffsetsReq struct {
		Type string   `json:"type"` // "list_committed_offsets"
		Keys []string `json:"keys"`
	}
)

// Message is one [offset msg] of a poll_ok; Msg is an int64 for an
// integer, history.JSON otherwise.
type Message struct {
	Offset int64
	Msg    any
}

// Replies, decoded and checked as Maelstrom's schemas check them.
type (
	SendOK          struct{ Offset int64 }
	PollOK          struct{ Msgs map[string][]Message }
	ListCommittedOK struct{ Offsets map[string]int64 }
)

// WithMsgID encodes body with "msg_id": id added, for transports whose
// requests are typed structs.
func WithMsgID(body any, id int64) ([]byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	fields["msg_id"] = json.RawMessage(strconv.FormatInt(id, 10))
	return json.Marshal(fields)
}

// Client is one Maelstrom kafka client: the keys it holds, each with the
// next offset to poll from. A crash discards the client; the next op gets
// a fresh one (the framework opens a new client after every :info).
type Client struct {
	offsets map[string]int64
	Timeout time.Duration // per call; zero means 5 s
	// MapError, when set, turns an error of an op into its outcome in
	// place of the client's own (failed): eddy's workload
	// framework sets it to share one error mapping across workloads.
	MapError func(op Op, err error) Outcome
}

// NewClient returns a client that holds no keys.
func NewClient() *Client { return &Client{offsets: map[string]int64{}} }

// Offsets returns a copy of the held keys and their next offsets.
func (c *Client) Offsets() map[string]int64 {
	out := make(map[string]int64, len(c.offsets))
	for k, o := range c.offsets {
		out[k] = o
	}
	return out
}

// Invoke performs op over tr and says how it completed, with Maelstrom's
// kafka client's error mapping: assign is idempotent, so any error or
// timeout fails it; a send or poll fails on a definite error and is
// indeterminate (:info) on a timeout or an indefinite one; a malformed
// reply is an :info exception. A crash completes as :info at once.
func (c *Client) Invoke(ctx context.Context, tr Transport, op Op) Outcome {
	var v any
	var err error
	switch op.F {
	case FCrash:
		return Outcome{Type: history.Info, Value: op.Value}
	case FAssign:
		err = c.assign(ctx, tr, op)
		v = op.Value
	case FSend:
		v, err = c.send(ctx, tr, op)
	case FPoll:
		v, err = c.poll(ctx, tr)
	default:
		err = &MalformedError{Reason: fmt.Sprintf("unknown kafka op %q", op.F)}
	}
	if err == nil {
		return Outcome{Type: history.OK, Value: v}
	}
	if c.MapError != nil {
		return c.MapError(op, err)
	}
	return failed(op, err)
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 5 * time.Second
}

func (c *Client) assign(ctx context.Context, tr Transport, op Op) error {
	list, ok := op.Value.([]any)
	if !ok {
		return &MalformedError{Reason: "assign value is not a list of keys"}
	}
	keys := make([]string, 0, len(list))
	for _, k := range list {
		s, ok := k.(string)
		if !ok {
			return &MalformedError{Reason: "assign value is not a list of keys"}
		}
		keys = append(keys, s)
	}
	next := make(map[string]int64, len(keys))
	if op.Final {
		for _, k := range keys {
			next[k] = 0
		}
		c.offsets = next
		return nil
	}
	raw, err := tr.Call(ctx, &ListCommittedOffsetsReq{Type: "list_committed_offsets", Keys: keys}, c.timeout())
	if err != nil {
		return err
	}
	reply, err := DecodeListCommitted(raw)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if o, ok := c.offsets[k]; ok {
			next[k] = o
		} else {
			next[k] = reply.Offsets[k] // absent: 0
		}
	}
	c.offsets = next
	return nil
}

func (c *Client) send(ctx context.Context, tr Transport, op Op) (any, error) {
	list, _ := op.Value.([]any)
	var mop []any
	if len(list) == 1 {
		mop, _ = list[0].([]any)
	}
	if len(mop) != 3 {
		return nil, &MalformedError{Reason: "send value is not [[:send key msg]]"}
	}
	k, ok1 := mop[1].(string)
	msg, ok2 := mop[2].(int64)
	if !ok1 || !ok2 {
		return nil, &MalformedError{Reason: "send value is not [[:send key msg]]"}
	}
	raw, err := tr.Call(ctx, &SendReq{Type: "send", Key: k, Msg: msg}, c.timeout())
	if err != nil {
		return nil, err
	}
	reply, err := DecodeSend(raw)
	if err != nil {
		return nil, err
	}
	return []any{[]any{history.Keyword("send"), k, []any{reply.Offset, msg}}}, nil
}

// poll asks for every held key from its next offset, moves each returned
// key past the highest offset returned, then commits the highest offset
// polled per key, if any.
func (c *Client) poll(ctx context.Context, tr Transport) (any, error) {
	raw, err := tr.Call(ctx, &PollReq{Type: "poll", Offsets: c.Offsets()}, c.timeout())
	if err != nil {
		return nil, err
	}
	reply, err := DecodePoll(raw)
	if err != nil {
		return nil, err
	}
	commit := map[string]int64{}
	out := history.NewMap()
	out.String = true
	keys := make([]string, 0, len(reply.Msgs))
	for k := range reply.Msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msgs := reply.Msgs[k]
		next := int64(0)
		pairs := make([]any, len(msgs))
		for i, m := range msgs {
			pairs[i] = []any{m.Offset, m.Msg}
			next = max(next, m.Offset+1)
			commit[k] = max(commit[k], m.Offset)
		}
		if old, ok := c.offsets[k]; !ok || next > old {
			c.offsets[k] = next
		}
		out.Set(k, pairs)
	}
	if len(commit) > 0 {
		raw, err := tr.Call(ctx, &CommitOffsetsReq{Type: "commit_offsets", Offsets: commit}, c.timeout())
		if err != nil {
			return nil, err
		}
		if err := decode(raw, "commit_offsets_ok", nil); err != nil {
			return nil, err
		}
	}
	return []any{[]any{history.Keyword("poll"), out}}, nil
}

// --- errors -------------------------------------------------------------

// RPCError is an error reply from a node.
type RPCError struct {
	Code int64
	Text string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("error %d (%s): %s", e.Code, codeName(e.Code), e.Text)
}

// MalformedError is a reply that fails its schema.
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return "Malformed RPC response: " + e.Reason }

// codes is Maelstrom's error registry: code → (name, definite).
var codes = map[int64]struct {
	name     string
	definite bool
}{
	0: {"timeout", false}, 1: {"node-not-found", true}, 10: {"not-supported", true},
	11: {"temporarily-unavailable", true}, 12: {"malformed-request", true}, 13: {"crash", false},
	14: {"abort", true}, 20: {"key-does-not-exist", true}, 21: {"key-already-exists", true},
	22: {"precondition-failed", true}, 30: {"txn-conflict", true},
}

func codeName(code int64) string {
	if c, ok := codes[code]; ok {
		return c.name
	}
	return "unknown"
}

// failed is Maelstrom's kafka client's error mapping: an error becomes
// an outcome keeping op's value.
func failed(op Op, err error) Outcome {
	idempotent := op.F == FAssign
	var rpc *RPCError
	switch {
	case errors.Is(err, ErrTimeout):
		t := history.Info
		if idempotent {
			t = history.Fail
		}
		return Outcome{Type: t, Value: op.Value, Error: history.Keyword("net-timeout")}
	case errors.As(err, &rpc):
		t := history.Info
		if codes[rpc.Code].definite || idempotent {
			t = history.Fail
		}
		return Outcome{Type: t, Value: op.Value, Error: []any{history.Keyword(codeName(rpc.Code)), rpc.Text}}
	}
	return Outcome{Type: history.Info, Value: op.Value, Error: "indeterminate: " + err.Error(), Exception: err.Error()}
}

// --- reply decoding -----------------------------------------------------

// decode checks a reply: an error body becomes an *RPCError; otherwise the
// type must be typ, in_reply_to an integer, msg_id (optional) an integer,
// and the only other keys those of want, each required.
func decode(raw json.RawMessage, typ string, want map[string]*json.RawMessage) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return &MalformedError{Reason: "body is not a JSON object: " + truncate(raw)}
	}
	var t string
	if json.Unmarshal(fields["type"], &t) != nil {
		return &MalformedError{Reason: "missing or non-string type in " + truncate(raw)}
	}
	if t == "error" {
		code, ok := history.ParseInt(fields["code"])
		if !ok {
			return &MalformedError{Reason: "error reply without an integer code: " + truncate(raw)}
		}
		var text string
		if json.Unmarshal(fields["text"], &text) != nil {
			text = string(fields["text"])
		}
		return &RPCError{Code: code, Text: text}
	}
	if t != typ {
		return &MalformedError{Reason: fmt.Sprintf("type is %q, expected %q in %s", t, typ, truncate(raw))}
	}
	if _, ok := history.ParseInt(fields["in_reply_to"]); !ok {
		return &MalformedError{Reason: "in_reply_to missing or not an integer in " + truncate(raw)}
	}
	if id, ok := fields["msg_id"]; ok {
		if _, ok := history.ParseInt(id); !ok {
			return &MalformedError{Reason: "msg_id not an integer in " + truncate(raw)}
		}
	}
	for k, v := range fields {
		switch k {
		case "type", "in_reply_to", "msg_id":
			continue
		}
		dst, ok := want[k]
		if !ok {
			return &MalformedError{Reason: fmt.Sprintf("disallowed key %q in %s", k, truncate(raw))}
		}
		*dst = v
	}
	for k, dst := range want {
		if *dst == nil {
			return &MalformedError{Reason: fmt.Sprintf("missing required key %q in %s", k, truncate(raw))}
		}
	}
	return nil
}

// DecodeSend checks a send_ok.
func DecodeSend(raw json.RawMessage) (SendOK, error) {
	var off json.RawMessage
	if err := decode(raw, "send_ok", map[string]*json.RawMessage{"offset": &off}); err != nil {
		return SendOK{}, err
	}
	n, ok := history.ParseInt(off)
	if !ok {
		return SendOK{}, &MalformedError{Reason: "offset is not an integer: " + truncate(off)}
	}
	return SendOK{Offset: n}, nil
}

// DecodePoll checks a poll_ok: msgs maps keys to lists of [offset, msg].
func DecodePoll(raw json.RawMessage) (PollOK, error) {
	var msgs json.RawMessage
	if err := decode(raw, "poll_ok", map[string]*json.RawMessage{"msgs": &msgs}); err != nil {
		return PollOK{}, err
	}
	var byKey map[string]json.RawMessage
	if err := json.Unmarshal(msgs, &byKey); err != nil || byKey == nil {
		return PollOK{}, &MalformedError{Reason: "msgs is not a map of keys to lists: " + truncate(msgs)}
	}
	out := PollOK{Msgs: make(map[string][]Message, len(byKey))}
	for k, rawItems := range byKey {
		var items []json.RawMessage
		if t := bytes.TrimSpace(rawItems); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
			return PollOK{}, &MalformedError{Reason: fmt.Sprintf("msgs of %q is not a list: %s", k, truncate(rawItems))}
		}
		list := make([]Message, 0, len(items))
		for _, it := range items {
			var pair []json.RawMessage
			if err := json.Unmarshal(it, &pair); err != nil || len(pair) != 2 {
				return PollOK{}, &MalformedError{Reason: "message is not [offset, msg]: " + truncate(it)}
			}
			off, ok := history.ParseInt(pair[0])
			if !ok {
				return PollOK{}, &MalformedError{Reason: "offset is not an integer: " + truncate(it)}
			}
			var msg any
			if n, ok := history.ParseInt(pair[1]); ok {
				msg = n
			} else {
				j, err := history.CanonicalJSON(pair[1])
				if err != nil {
					return PollOK{}, &MalformedError{Reason: "msg is not JSON: " + truncate(it)}
				}
				msg = j
			}
			list = append(list, Message{Offset: off, Msg: msg})
		}
		out.Msgs[k] = list
	}
	return out, nil
}

// DecodeListCommitted checks a list_committed_offsets_ok.
func DecodeListCommitted(raw json.RawMessage) (ListCommittedOK, error) {
	var offs json.RawMessage
	if err := decode(raw, "list_committed_offsets_ok", map[string]*json.RawMessage{"offsets": &offs}); err != nil {
		return ListCommittedOK{}, err
	}
	var byKey map[string]json.RawMessage
	if err := json.Unmarshal(offs, &byKey); err != nil || byKey == nil {
		return ListCommittedOK{}, &MalformedError{Reason: "offsets is not a map: " + truncate(offs)}
	}
	out := ListCommittedOK{Offsets: make(map[string]int64, len(byKey))}
	for k, v := range byKey {
		n, ok := history.ParseInt(v)
		if !ok {
			return ListCommittedOK{}, &MalformedError{Reason: fmt.Sprintf("offset of %q is not an integer: %s", k, truncate(v))}
		}
		out.Offsets[k] = n
	}
	return out, nil
}

func truncate(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
