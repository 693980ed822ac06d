package kafka

import (
	"fmt"
	"sort"
	"strings"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/history"
)

// Case is one anomaly: Jepsen's error map and a sentence for the report.
type Case struct {
	Type string
	// data is the case as Maelstrom prints it under :errs, or nil until
	// build makes it: skip cases list every skipped message, which only
	// the cases a result shows need.
	data  *history.Map
	build func() *history.Map
	// Text explains the case: the ops involved, the key and the offsets.
	Text string
	// sortBy is what Jepsen's condense-error sorts this type by (:delta,
	// :count, the number of values or of cycle steps).
	sortBy int64
}

// order is one key's log and version order.
type order struct {
	offsets []int64            // offsets holding at least one value, ascending
	log     map[int64][]string // offset -> distinct value ids, first seen first
	byIndex []string           // dense index -> the offset's first value
	byValue map[string]int     // value -> dense index (its last one)
}

// Analysis is the checker's view of one history.
type Analysis struct {
	ops      []*parsed             // client ops, history order, invocations too
	inv      map[int64]*history.Op // completion index -> its invocation
	values   map[string]any        // value id -> the value as recorded
	orders   map[string]*order
	okReads  map[string]map[string]bool // key -> values read by :ok polls
	writerOf map[string]map[string]*parsed
	readers  map[string]map[string][]*parsed
	failed   map[string]map[string]bool // key -> values of :fail sends

	cases      map[string][]*Case
	unseen     *unseenState
	worst      lag // the worst realtime lag, when hasWorst
	hasWorst   bool
	infoCauses []any
}

// Analyze runs every analysis over h.
func Analyze(h history.History) *Analysis {
	a := &Analysis{
		inv: map[int64]*history.Op{}, values: map[string]any{}, orders: map[string]*order{},
		okReads: map[string]map[string]bool{}, writerOf: map[string]map[string]*parsed{},
		readers: map[string]map[string][]*parsed{}, failed: map[string]map[string]bool{},
		cases: map[string][]*Case{},
	}
	open := map[int64]*history.Op{}
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = op
		} else if iv, ok := open[op.Process]; ok {
			a.inv[op.Index] = iv
			delete(open, op.Process)
		}
		p := parse(op)
		a.ops = append(a.ops, p)
		for _, w := range p.writes {
			for _, x := range w.pairs {
				a.values[x.id] = x.msg
			}
		}
		for _, r := range p.reads {
			for _, x := range r.pairs {
				a.values[x.id] = x.msg
			}
		}
	}
	a.index()
	a.versionOrders()
	a.duplicates()
	a.g1a()
	a.precommittedReads()
	a.lostWrites()
	a.intSkips()
	a.processPolls()
	a.processSends()
	a.computeUnseen()
	a.realtimeLag()
	a.cycles()
	seen := map[string]bool{}
	for _, p := range a.ops {
		op := p.op
		if op.Type == history.Info && dataOp(op.F) {
			k := fmt.Sprintf("%T %v", op.Error, op.Error)
			if validValue(op.Error) {
				k = history.Key(op.Error)
			}
			if !seen[k] {
				seen[k] = true
				a.infoCauses = append(a.infoCauses, op.Error)
			}
		}
	}
	return a
}

// Map returns the case as Maelstrom prints it under :errs.
func (c *Case) Map() *history.Map {
	if c.data == nil && c.build != nil {
		c.data = c.build()
	}
	return c.data
}

func (a *Analysis) add(typ string, c *Case) {
	c.Type = typ
	a.cases[typ] = append(a.cases[typ], c)
}

func setAdd(m map[string]map[string]bool, k, v string) {
	s := m[k]
	if s == nil {
		s = map[string]bool{}
		m[k] = s
	}
	s[v] = true
}

// index builds Jepsen's reads-by-type (:ok part), writer-of, readers-of and
// the :fail part of writes-by-type.
func (a *Analysis) index() {
	for _, p := range a.ops {
		if p.op.Type == history.Invoke {
			continue
		}
		for _, w := range p.writes {
			for _, x := range w.pairs {
				if a.writerOf[w.key] == nil {
					a.writerOf[w.key] = map[string]*parsed{}
				}
				a.writerOf[w.key][x.id] = p
				if p.op.Type == history.Fail {
					setAdd(a.failed, w.key, x.id)
				}
			}
		}
		for _, r := range p.reads {
			if p.op.Type == history.OK {
				if a.okReads[r.key] == nil {
					a.okReads[r.key] = map[string]bool{}
				}
			}
			for _, x := range r.pairs {
				if p.op.Type == history.OK {
					a.okReads[r.key][x.id] = true
				}
				if a.readers[r.key] == nil {
					a.readers[r.key] = map[string][]*parsed{}
				}
				a.readers[r.key][x.id] = append(a.readers[r.key][x.id], p)
			}
		}
	}
}

