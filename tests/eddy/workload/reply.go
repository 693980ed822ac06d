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
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("error %d (%s): %s", e.Code, CodeName(e.Code), e.Text)
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
		code, ok := parseInt(fields["code"])
		if !ok {
			return nil, &MalformedError{Reason: "error reply without an integer code: " + truncate(body)}
		}
		var text string
		if raw, ok := fields["text"]; ok {
			if json.Unmarshal(raw, &text) != nil {
				text = string(raw)
			}
		}
		return nil, &RPCError{Code: code, Text: text}
	}
	var problems []string
	if typ != s.Type {
		problems = append(problems, fmt.Sprintf("type is %q, expected %q", typ, s.Type))
	}
	if _, ok := parseInt(fields["in_reply_to"]); !ok {
		problems = append(problems, "in_reply_to missing or not an integer")
	}
	if raw, ok := fields["msg_id"]; ok {
		if _, ok := parseInt(raw); !ok {
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
			if _, ok := parseInt(raw); !ok {
				problems = append(problems, fmt.Sprintf("%s is not an integer: %s", k, truncate(raw)))
			}
		case List:
			if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
				problems = append(problems, fmt.Sprintf("%s is not a list: %s", k, truncate(raw)))
			}
		}
	}
	if len(problems) > 0 {
		return nil, &MalformedError{Reason: fmt.Sprintf("%v in %s", problems, truncate(body))}
	}
	return fields, nil
}

// parseInt reads an integral JSON number exactly: digits with an optional
// minus sign, no fraction or exponent, within int64.
func parseInt(raw json.RawMessage) (int64, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return 0, false
	}
	for i, c := range t {
		if (c < '0' || c > '9') && !(i == 0 && c == '-') {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(t), 10, 64)
	return n, err == nil
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
	if n, ok := parseInt(raw); ok {
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
