// Package report draws a finished eddy run for people: report.html, a
// self-contained page (inline CSS, SVG and a few lines of JS; nothing from
// the network) with the verdict and why, the statistics, latency and
// throughput plots and a Lamport diagram of the first messages; and the
// plots again as SVG files beside it (latency-raw.svg,
// latency-quantiles.svg, rate.svg, messages.svg), as Maelstrom writes its
// PNGs and messages.svg.
package report

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// maxArtifacts bounds the links to files found in the run folder.
const maxArtifacts = 300

// Input is what a report shows. Results, History and Journal are the run's
// (eddy.Result carries them); the rest describes the run.
type Input struct {
	Results  *history.Map
	History  history.History
	Journal  []journal.Event
	Nodes    []string // server node ids in test order
	Workload string
	Seed     int64
	// Summary is the options in one line, e.g. the eddy command.
	Summary string
}

// Files are the names Write creates inside the run folder.
var Files = []string{"report.html", "latency-raw.svg", "latency-quantiles.svg", "rate.svg", "messages.svg"}

// Write draws the run into dir: report.html and the four SVG plots. It
// links the artifacts already in dir (results, histories, node logs,
// independent/<key>/linear.html, elle/*.txt), so call it last.
func Write(dir string, in Input) error {
	if in.Results == nil {
		return errors.New("report: nil results")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("report: %q is not a directory", dir)
	}
	p := build(in)
	files := map[string]string{
		"latency-raw.svg":       p.raw,
		"latency-quantiles.svg": p.quant,
		"rate.svg":              p.rate,
		"messages.svg":          p.messages,
	}
	for name, svg := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+svg+"\n"), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	page := p.html(in, artifacts(dir))
	if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte(page), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// plots are the drawn SVGs and what the page says about them.
type plots struct {
	raw, quant, rate, messages string
	samples                    []sample
	parts                      []span
	diagram                    *diagram
}

func build(in Input) *plots {
	ss := samples(in.History)
	parts := partitions(in.History)
	d := buildDiagram(in.Journal, in.Nodes, maxDiagramEvents)
	return &plots{
		raw:      latencyRaw(ss, parts, in.History),
		quant:    latencyQuantiles(ss, parts, in.History),
		rate:     rate(ss, parts, in.History),
		messages: messagesSVG(d, parts),
		samples:  ss, parts: parts, diagram: d,
	}
}

func esc(s string) string { return html.EscapeString(s) }

