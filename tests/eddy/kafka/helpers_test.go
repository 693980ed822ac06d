package kafka

import (
	"maelkit/tests/eddy/history"
)

const (
	ok   = history.OK
	fail = history.Fail
	info = history.Info
)

// hb builds kafka histories by hand. Each call appends events; start and
// end let ops overlap.
type hb struct {
	h    history.History
	full map[int64]history.Op // process -> pending completion
}

func newHB() *hb { return &hb{full: map[int64]history.Op{}} }

func (b *hb) push(op history.Op) {
	op.Index = int64(len(b.h))
	op.Time = op.Index * 1_000_000
	b.h = append(b.h, op)
}

// start invokes an op on p whose completion (given to end) will carry done.
func (b *hb) start(p int64, f string, inv, done any) *hb {
	b.push(history.Op{Type: history.Invoke, Process: p, F: f, Value: inv})
	b.full[p] = history.Op{Process: p, F: f, Value: done}
	return b
}

// end completes p's pending op with type t; a :fail or :info completion
// keeps the invocation's value, as Maelstrom's client does.
func (b *hb) end(p int64, t history.Type) *hb {
	op := b.full[p]
	delete(b.full, p)
	op.Type = t
	if t != history.OK {
		for i := len(b.h) - 1; i >= 0; i-- {
			if b.h[i].Process == p && b.h[i].Type == history.Invoke {
				op.Value = b.h[i].Value
				break
			}
		}
		if t == history.Info {
			op.Error = history.Keyword("net-timeout")
		}
	}
	b.push(op)
	return b
}

func kw(s string) history.Keyword { return history.Keyword(s) }

func sendInv(k string, msg int64) any { return []any{[]any{kw("send"), k, msg}} }

func sendOK(k string, off, msg int64) any { return []any{[]any{kw("send"), k, []any{off, msg}}} }

// pm builds a poll result: alternating key and [][2]int64 pairs.
func pm(kvs ...any) *history.Map {
	m := history.NewMap()
	m.String = true
	for i := 0; i < len(kvs); i += 2 {
		ps, _ := kvs[i+1].([][2]int64)
		l := make([]any, len(ps))
		for j, p := range ps {
			l[j] = []any{p[0], p[1]}
		}
		m.Set(kvs[i].(string), l)
	}
	return m
}

func pollInv() any { return []any{[]any{kw("poll")}} }

func pollOK(m *history.Map) any { return []any{[]any{kw("poll"), m}} }

// startSend / startPoll begin ops that end completes.
func (b *hb) startSend(p int64, k string, off, msg int64) *hb {
	return b.start(p, FSend, sendInv(k, msg), sendOK(k, off, msg))
}

func (b *hb) startPoll(p int64, m *history.Map) *hb {
	return b.start(p, FPoll, pollInv(), pollOK(m))
}

// send runs a send to completion at once.
func (b *hb) send(p int64, t history.Type, k string, off, msg int64) *hb {
	return b.startSend(p, k, off, msg).end(p, t)
}

// poll runs a poll to completion at once.
func (b *hb) poll(p int64, m *history.Map) *hb { return b.startPoll(p, m).end(p, ok) }

// assign runs an :ok assign of keys.
func (b *hb) assign(p int64, keys ...string) *hb {
	v := make([]any, len(keys))
	for i, k := range keys {
		v[i] = k
	}
	return b.start(p, FAssign, v, v).end(p, ok)
}

// sends sends messages 1..n to k at offsets 0..n-1 from process p.
func (b *hb) sends(p int64, k string, n int64) *hb {
	for i := int64(0); i < n; i++ {
		b.send(p, ok, k, i, i+1)
	}
	return b
}

// seq is the pairs [off, off+1] for offsets from..to.
func seq(from, to int64) [][2]int64 {
	var out [][2]int64
	for o := from; o <= to; o++ {
		out = append(out, [2]int64{o, o + 1})
	}
	return out
}

// pmv is a poll result of one key with one [offset msg] of any message.
func pmv(k string, off int64, msg any) *history.Map {
	m := history.NewMap()
	m.String = true
	m.Set(k, []any{[]any{off, msg}})
	return m
}
