package paxos

import (
	"fmt"
	"maps"
)

// Error codes in replies, Maelstrom's: all definite, the operation surely
// did not change the register.
const (
	CodeOK                 int64 = 0
	CodeUnavailable        int64 = 11 // no quorum in time, or the queue is full
	CodeKeyDoesNotExist    int64 = 20
	CodePreconditionFailed int64 = 22
)

// State is one register's value plus the bookkeeping that makes retries
// exact. States are immutable once built: a change returns a new one, so a
// state may be shared between messages and acceptors.
type State struct {
	Exists bool  `json:"exists,omitempty"`
	Value  int64 `json:"value,omitempty"`
	// Applied maps a proposer to the tag (a ballot counter of its own) of
	// its latest batch of operations applied in this state's history, and
	// Results to that batch's outcomes: a proposer unsure whether its batch
	// went in reads both here.
	Applied map[string]int64    `json:"applied,omitempty"`
	Results map[string][]Result `json:"results,omitempty"`
}

// String is a compact form for traces: "3" or "absent", plus the tags.
func (s State) String() string {
	v := "absent"
	if s.Exists {
		v = fmt.Sprint(s.Value)
	}
	return fmt.Sprintf("%s%v", v, s.Applied)
}

// Op kinds.
const (
	OpRead  = "read"
	OpWrite = "write"
	OpCas   = "cas"
)

// Op is a client operation and, in a reply, its outcome. ID is the
// caller's own handle for it (the core never reads it).
type Op struct {
	ID    int64  `json:"id,omitempty"`
	F     string `json:"f"`
	Value int64  `json:"value,omitempty"` // write's value; a read's result
	From  int64  `json:"from,omitempty"`  // cas
	To    int64  `json:"to,omitempty"`    // cas
	Code  int64  `json:"code,omitempty"`  // reply: CodeOK or an error code
	// Src and Req name the client request behind the operation (Maelstrom
	// client id and msg_id; Core.Command sets them): its outcome answers
	// that request, from whichever node gets the operation chosen.
	Src string `json:"src,omitempty"`
	Req int64  `json:"req,omitempty"`
}

// validOp reports whether op is an operation the register understands.
func validOp(op Op) bool {
	switch op.F {
	case OpRead, OpWrite, OpCas:
		return true
	}
	return false
}

// Result is one operation's outcome.
type Result struct {
	Code  int64 `json:"code,omitempty"`
	Value int64 `json:"value,omitempty"` // a successful read's value
}

// apply runs op on s and returns the new state (s itself when op changes
// nothing) and the outcome. It never mutates s.
func apply(s State, op Op) (State, Result) {
	switch op.F {
	case OpRead:
		if !s.Exists {
			return s, Result{Code: CodeKeyDoesNotExist}
		}
		return s, Result{Value: s.Value}
	case OpWrite:
		n := s
		n.Exists, n.Value = true, op.Value
		return n, Result{}
	case OpCas:
		switch {
		case !s.Exists:
			return s, Result{Code: CodeKeyDoesNotExist}
		case s.Value != op.From:
			return s, Result{Code: CodePreconditionFailed}
		}
		n := s
		n.Value = op.To
		return n, Result{}
	}
	panic(fmt.Sprintf("paxos: apply of unvalidated op %q", op.F))
}

// applyBatch runs ops in order on s, then records them as proposer's
// batch tag, with their outcomes. It never mutates s.
func applyBatch(s State, ops []Op, proposer string, tag int64) (State, []Result) {
	res := make([]Result, len(ops))
	for i, op := range ops {
		s, res[i] = apply(s, op)
	}
	applied := maps.Clone(s.Applied)
	if applied == nil {
		applied = map[string]int64{}
	}
	applied[proposer] = tag
	results := maps.Clone(s.Results)
	if results == nil {
		results = map[string][]Result{}
	}
	results[proposer] = res
	s.Applied, s.Results = applied, results
	return s, res
}
