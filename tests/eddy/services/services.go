// Package services implements Maelstrom's built-in services (lin-kv,
// seq-kv, lww-kv, lin-tso) as deterministic state machines: a request body
// in, a reply body out, randomness only from the *rand.Rand handed in.
// eddy's runner owns the I/O: one goroutine per service receives from the
// network, calls Handle and sends the reply back to the request's src.
//
// Behaviour follows Maelstrom's maelstrom.service (see maelstrom-spec.md,
// section 7):
//   - a reply is the result body plus in_reply_to, the request's msg_id as
//     Maelstrom writes it back after parsing (null when absent; a number in
//     Jackson's form, see inReplyTo); replies carry no msg_id;
//   - a request whose type the service does not know, or a body that is not
//     a JSON object, gets no reply at all (Maelstrom logs an error and the
//     caller times out): Handle returns a non-nil error and no reply;
//   - a KV request that lacks a field reads it as null, as Maelstrom's
//     (:key body) does: a read without key reads the key null, a write
//     without value stores null, a cas without from expects null, one
//     without to stores null;
//   - keys and values compare as Clojure compares parsed JSON: 1 and 1.0
//     differ, "1" and 1 differ, 1.0 and 1.00 are equal, objects ignore key
//     order; a value is returned as it was written (compacted).
package services

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// Service is one built-in service. Handle is safe for concurrent use.
type Service interface {
	// Name is the service's node id on the network ("lin-kv", ...).
	Name() string
	// Handle answers one request body sent by src. A non-nil error means
	// that no reply is sent (as in Maelstrom) and says why, for the log.
	Handle(src string, body json.RawMessage) (json.RawMessage, error)
}

// Names are the services Maelstrom starts in every test, in the order eddy
// starts them. Read-only.
var Names = [...]string{"lin-kv", "seq-kv", "lww-kv", "lin-tso"}

// seqKVStates is how many past states seq-kv keeps (Maelstrom's buffer).
const seqKVStates = 32

// lwwKVReplicas is how many independent replicas lww-kv simulates:
// Maelstrom builds it with 2 and never merges them.
const lwwKVReplicas = 2

// New builds the service called name. r is used only by seq-kv and lww-kv;
// it must not be shared with anything that runs concurrently.
func New(name string, r *rand.Rand) (Service, error) {
	switch name {
	case "lin-kv":
		return NewLinKV(), nil
	case "seq-kv":
		if r == nil {
			return nil, errors.New("services: seq-kv needs a random source")
		}
		return NewSeqKV(r), nil
	case "lww-kv":
		if r == nil {
			return nil, errors.New("services: lww-kv needs a random source")
		}
		return NewLWWKV(r), nil
	case "lin-tso":
		return NewLinTSO(), nil
	}
	return nil, fmt.Errorf("services: unknown service %q", name)
}

// Maelstrom error codes the services use.
const (
	codeKeyDoesNotExist  = 20
	codePreconditionFail = 22
)

// request is every field a service request may use. Raw fields keep the
// exact JSON text; a nil Raw means the field was absent (JSON null is
// "null", which is a valid key or value).
type request struct {
	Type              string
	MsgID             json.RawMessage
	Key               json.RawMessage
	Value             json.RawMessage
	From              json.RawMessage
	To                json.RawMessage
	CreateIfNotExists json.RawMessage
}

// errNotObject: Maelstrom cannot dispatch a body that is not a map.
var errNotObject = errors.New("request body is not a JSON object")

// parse decodes body. Field names match exactly, as Maelstrom's keywordized
// keys do (encoding/json's struct decoding would also accept "Key").
// A body that is not an object, or whose type is not a string, is an
// error: no reply.
func parse(body json.RawMessage) (request, error) {
	var fields map[string]json.RawMessage
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return request{}, errNotObject
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		return request{}, fmt.Errorf("undecodable request: %w", err)
	}
	req := request{
		MsgID:             fields["msg_id"],
		Key:               fields["key"],
		Value:             fields["value"],
		From:              fields["from"],
		To:                fields["to"],
		CreateIfNotExists: fields["create_if_not_exists"],
	}
	if err := json.Unmarshal(fields["type"], &req.Type); err != nil || fields["type"] == nil || string(fields["type"]) == "null" {
		return request{}, errors.New("request has no string type")
	}
	return req, nil
}

