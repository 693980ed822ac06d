package services

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// entry is a stored value: its text as written (compacted) and its
// equality key.
type entry struct {
	raw json.RawMessage
	key string
}

func newEntry(raw json.RawMessage) (entry, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return entry{}, err
	}
	k, err := valueKey(buf.Bytes())
	if err != nil {
		return entry{}, err
	}
	return entry{raw: buf.Bytes(), key: k}, nil
}

// valueKey returns a string that is equal for two JSON texts exactly when
// Clojure's = holds between their parsed values, which is how Maelstrom
// compares keys, cas's from and the stored value: integers by value (1 and
// 1N alike), floats by double value (1.0 = 1.00, 0.0 = -0.0), an integer
// never equal to a float, objects regardless of key order.
func valueKey(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if dec.More() {
		return "", errors.New("trailing data after JSON value")
	}
	var b strings.Builder
	writeValueKey(&b, v)
	return b.String(), nil
}

func writeValueKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			n, ok := new(big.Int).SetString(s, 10)
			if ok {
				b.WriteString("i")
				b.WriteString(n.String())
				return
			}
		}
		f, _ := strconv.ParseFloat(s, 64) // out of range: ±Inf, as Java's parser
		if f == 0 {
			f = 0 // -0.0 = 0.0 in Clojure
		}
		b.WriteString("d")
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValueKey(b, e)
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
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(' ')
			writeValueKey(b, x[k])
		}
		b.WriteByte('}')
	}
}

// lookup reads one key of one state.
type lookup func(key string) (entry, bool)

// outcome is what a KV request does to a state: the reply, and the write
// it makes (changed is false for reads, failed cas and no-op writes).
type outcome struct {
	reply   any
	changed bool
	key     string
	val     entry
}

// kvKind says whether a request type is one the KV services answer.
func kvKind(t string) bool { return t == "read" || t == "write" || t == "cas" }

// rules are where the KV services differ in what applyKV does.
type rules struct {
	// createIfNotExists: cas honours create_if_not_exists (lin-kv and
	// seq-kv; lww-kv ignores the flag).
	createIfNotExists bool
	// plainFrom: the text of error 22 prints from as Clojure's str does
	// (lww-kv: a string unquoted, a missing from as nothing) rather than as
	// pr-str does (lin-kv and seq-kv).
	plainFrom bool
}

var (
	persistentKVRules = rules{createIfNotExists: true}
	lwwKVRules        = rules{plainFrom: true}
)

// jsonNull is what an absent key, value, from or to reads as: Maelstrom
// takes (:key body) and friends, which are nil when the field is missing.
var jsonNull = json.RawMessage("null")

// orNull is raw, or null when the field was absent.
func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return jsonNull
	}
	return raw
}

// applyKV runs a read, write or cas against get. A field the request
// lacks is null, as in Maelstrom: a read without key reads the key null, a
// write without value writes null, a cas without from expects null and one
// without to writes null.
func applyKV(get lookup, req *request, rl rules) (outcome, error) {
	t := req.Type
	irt := req.inReplyTo()
	missing := outcome{reply: errorReply{Type: "error", Code: codeKeyDoesNotExist, Text: "key does not exist", InReplyTo: irt}}
	key, err := newEntry(orNull(req.Key))
	if err != nil {
		return outcome{}, fmt.Errorf("bad key: %w", err)
	}
	cur, exists := get(key.key)
	switch t {
	case "read":
		if !exists {
			return missing, nil
		}
		return outcome{reply: readOKReply{Type: "read_ok", Value: cur.raw, InReplyTo: irt}}, nil
	case "write":
		val, err := newEntry(orNull(req.Value))
		if err != nil {
			return outcome{}, fmt.Errorf("bad value: %w", err)
		}
		return outcome{reply: okReply{Type: "write_ok", InReplyTo: irt},
			changed: !exists || cur.key != val.key, key: key.key, val: val}, nil
	case "cas":
		from, err := newEntry(orNull(req.From))
		if err != nil {
			return outcome{}, fmt.Errorf("bad from: %w", err)
		}
		to, err := newEntry(orNull(req.To))
		if err != nil {
			return outcome{}, fmt.Errorf("bad to: %w", err)
		}
		casOK := okReply{Type: "cas_ok", InReplyTo: irt}
		switch {
		case !exists && rl.createIfNotExists && truthy(req.CreateIfNotExists):
			return outcome{reply: casOK, changed: true, key: key.key, val: to}, nil
		case !exists:
			return missing, nil
		case cur.key != from.key:
			fromText := prStr(from.raw)
			if rl.plainFrom {
				fromText = str(from.raw)
			}
			return outcome{reply: errorReply{Type: "error", Code: codePreconditionFail,
				Text: "current value " + prStr(cur.raw) + " is not " + fromText, InReplyTo: irt}}, nil
		}
		return outcome{reply: casOK, changed: cur.key != to.key, key: key.key, val: to}, nil
	}
	return outcome{}, fmt.Errorf("unknown request type %q", t)
}

