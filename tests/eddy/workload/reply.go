package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"maelkit/tests/eddy/history"
)

// Kind is the type a reply field must have, as Maelstrom's schemas check it.
type Kind int8

const (
	AnyValue Kind = iota // any JSON value
	Int                  // an integral JSON number (5 passes, 5.0 does not)
	List                 // a JSON array of anything
)

// Schema is Maelstrom's check of one reply: exactly the listed fields (all
// required), plus a required integer in_reply_to and an optional integer
// msg_id; nothing else.
type Schema struct {
	Type   string
	Fields map[string]Kind
}

// RPCError is an error reply from a node. Error bodies are read before any
// schema check and may carry extra keys.
type RPCError struct {
	Code int64
	Text string
	// TextValue is the text field as Maelstrom records it in the op's
	// :error, [name text]: nil when absent, the string, or another JSON
	// value (an integer as int64, anything else as canonical JSON). Only
	// an error decoded from a reply has it; one built in code uses Text.
	TextValue any
	// OffTable is set when the code is absent or not an integer within
	// int64 (a float such as 11.0, a string, a bigger integer): Maelstrom
	// looks such a code up in its table, finds nothing, and the error is
	// :unknown and indefinite. RawCode is then the code as written ("" when
	// absent) and Code is 0.
	OffTable bool
	RawCode  string

	fromBody bool // decoded from a reply: TextValue is authoritative
}

// errorText is the second element of the op's :error, [name text].
func (e *RPCError) errorText() any {
	if e.fromBody {
		return e.TextValue
	}
	return e.Text
}

// Name is the error's Maelstrom name ("unknown" outside the table).
func (e *RPCError) Name() string {
	if e.OffTable {
		return "unknown"
	}
	return CodeName(e.Code)
}

// IsDefinite reports whether the error means the op surely did not happen.
func (e *RPCError) IsDefinite() bool { return !e.OffTable && Definite(e.Code) }

func (e *RPCError) Error() string {
	code := strconv.FormatInt(e.Code, 10)
	if e.OffTable {
		code = e.RawCode
		if code == "" {
			code = "nil"
		}
	}
	return fmt.Sprintf("error %s (%s): %s", code, e.Name(), e.Text)
}

// MalformedError is a reply that fails its schema: Maelstrom records the op
// as :info with an exception.
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return "Malformed RPC response: " + e.Reason }

// Decode checks body against s. It returns the reply's fields, or an
// *RPCError for an error reply, or a *MalformedError.
func Decode(body json.RawMessage, s Schema) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, &MalformedError{Reason: "body is not a JSON object: " + truncate(body)}
	}
	var typ string
	if raw, ok := fields["type"]; !ok || json.Unmarshal(raw, &typ) != nil {
		return nil, &MalformedError{Reason: "missing or non-string type in " + truncate(body)}
	}
	if typ == "error" {
		return nil, errorReply(fields)
	}
	if problems := s.problems(typ, fields); len(problems) > 0 {
		return nil, &MalformedError{Reason: fmt.Sprintf("%v in %s", problems, truncate(body))}
	}
	return fields, nil
}

// errorReply is an error body as an *RPCError.
func errorReply(fields map[string]json.RawMessage) *RPCError {
	rpc := &RPCError{}
	if raw, ok := fields["code"]; ok {
		rpc.Code, ok = history.ParseInt(raw)
		if !ok {
			rpc.OffTable, rpc.RawCode = true, truncate(bytes.TrimSpace(raw))
		}
	} else {
		rpc.OffTable = true
	}
	if raw, ok := fields["text"]; ok {
		if json.Unmarshal(raw, &rpc.Text) == nil {
			rpc.TextValue = rpc.Text
		} else {
			rpc.Text = string(raw)
			if v, err := value(raw); err == nil {
				rpc.TextValue = v
			}
		}
	}
	rpc.fromBody = true
	return rpc
}

// problems lists how a reply's fields break the schema, in a stable order.
func (s Schema) problems(typ string, fields map[string]json.RawMessage) []string {
	var problems []string
	if typ != s.Type {
		problems = append(problems, fmt.Sprintf("type is %q, expected %q", typ, s.Type))
	}
	if !integral(fields["in_reply_to"]) {
		problems = append(problems, "in_reply_to missing or not an integer")
	}
	if raw, ok := fields["msg_id"]; ok {
		if !integral(raw) {
			problems = append(problems, "msg_id not an integer")
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "type", "in_reply_to", "msg_id":
			continue
		}
		if _, ok := s.Fields[k]; !ok {
			problems = append(problems, fmt.Sprintf("disallowed key %q", k))
		}
	}
	want := make([]string, 0, len(s.Fields))
	for k := range s.Fields {
		want = append(want, k)
	}
	sort.Strings(want)
	for _, k := range want {
		raw, ok := fields[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing required key %q", k))
			continue
		}
		switch s.Fields[k] {
		case Int:
			if _, ok := history.ParseInt(raw); !ok {
				problems = append(problems, fmt.Sprintf("%s is not an integer: %s", k, truncate(raw)))
			}
		case List:
			if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
				problems = append(problems, fmt.Sprintf("%s is not a list: %s", k, truncate(raw)))
			}
		}
	}
	return problems
}

// integral reports whether raw is a JSON integer of any size: digits with
// an optional minus sign, no fraction or exponent. That is Schema's s/Int
// on what cheshire reads (Integer, Long or BigInteger), which the schemas
// of msg_id and in_reply_to check.
func integral(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '-' {
		t = t[1:]
	}
	if len(t) == 0 {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// elements turns a JSON array into history values: integers as int64, any
// other element as canonical JSON.
func elements(raw json.RawMessage) ([]any, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		v, err := value(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// value turns one JSON value into a history value: an integer as int64,
// anything else as canonical JSON.
func value(raw json.RawMessage) (any, error) {
	if n, ok := history.ParseInt(raw); ok {
		return n, nil
	}
	return history.CanonicalJSON(raw)
}

func truncate(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