// mustHaveCommitted is true for an :ok op, and for an :info op one of whose
// sent values some :ok poll read.
func (a *Analysis) mustHaveCommitted(p *parsed) bool {
	switch p.op.Type {
	case history.OK:
		return true
	case history.Info:
		for _, w := range p.writes {
			for _, x := range w.pairs {
				if a.okReads[w.key][x.id] {
					return true
				}
			}
		}
	}
	return false
}

// versionOrders builds each key's log from every poll and from the sends
// of ops that must have committed, then reports offsets holding several
// values as inconsistent-offsets. Negative offsets are left out of the log,
// as Jepsen's log vector starts at offset 0.
func (a *Analysis) versionOrders() {
	logs := map[string]map[int64][]string{}
	put := func(k string, x pair) {
		if !x.hasOffset || x.offset < 0 {
			return
		}
		l := logs[k]
		if l == nil {
			l = map[int64][]string{}
			logs[k] = l
		}
		for _, v := range l[x.offset] {
			if v == x.id {
				return
			}
		}
		l[x.offset] = append(l[x.offset], x.id)
	}
	for _, p := range a.ops {
		if a.mustHaveCommitted(p) {
			for _, w := range p.writes {
				for _, x := range w.pairs {
					put(w.key, x)
				}
			}
		}
		for _, r := range p.reads {
			for _, x := range r.pairs {
				put(r.key, x)
			}
		}
	}
	for _, k := range sortedKeys(logs) {
		l := logs[k]
		o := &order{log: l, byValue: map[string]int{}}
		for off := range l {
			o.offsets = append(o.offsets, off)
		}
		sort.Slice(o.offsets, func(i, j int) bool { return o.offsets[i] < o.offsets[j] })
		for i, off := range o.offsets {
			vs := l[off]
			o.byIndex = append(o.byIndex, vs[0])
			o.byValue[vs[0]] = i
			if len(vs) > 1 {
				sorted := a.sortedValues(vs)
				a.add("inconsistent-offsets", &Case{
					data: history.NewMap().Set("key", k).Set("offset", off).Set("index", int64(i)).
						Set("values", history.List(sorted)),
					Text: fmt.Sprintf("key %q: offset %d holds %d different messages %s: %s", k, off,
						len(vs), render(sorted), a.placedAt(k, off, vs)),
					sortBy: int64(len(vs)),
				})
			}
		}
		a.orders[k] = o
	}
}

// placedAt says, for each value at offset off of key k, which op put it
// there: the send acknowledged with that offset, and the first poll that
// returned it there.
func (a *Analysis) placedAt(k string, off int64, ids []string) string {
	at := func(ps []pair, id string) bool {
		for _, x := range ps {
			if x.id == id && x.hasOffset && x.offset == off {
				return true
			}
		}
		return false
	}
	var out []string
	for _, v := range a.sortedValues(ids) {
		id := history.Key(v)
		var by []string
		if w := a.writerOf[k][id]; w != nil {
			if ps, _ := w.writesOf(k); at(ps, id) {
				by = append(by, "sent there by "+opName(w))
			}
		}
		for _, r := range a.readers[k][id] {
			if ps, _ := r.readsOf(k); at(ps, id) {
				by = append(by, "polled there first by "+opName(r))
				break
			}
		}
		if len(by) == 0 {
			by = append(by, "(its op was not found)")
		}
		out = append(out, render(v)+" "+strings.Join(by, " and "))
	}
	return strings.Join(out, "; ")
}

func (a *Analysis) sortedValues(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = a.values[id]
	}
	sortValues(out)
	return out
}

// duplicates reports messages found at more than one offset of a key.
func (a *Analysis) duplicates() {
	for _, k := range sortedKeys(a.orders) {
		o := a.orders[k]
		where := map[string][]any{}
		var first []string
		for _, off := range o.offsets {
			for _, v := range o.log[off] {
				if where[v] == nil {
					first = append(first, v)
				}
				where[v] = append(where[v], off)
			}
		}
		for _, v := range first {
			if n := len(where[v]); n > 1 {
				a.add("duplicate", &Case{
					data: history.NewMap().Set("key", k).Set("value", a.values[v]).
						Set("count", int64(n)).Set("offsets", where[v]),
					Text: fmt.Sprintf("key %q: message %s appears at %d offsets %s", k,
						render(a.values[v]), n, render(where[v])),
					sortBy: int64(n),
				})
			}
		}
	}
}