// inReplyTo is the request's msg_id as Maelstrom sends it back: cheshire
// parses it and writes the parsed value again, so an integer of any size
// keeps its digits ("-0" becomes 0), a number with a fraction or exponent
// becomes a Java double in Double.toString's form (1e3 becomes 1000.0,
// 1.50 becomes 1.5), one beyond a double's range becomes the string
// "Infinity" (Jackson quotes non-finite numbers), and anything else is
// copied as given. Absent: null.
func (r *request) inReplyTo() json.RawMessage {
	if r.MsgID == nil {
		return json.RawMessage("null")
	}
	return jacksonNumber(r.MsgID)
}

// jacksonNumber rewrites a JSON number as cheshire writes it back after
// reading it; any other JSON text is returned unchanged.
func jacksonNumber(raw json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
		return raw
	}
	s := string(t)
	if !strings.ContainsAny(s, ".eE") {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return raw
		}
		return json.RawMessage(n.String())
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return raw
	case math.IsInf(f, 1):
		return json.RawMessage(`"Infinity"`)
	case math.IsInf(f, -1):
		return json.RawMessage(`"-Infinity"`)
	}
	b, err := edn.Marshal(history.Float(f)) // Java's Double.toString
	if err != nil {
		return raw
	}
	return b
}

// truthy is Clojure truthiness of an optional field: present and neither
// null nor false.
func truthy(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s != "" && s != "null" && s != "false"
}

// Reply bodies. Field order is Maelstrom's: type, payload, in_reply_to.
type (
	okReply struct {
		Type      string          `json:"type"`
		InReplyTo json.RawMessage `json:"in_reply_to"`
	}
	readOKReply struct {
		Type      string          `json:"type"`
		Value     json.RawMessage `json:"value"`
		InReplyTo json.RawMessage `json:"in_reply_to"`
	}
	tsOKReply struct {
		Type      string          `json:"type"`
		TS        int64           `json:"ts"`
		InReplyTo json.RawMessage `json:"in_reply_to"`
	}
	errorReply struct {
		Type      string          `json:"type"`
		Code      int64           `json:"code"`
		Text      string          `json:"text"`
		InReplyTo json.RawMessage `json:"in_reply_to"`
	}
)

func marshalReply(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable if a raw field held invalid JSON, which parse
		// has already ruled out.
		return nil, fmt.Errorf("encoding reply: %w", err)
	}
	return b, nil
}

// locked serializes Handle: Maelstrom's services apply requests one at a
// time (an atom swap), and the random source is not goroutine-safe.
type locked struct {
	mu sync.Mutex
}

// --- lin-tso ---------------------------------------------------------------

// LinTSO is Maelstrom's timestamp oracle: ts → ts_ok with 0, 1, 2, ...
type LinTSO struct {
	locked
	next int64
}

// NewLinTSO returns a timestamp oracle whose first timestamp is 0.
func NewLinTSO() *LinTSO { return &LinTSO{} }

// Name is "lin-tso".
func (*LinTSO) Name() string { return "lin-tso" }

// Handle answers ts requests; anything else gets no reply.
func (s *LinTSO) Handle(src string, body json.RawMessage) (json.RawMessage, error) {
	req, err := parse(body)
	if err != nil {
		return nil, err
	}
	if req.Type != "ts" {
		return nil, fmt.Errorf("lin-tso: unknown request type %q", req.Type)
	}
	s.mu.Lock()
	ts := s.next
	s.next++
	s.mu.Unlock()
	return marshalReply(tsOKReply{Type: "ts_ok", TS: ts, InReplyTo: req.inReplyTo()})
}
