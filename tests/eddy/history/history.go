// Package history is eddy's record of a test run: the Jepsen-style list of
// invoke and completion events that every checker reads and that the results
// writer prints as history.edn and history.jsonl.
//
// Values are a small closed set of dynamic types so that one history can hold
// what every workload needs (integers, strings, lists, opaque JSON from nodes)
// and still print exactly as Maelstrom prints it in EDN:
//
//	nil, bool, int64, string, Keyword, []any (a vector), *Map (an ordered map),
//	JSON (a JSON value returned by a node, kept as canonical text),
//	Float (only in checker results, never in histories),
//	List (an EDN list, only in checker results).
//
// Integers are int64 everywhere; there is no float64 round trip.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Type is the kind of a history event.
type Type int8

const (
	Invoke Type = iota
	OK
	Fail
	Info
)

func (t Type) String() string {
	switch t {
	case Invoke:
		return "invoke"
	case OK:
		return "ok"
	case Fail:
		return "fail"
	case Info:
		return "info"
	}
	return fmt.Sprintf("type(%d)", int8(t))
}

// Nemesis is the Process of nemesis events (Jepsen's :nemesis process).
const Nemesis int64 = -1

// Keyword is an EDN keyword, written without the colon: Keyword("net-timeout")
// prints as :net-timeout in EDN and as "net-timeout" in JSON.
type Keyword string

// JSON is an opaque JSON value that a node returned (a unique id, a g-set
// element, an echo payload), kept as canonical text so that equal values
// compare equal as Go strings: numbers as written, object keys sorted, no
// insignificant white space. Build one with CanonicalJSON.
type JSON string

// Float is a non-integral number in results (an ok-fraction, msgs-per-op, a
// quantile key). Histories themselves never hold floats: node values that are
// not integers stay JSON text.
type Float float64

// List is a sequence that prints as an EDN list, (a b c), where Jepsen's
// checkers print sorted seqs (:lost (), :never-read (3 7)); a []any prints
// as a vector [a b c]. In JSON both are arrays, and their Keys are equal.
type List []any

// Op is one history event. Invocations and completions are separate Ops that
// share Process; a completion follows its invocation in the history.
type Op struct {
	Index   int64 // position in the history, from 0
	Time    int64 // nanoseconds since the test started
	Type    Type
	Process int64 // worker process id, or Nemesis
	F       string
	Value   any // see the package comment for the allowed types
	// Error is Jepsen's :error: Keyword("net-timeout"), a vector such as
	// []any{Keyword("key-does-not-exist"), "text"}, or a string such as
	// "indeterminate: ...". nil when absent.
	Error any
	// Exception is set on :info completions caused by an exception inside
	// the client (a malformed reply, for instance): its message.
	Exception string
	Final     bool // Jepsen's :final? true
}

// IsClient reports whether the op belongs to a worker (not the nemesis).
func (o *Op) IsClient() bool { return o.Process != Nemesis }

// History is an ordered list of ops, Index equal to position.
type History []Op

// Pair returns, for each client invocation index, the index of its
// completion, or -1 when the invocation never completed. Nemesis events are
// not included: Jepsen records both halves of a nemesis op as :info.
func (h History) Pair() map[int64]int64 {
	open := map[int64]int64{} // process -> invoke index
	pairs := make(map[int64]int64)
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		if op.Type == Invoke {
			open[op.Process] = op.Index
			pairs[op.Index] = -1
			continue
		}
		if inv, ok := open[op.Process]; ok {
			pairs[inv] = op.Index
			delete(open, op.Process)
		}
	}
	return pairs
}

// Map is an EDN/JSON map that keeps its insertion order, because Maelstrom's
// results print keys in a fixed order that users and scripts rely on.
// Keys are Keywords in EDN (and plain strings in JSON) unless StringKeys is set.
type Map struct {
	keys   []string
	vals   map[string]any
	String bool // keys print as EDN strings ("k") rather than keywords (:k)
	// NumKeys says the keys are decimal numbers ("0.5", "3") that print as
	// EDN numbers, as in Maelstrom's quantile maps {0.5 12, 0.95 40} and
	// lin-kv's per-key results {0 {...}}. JSON still needs string keys.
	NumKeys bool
}

// NewMap returns an empty ordered map with keyword keys.
func NewMap() *Map { return &Map{vals: map[string]any{}} }

// Set adds or replaces k; a new key goes last. It returns m for chaining.
func (m *Map) Set(k string, v any) *Map {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
	return m
}

// Get returns the value stored under k.
func (m *Map) Get(k string) (any, bool) {
	v, ok := m.vals[k]
	return v, ok
}

// Keys returns the keys in insertion order.
func (m *Map) Keys() []string { return append([]string(nil), m.keys...) }

// Len is the number of keys.
func (m *Map) Len() int { return len(m.keys) }

// CanonicalJSON turns raw JSON text into a JSON value with sorted object
// keys and numbers kept exactly as written. It fails on invalid JSON.
func CanonicalJSON(raw []byte) (JSON, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if dec.More() {
		return "", fmt.Errorf("trailing data after JSON value")
	}
	var b strings.Builder
	writeCanonical(&b, v)
	return JSON(b.String()), nil
}

func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case string:
		enc, _ := json.Marshal(x)
		b.Write(enc)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			enc, _ := json.Marshal(k)
			b.Write(enc)
			b.WriteByte(':')
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	}
}

// Key returns a string that is equal for two values exactly when they are
// equal as history values (JSON value equality: 1 and 1.0 differ, and an
// int64 1 equals the JSON 1). Checkers use it to count and compare elements.
func Key(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case string:
		enc, _ := json.Marshal(x)
		return string(enc)
	case Keyword:
		enc, _ := json.Marshal(":" + string(x))
		return string(enc)
	case Float:
		return strconv.FormatFloat(float64(x), 'g', -1, 64)
	case JSON:
		return string(x)
	case List:
		return Key([]any(x))
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(Key(e))
		}
		b.WriteByte(']')
		return b.String()
	case *Map:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			b.WriteString(Key(x.vals[k]))
		}
		b.WriteByte('}')
		return b.String()
	}
	panic(fmt.Sprintf("history: value of unsupported type %T", v))
}

// Int returns v as an int64 when it is an integer (an int64, or a JSON
// integer literal).
func Int(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case JSON:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// ParseInt reads an integral JSON number exactly: digits with an optional
// minus sign, no fraction or exponent, within int64.
func ParseInt(raw json.RawMessage) (int64, bool) {
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
