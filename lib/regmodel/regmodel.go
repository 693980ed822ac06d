// Package regmodel is a porcupine model of Maelstrom's lin-kv workload: a
// compare-and-set register per key, reads, writes and cas with their
// definite error codes (20 key does not exist, 22 precondition failed),
// and operations of unknown outcome modelled as possibly applied. Tests of
// the lin-kv nodes check their histories with it.
package regmodel

import (
	"fmt"
	"maps"
	"slices"

	"github.com/anishathalye/porcupine"
)

// Operation functions.
const (
	Read  = "read"
	Write = "write"
	Cas   = "cas"
)

// Error codes the model checks.
const (
	KeyDoesNotExist    = 20
	PreconditionFailed = 22
)

// Input is an operation as invoked: F on Key, with Value (write) or From
// and To (cas).
type Input struct {
	Key      int64
	F        string
	Value    int64
	From, To int64
}

// Output is an operation's outcome: Unknown (timed out or an indefinite
// error: it may or may not have taken effect), or Code (0 for ok, else 20
// or 22) with, for a read, Value.
type Output struct {
	Unknown bool
	Code    int64
	Value   int64
}

// state is one key's register.
type state struct {
	exists bool
	value  int64
}

// apply runs in on s: the next state, the code and the value read.
func apply(s state, in Input) (state, int64, int64) {
	switch in.F {
	case Read:
		if !s.exists {
			return s, KeyDoesNotExist, 0
		}
		return s, 0, s.value
	case Write:
		return state{exists: true, value: in.Value}, 0, 0
	case Cas:
		switch {
		case !s.exists:
			return s, KeyDoesNotExist, 0
		case s.value != in.From:
			return s, PreconditionFailed, 0
		}
		return state{exists: true, value: in.To}, 0, 0
	}
	return s, -1, 0 // an unknown function matches no outcome
}

// Model is the model, its history partitioned by key. An operation of
// unknown outcome is taken as applied where it is linearized; its caller
// gives it a return time after every other operation's, so the checker may
// also place it last, where it changes nothing: it may or may not have
// happened.
func Model() porcupine.Model {
	return porcupine.Model{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			by := map[int64][]porcupine.Operation{}
			for _, op := range h {
				k := op.Input.(Input).Key
				by[k] = append(by[k], op)
			}
			var out [][]porcupine.Operation
			for _, k := range slices.Sorted(maps.Keys(by)) {
				out = append(out, by[k])
			}
			return out
		},
		Init: func() any { return state{} },
		Step: func(st, input, output any) (bool, any) {
			s, in, out := st.(state), input.(Input), output.(Output)
			next, code, val := apply(s, in)
			if out.Unknown {
				return true, next
			}
			return code == out.Code && (in.F != Read || code != 0 || val == out.Value), next
		},
		DescribeOperation: func(in, out any) string {
			return fmt.Sprintf("%+v -> %+v", in, out)
		},
	}
}
