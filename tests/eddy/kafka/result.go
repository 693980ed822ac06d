package kafka

import (
	"fmt"
	"sort"
	"strings"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// allowed are the error types that do not invalidate a test in Maelstrom's
// configuration (assign only, no write-write inference), as Jepsen's
// allowed-error-types decides: send skips inside an op and write cycles.
var allowed = map[string]bool{
	"int-send-skip": true, "G0": true, "G0-process": true, "G0-realtime": true,
	"PL-1-cycle-exists": true, "strong-PL-1-cycle-exists": true,
}

// Allowed reports whether an error type leaves the test valid.
func Allowed(typ string) bool { return allowed[typ] }

// condense is how many cases of each type the result shows, after sorting
// them by sortBy: Jepsen's condense-error. first says the smallest are
// kept (take), otherwise the largest (take-last); zero keeps every case.
var condense = map[string]struct {
	n     int
	first bool
}{
	"duplicate":             {32, true},
	"inconsistent-offsets":  {32, true},
	"G0":                    {8, true},
	"G0-process":            {8, true},
	"G0-realtime":           {8, true},
	"G1c":                   {8, true},
	"G1c-realtime":          {8, true},
	"int-nonmonotonic-poll": {8, true},
	"int-nonmonotonic-send": {8, true},
	"nonmonotonic-poll":     {8, true},
	"nonmonotonic-send":     {8, true},
	"int-poll-skip":         {8, false},
	"int-send-skip":         {8, false},
	"poll-skip":             {8, false},
}

// Types returns the error types found, sorted.
func (a *Analysis) Types() []string {
	ts := sortedKeys(a.cases)
	return ts
}

// BadTypes returns the error types found that invalidate the test, sorted.
func (a *Analysis) BadTypes() []string {
	var out []string
	for _, t := range a.Types() {
		if !allowed[t] {
			out = append(out, t)
		}
	}
	return out
}

// Cases returns every case of typ, in the order found.
func (a *Analysis) Cases(typ string) []*Case { return a.cases[typ] }

// shown returns the cases of typ the result prints.
func (a *Analysis) shown(typ string) []*Case {
	cs := append([]*Case(nil), a.cases[typ]...)
	c, ok := condense[typ]
	if !ok {
		return cs
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].sortBy < cs[j].sortBy })
	if len(cs) <= c.n {
		return cs
	}
	if c.first {
		return cs[:c.n]
	}
	return cs[len(cs)-c.n:]
}

// Result is the checker's result as Maelstrom prints it: a sorted map of
// each error type's {:count n, :errs (...)} (the :unseen entry is the
// unseen summary instead), with :valid?, :bad-error-types, :error-types,
// :info-txn-causes and :worst-realtime-lag among them.
func (a *Analysis) Result() *history.Map {
	entries := map[string]any{}
	for _, t := range a.Types() {
		switch t {
		case "unseen":
			entries[t] = a.unseenMap()
			continue
		case "empty-transaction-graph":
			// Elle's marker is the value true; Jepsen counts it as 1.
			entries[t] = history.NewMap().Set("count", int64(1)).Set("errs", true)
			continue
		}
		cs := a.shown(t)
		errs := make(history.List, len(cs))
		for i, c := range cs {
			errs[i] = c.Map()
		}
		entries[t] = history.NewMap().Set("count", int64(len(a.cases[t]))).Set("errs", errs)
	}
	bad := a.BadTypes()
	entries["valid?"] = len(bad) == 0
	entries["worst-realtime-lag"] = a.worstLag()
	entries["bad-error-types"] = keywords(bad)
	entries["error-types"] = keywords(a.Types())
	entries["info-txn-causes"] = history.List(append([]any{}, a.infoCauses...))
	out := history.NewMap()
	for _, k := range sortedKeys(entries) {
		out.Set(k, entries[k])
	}
	return out
}

func keywords(ts []string) history.List {
	out := make(history.List, len(ts))
	for i, t := range ts {
		out[i] = history.Keyword(t)
	}
	return out
}

