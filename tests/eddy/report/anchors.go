package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// Anchors in report.html that a scorecard links to:
//
//	#why-<checker path>   a failing sub-checker's figures ("why-workload")
//	#lost                 the lost values, each with its messages in the diagram
//	#msg-<id>             one message of the Lamport diagram (journal id)
//
// The failing checker of a lin-kv key links its porcupine page (the
// non-linearizable stretch), one with anomalies links elle's explanation
// of each anomaly (its cycle).

// WhyAnchor is the id of a failing sub-checker's heading.
func WhyAnchor(path string) string {
	var b strings.Builder
	b.WriteString("why")
	for _, f := range strings.Fields(path) {
		b.WriteByte('-')
		for _, r := range f {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '?' {
				if r != '?' {
					b.WriteRune(r)
				}
			} else {
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}

// Anchor is the fragment of report.html that best shows why results are
// not valid: the lost values when some are lost, else the deepest failing
// sub-checker (the one the scorecard's why names first); "" when valid.
func Anchor(results *history.Map) string {
	if len(lostValues(results)) > 0 {
		return "#lost"
	}
	fs := Failures(results)
	for i := len(fs) - 1; i >= 0; i-- {
		if !strings.HasPrefix(fs[i].Path, "eddy ") {
			return "#" + WhyAnchor(fs[i].Path)
		}
	}
	if len(fs) > 0 {
		return "#verdict"
	}
	return ""
}

// FigureAnchor is the section of report.html that shows a results
// figure, for a run that failed a threshold while its checkers passed
// (a latency, message count or availability target).
func FigureAnchor(figure string) string {
	switch {
	case strings.HasPrefix(figure, "workload/stable-latencies"), strings.HasPrefix(figure, "workload/lost-latencies"),
		strings.HasPrefix(figure, "perf/"):
		return "#quantiles"
	case strings.HasPrefix(figure, "net/"):
		return "#net"
	case strings.HasPrefix(figure, "availability/"):
		return "#availability"
	case strings.HasPrefix(figure, "stats/"):
		return "#stats"
	}
	return "#verdict"
}

// maxLostShown bounds the lost values listed with their paths.
const maxLostShown = 10

// maxPathMsgs bounds the messages listed for one lost value.
const maxPathMsgs = 12

// lostValues are the elements the set checker reports lost (:workload
// :lost), as JSON texts.
func lostValues(results *history.Map) []string {
	v, ok := Lookup(results, "workload", "lost")
	if !ok {
		return nil
	}
	var xs []any
	switch l := v.(type) {
	case []any:
		xs = l
	case history.List:
		xs = l
	default:
		return nil
	}
	var out []string
	for _, x := range xs {
		var s string
		switch y := x.(type) {
		case int64:
			s = fmt.Sprint(y)
		case history.JSON:
			s = string(y)
		case string:
			b, _ := json.Marshal(y)
			s = string(b)
		default:
			s = shortValue(y, 100)
		}
		out = append(out, s)
	}
	return out
}

// carries reports whether a message body holds value (a JSON text)
// anywhere but in its msg_id and in_reply_to.
func carries(body json.RawMessage, value string) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	for k, v := range top {
		if k == "msg_id" || k == "in_reply_to" || k == "type" {
			continue
		}
		if holds(v, value, 0) {
			return true
		}
	}
	return false
}

func holds(v json.RawMessage, value string, depth int) bool {
	t := strings.TrimSpace(string(v))
	if t == value {
		return true
	}
	if depth > 6 || len(t) == 0 || (t[0] != '[' && t[0] != '{') {
		return false
	}
	if t[0] == '[' {
		var xs []json.RawMessage
		if json.Unmarshal(v, &xs) != nil {
			return false
		}
		for _, x := range xs {
			if holds(x, value, depth+1) {
				return true
			}
		}
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return false
	}
	for k, x := range m {
		if k == value || holds(x, value, depth+1) {
			return true
		}
	}
	return false
}

// lostSection writes #lost: each lost value with the messages that
// carried it (sends, in order), linked to the diagram's rows when the
// diagram shows them, so the reader follows where the value went and
// where it stopped.
func (p *plots) lostSection(b *strings.Builder, results *history.Map, events []journal.Event) {
	lost := lostValues(results)
	if len(lost) == 0 {
		return
	}
	shown := map[int64]bool{}
	for _, m := range p.diagram.msgs {
		shown[m.id] = true
	}
	delivered := map[int64]bool{}
	for i := range events {
		if events[i].Kind != journal.Send {
			delivered[events[i].ID] = true
		}
	}
	fmt.Fprintf(b, "<h3 id=\"lost\">Lost values (%d)</h3>\n<p class=\"muted\">Acknowledged values that some node's final read lacked, each with the messages that carried it (first %d); a link opens the message in the diagram below.</p>\n<ul>", len(lost), maxPathMsgs)
	for i, v := range lost {
		if i == maxLostShown {
			fmt.Fprintf(b, "<li>… %d more</li>", len(lost)-i)
			break
		}
		fmt.Fprintf(b, "<li><code>%s</code>: ", esc(v))
		n := 0
		for j := range events {
			e := &events[j]
			if e.Kind != journal.Send || !carries(e.Body, v) {
				continue
			}
			if n == maxPathMsgs {
				b.WriteString(" …")
				break
			}
			if n > 0 {
				b.WriteString(" → ")
			}
			n++
			label := fmt.Sprintf("%s→%s", e.Src, e.Dest)
			if !delivered[e.ID] {
				label += " ✕ never delivered"
			}
			if shown[e.ID] {
				fmt.Fprintf(b, "<a href=\"#msg-%d\">%s</a>", e.ID, esc(label))
			} else {
				fmt.Fprintf(b, "%s (#%d, past the diagram)", esc(label), e.ID)
			}
		}
		if n == 0 {
			b.WriteString("no message carried it")
		}
		b.WriteString("</li>")
	}
	b.WriteString("</ul>\n")
}

// explanations links a failure to the files that show it: porcupine's
// page for a lin-kv key named in its path, elle's file for each anomaly.
func explanations(f Failure, files []string) []string {
	var out []string
	for _, seg := range strings.Fields(f.Path) {
		prefix := "independent/" + seg + "/"
		for _, file := range files {
			if strings.HasPrefix(file, prefix) && strings.HasSuffix(file, ".html") {
				out = append(out, file)
			}
		}
	}
	for _, fig := range f.Figures {
		if fig.Key != "anomaly-types" && fig.Key != "anomalies" {
			continue
		}
		// The anomaly names, as keywords or strings: ":G1a", "\"G-single\"".
		names := strings.FieldsFunc(fig.Value, func(r rune) bool { return strings.ContainsRune(" ,:[](){}\"", r) })
		for _, file := range files {
			if !strings.HasPrefix(file, "elle/") {
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(file, "elle/"), ".txt")
			if slices.Contains(names, name) && !slices.Contains(out, file) {
				out = append(out, file)
			}
		}
	}
	return out
}
