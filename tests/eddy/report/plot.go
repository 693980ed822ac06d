package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/nemesis"
)

// maxPoints bounds the latency scatter: beyond it ok points are thinned by a
// fixed stride so that a 25-node run at rate 1000 still renders quickly.
const maxPoints = 20000

// maxBuckets bounds the time buckets of the quantile and rate plots.
const maxBuckets = 200

// Colours of completion types, shared by every plot and the legend.
const (
	colourOK   = "#2a9d3f"
	colourFail = "#d62728"
	colourInfo = "#e69500"
)

// faultKinds are the nemesis activities shaded in the plots and the
// message diagram, with Jepsen's perf colours: each lasts from an op that
// starts it to the next op that stops it.
var faultKinds = []struct {
	name, colour string
	start, stop  string
}{
	{"partition", "#E9DCA0", nemesis.FStart, nemesis.FStop},
	{"kill", "#E9A4A0", nemesis.FKill, nemesis.FStartNode},
	{"pause", "#A0B1E9", nemesis.FPause, nemesis.FResume},
	{"packet", "#D1E8A0", nemesis.FStartPacket, nemesis.FStopPacket},
}

// faultOpacity makes the pale perf colours visible under the points.
const faultOpacity = 0.55

// sample is one completed client operation.
type sample struct {
	start   float64 // seconds since the test began (the invocation)
	latency float64 // milliseconds
	typ     history.Type
	f       string
}

// span is a time interval in seconds when a fault was in force, with its
// kind (partition, kill, pause or packet), its colour and a label.
type span struct {
	from, to     float64
	kind, colour string
	label        string
}

// samples pairs invocations with completions; invocations that never
// completed are left out (they have no latency).
func samples(h history.History) []sample {
	pairs := h.Pair()
	out := make([]sample, 0, len(pairs))
	for i := range h {
		inv := &h[i]
		if !inv.IsClient() || inv.Type != history.Invoke {
			continue
		}
		ci, ok := pairs[inv.Index]
		if !ok || ci < 0 || ci >= int64(len(h)) {
			continue
		}
		c := &h[ci]
		out = append(out, sample{start: secs(inv.Time), latency: float64(c.Time-inv.Time) / 1e6, typ: c.Type, f: inv.F})
	}
	return out
}

func secs(ns int64) float64 { return float64(ns) / 1e9 }

// partitions reads the nemesis ops into the spans of every fault kind: a
// partition lasts from a start-partition op to the next stop-partition op
// (or the end of the history), a kill from :kill to :start, a pause from
// :pause to :resume, packet faults from :start-packet to :stop-packet. The
// label is what the completion recorded (the grudge, the nodes killed or
// paused), else the invocation's value.
func partitions(h history.History) []span {
	var out []span
	open := make([]*span, len(faultKinds))
	for i := range h {
		op := &h[i]
		if op.IsClient() {
			continue
		}
		for k, fk := range faultKinds {
			switch op.F {
			case fk.start:
				if open[k] == nil {
					open[k] = &span{from: secs(op.Time), kind: fk.name, colour: fk.colour, label: fk.name}
				}
				if l := faultLabel(op.Value); l != "" {
					open[k].label = fk.name + " " + l
				}
			case fk.stop:
				if open[k] != nil {
					open[k].to = secs(op.Time)
					out = append(out, *open[k])
					open[k] = nil
				}
			}
		}
	}
	end := 0.0
	if len(h) > 0 {
		end = secs(h[len(h)-1].Time)
	}
	for _, sp := range open {
		if sp != nil {
			sp.to = max(end, sp.from)
			out = append(out, *sp)
		}
	}
	slices.SortStableFunc(out, func(a, b span) int {
		switch {
		case a.from < b.from:
			return -1
		case a.from > b.from:
			return 1
		}
		return 0
	})
	return out
}

