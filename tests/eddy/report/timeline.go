package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// Timeline draws a history as Jepsen's timeline checker does
// (jepsen.checker.timeline, timeline.html): one column per process (the
// nemesis first, then the worker processes in order), one box per
// operation from its invocation to its completion, rows counted in
// history events rather than time, coloured by outcome (ok blue, info
// orange, fail pink). An :info completion's box runs to the end, as the
// operation may take effect at any later time. Each box links to itself
// and carries the op in its tooltip. Invocations still open at the end are
// not drawn, and at most TimelineOpLimit boxes are.
//
// start is the test's wall-clock start (zero: tooltips leave the wall
// time out); heading names the page ("lin-kv key 3").
func Timeline(heading string, h history.History, start time.Time) []byte {
	type pair struct{ start, stop int } // positions in h; stop -1: a lone op
	var pairs []pair
	open := map[int64]int{}
	procs := map[int64]bool{}
	for i := range h {
		op := &h[i]
		procs[op.Process] = true
		switch op.Type {
		case history.Invoke:
			open[op.Process] = i
		case history.Info:
			if s, ok := open[op.Process]; ok {
				pairs = append(pairs, pair{s, i})
				delete(open, op.Process)
			} else {
				pairs = append(pairs, pair{i, -1})
			}
		default:
			if s, ok := open[op.Process]; ok {
				pairs = append(pairs, pair{s, i})
				delete(open, op.Process)
			}
		}
	}
	order := make([]int64, 0, len(procs))
	for p := range procs {
		order = append(order, p)
	}
	slices.Sort(order) // history.Nemesis (-1) comes first, as Jepsen sorts :nemesis before numbers
	column := make(map[int64]int, len(order))
	for i, p := range order {
		column[p] = i
	}
	total := len(pairs)
	if len(pairs) > TimelineOpLimit {
		pairs = pairs[:TimelineOpLimit]
	}

	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(esc(heading))
	b.WriteString("</title><style>")
	b.WriteString(timelineCSS)
	b.WriteString("</style></head><body>\n<h1>")
	b.WriteString(esc(heading))
	b.WriteString("</h1>\n")
	if total > len(pairs) {
		fmt.Fprintf(&b, "<div class=\"truncation-warning\">Showing only %d of %d operations in this history.</div>\n", len(pairs), total)
	}
	b.WriteString("<div class=\"ops\">\n")
	for _, pr := range pairs {
		first := &h[pr.start]
		op := first
		var stop *history.Op
		if pr.stop >= 0 {
			stop = &h[pr.stop]
			op = stop
		}
		height := timelineRow
		switch {
		case stop != nil && stop.Type == history.Info:
			height = timelineRow * (len(h) + 1 - pr.start)
		case stop != nil:
			height = timelineRow * (pr.stop - pr.start)
		}
		fmt.Fprintf(&b, "<a href=\"#i%d\"><div class=\"op %s\" id=\"i%d\" style=\"width:%d;left:%d;top:%d;height:%d\" title=\"%s\">%s</div></a>\n",
			op.Index, op.Type, op.Index, timelineColWidth, timelineGutter*column[first.Process], timelineRow*pr.start, height,
			esc(timelineTitle(first, stop, op, start)), timelineBody(first, stop))
	}
	b.WriteString("</div>\n</body></html>\n")
	return []byte(b.String())
}

// TimelineOpLimit is Jepsen's op-limit: the most boxes one timeline draws.
const TimelineOpLimit = 10000

// Jepsen's geometry, in pixels.
const (
	timelineColWidth = 100
	timelineGutter   = 106
	timelineRow      = 16
)

const timelineCSS = `.ops{position:absolute}
.op{position:absolute;padding:2px;border-radius:2px;box-shadow:0 1px 3px rgba(0,0,0,0.12),0 1px 2px rgba(0,0,0,0.24);overflow:hidden;font-family:sans-serif;font-size:11px}
.op.invoke{background:#eeeeee}.op.ok{background:#6DB6FE}.op.info{background:#FFAA26}.op.fail{background:#FEB5DA}
.op:target{box-shadow:0 14px 28px rgba(0,0,0,0.25),0 10px 10px rgba(0,0,0,0.22)}
.truncation-warning{color:#a11;margin-bottom:8px}
a{color:inherit;text-decoration:none}`

