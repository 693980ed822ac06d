package txn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Fn is a micro-operation's function.
type Fn uint8

const (
	Read   Fn = iota + 1 // "r": a register's value or a key's list; null when absent
	Write                // "w": set a register (txn-rw-register)
	Append               // "append": append to a key's list (txn-list-append)
)

func (f Fn) String() string {
	switch f {
	case Read:
		return "r"
	case Write:
		return "w"
	case Append:
		return "append"
	}
	return "fn(" + strconv.Itoa(int(f)) + ")"
}

// parseFn maps a wire name to its Fn.
func parseFn(s string) (Fn, bool) {
	switch s {
	case "r":
		return Read, true
	case "w":
		return Write, true
	case "append":
		return Append, true
	}
	return 0, false
}

// ValueKind says what a read observed.
type ValueKind uint8

const (
	Null ValueKind = iota // the key was absent
	Int                   // a register's value
	List                  // a list's elements, oldest first
)

// Value is what a read returns. The zero Value is null.
type Value struct {
	Kind ValueKind
	Int  int64
	List []int64
}

// IntValue and ListValue build values.
func IntValue(v int64) Value { return Value{Kind: Int, Int: v} }

// ListValue builds a list value (a copy of vs).
func ListValue(vs ...int64) Value { return Value{Kind: List, List: append([]int64{}, vs...)} }

// appendJSON writes v as JSON: null, an integer or an array of integers.
func (v Value) appendJSON(b []byte) []byte {
	switch v.Kind {
	case Int:
		return strconv.AppendInt(b, v.Int, 10)
	case List:
		b = append(b, '[')
		for i, x := range v.List {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, x, 10)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

func (v Value) String() string { return string(v.appendJSON(nil)) }

// Mop is one micro-operation [f, k, v]. Arg is a write's or append's value;
// Result is a read's value once the transaction has run (null before).
type Mop struct {
	F      Fn
	K      int64
	Arg    int64
	Result Value
}

// MarshalJSON writes the Maelstrom form: ["r",k,v] (v null, an integer or a
// list), ["w",k,v] or ["append",k,v].
func (m Mop) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

func (m Mop) appendJSON(b []byte) []byte {
	b = append(b, '[', '"')
	b = append(b, m.F.String()...)
	b = append(b, '"', ',')
	b = strconv.AppendInt(b, m.K, 10)
	b = append(b, ',')
	if m.F == Read {
		b = m.Result.appendJSON(b)
	} else {
		b = strconv.AppendInt(b, m.Arg, 10)
	}
	return append(b, ']')
}

// UnmarshalJSON reads [f, k, v]. Keys and written values must be integers
// (exact int64: never through float64); a read's v may be null, an integer
// or a list of integers (completed transactions round-trip).
func (m *Mop) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 3 {
		return fmt.Errorf("txn: micro-op %.80s is not [f, k, v]", b)
	}
	var name string
	if err := json.Unmarshal(parts[0], &name); err != nil {
		return fmt.Errorf("txn: micro-op %.80s: f is not a string", b)
	}
	f, ok := parseFn(name)
	if !ok {
		return fmt.Errorf("txn: micro-op %.80s: unknown f %q", b, name)
	}
	k, err := parseInt(parts[1])
	if err != nil {
		return fmt.Errorf("txn: micro-op %.80s: key: %w", b, err)
	}
	*m = Mop{F: f, K: k}
	if f != Read {
		if m.Arg, err = parseInt(parts[2]); err != nil {
			return fmt.Errorf("txn: micro-op %.80s: value: %w", b, err)
		}
		return nil
	}
	raw := bytes.TrimSpace(parts[2])
	switch {
	case string(raw) == "null":
	case len(raw) > 0 && raw[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("txn: micro-op %.80s: read value: %w", b, err)
		}
		m.Result = Value{Kind: List, List: make([]int64, 0, len(items))}
		for _, it := range items {
			x, err := parseInt(it)
			if err != nil {
				return fmt.Errorf("txn: micro-op %.80s: list element: %w", b, err)
			}
			m.Result.List = append(m.Result.List, x)
		}
	default:
		x, err := parseInt(raw)
		if err != nil {
			return fmt.Errorf("txn: micro-op %.80s: read value: %w", b, err)
		}
		m.Result = IntValue(x)
	}
	return nil
}

// parseInt reads an exact JSON integer.
func parseInt(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%.40q is not an integer", s)
	}
	return n, nil
}

// Txn is a transaction: micro-operations applied in order, atomically.
type Txn []Mop

func (t Txn) String() string {
	b, _ := json.Marshal(t)
	return string(b)
}

// Clone deep-copies t (read results included).
func (t Txn) Clone() Txn {
	out := make(Txn, len(t))
	for i, m := range t {
		out[i] = m
		if m.Result.List != nil {
			out[i].Result.List = append([]int64{}, m.Result.List...)
		}
	}
	return out
}

// Validate rejects micro-ops with an unknown function.
func (t Txn) Validate() error {
	for i, m := range t {
		if m.F < Read || m.F > Append {
			return fmt.Errorf("txn: micro-op %d: unknown function %d", i, m.F)
		}
	}
	return nil
}

// Version orders the committed writes of a key: by Lamport time, then by
// the committing node's id. It is a total order on transactions that write
// (every writing transaction gets a distinct version), the same at every
// replica.
type Version struct {
	Lamport int64  `json:"l"`
	Node    string `json:"n,omitempty"`
}

// Less is the version order.
func (v Version) Less(w Version) bool {
	if v.Lamport != w.Lamport {
		return v.Lamport < w.Lamport
	}
	return v.Node < w.Node
}

func (v Version) String() string { return strconv.FormatInt(v.Lamport, 10) + "." + v.Node }

// KV is one write or append of a write set.
type KV struct {
	K int64 `json:"k"`
	V int64 `json:"v"`
}

// WriteSet is what a transaction changes: the final value of every register
// it wrote (a register written twice keeps only the last write, so an
// intermediate value is never installed anywhere) and its appends in order.
type WriteSet struct {
	Writes  []KV `json:"w,omitempty"`
	Appends []KV `json:"a,omitempty"`
}

// Empty says whether the write set changes nothing (a read-only txn).
func (w WriteSet) Empty() bool { return len(w.Writes) == 0 && len(w.Appends) == 0 }

// Clone deep-copies w.
func (w WriteSet) Clone() WriteSet {
	return WriteSet{Writes: cloneKVs(w.Writes), Appends: cloneKVs(w.Appends)}
}

func cloneKVs(kvs []KV) []KV {
	if kvs == nil {
		return nil
	}
	return append([]KV{}, kvs...)
}
