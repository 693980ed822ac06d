package kafka

import (
	"sort"

	"maelkit/tests/eddy/history"
)

// Function names of kafka ops.
const (
	FSend   = "send"
	FPoll   = "poll"
	FAssign = "assign"
	FCrash  = "crash"
	// FTxn is Jepsen's mixed send-and-poll op. Maelstrom never generates
	// one (its kafka workload sets :txn? false), but the checker reads it
	// as Jepsen does, so hand-made histories can exercise the checks that
	// need several micro-ops in one op.
	FTxn = "txn"
	// FSubscribe is Jepsen's other way to take keys; Maelstrom uses assign
	// only, and the checker treats a subscribe as Jepsen does.
	FSubscribe = "subscribe"
)

// dataOp reports whether f sends or polls.
func dataOp(f string) bool { return f == FSend || f == FPoll || f == FTxn }

// pair is one [offset msg] of a poll or a completed send.
type pair struct {
	offset    int64
	hasOffset bool
	msg       any    // the message as recorded
	id        string // history.Key(msg): equal for equal messages
}

// keyPairs is what one poll returned for one key.
type keyPairs struct {
	key   string
	pairs []pair
}

// mop is one micro-op of a send or poll op.
type mop struct {
	send bool
	// A send's key, and its message with the offset when the send
	// completed (hasPair) or the bare message otherwise.
	key     string
	hasPair bool
	p       pair
	// A poll's result per key, in the map's order; nil for [:poll].
	polls []keyPairs
}

// kv is one key and the messages an op sent to it or polled from it, in
// order.
type kv struct {
	key   string
	pairs []pair
}

// parsed is what the checker reads from one history op.
type parsed struct {
	op     *history.Op
	writes []kv // sends, grouped by key in order of first appearance
	reads  []kv // polls, grouped likewise

	readIdx map[string]int // key -> position in reads, built on demand
}

func (p *parsed) readsOf(k string) ([]pair, bool) {
	if len(p.reads) > 8 {
		// Final polls return every key: look them up by name.
		if p.readIdx == nil {
			p.readIdx = make(map[string]int, len(p.reads))
			for i, r := range p.reads {
				p.readIdx[r.key] = i
			}
		}
		if i, ok := p.readIdx[k]; ok {
			return p.reads[i].pairs, true
		}
		return nil, false
	}
	for _, r := range p.reads {
		if r.key == k {
			return r.pairs, true
		}
	}
	return nil, false
}

func (p *parsed) writesOf(k string) ([]pair, bool) {
	for _, w := range p.writes {
		if w.key == k {
			return w.pairs, true
		}
	}
	return nil, false
}

// parseMops reads an op's value as micro-ops; elements of another shape are
// skipped.
func parseMops(v any) []mop {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []mop
	for _, e := range list {
		t, ok := e.([]any)
		if !ok || len(t) == 0 {
			continue
		}
		f, _ := t[0].(history.Keyword)
		switch f {
		case "send":
			if len(t) != 3 {
				continue
			}
			k, ok := t[1].(string)
			if !ok {
				continue
			}
			m := mop{send: true, key: k}
			if pv, ok := t[2].([]any); ok {
				if len(pv) != 2 || !validValue(pv[1]) {
					continue
				}
				m.hasPair = true
				m.p = pair{msg: pv[1], id: history.Key(pv[1])}
				if off, ok := history.Int(pv[0]); ok {
					m.p.offset, m.p.hasOffset = off, true
				}
			} else {
				if !validValue(t[2]) {
					continue
				}
				m.p = pair{msg: t[2], id: history.Key(t[2])}
			}
			out = append(out, m)
		case "poll":
			m := mop{}
			if len(t) >= 2 {
				pm, ok := t[1].(*history.Map)
				if !ok {
					continue
				}
				for _, k := range pm.Keys() {
					raw, _ := pm.Get(k)
					items, ok := raw.([]any)
					if !ok {
						continue
					}
					kp := keyPairs{key: k, pairs: []pair{}}
					for _, it := range items {
						pv, ok := it.([]any)
						if !ok || len(pv) != 2 || !validValue(pv[1]) {
							continue
						}
						p := pair{msg: pv[1], id: history.Key(pv[1])}
						if off, ok := history.Int(pv[0]); ok {
							p.offset, p.hasOffset = off, true
						}
						kp.pairs = append(kp.pairs, p)
					}
					m.polls = append(m.polls, kp)
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// validValue reports whether v is a history value history.Key accepts.
func validValue(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, int, string, history.Keyword, history.Float, history.JSON:
		return true
	case history.List:
		return validValue([]any(x))
	case []any:
		for _, e := range x {
			if !validValue(e) {
				return false
			}
		}
		return true
	case *history.Map:
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			if !validValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// parse reads op's writes (for send ops) and reads (for poll ops), as
// Jepsen's op-writes and op-reads do.
func parse(op *history.Op) *parsed {
	p := &parsed{op: op}
	if !dataOp(op.F) {
		return p
	}
	for _, m := range parseMops(op.Value) {
		switch {
		case m.send && op.F != FPoll:
			p.writes = addKV(p.writes, m.key, m.p)
		case !m.send && op.F != FSend:
			for _, kp := range m.polls {
				p.reads = addKV(p.reads, kp.key, kp.pairs...)
			}
		}
	}
	return p
}

func addKV(list []kv, k string, ps ...pair) []kv {
	for i := range list {
		if list[i].key == k {
			list[i].pairs = append(list[i].pairs, ps...)
			return list
		}
	}
	return append(list, kv{key: k, pairs: append([]pair{}, ps...)})
}

// lessValue orders messages as Clojure's sort does for the usual cases:
// integers numerically before anything else, the rest by their Key text.
func lessValue(a, b any) bool {
	ia, aInt := history.Int(a)
	ib, bInt := history.Int(b)
	switch {
	case aInt && bInt:
		return ia < ib
	case aInt != bInt:
		return aInt
	}
	return history.Key(a) < history.Key(b)
}

func sortValues(vs []any) {
	sort.SliceStable(vs, func(i, j int) bool { return lessValue(vs[i], vs[j]) })
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
