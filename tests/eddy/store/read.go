package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// Reading a run folder back, for `eddy analyze`. history.jsonl drops the
// distinction between keywords, strings and opaque node JSON, so the
// reader restores each value by the conventions eddy records them with:
//
//   - integers (plain decimal text that fits an int64) are int64, null is
//     nil, arrays are vectors, and any other JSON a node returned
//     (strings, objects, other numbers) is history.JSON;
//   - an error is :net-timeout, a vector [:code "text"], or a string;
//   - nemesis values are keywords, and vectors of a keyword and a grudge
//     map (string keys);
//   - per workload (ValueShape): echo's and unique-ids' ok values are the
//     node's JSON as a whole, and echo's request payloads strings; a
//     transaction is a vector of [:f k v] micro-ops; kafka's values are
//     the kafka package's encoding (ShapeKafka).

// ValueShape says how a workload's client op values are recorded.
type ValueShape int8

const (
	// ShapeData: integers, nil, vectors, node JSON (broadcast, g-set,
	// counters, lin-kv).
	ShapeData ValueShape = iota
	// ShapeOpaque: ok values are node JSON as a whole, other values are
	// strings or nil (echo, unique-ids).
	ShapeOpaque
	// ShapeTxn: transactions of [:f k v] micro-ops.
	ShapeTxn
	// ShapeKafka: kafka's ops (tests/eddy/kafka's package doc): micro-ops
	// [:send "k" msg], [:send "k" [offset msg]], [:poll] and [:poll {"k"
	// [[offset msg] ...]}] with string keys, and assign's list of string
	// keys. A value of another shape is read as ShapeData.
	ShapeKafka
)

// maxLineBytes bounds one line of a stored history or journal.
const maxLineBytes = 64 << 20

// storedOp is one history.jsonl line.
type storedOp struct {
	Index     *int64          `json:"index"`
	Time      int64           `json:"time"`
	Type      string          `json:"type"`
	Process   json.RawMessage `json:"process"`
	F         *string         `json:"f"`
	Value     json.RawMessage `json:"value"`
	Final     bool            `json:"final?"`
	Error     json.RawMessage `json:"error"`
	Exception *struct {
		Cause string `json:"cause"`
	} `json:"exception"`
}

// ReadHistory reads history.jsonl from the run folder dir.
func ReadHistory(dir string, shape ValueShape) (history.History, error) {
	var h history.History
	err := readLines(filepath.Join(dir, "history.jsonl"), func(n int, line []byte) error {
		op, err := decodeOp(line, shape)
		if err != nil {
			return err
		}
		if op.Index != int64(len(h)) {
			return fmt.Errorf("index %d where %d was expected", op.Index, len(h))
		}
		h = append(h, op)
		return nil
	})
	return h, err
}

func decodeOp(line []byte, shape ValueShape) (history.Op, error) {
	var s storedOp
	if err := json.Unmarshal(line, &s); err != nil {
		return history.Op{}, err
	}
	if s.Index == nil {
		return history.Op{}, errors.New("no index")
	}
	op := history.Op{Index: *s.Index, Time: s.Time, Final: s.Final}
	switch s.Type {
	case "invoke":
		op.Type = history.Invoke
	case "ok":
		op.Type = history.OK
	case "fail":
		op.Type = history.Fail
	case "info":
		op.Type = history.Info
	default:
		return op, fmt.Errorf("unknown type %q", s.Type)
	}
	if s.F != nil {
		op.F = *s.F
	}
	var name string
	switch {
	case json.Unmarshal(s.Process, &name) == nil && name == "nemesis":
		op.Process = history.Nemesis
	default:
		p, ok := parseInt(s.Process)
		if !ok {
			return op, fmt.Errorf("process %s is neither an integer nor \"nemesis\"", s.Process)
		}
		op.Process = p
	}
	var err error
	if op.Process == history.Nemesis {
		op.Value, err = nemesisValue(s.Value)
	} else {
		op.Value, err = clientValue(s.Value, shape, op.Type)
	}
	if err != nil {
		return op, fmt.Errorf("value: %w", err)
	}
	if op.Error, err = errorValue(s.Error); err != nil {
		return op, fmt.Errorf("error: %w", err)
	}
	if s.Exception != nil {
		op.Exception = s.Exception.Cause
	}
	return op, nil
}

func isAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// parseInt reads raw as an integer written in plain decimal, as eddy's
// workloads do before keeping a value as int64.
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

// dataValue is a ShapeData value: int64, nil, a vector, or node JSON.
func dataValue(raw json.RawMessage) (any, error) {
	if isAbsent(raw) {
		return nil, nil
	}
	if n, ok := parseInt(raw); ok {
		return n, nil
	}
	t := bytes.TrimSpace(raw)
	if t[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := dataValue(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return history.CanonicalJSON(t)
}

func clientValue(raw json.RawMessage, shape ValueShape, t history.Type) (any, error) {
	switch shape {
	case ShapeOpaque:
		if isAbsent(raw) {
			return nil, nil
		}
		if t == history.OK {
			return history.CanonicalJSON(raw)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("expected a string, got %s", raw)
		}
		return s, nil
	case ShapeKafka:
		if v, ok := kafkaValue(raw); ok {
			return v, nil
		}
	case ShapeTxn:
		if isAbsent(raw) {
			return nil, nil
		}
		var mops [][]json.RawMessage
		if err := json.Unmarshal(raw, &mops); err != nil {
			return nil, fmt.Errorf("a transaction is a vector of [f k v]: %w", err)
		}
		out := make([]any, len(mops))
		for i, m := range mops {
			if len(m) != 3 {
				return nil, fmt.Errorf("micro-op %d has %d elements, not [f k v]", i, len(m))
			}
			var f string
			if err := json.Unmarshal(m[0], &f); err != nil {
				return nil, fmt.Errorf("micro-op function %s is not a string", m[0])
			}
			k, err := dataValue(m[1])
			if err != nil {
				return nil, err
			}
			v, err := dataValue(m[2])
			if err != nil {
				return nil, err
			}
			out[i] = []any{history.Keyword(f), k, v}
		}
		return out, nil
	}
	return dataValue(raw)
}

// kafkaValue reads a kafka op's value: an assign's keys (strings), or
// micro-ops whose function is a keyword, send keys strings and poll results
// string-keyed maps. False when raw has neither shape.
func kafkaValue(raw json.RawMessage) (any, bool) {
	var items []json.RawMessage
	if isAbsent(raw) || json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	keys := make([]any, len(items))
	allKeys := true
	for i, it := range items {
		var k string
		if json.Unmarshal(it, &k) != nil {
			allKeys = false
			break
		}
		keys[i] = k
	}
	if allKeys {
		return keys, true
	}
	out := make([]any, len(items))
	for i, it := range items {
		m, ok := kafkaMop(it)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}

// kafkaMop reads [:send "k" v] or [:poll] / [:poll {"k" pairs}].
func kafkaMop(raw json.RawMessage) ([]any, bool) {
	var parts []json.RawMessage
	var f string
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 || json.Unmarshal(parts[0], &f) != nil {
		return nil, false
	}
	switch {
	case f == "send" && len(parts) == 3:
		var k string
		if json.Unmarshal(parts[1], &k) != nil {
			return nil, false
		}
		v, err := dataValue(parts[2])
		if err != nil {
			return nil, false
		}
		return []any{history.Keyword(f), k, v}, true
	case f == "poll" && len(parts) == 1:
		return []any{history.Keyword(f)}, true
	case f == "poll" && len(parts) == 2:
		m, ok := stringMap(parts[1])
		if !ok {
			return nil, false
		}
		return []any{history.Keyword(f), m}, true
	}
	return nil, false
}

// stringMap reads a JSON object into a string-keyed map of data values, in
// the file's key order.
func stringMap(raw json.RawMessage) (*history.Map, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	m := history.NewMap()
	m.String = true
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		x, err := dataValue(v)
		if err != nil {
			return nil, false
		}
		m.Set(kt.(string), x)
	}
	return m, true
}

// nemesisValue restores keywords, vectors and string-keyed maps.
func nemesisValue(raw json.RawMessage) (any, error) {
	t := bytes.TrimSpace(raw)
	if isAbsent(t) {
		return nil, nil
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, err
		}
		return history.Keyword(s), nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := nemesisValue(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		if len(out) == 2 {
			// [:isolated {"n1" ["n2" ...]}]: node names inside a grudge
			// are strings.
			if m, ok := out[1].(*history.Map); ok {
				for _, k := range m.Keys() {
					v, _ := m.Get(k)
					m.Set(k, namesOf(v))
				}
			}
		}
		return out, nil
	case '{':
		dec := json.NewDecoder(bytes.NewReader(t))
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		m := history.NewMap()
		m.String = true
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			x, err := nemesisValue(v)
			if err != nil {
				return nil, err
			}
			m.Set(kt.(string), x)
		}
		return m, nil
	}
	return dataValue(t)
}

// namesOf turns keywords back into strings inside a grudge's lists.
func namesOf(v any) any {
	xs, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(xs))
	for i, x := range xs {
		if k, ok := x.(history.Keyword); ok {
			out[i] = string(k)
		} else {
			out[i] = x
		}
	}
	return out
}

