package eddy

import (
	"fmt"
	"io"
	"sync"

	"maelkit/tests/eddy/history"
)

// notes collects what a run's results must say about eddy itself: the
// bounds it hit (output dropped, processes killed, forks refused) and the
// warnings (a weaker sandbox, forged sources). Each is printed on the
// console the first time and lands under the :eddy key of the results,
// which the report's "why" and grade's scorecard show.
type notes struct {
	mu       sync.Mutex
	out      io.Writer // the console; nil prints nothing
	limits   []note
	warnings []note
	index    map[string]int // kind and key → position in its list
}

type note struct {
	msg   string
	count int
}

func newNotes(out io.Writer) *notes { return &notes{out: out, index: map[string]int{}} }

// limit records that a bound was hit. Repeats of the same key (a flood
// reported every second) are counted, not listed again.
func (n *notes) limit(key, msg string) { n.add(&n.limits, "limit", key, msg) }

// warn records a warning, once per key.
func (n *notes) warn(key, msg string) { n.add(&n.warnings, "warning", key, msg) }

func (n *notes) add(list *[]note, what, key, msg string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	key = what + "\x00" + key
	if i, ok := n.index[key]; ok {
		(*list)[i].count++
		return
	}
	n.index[key] = len(*list)
	*list = append(*list, note{msg: msg, count: 1})
	if n.out != nil {
		fmt.Fprintf(n.out, "eddy %s: %s\n", what, msg)
	}
}

func render(list []note) []any {
	out := make([]any, 0, len(list))
	for _, e := range list {
		s := e.msg
		if e.count > 1 {
			s = fmt.Sprintf("%s (%d times)", s, e.count)
		}
		out = append(out, s)
	}
	return out
}

// Limits and Warnings return the notes as the results show them.
func (n *notes) Limits() []any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return render(n.limits)
}

func (n *notes) Warnings() []any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return render(n.warnings)
}

// set adds {:eddy {:limits [...] :warnings [...]}} to results, each key
// only when it has entries, and nothing when both are empty.
func (n *notes) set(results *history.Map) {
	if n == nil || results == nil {
		return
	}
	m := history.NewMap()
	if l := n.Limits(); len(l) > 0 {
		m.Set("limits", l)
	}
	if w := n.Warnings(); len(w) > 0 {
		m.Set("warnings", w)
	}
	if m.Len() > 0 {
		results.Set("eddy", m)
	}
}
