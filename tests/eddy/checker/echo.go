package checker

import (
	"encoding/json"

	"maelkit/tests/eddy/history"
)

// Echo is Maelstrom's echo checker (maelstrom-spec.md 6.1). It pairs every
// client invocation with its completion; an invocation is an error unless
// its completion is :ok and the completion's value has an "echo" field
// equal (history.Key) to the invocation's value. The ok completion value is
// the reply body, as history.JSON ({"echo":...,"in_reply_to":3,...}) or a
// *history.Map. Non-ok and missing completions are errors too.
//
// Result: {:valid? :errors (["Expected a message with :echo" sent "But
// received" completion-value-or-nil] ...)}.
func Echo(h history.History) *history.Map {
	errs := history.List{}
	for _, p := range pairOps(h) {
		inv := &h[p.inv]
		var got any
		var echoed any
		found := false
		if p.comp >= 0 {
			comp := &h[p.comp]
			got = comp.Value
			if comp.Type == history.OK {
				echoed, found = echoField(comp.Value)
			}
		}
		if found && history.Key(echoed) == history.Key(inv.Value) {
			continue
		}
		errs = append(errs, []any{"Expected a message with :echo", inv.Value, "But received", got})
	}
	return history.NewMap().Set("valid?", len(errs) == 0).Set("errors", errs)
}

// echoField extracts the "echo" field of a reply body.
func echoField(v any) (any, bool) {
	switch x := v.(type) {
	case *history.Map:
		return x.Get("echo")
	case history.JSON:
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(x), &body); err != nil {
			return nil, false
		}
		raw, ok := body["echo"]
		if !ok {
			return nil, false
		}
		c, err := history.CanonicalJSON(raw)
		if err != nil {
			return nil, false
		}
		return c, true
	}
	return nil, false
}