// g1a reports :ok polls that returned a message whose send failed.
func (a *Analysis) g1a() {
	for _, p := range a.ops {
		if p.op.Type != history.OK || (p.op.F != FPoll && p.op.F != FTxn) {
			continue
		}
		for _, r := range p.reads {
			for _, x := range r.pairs {
				if !a.failed[r.key][x.id] {
					continue
				}
				w := a.writerOf[r.key][x.id]
				a.add("G1a", &Case{
					data: history.NewMap().Set("key", r.key).Set("value", x.msg).
						Set("writer", opMap(w)).Set("reader", checker.OpMap(p.op)),
					Text: fmt.Sprintf("key %q: poll %s returned message %s at offset %d, but its send %s failed",
						r.key, opName(p), render(x.msg), x.offset, opName(w)),
				})
			}
		}
	}
}

// precommittedReads reports ops that read a message they sent themselves.
// Only a txn op both sends and polls, so with Maelstrom's one micro-op per
// op this finds nothing; it stands for Jepsen's check on txn histories.
func (a *Analysis) precommittedReads() {
	for _, p := range a.ops {
		for _, w := range p.writes {
			rs, ok := p.readsOf(w.key)
			if !ok {
				continue
			}
			read := map[string]bool{}
			for _, x := range rs {
				read[x.id] = true
			}
			for _, x := range w.pairs {
				if read[x.id] {
					a.add("precommitted-read", &Case{
						data: history.NewMap().Set("op", checker.OpMap(p.op)).Set("key", w.key).Set("value", x.msg),
						Text: fmt.Sprintf("key %q: %s read message %s that it sent itself", w.key, opName(p), render(x.msg)),
					})
					break
				}
			}
		}
	}
}

// lostWrites finds, per key, the highest dense index of any message an :ok
// poll read, and reports each message whose last appearance in the log is
// at or below it but that no :ok poll read, when its send must have
// committed.
func (a *Analysis) lostWrites() {
	for _, k := range sortedKeys(a.okReads) {
		vs := a.okReads[k]
		o := a.orders[k]
		if o == nil {
			continue
		}
		firstIndex := map[string]int{}
		lastIndex := map[string]int{}
		for i, off := range o.offsets {
			for _, v := range o.log[off] {
				if _, ok := firstIndex[v]; !ok {
					firstIndex[v] = i
				}
				lastIndex[v] = i
			}
		}
		atLast := make([][]string, len(o.offsets))
		for i, off := range o.offsets {
			for _, v := range o.log[off] {
				if lastIndex[v] == i {
					atLast[i] = append(atLast[i], v)
				}
			}
		}
		bound := -1
		for v := range vs {
			if i, ok := firstIndex[v]; ok && i > bound {
				bound = i
			}
		}
		if bound < 0 {
			continue
		}
		var maxRead *parsed
		if vals := atLast[bound]; len(vals) > 0 {
			if rs := a.readers[k][vals[0]]; len(rs) > 0 {
				maxRead = rs[0]
			}
		}
		for i := 0; i <= bound; i++ {
			for _, v := range atLast[i] {
				if vs[v] {
					continue
				}
				w := a.writerOf[k][v]
				if w == nil || !a.mustHaveCommitted(w) {
					continue
				}
				off := o.offsets[firstIndex[v]]
				d := history.NewMap().Set("key", k).Set("value", a.values[v]).
					Set("index", int64(firstIndex[v])).Set("max-read-index", int64(bound)).
					Set("writer", opMap(w)).Set("max-read", opMap(maxRead))
				text := fmt.Sprintf("key %q: message %s, sent by %s at offset %d, was never polled, though %s polled offset %d beyond it",
					k, render(a.values[v]), opName(w), off, opName(maxRead), o.offsets[bound])
				a.add("lost-write", &Case{data: d, Text: text})
			}
		}
	}
}

// indexDelta is the distance in k's version order from v1 to v2, and
// whether both are known; Jepsen assumes 1 when either is not.
func (a *Analysis) indexDelta(k, v1, v2 string, have1 bool) (delta int64, i1, i2 int, known bool) {
	o := a.orders[k]
	if o == nil || !have1 {
		return 1, 0, 0, false
	}
	i1, ok1 := o.byValue[v1]
	i2, ok2 := o.byValue[v2]
	if !ok1 || !ok2 {
		return 1, 0, 0, false
	}
	return int64(i2 - i1), i1, i2, true
}

