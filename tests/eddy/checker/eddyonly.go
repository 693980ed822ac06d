package checker

import "maelkit/tests/eddy/history"

// EddyOnlyKey is the key under which a checker's results list what eddy
// finds that Maelstrom's checker (Jepsen, Elle, Knossos) does not: a vector
// of maps {:anomaly :explanation ...}. Such findings never change :valid?
// by default, so that eddy's verdict is Maelstrom's; ApplyStrict (the
// CLI's --strict) makes them count.
const EddyOnlyKey = "eddy-only"

// EddyOnly returns the eddy-only findings of one checker's result.
func EddyOnly(m *history.Map) []any {
	if m == nil {
		return nil
	}
	v, _ := m.Get(EddyOnlyKey)
	xs, _ := v.([]any)
	return xs
}

// AddEddyOnly appends one eddy-only finding to m.
func AddEddyOnly(m *history.Map, anomaly, explanation string) {
	f := history.NewMap().Set("anomaly", history.Keyword(anomaly)).Set("explanation", explanation)
	m.Set(EddyOnlyKey, append(EddyOnly(m), f))
}

// ApplyStrict makes every top-level checker with eddy-only findings
// invalid and recomputes the merged :valid? from the top-level maps that
// have one, for --strict. It reports whether anything changed.
func ApplyStrict(results *history.Map) bool {
	if results == nil {
		return false
	}
	changed := false
	var valids []any
	for _, k := range results.Keys() {
		if k == "valid?" {
			continue
		}
		v, _ := results.Get(k)
		m, ok := v.(*history.Map)
		if !ok {
			continue
		}
		if len(EddyOnly(m)) > 0 {
			if cur, _ := m.Get("valid?"); cur != false {
				m.Set("valid?", false)
				changed = true
			}
		}
		if cur, has := m.Get("valid?"); has {
			valids = append(valids, cur)
		}
	}
	results.Set("valid?", Merge(valids...))
	return changed
}
