package checker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"maelkit/tests/eddy/history"
)

// Stats is Jepsen's stats checker over client completions (maelstrom-spec.md
// 5) as Maelstrom wraps it for every workload (jepsen.tests.kafka's
// stats-checker): {:valid? :count :ok-count :fail-count :info-count :by-f {f
// {:valid? :count :ok-count :fail-count :info-count}}}, :by-f sorted by f and
// holding every f. An f is valid when it has at least one :ok. The top-level
// :valid? merges the per-f values, leaving out the fs that are expected never
// to succeed (neverOK): kafka's :crash always completes :info, so it
// stays in :by-f with :valid? false but does not make the run invalid. It is
// true when there are no client ops.
func Stats(h history.History) *history.Map {
	type counts struct{ ok, fail, info int64 }
	var all counts
	byF := map[string]*counts{}
	for i := range h {
		op := &h[i]
		if !op.IsClient() || op.Type == history.Invoke {
			continue
		}
		c := byF[op.F]
		if c == nil {
			c = &counts{}
			byF[op.F] = c
		}
		for _, t := range []*counts{&all, c} {
			switch op.Type {
			case history.OK:
				t.ok++
			case history.Fail:
				t.fail++
			case history.Info:
				t.info++
			}
		}
	}
	fs := make([]string, 0, len(byF))
	for f := range byF {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	row := func(c counts) *history.Map {
		return history.NewMap().
			Set("valid?", c.ok > 0).
			Set("count", c.ok+c.fail+c.info).
			Set("ok-count", c.ok).
			Set("fail-count", c.fail).
			Set("info-count", c.info)
	}
	byFMap := history.NewMap()
	var valids []any
	for _, f := range fs {
		byFMap.Set(f, row(*byF[f]))
		if !neverOK[f] {
			valids = append(valids, byF[f].ok > 0)
		}
	}
	return row(all).Set("by-f", byFMap).Set("valid?", Merge(valids...))
}

// neverOK are the fs whose :by-f entry Maelstrom's stats wrapper
// leaves out of the verdict: kafka's client crashes and Jepsen's
// debug-topic-partitions, which never complete :ok.
var neverOK = map[string]bool{"crash": true, "debug-topic-partitions": true}

// AvailabilityTarget is Maelstrom's --availability option. The zero value
// means the flag was not given (no check).
type AvailabilityTarget struct {
	Set   bool    // the flag was given
	Total bool    // "total": every client op must succeed
	Min   float64 // otherwise: the lowest acceptable ok-fraction, in [0, 1]
}

// ParseAvailability parses --availability: "" (unset), "total", or a
// number in [0, 1].
func ParseAvailability(s string) (AvailabilityTarget, error) {
	switch s {
	case "":
		return AvailabilityTarget{}, nil
	case "total":
		return AvailabilityTarget{Set: true, Total: true}, nil
	}
	a, err := strconv.ParseFloat(s, 64)
	if err != nil || !(a >= 0 && a <= 1) {
		return AvailabilityTarget{}, fmt.Errorf("availability must be \"total\" or a number between 0 and 1, not %q", s)
	}
	return AvailabilityTarget{Set: true, Min: a}, nil
}

// Availability is Maelstrom's availability checker: {:valid? :ok-fraction},
// ok-fraction = client :ok completions / client invocations (1 when there
// are none). Like Maelstrom it computes the fraction as a single-precision
// float and compares that: "total" needs it to equal 1, a number a needs
// a <= fraction (so 9 oks of 10 do not meet 0.9, as in Maelstrom).
func Availability(h history.History, target AvailabilityTarget) *history.Map {
	var oks, invokes int64
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		switch op.Type {
		case history.Invoke:
			invokes++
		case history.OK:
			oks++
		}
	}
	var fraction any = int64(1)
	f32 := float32(1)
	if invokes > 0 {
		f32 = float32(float64(oks) / float64(invokes))
		fraction = javaFloat(float64(oks) / float64(invokes))
	}
	valid := true
	switch {
	case !target.Set:
	case target.Total:
		valid = f32 == 1
	default:
		valid = target.Min <= float64(f32)
	}
	return history.NewMap().Set("valid?", valid).Set("ok-fraction", fraction)
}

// Perf is Maelstrom's perf result, {:latency-graph {:valid? true}
// :rate-graph {:valid? true} :valid? true} (the plots themselves are the
// results writer's), plus eddy's :latency-quantiles {f {q ms}}: quantiles
// 0, 0.5, 0.95, 0.99, 1 of client completion latencies (ok, fail and info),
// per f sorted by f.
func Perf(h history.History) *history.Map {
	lat := map[string][]int64{}
	for _, p := range pairOps(h) {
		if p.comp < 0 {
			continue
		}
		f := h[p.inv].F
		lat[f] = append(lat[f], nanosToMs(max(0, h[p.comp].Time-h[p.inv].Time)))
	}
	fs := make([]string, 0, len(lat))
	for f := range lat {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	q := history.NewMap()
	for _, f := range fs {
		q.Set(f, quantiles(lat[f]))
	}
	return history.NewMap().
		Set("latency-graph", history.NewMap().Set("valid?", true)).
		Set("rate-graph", history.NewMap().Set("valid?", true)).
		Set("valid?", true).
		Set("latency-quantiles", q)
}

// ExceptionClass names the class of an op's exception message for
// grouping: the text before the first ": " (so clients should record
// exceptions as "class: detail"), or the whole message.
func ExceptionClass(msg string) string {
	if i := strings.Index(msg, ": "); i > 0 {
		return msg[:i]
	}
	return msg
}

// Exceptions is Jepsen's unhandled-exceptions checker: :info ops that carry
// an Exception, grouped by ExceptionClass, most frequent first (ties in
// order of first appearance): {:valid? true :exceptions ({:count :class
// :example op} ...)}, or {:valid? true} when there are none.
func Exceptions(h history.History) *history.Map {
	type group struct {
		class string
		count int64
		first int
	}
	var groups []*group
	byClass := map[string]*group{}
	for i := range h {
		op := &h[i]
		if op.Type != history.Info || op.Exception == "" {
			continue
		}
		c := ExceptionClass(op.Exception)
		g := byClass[c]
		if g == nil {
			g = &group{class: c, first: i}
			byClass[c] = g
			groups = append(groups, g)
		}
		g.count++
	}
	m := history.NewMap().Set("valid?", true)
	if len(groups) == 0 {
		return m
	}
	sort.SliceStable(groups, func(a, b int) bool { return groups[a].count > groups[b].count })
	list := history.List{}
	for _, g := range groups {
		list = append(list, history.NewMap().
			Set("count", g.count).
			Set("class", g.class).
			Set("example", OpMap(&h[g.first])))
	}
	return m.Set("exceptions", list)
}