// skipped lists the messages of k's version order strictly between dense
// indices i1 and i2.
func (a *Analysis) skipped(k string, i1, i2 int) history.List {
	o := a.orders[k]
	out := history.List{}
	for i := i1 + 1; i < i2; i++ {
		out = append(out, a.values[o.byIndex[i]])
	}
	return out
}

// skippedText names the skipped messages in an explanation: all of them
// when few, else the first eight and how many in all.
func (a *Analysis) skippedText(k string, i1, i2 int) string {
	const most = 8
	if i2-i1-1 <= most {
		return render(a.skipped(k, i1, i2))
	}
	return fmt.Sprintf("%s ...), %d messages in all", strings.TrimSuffix(render(a.skipped(k, i1, i1+most+1)), ")"), i2-i1-1)
}

// intSkips checks consecutive messages of one key within one op: polls
// (int-poll-skip, int-nonmonotonic-poll) and sends (int-send-skip,
// int-nonmonotonic-send).
func (a *Analysis) intSkips() {
	for _, p := range a.ops {
		for _, r := range p.reads {
			a.intPairs(p, r, "poll")
		}
		if p.op.Type != history.Invoke {
			for _, w := range p.writes {
				a.intPairs(p, w, "send")
			}
		}
	}
}

func (a *Analysis) intPairs(p *parsed, e kv, what string) {
	for j := 1; j < len(e.pairs); j++ {
		x1, x2 := e.pairs[j-1], e.pairs[j]
		delta, i1, i2, known := a.indexDelta(e.key, x1.id, x2.id, true)
		vals := []any{x1.msg, x2.msg}
		switch {
		case delta > 1:
			a.add("int-"+what+"-skip", &Case{
				build: func() *history.Map {
					return history.NewMap().Set("key", e.key).Set("values", vals).Set("delta", delta).
						Set("skipped", a.skipped(e.key, i1, i2)).Set("op", checker.OpMap(p.op))
				},
				Text: fmt.Sprintf("key %q: %s went from message %s (offset %s) to %s (offset %s), skipping %s",
					e.key, opName(p), render(x1.msg), offStr(x1), render(x2.msg), offStr(x2), a.skippedText(e.key, i1, i2)),
				sortBy: delta,
			})
		case delta < 1 && known:
			a.add("int-nonmonotonic-"+what, &Case{
				data: history.NewMap().Set("key", e.key).Set("values", vals).Set("delta", delta).
					Set("op", checker.OpMap(p.op)),
				Text: fmt.Sprintf("key %q: within %s, message %s (offset %s) came after %s (offset %s), %s",
					e.key, opName(p), render(x2.msg), offStr(x2), render(x1.msg), offStr(x1), back(delta)),
				sortBy: delta,
			})
		}
	}
}

