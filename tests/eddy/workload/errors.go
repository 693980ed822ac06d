package workload

import (
	"errors"

	"maelkit/tests/eddy/history"
)

// codeNames is Maelstrom's error table: code → (name, definite). Definite
// means the operation certainly did not and will not happen.
var codeNames = map[int64]struct {
	name     string
	definite bool
}{
	0:  {"timeout", false},
	1:  {"node-not-found", true},
	10: {"not-supported", true},
	11: {"temporarily-unavailable", true},
	12: {"malformed-request", true},
	13: {"crash", false},
	14: {"abort", true},
	20: {"key-does-not-exist", true},
	21: {"key-already-exists", true},
	22: {"precondition-failed", true},
	30: {"txn-conflict", true},
}

// CodeName is the Maelstrom name of an error code ("unknown" outside the table).
func CodeName(code int64) string {
	if c, ok := codeNames[code]; ok {
		return c.name
	}
	return "unknown"
}

// Definite reports whether an error code means the operation surely did
// not happen. Codes outside the table, user codes included, are indefinite.
func Definite(code int64) bool { return codeNames[code].definite }

// Outcome is how one operation completed.
type Outcome struct {
	Type      history.Type // OK, Fail or Info
	Value     any
	Error     any
	Exception string
}

// Mapping is the Maelstrom client's translation of errors into history
// outcomes for one workload.
type Mapping struct {
	// Maps is false for workloads whose clients do not map errors (g-set and
	// the counters): every error or timeout is then an :info exception.
	Maps bool
	// Idempotent lists the fs that fail (rather than go indeterminate) on a
	// timeout or any error.
	Idempotent map[string]bool
}

// Failed turns a Call or decoding error into an outcome for an op with f
// and invocation value v.
func (m Mapping) Failed(f string, v any, err error) Outcome {
	var rpc *RPCError
	switch {
	case !m.Maps:
		return exception(v, err)
	case errors.Is(err, ErrTimeout):
		t := history.Info
		if m.Idempotent[f] {
			t = history.Fail
		}
		return Outcome{Type: t, Value: v, Error: history.Keyword("net-timeout")}
	case errors.As(err, &rpc):
		t := history.Info
		if rpc.IsDefinite() || m.Idempotent[f] {
			t = history.Fail
		}
		return Outcome{Type: t, Value: v, Error: []any{history.Keyword(rpc.Name()), rpc.errorText()}}
	}
	return exception(v, err)
}

// exception is Jepsen's record of an exception thrown inside a client.
func exception(v any, err error) Outcome {
	return Outcome{Type: history.Info, Value: v, Error: "indeterminate: " + err.Error(), Exception: err.Error()}
}
