package report

import (
	"fmt"
	"strconv"
	"strings"

	"maelkit/tests/eddy/history"
)

// maxFailures bounds the failing sub-checkers listed (lin-kv has one map
// per key).
const maxFailures = 40

// Failure is one sub-checker whose :valid? is not true, with the figures
// that explain it.
type Failure struct {
	Path    string   // e.g. "workload" or "workload results 3 linearizable"
	Valid   string   // "false" or "unknown"
	Figures []Figure // the checker's own entries, sub-maps left out
}

// Figure is one entry of a checker's result, printed short.
type Figure struct {
	Key   string
	Value string
}

// Failures walks the results map and returns every map whose :valid? is
// false or :unknown, the outermost first; maps that only repeat a nested
// failure (the top level, :workload of lin-kv) are still listed so the
// reader sees where the verdict comes from.
func Failures(results *history.Map) []Failure {
	var out []Failure
	var walk func(m *history.Map, path []string)
	walk = func(m *history.Map, path []string) {
		if m == nil || len(out) >= maxFailures || len(path) > 8 {
			return
		}
		v, ok := m.Get("valid?")
		if ok && v != true && len(path) > 0 {
			f := Failure{Path: strings.Join(path, " "), Valid: validText(v)}
			for _, k := range m.Keys() {
				if k == "valid?" {
					continue
				}
				x, _ := m.Get(k)
				if _, isMap := x.(*history.Map); isMap {
					continue
				}
				if k == "eddy-only" {
					f.Figures = append(f.Figures, Figure{Key: k, Value: findingsText(x)})
					continue
				}
				f.Figures = append(f.Figures, Figure{Key: k, Value: shortValue(x, 400)})
			}
			out = append(out, f)
		}
		if ok && v == true {
			return // a valid checker has no failing parts
		}
		for _, k := range m.Keys() {
			x, _ := m.Get(k)
			if sub, isMap := x.(*history.Map); isMap {
				walk(sub, append(path[:len(path):len(path)], k))
			}
		}
	}
	walk(results, nil)
	return append(out, eddyNotes(results)...)
}

// eddyNotes lists the bounds eddy hit and its warnings (results' :eddy
// map) as failures of their own: a node whose output was dropped or whose
// processes were killed fails for that reason first.
func eddyNotes(results *history.Map) []Failure {
	var out []Failure
	for _, k := range []string{"limits", "warnings"} {
		v, ok := Lookup(results, "eddy", k)
		if !ok {
			continue
		}
		xs, _ := v.([]any)
		f := Failure{Path: "eddy " + k, Valid: "unknown (" + k + ")"}
		for i, x := range xs {
			f.Figures = append(f.Figures, Figure{Key: strconv.Itoa(i + 1), Value: fmt.Sprint(x)})
		}
		if len(f.Figures) > 0 {
			out = append(out, f)
		}
	}
	return out
}

func validText(v any) string {
	switch v {
	case true:
		return "true"
	case false:
		return "false"
	}
	return "unknown"
}

// shortValue prints v in EDN-like form, cut at about limit bytes.
func shortValue(v any, limit int) string {
	var b strings.Builder
	writeShort(&b, v, limit)
	s := b.String()
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + " …"
	}
	return s
}

func writeShort(b *strings.Builder, v any, limit int) {
	if b.Len() > limit {
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case history.Float:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', 6, 64))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', 6, 64))
	case string:
		b.WriteString(strconv.Quote(x))
	case history.Keyword:
		b.WriteString(":" + string(x))
	case history.JSON:
		b.WriteString(string(x))
	case history.List:
		writeSeq(b, []any(x), "(", ")", limit)
	case []any:
		writeSeq(b, x, "[", "]", limit)
	case *history.Map:
		b.WriteByte('{')
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			if b.Len() > limit {
				break
			}
			if x.String || x.NumKeys {
				b.WriteString(k)
			} else {
				b.WriteString(":" + k)
			}
			b.WriteByte(' ')
			e, _ := x.Get(k)
			writeShort(b, e, limit)
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

func writeSeq(b *strings.Builder, xs []any, open, close string, limit int) {
	b.WriteString(open)
	for i, e := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		if b.Len() > limit {
			fmt.Fprintf(b, "… %d more", len(xs)-i)
			break
		}
		writeShort(b, e, limit)
	}
	b.WriteString(close)
}

// Lookup follows a path of keys (and list indexes) through results.
func Lookup(v any, path ...string) (any, bool) {
	for _, k := range path {
		switch x := v.(type) {
		case *history.Map:
			var ok bool
			if x == nil {
				return nil, false
			}
			if v, ok = x.Get(k); !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		case history.List:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// findingsText names a checker's eddy-only findings by anomaly and count
// ("forgotten-key (count 53)"); their explanations and cases are in the
// report's warnings.
func findingsText(x any) string {
	xs, _ := x.([]any)
	var parts []string
	for _, f := range xs {
		m, ok := f.(*history.Map)
		if !ok {
			parts = append(parts, shortValue(f, 100))
			continue
		}
		a, _ := m.Get("anomaly")
		s := strings.TrimPrefix(shortValue(a, 100), ":")
		if n, ok := m.Get("count"); ok {
			s += " (count " + shortValue(n, 40) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