// artifacts lists files in dir worth linking, relative, sorted.
func artifacts(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if len(out) >= maxArtifacts {
			return fs.SkipAll
		}
		if err != nil {
			return nil // unreadable entries are left out
		}
		if d.IsDir() {
			return nil
		}
		rel, rerr := filepath.Rel(dir, path)
		if rerr != nil || slices.Contains(Files, rel) {
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	slices.SortFunc(out, func(a, b string) int { return artifactRank(a) - artifactRank(b) })
	return out
}

// artifactRank puts explanations first: porcupine's pages and elle's
// anomaly files, then results, histories and logs.
func artifactRank(name string) int {
	switch {
	case strings.HasSuffix(name, "/timeline.html"):
		return 3 // one per lin-kv key: after the explanations
	case strings.HasPrefix(name, "independent/") || strings.HasPrefix(name, "elle/"):
		return 0
	case strings.HasPrefix(name, "results."):
		return 1
	case strings.HasPrefix(name, "node-logs/"):
		return 3
	}
	return 2
}

const css = `body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 40px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
.verdict{padding:10px 14px;border-radius:6px;font-size:18px;font-weight:bold}
.valid{background:#e3f6e6;color:#1b6b2a}.invalid{background:#fde4e4;color:#a11}.unknown{background:#fff3d6;color:#8a5a00}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}
td.l,th.l{text-align:left}.fail td.l:first-child{color:#a11;font-weight:bold}
.scroll{overflow:auto;max-height:80vh;border:1px solid #ccc}
.plot{max-width:100%;height:auto;display:block}
code,pre{font-family:ui-monospace,monospace;font-size:12px}pre{white-space:pre-wrap;background:#f7f7f7;padding:8px}
.muted{color:#777}ul.files{columns:3}`

// check is run by the page on load: it records in the DOM whether every
// plot drew something, so that a headless browser (and a curious reader)
// can tell a broken page from a sparse run.
const check = `(function(){var errs=[];window.addEventListener('error',function(e){errs.push(String(e.message));document.body.dataset.errors=errs.join('|')});
window.addEventListener('load',function(){var r=[];document.querySelectorAll('svg.plot,svg.diagram').forEach(function(s){var b=s.getBBox();var n=s.querySelectorAll('circle,polyline,line,rect').length;r.push(s.id+':'+Math.round(b.width)+'x'+Math.round(b.height)+':'+n)});
document.body.dataset.rendered=r.join(' ');document.body.dataset.errors=errs.join('|')})})();`

func (p *plots) html(in Input, files []string) string {
	var b strings.Builder
	valid, _ := in.Results.Get("valid?")
	vt := validText(valid)
	cls := map[string]string{"true": "valid", "false": "invalid", "unknown": "unknown"}[vt]
	title := fmt.Sprintf("eddy %s: %s", in.Workload, map[string]string{"true": "valid", "false": "INVALID", "unknown": "unknown"}[vt])
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>%s</title><style>%s</style></head><body>\n", esc(title), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"muted\">seed %d · %d nodes · %d history events · %d journal events · report written %s</p>\n",
		esc(title), in.Seed, len(in.Nodes), len(in.History), len(in.Journal), time.Now().UTC().Format(time.RFC3339))
	if in.Summary != "" {
		fmt.Fprintf(&b, "<p><code>%s</code></p>\n", esc(in.Summary))
	}
	p.verdict(&b, vt, cls, in.Results, files)
	if vt != "true" {
		p.lostSection(&b, in.Results, in.Journal)
	}
	p.figures(&b, in.Results)
	if in.Workload == "kafka" {
		kafkaSection(&b, in.History)
	}
	b.WriteString("<h2>Latency</h2>\n<p class=\"muted\">One point per operation at its invocation; shaded bands are faults: partitions, kills, pauses and packet faults, in Jepsen's colours. Hover a band for its detail.</p>\n")
	b.WriteString(p.raw + "\n" + p.quant + "\n")
	b.WriteString("<h2>Throughput</h2>\n" + p.rate + "\n")
	d := p.diagram
	fmt.Fprintf(&b, "<h2>Messages</h2>\n<p class=\"muted\">Lamport diagram of the first %d of %d messages (one row per send or delivery, time flows down; blue: client traffic, black: node to node, purple: services, red ✕: never delivered). Hover a line for the message. Full list: <a href=\"net-journal.jsonl\">net-journal.jsonl</a>; standalone: <a href=\"messages.svg\">messages.svg</a>.</p>\n",
		len(d.msgs), d.total)
	b.WriteString("<div class=\"scroll\">" + p.messages + "</div>\n")
	b.WriteString("<h2>Files</h2>\n<ul class=\"files\">")
	for _, f := range append(slices.Clone(Files[1:]), files...) {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>", esc(f), esc(f))
	}
	b.WriteString("</ul>\n<script>" + check + "</script>\n</body></html>\n")
	return b.String()
}

// verdict writes the verdict, the eddy-only warnings, a link to the
// timeline and, when the run is not valid, every failing sub-checker with
// its figures and the explanations found in the folder.
func (p *plots) verdict(b *strings.Builder, vt, cls string, results *history.Map, files []string) {
	fmt.Fprintf(b, "<div class=\"verdict %s\" id=\"verdict\">valid? %s</div>\n", cls, vt)
	warnings(b, results)
	if slices.Contains(files, "timeline.html") {
		b.WriteString("<p>Every operation on a timeline: <a href=\"timeline.html\">timeline.html</a>.</p>\n")
	}
	if vt == "true" {
		b.WriteString("<p>Every checker passed.</p>\n")
		return
	}
	fails := Failures(results)
	b.WriteString("<h2>Why</h2>\n")
	for _, f := range fails {
		fmt.Fprintf(b, "<h3 class=\"failing\" id=\"%s\">%s: valid? %s</h3>\n", WhyAnchor(f.Path), esc(f.Path), esc(f.Valid))
		if ex := explanations(f, files); len(ex) > 0 {
			b.WriteString("<p>Shown in: ")
			for i, x := range ex {
				if i > 0 {
					b.WriteString(" · ")
				}
				fmt.Fprintf(b, "<a href=\"%s\">%s</a>", esc(x), esc(x))
			}
			b.WriteString("</p>\n")
		}
		b.WriteString("<table>")
		for _, fig := range f.Figures {
			see := ""
			if fig.Key == "eddy-only" {
				see = ` (see <a href="#warnings">Warnings</a>: what each means, and its cases)`
			}
			fmt.Fprintf(b, "<tr><th class=\"l\">%s</th><td class=\"l\"><code>%s</code>%s</td></tr>", esc(fig.Key), esc(fig.Value), see)
		}
		b.WriteString("</table>\n")
	}
	var expl []string
	for _, f := range files {
		if (strings.HasPrefix(f, "independent/") || strings.HasPrefix(f, "elle/") || f == "kafka-anomalies.txt") && !strings.HasSuffix(f, "/timeline.html") {
			expl = append(expl, f)
		}
	}
	if len(expl) > 0 {
		b.WriteString("<p>Explanations: ")
		for i, f := range expl {
			if i > 0 {
				b.WriteString(" · ")
			}
			fmt.Fprintf(b, "<a href=\"%s\">%s</a>", esc(f), esc(f))
		}
		b.WriteString(" (porcupine's visualization for lin-kv keys, elle's anomaly explanations for transactions, kafka's anomalies)</p>\n")
	}
}

