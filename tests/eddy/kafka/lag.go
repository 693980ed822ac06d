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

// expiries is, per key, when each offset stopped being the log's last:
// offset i of key k "expires" when an op first shows that offset i (or a
// later one) exists. Each key's steps ascend in both offset and time.
type expiries map[string][]expiry

func (a *Analysis) expiries() expiries {
	expired := expiries{}
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
	return expired
}

// at returns when offset off of k expired, if it has.
func (e expiries) at(k string, off int64) (int64, bool) {
	steps := e[k]
	i := sort.Search(len(steps), func(i int) bool { return steps[i].hi >= off })
	if i == len(steps) {
		return 0, false
	}
	return steps[i].time, true
}

// realtimeLag finds Jepsen's worst realtime lag: each :ok poll lags, on
// every key its process holds (assigned keys, and every key it has polled
// since), by its invocation time minus the expiry of the offset after the
// highest one the process has seen there; the worst is the first greatest
// lag in history order. Jepsen lists every lag; only the worst is kept
// here, found per poll with a heap of each process's keys by expiry, so a
// process holding many keys costs no more than its polls' sizes.
func (a *Analysis) realtimeLag() {
	expired := a.expiries()
	procs := map[int64]*lagProc{}
	found := false
	for _, p := range a.ops {
		if p.op.Type != history.OK {
			continue
		}
		pr := procs[p.op.Process]
		if pr == nil {
			pr = &lagProc{cur: map[string]int64{}}
			procs[p.op.Process] = pr
		}
		switch p.op.F {
		case FAssign:
			next := map[string]int64{}
			if list, ok := p.op.Value.([]any); ok {
				for _, k := range list {
					if s, ok := k.(string); ok {
						if o, ok := pr.cur[s]; ok {
							next[s] = o
						} else {
							next[s] = -1
						}
					}
				}
			}
			pr.reset(next, expired)
		case FSubscribe:
			// Subscribed keys need not come back in polls: start afresh.
			pr.reset(map[string]int64{}, expired)
		case FPoll, FTxn:
			for k, o := range maxOffsets(p) {
				if old, ok := pr.cur[k]; !ok || o > old {
					pr.cur[k] = o
					pr.push(k, o, expired)
				}
			}
			if len(pr.cur) == 0 {
				continue
			}
			invTime := p.op.Time
			if iv := a.inv[p.op.Index]; iv != nil {
				invTime = iv.Time
			}
			l, ok := pr.worst(invTime)
			if !ok {
				if found {
					continue // a lag of 0 never beats an earlier worst
				}
				l = lag{key: pr.minKey()}
			}
			l.time, l.process = invTime, p.op.Process
			if !found || l.lag > a.worst.lag {
				a.worst, found = l, true
			}
		}
	}
	a.hasWorst = found
}

// lagProc is one process's view: its keys with the highest offset seen,
// and a heap of (expiry of the next offset, key) entries, stale ones
// dropped lazily.
type lagProc struct {
	cur  map[string]int64
	heap []lagEntry
}

type lagEntry struct {
	exp int64 // when offset off+1 expired
	key string
	off int64
}

func (e lagEntry) less(f lagEntry) bool {
	if e.exp != f.exp {
		return e.exp < f.exp
	}
	return e.key < f.key
}

func (pr *lagProc) reset(cur map[string]int64, expired expiries) {
	pr.cur, pr.heap = cur, pr.heap[:0]
	for k, o := range cur {
		pr.push(k, o, expired)
	}
}

// push adds k's entry when offset o+1 of k has expired; a key whose next
// offset never expires lags by 0 and needs none.
func (pr *lagProc) push(k string, o int64, expired expiries) {
	t, ok := expired.at(k, o+1)
	if !ok {
		return
	}
	pr.heap = append(pr.heap, lagEntry{exp: t, key: k, off: o})
	for i := len(pr.heap) - 1; i > 0; {
		up := (i - 1) / 2
		if !pr.heap[i].less(pr.heap[up]) {
			break
		}
		pr.heap[i], pr.heap[up] = pr.heap[up], pr.heap[i]
		i = up
	}
}

func (pr *lagProc) pop() {
	last := len(pr.heap) - 1
	pr.heap[0] = pr.heap[last]
	pr.heap = pr.heap[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(pr.heap) && pr.heap[l].less(pr.heap[m]) {
			m = l
		}
		if r < len(pr.heap) && pr.heap[r].less(pr.heap[m]) {
			m = r
		}
		if m == i {
			return
		}
		pr.heap[i], pr.heap[m] = pr.heap[m], pr.heap[i]
		i = m
	}
}

// worst is the poll's greatest positive lag (the earliest expiry, the
// smallest key among equal ones), or false when every key lags by 0.
func (pr *lagProc) worst(invTime int64) (lag, bool) {
	for len(pr.heap) > 0 {
		top := pr.heap[0]
		if pr.cur[top.key] != top.off {
			pr.pop() // stale: the process has since seen further
			continue
		}
		if invTime > top.exp {
			return lag{key: top.key, lag: invTime - top.exp}, true
		}
		return lag{}, false
	}
	return lag{}, false
}

func (pr *lagProc) minKey() string {
	first := true
	var m string
	for k := range pr.cur {
		if first || k < m {
			m, first = k, false
		}
	}
	return m
}

// worstLag is the :worst-realtime-lag result, in seconds: the first of the
// greatest lags, or {:time 0, :lag 0} when no poll completed.
func (a *Analysis) worstLag() *history.Map {
	if !a.hasWorst {
		return history.NewMap().Set("time", history.Float(0)).Set("lag", history.Float(0))
	}
	w := a.worst
	return history.NewMap().Set("time", secs(w.time)).Set("process", w.process).
		Set("key", w.key).Set("lag", secs(w.lag))
}

func secs(ns int64) history.Float { return history.Float(float64(ns) / 1e9) }