// byProcess returns the client ops of each process in history order, the
// processes ascending.
func (a *Analysis) byProcess() [][]*parsed {
	m := map[int64][]*parsed{}
	var ps []int64
	for _, p := range a.ops {
		if _, ok := m[p.op.Process]; !ok {
			ps = append(ps, p.op.Process)
		}
		m[p.op.Process] = append(m[p.op.Process], p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	out := make([][]*parsed, len(ps))
	for i, pr := range ps {
		out[i] = m[pr]
	}
	return out
}

// keepAssigned keeps only the entries of last whose keys an :ok or :info
// assign op holds.
func keepAssigned(last map[string]*parsed, op *history.Op) map[string]*parsed {
	keys := map[string]bool{}
	if list, ok := op.Value.([]any); ok {
		for _, k := range list {
			if s, ok := k.(string); ok {
				keys[s] = true
			}
		}
	}
	out := map[string]*parsed{}
	for k, p := range last {
		if keys[k] {
			out[k] = p
		}
	}
	return out
}

// processPolls compares, per process and key, the last message of the
// previous :ok poll of that key with the first message of the next poll:
// poll-skip when known messages lie between them, nonmonotonic-poll when
// the next starts at or before the previous end. An assign keeps the
// tracking only for the keys it still holds.
func (a *Analysis) processPolls() {
	for _, ops := range a.byProcess() {
		last := map[string]*parsed{}
		for _, p := range ops {
			switch p.op.F {
			case FAssign, FSubscribe:
				if p.op.Type == history.OK || p.op.Type == history.Info {
					last = keepAssigned(last, p.op)
				}
			case FPoll, FTxn:
				for _, r := range p.reads {
					prev := last[r.key]
					if prev == nil {
						continue
					}
					pr, _ := prev.readsOf(r.key)
					if len(pr) == 0 || len(r.pairs) == 0 {
						continue
					}
					x1, x2 := pr[len(pr)-1], r.pairs[0]
					delta, i1, i2, known := a.indexDelta(r.key, x1.id, x2.id, true)
					ops := []any{checker.OpMap(prev.op), checker.OpMap(p.op)}
					switch {
					case delta > 1:
						key := r.key
						a.add("poll-skip", &Case{
							build: func() *history.Map {
								return history.NewMap().Set("key", key).Set("delta", delta).
									Set("skipped", a.skipped(key, i1, i2)).Set("ops", ops)
							},
							Text: fmt.Sprintf("key %q: process %d polled up to message %s (offset %s) in %s, then resumed at %s (offset %s) in %s, skipping %s",
								r.key, p.op.Process, render(x1.msg), offStr(x1), opName(prev), render(x2.msg), offStr(x2), opName(p), a.skippedText(r.key, i1, i2)),
							sortBy: delta,
						})
					case delta < 1 && known:
						a.add("nonmonotonic-poll", &Case{
							data: history.NewMap().Set("key", r.key).Set("values", []any{x1.msg, x2.msg}).
								Set("delta", delta).Set("ops", ops),
							Text: fmt.Sprintf("key %q: process %d polled up to message %s (offset %s) in %s, then went back to %s (offset %s) in %s",
								r.key, p.op.Process, render(x1.msg), offStr(x1), opName(prev), render(x2.msg), offStr(x2), opName(p)),
							sortBy: delta,
						})
					}
				}
				if p.op.Type == history.OK {
					for _, r := range p.reads {
						last[r.key] = p
					}
				}
			}
		}
	}
}

// processSends reports, per process and key, a send whose message lands at
// or before the previous send's in the version order (nonmonotonic-send).
// :info sends count too, by their message, as in Jepsen.
func (a *Analysis) processSends() {
	for _, ops := range a.byProcess() {
		last := map[string]*parsed{}
		for _, p := range ops {
			if p.op.Type != history.OK && p.op.Type != history.Info {
				continue
			}
			switch p.op.F {
			case FAssign, FSubscribe:
				last = keepAssigned(last, p.op)
			case FSend, FTxn:
				for _, w := range p.writes {
					if prev := last[w.key]; prev != nil && len(w.pairs) > 0 {
						pw, _ := prev.writesOf(w.key)
						x1, x2 := pw[len(pw)-1], w.pairs[0]
						delta, _, _, known := a.indexDelta(w.key, x1.id, x2.id, true)
						if known && delta < 1 {
							a.add("nonmonotonic-send", &Case{
								data: history.NewMap().Set("key", w.key).Set("values", []any{x1.msg, x2.msg}).
									Set("delta", delta).Set("ops", []any{checker.OpMap(prev.op), checker.OpMap(p.op)}),
								Text: fmt.Sprintf("key %q: process %d sent message %s (offset %s) in %s, then %s landed at offset %s, %s",
									w.key, p.op.Process, render(x1.msg), offStr(x1), opName(prev), render(x2.msg), offStr(x2), back(delta)),
								sortBy: delta,
							})
						}
					}
				}
				for _, w := range p.writes {
					last[w.key] = p
				}
			}
		}
	}
}

func opMap(p *parsed) any {
	if p == nil {
		return nil
	}
	return checker.OpMap(p.op)
}

// opName names an op in explanations: "process 3's ok poll (op 41)".
func opName(p *parsed) string {
	if p == nil {
		return "no known op"
	}
	return fmt.Sprintf("process %d's %s %s (op %d)", p.op.Process, p.op.Type, p.op.F, p.op.Index)
}

// back says where a nonmonotonic message sits against the one before it,
// delta (at most 0) being its distance in the version order.
func back(delta int64) string {
	switch delta {
	case 0:
		return "at the same position in the log"
	case -1:
		return "1 position earlier in the log"
	}
	return fmt.Sprintf("%d positions earlier in the log", -delta)
}

func offStr(x pair) string {
	if !x.hasOffset {
		return "unknown"
	}
	return fmt.Sprint(x.offset)
}