// faultLabel describes a nemesis op's value: the grudge of an isolated
// partition, the nodes of a per-node result map, a shape or node spec.
func faultLabel(v any) string {
	switch v := v.(type) {
	case []any:
		if len(v) == 2 {
			if k, ok := v[0].(history.Keyword); ok && k == "isolated" {
				return shortValue(v[1], 300)
			}
		}
		return shortValue(v, 300)
	case *history.Map:
		if v.Len() == 0 {
			return "(no node)"
		}
		return strings.Join(v.Keys(), " ")
	case history.Keyword:
		return string(v)
	}
	return ""
}

// legendFor is the legend of a plot: the completion types, then each fault
// kind that occurs.
func legendFor(parts []span) [][2]string {
	items := [][2]string{{colourOK, "ok"}, {colourInfo, "info"}, {colourFail, "fail"}}
	for _, fk := range faultKinds {
		for _, p := range parts {
			if p.kind == fk.name {
				items = append(items, [2]string{fk.colour, fk.name})
				break
			}
		}
	}
	return items
}

// frame maps data coordinates to an SVG viewport with margins.
type frame struct {
	w, h                     float64
	left, right, top, bottom float64
	x0, x1, y0, y1           float64
	logY                     bool
}

func (f *frame) px(x float64) float64 {
	if f.x1 <= f.x0 {
		return f.left
	}
	return f.left + (x-f.x0)/(f.x1-f.x0)*(f.w-f.left-f.right)
}

