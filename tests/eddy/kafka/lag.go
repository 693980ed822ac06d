package kafka

import (
	"sort"

	"maelkit/tests/eddy/history"
)

// unseenState is the last entry of Jepsen's unseen series: per key, the
// messages :ok sends acknowledged that no :ok poll returned by the end.
type unseenState struct {
	time     int64
	messages map[string]map[string]bool
}

// computeUnseen follows Jepsen's unseen fold over :ok sends and polls. A
// key whose first appearance is in the last op's poll, with no :ok send
// before, counts its polled messages as unseen, as Jepsen's map merge does.
func (a *Analysis) computeUnseen() {
	unseen := map[string]map[string]bool{} // keys ever sent (Jepsen's sent map)
	polled := map[string]map[string]bool{}
	var transient []string // keys added by a poll alone, dropped at the next op
	var last *history.Op
	for _, p := range a.ops {
		if p.op.Type != history.OK || !dataOp(p.op.F) {
			continue
		}
		last = p.op
		for _, k := range transient {
			unseen[k] = map[string]bool{}
		}
		transient = transient[:0]
		for _, w := range p.writes {
			if unseen[w.key] == nil {
				unseen[w.key] = map[string]bool{}
			}
			for _, x := range w.pairs {
				if !polled[w.key][x.id] {
					unseen[w.key][x.id] = true
				}
			}
		}
		for _, r := range p.reads {
			if polled[r.key] == nil {
				polled[r.key] = map[string]bool{}
			}
			for _, x := range r.pairs {
				polled[r.key][x.id] = true
			}
		}
		for _, r := range p.reads {
			if s, ok := unseen[r.key]; ok {
				for _, x := range r.pairs {
					delete(s, x.id)
				}
				continue
			}
			s := map[string]bool{}
			for v := range polled[r.key] {
				s[v] = true
			}
			unseen[r.key] = s
			transient = append(transient, r.key)
		}
	}
	if last == nil {
		return
	}
	a.unseen = &unseenState{time: last.Time, messages: unseen}
	for _, k := range sortedKeys(unseen) {
		if len(unseen[k]) > 0 {
			a.add("unseen", &Case{})
			return
		}
	}
}

// unseenMap is the :unseen result: {:time t, :unseen {k n}, :messages {k
// (first 32 unseen messages, sorted)}}.
func (a *Analysis) unseenMap() *history.Map {
	counts := history.NewMap()
	counts.String = true
	msgs := history.NewMap()
	msgs.String = true
	for _, k := range sortedKeys(a.unseen.messages) {
		s := a.unseen.messages[k]
		if len(s) == 0 {
			continue
		}
		counts.Set(k, int64(len(s)))
		vs := make([]any, 0, len(s))
		for id := range s {
			vs = append(vs, a.values[id])
		}
		sortValues(vs)
		msgs.Set(k, history.List(vs[:min(len(vs), 32)]))
	}
	return history.NewMap().Set("time", a.unseen.time).Set("unseen", counts).Set("messages", msgs)
}

// lag is one realtime-lag measurement: how long before the invocation of
// a poll the highest offset it (or its process earlier) had seen of key
// stopped being the log's last.
type lag struct {
	time    int64 // the poll's invocation time
	process int64
	key     string
	lag     int64
}

// expiry is one step of a key's expiry: offsets up to hi were known to
// exist from time on.
type expiry struct{ hi, time int64 }

// maxOffsets is Jepsen's op->max-offsets for an :ok or :info op: per key,
// the highest offset it sent or polled (-1 for a key polled empty).
func maxOffsets(p *parsed) map[string]int64 {
	if p.op.Type != history.OK && p.op.Type != history.Info {
		return nil
	}
	out := map[string]int64{}
	for _, r := range p.reads {
		m := int64(-1)
		for _, x := range r.pairs {
			if x.hasOffset && x.offset > m {
				m = x.offset
			}
		}
		if old, ok := out[r.key]; !ok || m > old {
			out[r.key] = m
		}
	}
	for _, w := range p.writes {
		for _, x := range w.pairs {
			if !x.hasOffset {
				continue
			}
			if old, ok := out[w.key]; !ok || x.offset > old {
				out[w.key] = x.offset
			}
		}
	}
	return out
}

// realtimeLag is Jepsen's realtime-lag: offset i of key k "expires" when
// an op first shows that offset i (or a later one) exists; a poll that,
// with everything its process polled of k since assigning it, has seen up
// to offset o lags by its invocation time minus the expiry of offset o+1.
func (a *Analysis) realtimeLag() {
	expired := map[string][]expiry{}
	for _, p := range a.ops {
		for k, o := range maxOffsets(p) {
			steps := expired[k]
			hi := int64(-1)
			if len(steps) > 0 {
				hi = steps[len(steps)-1].hi
			}
			if o > hi {
				expired[k] = append(steps, expiry{hi: o, time: p.op.Time})
			}
		}
	}
	expiredAt := func(k string, off int64) (int64, bool) {
		steps := expired[k]
		i := sort.Search(len(steps), func(i int) bool { return steps[i].hi >= off })
		if i == len(steps) {
			return 0, false
		}
		return steps[i].time, true
	}
	offsets := map[int64]map[string]int64{}
	for _, p := range a.ops {
		if p.op.Type != history.OK {
			continue
		}
		switch p.op.F {
		case FAssign:
			old := offsets[p.op.Process]
			next := map[string]int64{}
			if list, ok := p.op.Value.([]any); ok {
				for _, k := range list {
					if s, ok := k.(string); ok {
						if o, ok := old[s]; ok {
							next[s] = o
						} else {
							next[s] = -1
						}
					}
				}
			}
			offsets[p.op.Process] = next
		case FSubscribe:
			// Subscribed keys need not come back in polls: start afresh.
			offsets[p.op.Process] = map[string]int64{}
		case FPoll, FTxn:
			cur := offsets[p.op.Process]
			if cur == nil {
				cur = map[string]int64{}
				offsets[p.op.Process] = cur
			}
			for k, o := range maxOffsets(p) {
				if old, ok := cur[k]; !ok || o > old {
					cur[k] = o
				}
			}
			invTime := p.op.Time
			if iv := a.inv[p.op.Index]; iv != nil {
				invTime = iv.Time
			}
			for _, k := range sortedKeys(cur) {
				l := int64(0)
				if t, ok := expiredAt(k, cur[k]+1); ok {
					l = max(invTime-t, 0)
				}
				a.lags = append(a.lags, lag{time: invTime, process: p.op.Process, key: k, lag: l})
			}
		}
	}
}

// worstLag is the :worst-realtime-lag result, in seconds: the first of the
// greatest lags, or {:time 0, :lag 0} when no poll completed.
func (a *Analysis) worstLag() *history.Map {
	if len(a.lags) == 0 {
		return history.NewMap().Set("time", history.Float(0)).Set("lag", history.Float(0))
	}
	w := a.lags[0]
	for _, l := range a.lags[1:] {
		if l.lag > w.lag {
			w = l
		}
	}
	return history.NewMap().Set("time", secs(w.time)).Set("process", w.process).
		Set("key", w.key).Set("lag", secs(w.lag))
}

func secs(ns int64) history.Float { return history.Float(float64(ns) / 1e9) }