// figures writes the statistics, availability, network and latency tables.
func (p *plots) figures(b *strings.Builder, r *history.Map) {
	b.WriteString("<h2>Statistics</h2>\n<table id=\"stats\"><tr><th class=\"l\">f</th><th>count</th><th>ok</th><th>fail</th><th>info</th><th>valid?</th></tr>")
	row := func(name string, m any) {
		cls := ""
		if v, _ := Lookup(m, "valid?"); v != true {
			cls = " class=\"fail\""
		}
		fmt.Fprintf(b, "<tr%s><td class=\"l\">%s</td>", cls, esc(name))
		for _, k := range []string{"count", "ok-count", "fail-count", "info-count", "valid?"} {
			fmt.Fprintf(b, "<td>%s</td>", esc(figure(m, k)))
		}
		b.WriteString("</tr>")
	}
	if byF, ok := Lookup(r, "stats", "by-f"); ok {
		if m, ok := byF.(*history.Map); ok {
			for _, f := range m.Keys() {
				v, _ := m.Get(f)
				row(f, v)
			}
		}
	}
	if st, ok := Lookup(r, "stats"); ok {
		row("all", st)
	}
	b.WriteString("</table>\n")
	frac, _ := Lookup(r, "availability", "ok-fraction")
	av, _ := Lookup(r, "availability", "valid?")
	fmt.Fprintf(b, "<p id=\"availability\">Availability (ok-fraction): <b>%s</b> (valid? %s)</p>\n", esc(shortValue(frac, 40)), esc(validText(av)))
	b.WriteString("<table id=\"net\"><tr><th class=\"l\">messages</th><th>sent</th><th>delivered</th><th>msgs-per-op</th></tr>")
	for _, k := range []string{"all", "clients", "servers"} {
		fmt.Fprintf(b, "<tr><td class=\"l\">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", k,
			esc(figure(r, "net", k, "send-count")), esc(figure(r, "net", k, "recv-count")), esc(figure(r, "net", k, "msgs-per-op")))
	}
	b.WriteString("</table>\n")
	b.WriteString("<h2>Latency quantiles (ms)</h2>\n<table id=\"quantiles\"><tr><th class=\"l\">what</th><th>0</th><th>0.5</th><th>0.95</th><th>0.99</th><th>1</th></tr>")
	qrow := func(name string, m any) {
		fmt.Fprintf(b, "<tr><td class=\"l\">%s</td>", esc(name))
		for _, q := range []string{"0", "0.5", "0.95", "0.99", "1"} {
			fmt.Fprintf(b, "<td>%s</td>", esc(figure(m, q)))
		}
		b.WriteString("</tr>")
	}
	if lq, ok := Lookup(r, "perf", "latency-quantiles"); ok {
		if m, ok := lq.(*history.Map); ok {
			for _, f := range m.Keys() {
				v, _ := m.Get(f)
				qrow(f, v)
			}
		}
	}
	for _, k := range []string{"stable-latencies", "lost-latencies"} {
		if v, ok := Lookup(r, "workload", k); ok {
			qrow("workload "+k, v)
		}
	}
	b.WriteString("</table>\n")
	fmt.Fprintf(b, "<p class=\"muted\">%d completed operations, %d partitions.</p>\n", len(p.samples), len(p.parts))
}

// figure is the value at path, printed short, or "" when absent.
func figure(v any, path ...string) string {
	x, ok := Lookup(v, path...)
	if !ok {
		return ""
	}
	return shortValue(x, 40)
}