func (f *frame) py(y float64) float64 {
	lo, hi, v := f.y0, f.y1, y
	if f.logY {
		lo, hi, v = math.Log10(lo), math.Log10(hi), math.Log10(math.Max(y, f.y0))
	}
	if hi <= lo {
		return f.h - f.bottom
	}
	return f.h - f.bottom - (v-lo)/(hi-lo)*(f.h-f.top-f.bottom)
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || n < 1 || math.IsInf(hi-lo, 0) {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9 && len(out) < 50; v += step {
		out = append(out, v)
	}
	return out
}

// logTicks returns the powers of ten in [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)) && len(out) < 30; e++ {
		v := math.Pow(10, e)
		if v >= lo*0.999 && v <= hi*1.001 {
			out = append(out, v)
		}
	}
	return out
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%d", int64(v))
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// svgOpen writes the document element and the axes, grid and fault spans.
func (f *frame) open(b *strings.Builder, id, title, xLabel, yLabel string, parts []span) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="plot" viewBox="0 0 %g %g" width="%g" height="%g" font-family="sans-serif" font-size="11">`,
		esc(id), f.w, f.h, f.w, f.h)
	fmt.Fprintf(b, `<title>%s</title><rect x="0" y="0" width="%g" height="%g" fill="#fff"/>`, esc(title), f.w, f.h)
	fmt.Fprintf(b, `<text x="%g" y="16" font-size="13" font-weight="bold">%s</text>`, f.left, esc(title))
	for _, p := range parts {
		x0, x1 := f.px(math.Max(p.from, f.x0)), f.px(math.Min(p.to, f.x1))
		if x1 < x0 {
			continue
		}
		fmt.Fprintf(b, `<rect class="%s" x="%.1f" y="%g" width="%.1f" height="%g" fill="%s" fill-opacity="%g"><title>%s (%.1fs-%.1fs)</title></rect>`,
			p.kind, x0, f.top, math.Max(x1-x0, 1), f.h-f.top-f.bottom, p.colour, faultOpacity, esc(p.label), p.from, p.to)
	}
	bottom := f.h - f.bottom
	for _, t := range niceTicks(f.x0, f.x1, 10) {
		x := f.px(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/><text x="%.1f" y="%g" text-anchor="middle">%s</text>`,
			x, f.top, x, bottom, x, bottom+14, fmtNum(t))
	}
	yt := niceTicks(f.y0, f.y1, 6)
	if f.logY {
		yt = logTicks(f.y0, f.y1)
	}
	for _, t := range yt {
		y := f.py(t)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#eee"/><text x="%g" y="%.1f" text-anchor="end">%s</text>`,
			f.left, y, f.w-f.right, y, f.left-4, y+4, fmtNum(t))
	}
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#888"/>`, f.left, f.top, f.w-f.left-f.right, bottom-f.top)
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`, (f.left+f.w-f.right)/2, f.h-4, esc(xLabel))
	fmt.Fprintf(b, `<text transform="translate(12 %g) rotate(-90)" text-anchor="middle">%s</text>`, (f.top+bottom)/2, esc(yLabel))
}

// legend writes coloured labels along the top right.
func (f *frame) legend(b *strings.Builder, items [][2]string) {
	x := f.w - f.right
	for i := len(items) - 1; i >= 0; i-- {
		x -= float64(len(items[i][1]))*6.5 + 22
		fmt.Fprintf(b, `<rect x="%.0f" y="8" width="10" height="10" fill="%s"/><text x="%.0f" y="17">%s</text>`, x, items[i][0], x+13, esc(items[i][1]))
	}
}

func typeColour(t history.Type) string {
	switch t {
	case history.OK:
		return colourOK
	case history.Fail:
		return colourFail
	}
	return colourInfo
}

func timeRange(ss []sample, parts []span, h history.History) (float64, float64) {
	hi := 1.0
	if len(h) > 0 {
		hi = math.Max(hi, secs(h[len(h)-1].Time))
	}
	for _, s := range ss {
		hi = math.Max(hi, s.start+s.latency/1000)
	}
	for _, p := range parts {
		hi = math.Max(hi, p.to)
	}
	return 0, hi
}

func latencyRange(ss []sample) (float64, float64) {
	lo, hi := math.Inf(1), 1.0
	for _, s := range ss {
		if s.latency > 0 {
			lo = math.Min(lo, s.latency)
		}
		hi = math.Max(hi, s.latency)
	}
	if math.IsInf(lo, 1) {
		lo = 0.1
	}
	lo = math.Pow(10, math.Floor(math.Log10(math.Max(lo, 0.001))))
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
	return lo, hi
}

// thin keeps every point when there are at most limit, else every
// non-ok point (failures and timeouts are what the reader looks for, and
// are few) up to the limit and ok points at a fixed stride.
func thin(ss []sample, limit int) []sample {
	if len(ss) <= limit {
		return ss
	}
	var bad, good []sample
	for _, s := range ss {
		if s.typ == history.OK {
			good = append(good, s)
		} else {
			bad = append(bad, s)
		}
	}
	if len(bad) > limit/2 {
		bad = strideOf(bad, limit/2)
	}
	good = strideOf(good, limit-len(bad))
	out := append(bad, good...)
	slices.SortFunc(out, func(a, b sample) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	return out
}

func strideOf(ss []sample, limit int) []sample {
	if len(ss) <= limit || limit <= 0 {
		if limit <= 0 {
			return nil
		}
		return ss
	}
	stride := (len(ss) + limit - 1) / limit
	out := make([]sample, 0, limit)
	for i := 0; i < len(ss); i += stride {
		out = append(out, ss[i])
	}
	return out
}

// latencyRaw is latency-raw.svg: one point per completed operation, at its
// invocation time, coloured by how it completed; partitions shaded.
func latencyRaw(ss []sample, parts []span, h history.History) string {
	x0, x1 := timeRange(ss, parts, h)
	y0, y1 := latencyRange(ss)
	f := &frame{w: 900, h: 380, left: 60, right: 20, top: 28, bottom: 36, x0: x0, x1: x1, y0: y0, y1: y1, logY: true}
	var b strings.Builder
	shown := thin(ss, maxPoints)
	title := "Latency of every operation"
	if len(shown) < len(ss) {
		title = fmt.Sprintf("Latency (%d of %d operations shown; ok points thinned)", len(shown), len(ss))
	}
	f.open(&b, "latency-raw", title, "time since start (s)", "latency (ms, log)", parts)
	for _, t := range []history.Type{history.OK, history.Info, history.Fail} {
		fmt.Fprintf(&b, `<g class="points" fill="%s" fill-opacity="0.7">`, typeColour(t))
		for _, s := range shown {
			if s.typ != t {
				continue
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2"/>`, f.px(s.start), f.py(math.Max(s.latency, y0)))
		}
		b.WriteString(`</g>`)
	}
	f.legend(&b, legendFor(parts))
	b.WriteString(`</svg>`)
	return b.String()
}