// Explain returns one sentence per case, by error type: every case, not
// only those the result shows.
func (a *Analysis) Explain() []string {
	var out []string
	for _, t := range a.Types() {
		if t == "unseen" {
			for _, k := range sortedKeys(a.unseen.messages) {
				s := a.unseen.messages[k]
				if len(s) == 0 {
					continue
				}
				vs := make([]any, 0, len(s))
				for id := range s {
					vs = append(vs, a.values[id])
				}
				sortValues(vs)
				var parts []string
				for _, v := range vs[:min(len(vs), 32)] {
					parts = append(parts, a.sentAt(k, v))
				}
				more := ""
				if len(vs) > 32 {
					more = ", ..."
				}
				out = append(out, fmt.Sprintf("unseen: key %q: %d acknowledged messages were never polled: %s%s",
					k, len(vs), strings.Join(parts, ", "), more))
			}
			continue
		}
		for _, c := range a.cases[t] {
			out = append(out, t+": "+c.Text)
		}
	}
	return out
}

// sentAt names message v of key k with the offset and op of its send:
// "5 (offset 4, op 17)".
func (a *Analysis) sentAt(k string, v any) string {
	id := history.Key(v)
	if w := a.writerOf[k][id]; w != nil {
		ps, _ := w.writesOf(k)
		for _, x := range ps {
			if x.id == id && x.hasOffset {
				return fmt.Sprintf("%s (offset %d, op %d)", render(v), x.offset, w.op.Index)
			}
		}
		return fmt.Sprintf("%s (op %d)", render(v), w.op.Index)
	}
	return render(v)
}

// Options configure Check.
type Options struct {
	// WriteFile writes name (relative to the run folder); nil when there
	// is no run folder.
	WriteFile func(name string, data []byte) error
}

// Check analyses h and returns Maelstrom's kafka result. With a WriteFile
// it also writes kafka-anomalies.txt (every case explained) when there are
// anomalies, and consume-counts.edn as Jepsen does: its counts cover polls
// made under subscribe, which Maelstrom never uses, so it is empty. A
// failed write adds :error to the result, as eddy's Elle checker does.
func Check(h history.History, o Options) *history.Map {
	a := Analyze(h)
	res := a.Result()
	if o.WriteFile != nil {
		err := o.WriteFile("consume-counts.edn", []byte("{:distribution {}, :dup-counts {}}\n"))
		if lines := a.Explain(); len(lines) > 0 && err == nil {
			var b []byte
			for _, l := range lines {
				b = append(b, l...)
				b = append(b, '\n')
			}
			err = o.WriteFile("kafka-anomalies.txt", b)
		}
		if err != nil {
			// The verdict stands; the result says what could not be saved.
			res.Set("error", err.Error())
		}
	}
	return res
}

// render prints a history value in EDN, for explanations.
func render(v any) string {
	b, err := edn.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// LogEntry is one offset of a key's log with the distinct messages seen
// there (more than one is inconsistent-offsets).
type LogEntry struct {
	Offset int64
	Values []any
}

// Keys returns the keys that have a log, in numeric order.
func (a *Analysis) Keys() []string { return sortedNumeric(a.orders) }

// Log returns key k's log as the checker built it from sends and polls:
// every offset holding a message, ascending.
func (a *Analysis) Log(k string) []LogEntry {
	o := a.orders[k]
	if o == nil {
		return nil
	}
	out := make([]LogEntry, len(o.offsets))
	for i, off := range o.offsets {
		ids := o.log[off]
		vs := make([]any, len(ids))
		for j, id := range ids {
			vs[j] = a.values[id]
		}
		out[i] = LogEntry{Offset: off, Values: vs}
	}
	return out
}

// Key returns the key a case is about, when it has one (cycles do not).
func (c *Case) Key() (string, bool) {
	m := c.Map()
	if m == nil {
		return "", false
	}
	k, ok := m.Get("key")
	s, isString := k.(string)
	return s, ok && isString
}
