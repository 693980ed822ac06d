// Package checker holds eddy's checkers: the workload checkers Maelstrom
// uses for echo, unique-ids, broadcast and g-set (Jepsen set-full) and the
// counters, plus the checkers every test composes (stats, availability, net,
// perf, exceptions) and the composition itself.
//
// Every checker is a pure function of the history (and, for net, the
// journal) that returns a *history.Map shaped exactly like the map Maelstrom
// prints: same keys, same key order, "valid?" holding true, false or
// Unknown. Results hold only history value types. Durations are int64
// milliseconds. Fractions (ok-fraction, msgs-per-op) are history.Float
// holding the value Java prints for Maelstrom's single-precision float.
//
// Bad input never panics: a history a checker cannot judge gives
// {:valid? :unknown :error "..."}, as a throwing Jepsen checker would.
package checker

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"

	"maelkit/tests/eddy/history"
)

// Unknown is the third :valid? value, for checkers that cannot decide.
const Unknown = history.Keyword("unknown")

// quantilePoints are Jepsen's latency quantiles, with their printed keys.
var quantilePoints = [...]struct {
	q   float64
	key string
}{{0, "0"}, {0.5, "0.5"}, {0.95, "0.95"}, {0.99, "0.99"}, {1, "1"}}

// Merge combines :valid? values the way Jepsen's compose does: false beats
// Unknown beats true. Anything else (nil, a stray value) counts as Unknown,
// where Jepsen would throw. Merge of nothing is true.
func Merge(valids ...any) any {
	out := any(true)
	for _, v := range valids {
		switch {
		case v == false:
			return false
		case v == true:
		default:
			out = Unknown
		}
	}
	return out
}

// Part is one entry of the composed results: a finished Result, or a Check
// that Compose runs (in parallel with the other parts, recovering panics).
type Part struct {
	Key    string
	Result *history.Map
	Check  func() *history.Map
}

// composeOrder is the order Maelstrom prints its top-level results in.
var composeOrder = [...]string{"perf", "timeline", "exceptions", "stats", "availability", "net", "workload"}

// Compose builds the top-level results map: parts in Maelstrom's printed
// order (:perf :timeline :exceptions :stats :availability :net :workload),
// parts with other keys after those in the order given, then the merged
// :valid?. :timeline is {:valid? true} unless a part provides it. A part
// whose Check panics or returns nil becomes {:valid? :unknown :error "..."}.
func Compose(parts ...Part) *history.Map {
	results := make([]*history.Map, len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		if parts[i].Check == nil {
			results[i] = parts[i].Result
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = safeCheck(parts[i].Check)
		}(i)
	}
	wg.Wait()

	byKey := map[string]*history.Map{}
	var extra []string
	for i, p := range parts {
		r := results[i]
		if r == nil {
			r = errorResult("checker returned no result")
		}
		if _, dup := byKey[p.Key]; !dup && !isComposeKey(p.Key) {
			extra = append(extra, p.Key)
		}
		byKey[p.Key] = r
	}
	if _, ok := byKey["timeline"]; !ok {
		byKey["timeline"] = history.NewMap().Set("valid?", true)
	}
	out := history.NewMap()
	var valids []any
	add := func(k string) {
		r, ok := byKey[k]
		if !ok {
			return
		}
		out.Set(k, r)
		v, _ := r.Get("valid?")
		valids = append(valids, v)
	}
	for _, k := range composeOrder {
		add(k)
	}
	for _, k := range extra {
		add(k)
	}
	return out.Set("valid?", Merge(valids...))
}

func isComposeKey(k string) bool {
	for _, c := range composeOrder {
		if c == k {
			return true
		}
	}
	return k == "valid?"
}