// bucketWidth picks a window of at least one second and at most
// maxBuckets windows over the run.
func bucketWidth(span float64) float64 {
	w := 1.0
	for span/w > maxBuckets {
		w *= 2
	}
	return w
}

// quantile returns the q-quantile of sorted xs (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

var quantiles = []struct {
	q      float64
	colour string
}{{0.5, "#1f77b4"}, {0.95, "#2ca02c"}, {0.99, "#ff7f0e"}, {1, "#d62728"}}

// latencyQuantiles is latency-quantiles.svg: per time window, the 0.5,
// 0.95, 0.99 and 1 quantiles of the latency of operations invoked in it.
func latencyQuantiles(ss []sample, parts []span, h history.History) string {
	x0, x1 := timeRange(ss, parts, h)
	y0, y1 := latencyRange(ss)
	f := &frame{w: 900, h: 320, left: 60, right: 20, top: 28, bottom: 36, x0: x0, x1: x1, y0: y0, y1: y1, logY: true}
	bw := bucketWidth(x1 - x0)
	n := max(1, int(math.Ceil((x1-x0)/bw)))
	buckets := make([][]float64, n)
	for _, s := range ss {
		i := min(max(int((s.start-x0)/bw), 0), n-1)
		buckets[i] = append(buckets[i], s.latency)
	}
	var b strings.Builder
	f.open(&b, "latency-quantiles", fmt.Sprintf("Latency quantiles (%gs windows)", bw), "time since start (s)", "latency (ms, log)", parts)
	var items [][2]string
	for _, bk := range buckets {
		slices.Sort(bk)
	}
	for _, q := range quantiles {
		// One polyline per run of non-empty windows: a gap (the recovery
		// wait before final reads) is not drawn as a trend.
		var pts []string
		flush := func() {
			if len(pts) == 1 {
				pts = append(pts, pts[0])
			}
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline class="series" fill="none" stroke="%s" stroke-width="1.5" stroke-linecap="round" points="%s"/>`, q.colour, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, bk := range buckets {
			if len(bk) == 0 {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.px(math.Min(x0+(float64(i)+0.5)*bw, x1)), f.py(math.Max(quantile(bk, q.q), y0))))
		}
		flush()
		items = append(items, [2]string{q.colour, fmtNum(q.q)})
	}
	f.legend(&b, items)
	b.WriteString(`</svg>`)
	return b.String()
}

// rate is rate.svg: completions per second in each window, by type.
func rate(ss []sample, parts []span, h history.History) string {
	x0, x1 := timeRange(ss, parts, h)
	bw := bucketWidth(x1 - x0)
	n := max(1, int(math.Ceil((x1-x0)/bw)))
	types := []history.Type{history.OK, history.Info, history.Fail}
	counts := make([][]float64, len(types))
	for i := range counts {
		counts[i] = make([]float64, n)
	}
	peak := 1.0
	for _, s := range ss {
		end := s.start + s.latency/1000
		i := min(max(int((end-x0)/bw), 0), n-1)
		for k, t := range types {
			if t == s.typ {
				counts[k][i] += 1 / bw
				peak = math.Max(peak, counts[k][i])
			}
		}
	}
	f := &frame{w: 900, h: 300, left: 60, right: 20, top: 28, bottom: 36, x0: x0, x1: x1, y0: 0, y1: peak * 1.1}
	var b strings.Builder
	f.open(&b, "rate", fmt.Sprintf("Throughput (completions per second, %gs windows)", bw), "time since start (s)", "ops/s", parts)
	for k, t := range types {
		pts := make([]string, 0, n)
		for i := range n {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.px(math.Min(x0+(float64(i)+0.5)*bw, x1)), f.py(counts[k][i])))
		}
		fmt.Fprintf(&b, `<polyline class="series" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, typeColour(t), strings.Join(pts, " "))
	}
	f.legend(&b, legendFor(parts))
	b.WriteString(`</svg>`)
	return b.String()
}