// errorValue restores Jepsen's :error: :net-timeout, [:code "text"], or a
// string.
func errorValue(raw json.RawMessage) (any, error) {
	t := bytes.TrimSpace(raw)
	if isAbsent(t) {
		return nil, nil
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, err
		}
		if s == "net-timeout" {
			return history.Keyword(s), nil
		}
		return s, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			var s string
			if err := json.Unmarshal(it, &s); err != nil {
				v, err := dataValue(it)
				if err != nil {
					return nil, err
				}
				out[i] = v
				continue
			}
			if i == 0 {
				out[i] = history.Keyword(s)
			} else {
				out[i] = s
			}
		}
		return out, nil
	}
	return dataValue(t)
}

// storedEvent is one net-journal.jsonl line.
type storedEvent struct {
	Time int64           `json:"time"`
	Type string          `json:"type"`
	ID   int64           `json:"id"`
	Src  string          `json:"src"`
	Dest string          `json:"dest"`
	Body json.RawMessage `json:"body"`
}

// ReadJournal reads net-journal.jsonl from the run folder dir. A body that
// was stored as a JSON string because it was not JSON comes back as that
// string's JSON text.
func ReadJournal(dir string) ([]journal.Event, error) {
	var out []journal.Event
	err := readLines(filepath.Join(dir, "net-journal.jsonl"), func(_ int, line []byte) error {
		var s storedEvent
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		e := journal.Event{Time: s.Time, ID: s.ID, Src: s.Src, Dest: s.Dest}
		switch s.Type {
		case "send":
			e.Kind = journal.Send
		case "recv":
			e.Kind = journal.Recv
		default:
			return fmt.Errorf("unknown event type %q", s.Type)
		}
		if !isAbsent(s.Body) {
			e.Body = bytes.Clone(s.Body)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// readLines calls each for every non-empty line of path, naming the file
// and line in any error.
func readLines(path string, each func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, bufferBytes)
	for n := 1; ; n++ {
		line, err := readLine(r)
		if len(bytes.TrimSpace(line)) > 0 {
			if perr := each(n, line); perr != nil {
				return fmt.Errorf("store: %s line %d: %w", filepath.Base(path), n, perr)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: %s line %d: %w", filepath.Base(path), n, err)
		}
	}
}

// readLine reads one line without its newline, at most maxLineBytes long.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLineBytes {
			return nil, fmt.Errorf("line longer than %d bytes", maxLineBytes)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// Open opens an existing run folder to write a new analysis into it:
// jepsen.log is appended to, and the other files are rewritten by the
// usual Write methods. The latest/current links are left alone.
func Open(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("store: %s is not a directory", dir)
	}
	f, err := os.OpenFile(filepath.Join(dir, "jepsen.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Run{dir: dir, log: &lockedFile{f: f}}, nil
}