// safeCheck runs one checker, turning a panic into an :unknown result, as
// Jepsen's check-safe does with exceptions.
func safeCheck(check func() *history.Map) (res *history.Map) {
	defer func() {
		if r := recover(); r != nil {
			res = errorResult(fmt.Sprintf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	return check()
}

// errorResult is what a checker that could not decide returns.
func errorResult(msg string) *history.Map {
	return history.NewMap().Set("valid?", Unknown).Set("error", msg)
}

// OpMap renders an op the way Jepsen prints one inside results (a
// worst-stale entry, an exception example, a bad counter read): :index
// :time :type :process :f :value, then :final? :error :exception when set.
func OpMap(op *history.Op) *history.Map {
	m := history.NewMap().
		Set("index", op.Index).
		Set("time", op.Time).
		Set("type", history.Keyword(op.Type.String()))
	if op.Process == history.Nemesis {
		m.Set("process", history.Keyword("nemesis"))
	} else {
		m.Set("process", op.Process)
	}
	m.Set("f", history.Keyword(op.F)).Set("value", op.Value)
	if op.Final {
		m.Set("final?", true)
	}
	if op.Error != nil {
		m.Set("error", op.Error)
	}
	if op.Exception != "" {
		m.Set("exception", op.Exception)
	}
	return m
}

// pair is a client invocation (position in the history) and its completion
// position, or -1 when it never completed.
type pair struct{ inv, comp int }

// pairOps matches each client invocation with the next completion of the
// same process, in invocation order. Nemesis events are skipped.
func pairOps(h history.History) []pair {
	var out []pair
	open := map[int64]int{} // process -> index into out
	for i := range h {
		op := &h[i]
		if !op.IsClient() {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = len(out)
			out = append(out, pair{inv: i, comp: -1})
			continue
		}
		if j, ok := open[op.Process]; ok {
			out[j].comp = i
			delete(open, op.Process)
		}
	}
	return out
}

// quantiles is Jepsen's frequency-distribution: for each point q the value
// at sorted index min(n-1, floor(n*q)). nil when xs is empty. It sorts xs.
func quantiles(xs []int64) *history.Map {
	if len(xs) == 0 {
		return nil
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	n := len(xs)
	m := history.NewMap()
	m.NumKeys = true
	for _, p := range quantilePoints {
		idx := min(n-1, int(math.Floor(float64(n)*p.q)))
		m.Set(p.key, xs[idx])
	}
	return m
}

// javaFloat is x as Clojure's (float x) prints: the shortest decimal that
// identifies the single-precision value, held in a float64 so that printing
// it with the shortest float64 form gives the same digits.
func javaFloat(x float64) history.Float {
	f, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', -1, 32), 64)
	if err != nil {
		return history.Float(x)
	}
	return history.Float(f)
}

// nanosToMs converts a non-negative duration as Jepsen's nanos->ms then
// long does: truncation to whole milliseconds.
func nanosToMs(ns int64) int64 { return ns / 1_000_000 }

// sortable is a history value prepared for Clojure-like comparison: all
// numbers compare numerically, all strings lexically; anything else, or a
// mix, cannot be sorted (Clojure's compare throws).
type sortable struct {
	kind int8 // kindInt, kindRat or kindStr
	i    int64
	r    *big.Rat
	s    string
}

const (
	kindInt int8 = iota
	kindRat
	kindStr
)

// toSortable classifies v; ok is false for values Clojure cannot order
// against numbers or strings (nil, booleans, vectors, maps, keywords).
func toSortable(v any) (sortable, bool) {
	switch x := v.(type) {
	case int64:
		return sortable{kind: kindInt, i: x}, true
	case int:
		return sortable{kind: kindInt, i: int64(x)}, true
	case string:
		return sortable{kind: kindStr, s: x}, true
	case history.JSON:
		t := string(x)
		if t == "" {
			return sortable{}, false
		}
		switch c := t[0]; {
		case c == '"':
			var s string
			if err := json.Unmarshal([]byte(t), &s); err != nil {
				return sortable{}, false
			}
			return sortable{kind: kindStr, s: s}, true
		case c == '-' || (c >= '0' && c <= '9'):
			if n, err := strconv.ParseInt(t, 10, 64); err == nil && strconv.FormatInt(n, 10) == t {
				return sortable{kind: kindInt, i: n}, true
			}
			r, ok := new(big.Rat).SetString(t)
			if !ok {
				return sortable{}, false
			}
			return sortable{kind: kindRat, r: r}, true
		}
	}
	return sortable{}, false
}

func (a sortable) rat() *big.Rat {
	if a.kind == kindRat {
		return a.r
	}
	return new(big.Rat).SetInt64(a.i)
}

// compareSortable orders two values of the same family (numbers or strings).
func compareSortable(a, b sortable) int {
	if a.kind == kindStr {
		return strings.Compare(a.s, b.s)
	}
	if a.kind == kindInt && b.kind == kindInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	return a.rat().Cmp(b.rat())
}

// prepareSort classifies vals and checks that they are mutually comparable.
func prepareSort(vals []any) ([]sortable, error) {
	out := make([]sortable, len(vals))
	for i, v := range vals {
		s, ok := toSortable(v)
		if !ok {
			return nil, fmt.Errorf("cannot compare %s: only numbers or only strings can be ordered", history.Key(v))
		}
		if i > 0 && (s.kind == kindStr) != (out[0].kind == kindStr) {
			return nil, fmt.Errorf("cannot compare %s with %s: mixed numbers and strings", history.Key(vals[0]), history.Key(v))
		}
		out[i] = s
	}
	return out, nil
}