func processName(p int64) string {
	if p == history.Nemesis {
		return ":nemesis"
	}
	return strconv.FormatInt(p, 10)
}

func ednText(v any) string {
	b, err := edn.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// timelineTitle is the tooltip: duration, error, wall time and the op.
func timelineTitle(first, stop, op *history.Op, start time.Time) string {
	var b strings.Builder
	if first.Process == history.Nemesis {
		b.WriteString("Msg: " + ednText(first.Value))
	}
	if stop != nil {
		fmt.Fprintf(&b, "Dur: %d ms", (stop.Time-first.Time)/1_000_000)
	}
	b.WriteString("\nErr: " + ednText(op.Error) + "\n")
	if !start.IsZero() {
		b.WriteString("Wall-clock Time: " + start.Add(time.Duration(op.Time)).UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	fmt.Fprintf(&b, "\n\nOp:\n{:process %s\n :type :%s\n :f :%s\n :index %d", processName(op.Process), op.Type, op.F, op.Index)
	if op.Final {
		b.WriteString("\n :final? true")
	}
	if op.Exception != "" {
		b.WriteString("\n :exception " + strconv.Quote(op.Exception))
	}
	b.WriteString("\n :value " + ednText(op.Value) + "}")
	return b.String()
}

// timelineBody is the box's text: process, f and the invocation's value,
// then the completion's value when it differs. A nil value prints as
// nothing, as Clojure's str prints it.
func timelineBody(first, stop *history.Op) string {
	s := esc(processName(first.Process) + " " + first.F + " ")
	if first.Process != history.Nemesis {
		s += esc(strText(first.Value))
	}
	if stop != nil && ednText(stop.Value) != ednText(first.Value) {
		s += "<br />" + esc(strText(stop.Value))
	}
	return s
}

// strText is Clojure's str of a value: "" for nil, else its printed form.
func strText(v any) string {
	if v == nil {
		return ""
	}
	return ednText(v)
}

// WriteTimelines writes timeline.html for the whole history and, when
// independent is set (lin-kv, whose values are Jepsen's independent
// tuples [key value]), independent/<key>/timeline.html for each key's
// subhistory as Jepsen's independent checker builds it: that key's ops
// with their values unwrapped, plus every op that is not a tuple (the
// nemesis's).
func WriteTimelines(write func(name string, data []byte) error, workload string, h history.History, start time.Time, independent bool) error {
	if err := write("timeline.html", Timeline(workload, h, start)); err != nil {
		return err
	}
	if !independent {
		return nil
	}
	subs := map[int64]history.History{}
	var keys []int64
	for i := range h {
		op := h[i]
		k, v, ok := tuple(op.Value)
		if !ok || !op.IsClient() {
			continue
		}
		if _, seen := subs[k]; !seen {
			keys = append(keys, k)
		}
		op.Value = v
		subs[k] = append(subs[k], op)
	}
	for _, k := range keys {
		var sub history.History
		j := 0
		for i := range h {
			if _, _, ok := tuple(h[i].Value); ok && h[i].IsClient() {
				if j < len(subs[k]) && subs[k][j].Index == h[i].Index {
					sub = append(sub, subs[k][j])
					j++
				}
				continue
			}
			sub = append(sub, h[i])
		}
		name := fmt.Sprintf("independent/%d/timeline.html", k)
		if err := write(name, Timeline(fmt.Sprintf("%s key %d", workload, k), sub, start)); err != nil {
			return err
		}
	}
	return nil
}

// tuple reads an independent [key value] tuple with an integer key.
func tuple(v any) (int64, any, bool) {
	xs, ok := v.([]any)
	if !ok || len(xs) != 2 {
		return 0, nil, false
	}
	k, ok := xs[0].(int64)
	return k, xs[1], ok
}
