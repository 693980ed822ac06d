package linear

import (
	"maelkit/tests/eddy/history"
)

// ForgottenKey is the eddy-only anomaly of a key that reads as never
// written after a write to it was acknowledged.
const ForgottenKey = "forgotten-key"

// maxForgottenCases bounds the cases a forgotten-key finding lists; its
// count is the whole number.
const maxForgottenCases = 16

// forgottenExplanation says what a forgotten-key finding is and why
// Maelstrom passes it.
const forgottenExplanation = "A read or cas found no value for a key after a write or cas on that key had been " +
	"acknowledged before it was invoked: the store lost state it had acknowledged (for instance a node that kept " +
	"Raft's term, vote and log, or Paxos's promises, in memory and was killed and restarted). lin-kv has no delete, " +
	"so a linearizable store never does this. Maelstrom does not count it: its client records a read or cas " +
	"answered with error 20 (key-does-not-exist) as a failed operation, which the checker drops, and Knossos's " +
	"register accepts a read of nil anywhere. Run with --strict to make it fail the test."

// forgotten finds the reads and cas operations of a lin-kv history that
// found a key missing (error 20, or an ok read of nil) although an
// earlier write or cas on the key had completed ok before their
// invocation. It returns the eddy-only finding, or nil when there is none.
func forgotten(h history.History) *history.Map {
	type ack struct {
		op   *history.Op // the completion
		call *history.Op // its invocation
	}
	acked := map[int64]ack{}    // key -> its first acknowledged write or cas
	callOf := map[int64]int64{} // completion -> invocation
	for inv, done := range h.Pair() {
		if done >= 0 {
			callOf[done] = inv
		}
	}
	var cases []any
	n := int64(0)
	for i := range h {
		op := &h[i]
		j, completes := callOf[op.Index]
		if !completes {
			continue
		}
		call := &h[j]
		key, ok := tupleKey(call.Value)
		if !ok {
			continue
		}
		if op.Type == history.OK && (call.F == "write" || call.F == "cas") {
			if _, seen := acked[key]; !seen {
				acked[key] = ack{op: op, call: call}
			}
			continue
		}
		result, missing := missingResult(call.F, op)
		if !missing {
			continue
		}
		a, seen := acked[key]
		if !seen || a.op.Index >= call.Index {
			continue
		}
		n++
		if len(cases) < maxForgottenCases {
			cases = append(cases, history.NewMap().
				Set("key", key).
				Set("op", opMap(call, op)).
				Set("result", result).
				Set("after", opMap(a.call, a.op)))
		}
	}
	if n == 0 {
		return nil
	}
	return history.NewMap().Set("anomaly", history.Keyword(ForgottenKey)).Set("count", n).
		Set("explanation", forgottenExplanation).Set("cases", cases)
}

// tupleKey is the key of an independent [key value] tuple.
func tupleKey(v any) (int64, bool) {
	t, ok := v.([]any)
	if !ok || len(t) != 2 {
		return 0, false
	}
	return history.Int(t[0])
}

// missingResult reports whether a read or cas completion found its key
// missing, and how.
func missingResult(f string, done *history.Op) (string, bool) {
	switch {
	case (f == "read" || f == "cas") && done.Type == history.Fail && isKeyMissing(done.Error):
		return "error 20 (key-does-not-exist)", true
	case f == "read" && done.Type == history.OK:
		t, ok := done.Value.([]any)
		if ok && len(t) == 2 && t[1] == nil {
			return "read nil", true
		}
	}
	return "", false
}

// isKeyMissing reports whether a Jepsen :error is Maelstrom's
// key-does-not-exist ([:key-does-not-exist "text"]).
func isKeyMissing(e any) bool {
	if v, ok := e.([]any); ok && len(v) > 0 {
		e = v[0]
	}
	return e == history.Keyword("key-does-not-exist")
}

// opMap describes one operation (invocation and completion) for a case.
func opMap(call, done *history.Op) *history.Map {
	return history.NewMap().
		Set("process", call.Process).
		Set("f", history.Keyword(call.F)).
		Set("value", call.Value).
		Set("invoke-index", call.Index).
		Set("complete-index", done.Index).
		Set("time", done.Time)
}