// prStr is a stored JSON value as Clojure's pr-str prints it once parsed:
// null as nil, strings quoted, maps {"k" v}, arrays [a b].
func prStr(raw json.RawMessage) string {
	b, err := edn.Marshal(history.JSON(raw))
	if err != nil {
		// Only reachable for JSON that newEntry has not compacted.
		return string(raw)
	}
	return string(b)
}

// str is a stored JSON value as Clojure's str prints it: nil as nothing, a
// string without quotes, anything else as pr-str.
func str(raw json.RawMessage) string {
	switch raw[0] {
	case 'n':
		return ""
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return prStr(raw)
}

// parseKV parses body and rejects request types the KV services ignore.
func parseKV(name string, body json.RawMessage) (request, error) {
	req, err := parse(body)
	if err != nil {
		return req, err
	}
	if !kvKind(req.Type) {
		return req, fmt.Errorf("%s: unknown request type %q", name, req.Type)
	}
	return req, nil
}

func finish(name string, out outcome, err error) (json.RawMessage, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return marshalReply(out.reply)
}

// --- lin-kv ------------------------------------------------------------------

// LinKV is Maelstrom's linearizable key-value store: one map, requests
// applied atomically in arrival order.
type LinKV struct {
	locked
	m map[string]entry
}

// NewLinKV returns an empty lin-kv.
func NewLinKV() *LinKV { return &LinKV{m: map[string]entry{}} }

// Name is "lin-kv".
func (*LinKV) Name() string { return "lin-kv" }

// Handle answers read, write and cas.
func (s *LinKV) Handle(src string, body json.RawMessage) (json.RawMessage, error) {
	req, err := parseKV("lin-kv", body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := applyKV(s.get, &req, persistentKVRules)
	if err == nil && out.changed {
		s.m[out.key] = out.val
	}
	return finish("lin-kv", out, err)
}

func (s *LinKV) get(k string) (entry, bool) {
	e, ok := s.m[k]
	return e, ok
}

// --- seq-kv ------------------------------------------------------------------

// SeqKV is Maelstrom's sequentially consistent key-value store. It keeps
// the last seqKVStates states, numbered by a logical index (0 is the empty
// initial state), and for each caller (the request's src) the index of the
// last state that caller observed. A request is first tried on a state
// picked uniformly from [caller's index, newest) (the newest itself only
// when the caller is already there, as Maelstrom's rand-int does); if it
// does not change that state (a read, a failing cas, a write of the value
// already there) its reply comes from that possibly stale state and the
// caller moves there. Otherwise it is re-run on the newest state, the
// result is appended as a new state (even when the re-run changes nothing,
// as Maelstrom does), and the caller jumps to it.
//
// So reads are stale but monotonic per caller, a fresh caller may see "key
// does not exist" after others wrote, a cas may fail against a stale state,
// and any state-changing write brings the caller up to date.
//
// States are not copied: each key keeps its versions stamped with the index
// that wrote them, pruned to what the retained states can see.
type SeqKV struct {
	locked
	r       *rand.Rand
	last    int64                // index of the newest state
	clients map[string]int64     // src -> index of the last state it observed
	keys    map[string][]version // key -> versions, ascending by index
}

type version struct {
	at  int64 // index of the state that wrote it
	val entry
}

// NewSeqKV returns an empty seq-kv drawing its choices from r.
func NewSeqKV(r *rand.Rand) *SeqKV {
	return &SeqKV{r: r, clients: map[string]int64{}, keys: map[string][]version{}}
}

// Name is "seq-kv".
func (*SeqKV) Name() string { return "seq-kv" }

// oldest is the index of the oldest state still kept. A caller whose index
// fell behind it is treated as being at it (Maelstrom's ring buffer would
// wrap around instead, which breaks its own monotonicity).
func (s *SeqKV) oldest() int64 { return max(0, s.last-(seqKVStates-1)) }

// at returns a lookup into state index i (oldest <= i <= last).
func (s *SeqKV) at(i int64) lookup {
	return func(k string) (entry, bool) {
		vs := s.keys[k]
		j := sort.Search(len(vs), func(j int) bool { return vs[j].at > i }) - 1
		if j < 0 {
			return entry{}, false
		}
		return vs[j].val, true
	}
}

// Handle answers read, write and cas.
func (s *SeqKV) Handle(src string, body json.RawMessage) (json.RawMessage, error) {
	req, err := parseKV("seq-kv", body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from := max(s.clients[src], s.oldest())
	i := from
	if s.last > from {
		i = from + s.r.Int64N(s.last-from)
	}
	out, err := applyKV(s.at(i), &req, persistentKVRules)
	if err != nil {
		return finish("seq-kv", out, err)
	}
	if !out.changed {
		s.clients[src] = i
		return finish("seq-kv", out, nil)
	}
	out, err = applyKV(s.at(s.last), &req, persistentKVRules)
	if err != nil {
		return finish("seq-kv", out, err)
	}
	s.last++
	if out.changed {
		s.keys[out.key] = append(s.prune(s.keys[out.key]), version{at: s.last, val: out.val})
	}
	s.clients[src] = s.last
	return finish("seq-kv", out, nil)
}

// prune drops versions that no kept state can see: all but the last one
// written at or before the oldest kept state.
func (s *SeqKV) prune(vs []version) []version {
	old := s.oldest()
	j := sort.Search(len(vs), func(j int) bool { return vs[j].at > old }) - 1
	if j <= 0 {
		return vs
	}
	return append(vs[:0], vs[j:]...)
}

// --- lww-kv ------------------------------------------------------------------

// LWWKV is lww-kv as Maelstrom's code builds it: lwwKVReplicas independent
// replicas that never converge (the merge Maelstrom computes is discarded),
// each request served by a uniformly random one. A value written once is
// seen by about half the later reads; there is no read-your-writes. cas
// ignores create_if_not_exists.
type LWWKV struct {
	locked
	r        *rand.Rand
	replicas [lwwKVReplicas]map[string]entry
}

// NewLWWKV returns an empty lww-kv drawing replicas from r.
func NewLWWKV(r *rand.Rand) *LWWKV {
	s := &LWWKV{r: r}
	for i := range s.replicas {
		s.replicas[i] = map[string]entry{}
	}
	return s
}

// Name is "lww-kv".
func (*LWWKV) Name() string { return "lww-kv" }

// Handle answers read, write and cas.
func (s *LWWKV) Handle(src string, body json.RawMessage) (json.RawMessage, error) {
	req, err := parseKV("lww-kv", body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	replica := s.replicas[s.r.IntN(len(s.replicas))]
	out, err := applyKV(func(k string) (entry, bool) {
		e, ok := replica[k]
		return e, ok
	}, &req, lwwKVRules)
	if err == nil && out.changed {
		replica[out.key] = out.val
	}
	return finish("lww-kv", out, err)
}
