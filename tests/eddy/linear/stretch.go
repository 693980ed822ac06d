package linear

import (
	"fmt"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// stretch is a window of a key's history that is non-linearizable on its
// own: the operations invoked from history index from up to index to,
// where the operation completing at to cannot be linearized.
//
// A window is judged soundly: operations completed before from are
// dropped, operations still running at from (or never completing) are
// treated as indeterminate, reads completing after to are dropped, and
// unless the window starts at the beginning of the history the register's
// value at from is left unknown. Any linearization of the whole key would
// give one of the window, so a non-linearizable window proves the key
// non-linearizable, and says where to look.
type stretch struct {
	from, to  int64
	fromStart bool // the window begins with the history, from nil
	ops       []keyOp
	complete  bool // false when the budget ran out before the search ended
}

// window cuts the operations of [from, to]; fromStart keeps everything
// invoked up to to.
func (kh *keyHistory) window(from, to int64, fromStart bool, end int64) []keyOp {
	var out []keyOp
	for _, op := range kh.ops {
		if op.call > to {
			continue
		}
		running := op.ret > to // still running at the cut
		if !fromStart && op.call < from {
			if op.ret < from {
				continue
			}
			running = true // straddles the start: its effect is unknown
		}
		if running {
			if op.in.f == fRead {
				continue
			}
			op.in.info, op.ret = true, end
		}
		out = append(out, op)
	}
	return out
}

// shortestStretch narrows a non-linearizable key down: the earliest
// completion at which the history stops being linearizable, then the
// latest start from which the window up to it still is not.
func (kh *keyHistory) shortestStretch(m porcupine.Model, end int64, budget time.Duration) stretch {
	deadline := time.Now().Add(budget)
	st := stretch{from: kh.ops[0].call, to: end, fromStart: true, complete: true}
	illegal := func(from, to int64, fromStart bool) (bool, bool) {
		left := time.Until(deadline)
		if left <= 0 {
			return false, false
		}
		mm := m
		if !fromStart {
			mm.Init = func() any { return unknownState }
		}
		r := porcupine.CheckOperationsTimeout(mm, kh.operations(kh.window(from, to, fromStart, end)), left)
		return r == porcupine.Illegal, r != porcupine.Unknown
	}
	var rets []int64
	for _, op := range kh.ops {
		if op.ret < end {
			rets = append(rets, op.ret)
		}
	}
	slices.Sort(rets)
	rets = slices.Compact(rets)
	// Smallest prefix that is illegal: rets[hi] is known illegal (the
	// whole key is), unless there is no completion at all.
	lo, hi := 0, len(rets)-1
	if hi < 0 {
		st.ops = kh.ops
		return st
	}
	for lo < hi {
		mid := (lo + hi) / 2
		bad, decided := illegal(0, rets[mid], true)
		if !decided {
			st.complete = false
			break
		}
		if bad {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	st.to = rets[hi]
	// Latest start that keeps the window illegal with an unknown start.
	var calls []int64
	for _, op := range kh.ops {
		if op.call <= st.to {
			calls = append(calls, op.call)
		}
	}
	slices.Sort(calls)
	calls = slices.Compact(calls)
	if bad, decided := illegal(calls[0], st.to, false); !bad || !decided {
		st.complete = st.complete && decided
		st.ops = kh.window(0, st.to, true, end)
		return st
	}
	lo, hi = 0, len(calls)-1 // calls[lo] is known illegal
	for lo < hi {
		mid := (lo + hi + 1) / 2
		bad, decided := illegal(calls[mid], st.to, false)
		if !decided {
			st.complete = false
			break
		}
		if bad {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	st.from, st.fromStart = calls[lo], false
	st.ops = kh.window(st.from, st.to, false, end)
	return st
}

// maxStretchOps bounds the operations a result lists.
const maxStretchOps = 24

func (st stretch) result(kh *keyHistory) *history.Map {
	m := history.NewMap().Set("from-index", st.from).Set("to-index", st.to).
		Set("op-count", int64(len(st.ops)))
	if st.fromStart {
		m.Set("initial-value", nil)
	} else {
		m.Set("initial-value", history.Keyword("unknown"))
	}
	if !st.complete {
		m.Set("minimal?", false)
	}
	var ops []any
	for _, op := range st.ops[:min(len(st.ops), maxStretchOps)] {
		o := op.cmp
		if o == nil {
			o = op.inv
		}
		ops = append(ops, checker.OpMap(o))
	}
	return m.Set("ops", ops)
}

func (st stretch) explain(kh *keyHistory) string {
	start := "whatever the register held then"
	if st.fromStart {
		start = "starting from nil"
	}
	return fmt.Sprintf("key %d: the %d operations invoked between history indices %d and %d cannot be linearized as a compare-and-set register (%s); the history stops being linearizable when the operation completing at index %d returns",
		kh.key, len(st.ops), st.from, st.to, start, st.to)
}

func render(v any) string {
	b, err := edn.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
