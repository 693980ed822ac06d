package report

import (
	"fmt"
	"strings"

	"maelkit/tests/eddy/history"
)

// Warning is one eddy-only finding: something eddy's checkers report that
// Maelstrom's (Jepsen, Elle, Knossos) do not, listed under a checker's
// :eddy-only key. It changes no verdict unless the run used --strict.
type Warning struct {
	Path        string // the checker, e.g. "workload"
	Anomaly     string
	Explanation string
	Count       int64  // cases found; 0 when the finding does not say
	Details     string // the finding's other entries, printed short
}

// Warnings walks the results map and returns every eddy-only finding.
func Warnings(results *history.Map) []Warning {
	var out []Warning
	var walk func(m *history.Map, path []string)
	walk = func(m *history.Map, path []string) {
		if m == nil || len(out) >= maxFailures || len(path) > 8 {
			return
		}
		if raw, ok := m.Get("eddy-only"); ok {
			xs, _ := raw.([]any)
			for _, x := range xs {
				w := Warning{Path: strings.Join(path, " ")}
				switch f := x.(type) {
				case *history.Map:
					var rest []string
					for _, k := range f.Keys() {
						v, _ := f.Get(k)
						switch k {
						case "anomaly":
							w.Anomaly = strings.TrimPrefix(shortValue(v, 100), ":")
						case "explanation":
							w.Explanation = fmt.Sprint(v)
						case "count":
							w.Count, _ = history.Int(v)
							rest = append(rest, ":count "+shortValue(v, 40))
						default:
							rest = append(rest, ":"+k+" "+shortValue(v, 600))
						}
					}
					w.Details = strings.Join(rest, " ")
				case string:
					w.Explanation = f
				default:
					w.Details = shortValue(x, 600)
				}
				out = append(out, w)
			}
		}
		for _, k := range m.Keys() {
			x, _ := m.Get(k)
			if sub, isMap := x.(*history.Map); isMap {
				walk(sub, append(path[:len(path):len(path)], k))
			}
		}
	}
	walk(results, nil)
	return out
}

// warnings writes the eddy-only findings, if any, as a section of their
// own: they explain eddy's --strict verdicts and warn about what
// Maelstrom would let pass.
func warnings(b *strings.Builder, results *history.Map) {
	ws := Warnings(results)
	if len(ws) == 0 {
		return
	}
	b.WriteString("<h2>Warnings (eddy only)</h2>\n<p class=\"muted\">Found by eddy's checkers, not by Maelstrom's: they do not change the verdict unless the run used <code>--strict</code>.</p>\n<table id=\"warnings\">")
	for _, w := range ws {
		fmt.Fprintf(b, "<tr class=\"warning\"><th class=\"l\">%s</th><td class=\"l\"><b>%s</b> %s", esc(w.Path), esc(w.Anomaly), esc(w.Explanation))
		if w.Details != "" {
			fmt.Fprintf(b, "<br><code>%s</code>", esc(w.Details))
		}
		b.WriteString("</td></tr>")
	}
	b.WriteString("</table>\n")
}
