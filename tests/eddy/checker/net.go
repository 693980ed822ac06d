package checker

import (
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// Net is Maelstrom's network statistics checker (maelstrom-spec.md 3.5):
//
//	{:all     {:send-count :recv-count :msg-count :msgs-per-op}
//	 :clients {:send-count :recv-count :msg-count}
//	 :servers {:send-count :recv-count :msg-count :msgs-per-op}
//	 :valid? true}
//
// :clients counts events with a client (an id starting with "c") at either
// end, :servers everything else (node-node and node-service traffic).
// :msg-count is the number of distinct message ids, so a message dropped by
// a partition or still queued at the end counts once although it has no
// recv. :msgs-per-op = msg-count / client invocations in h (all of them,
// reads and final reads included); omitted when there are none.
func Net(events []journal.Event, h history.History) *history.Map {
	type stats struct {
		send, recv int64
		ids        idSet
	}
	var maxID int64 = -1
	for i := range events {
		maxID = max(maxID, events[i].ID)
	}
	all := stats{ids: newIDSet(maxID, len(events))}
	clients := stats{ids: newIDSet(maxID, len(events))}
	servers := stats{ids: newIDSet(maxID, len(events))}
	for i := range events {
		e := &events[i]
		part := &servers
		if e.ClientTraffic() {
			part = &clients
		}
		for _, s := range []*stats{&all, part} {
			if e.Kind == journal.Send {
				s.send++
			} else {
				s.recv++
			}
			s.ids.add(e.ID)
		}
	}
	var ops int64
	for i := range h {
		if h[i].IsClient() && h[i].Type == history.Invoke {
			ops++
		}
	}
	row := func(s *stats, perOp bool) *history.Map {
		m := history.NewMap().
			Set("send-count", s.send).
			Set("recv-count", s.recv).
			Set("msg-count", s.ids.n)
		if perOp && ops > 0 {
			m.Set("msgs-per-op", javaFloat(float64(s.ids.n)/float64(ops)))
		}
		return m
	}
	return history.NewMap().
		Set("all", row(&all, true)).
		Set("clients", row(&clients, false)).
		Set("servers", row(&servers, true)).
		Set("valid?", true)
}

// idSet counts distinct message ids: a bitset when ids are dense (the
// network numbers messages from 0), a map otherwise.
type idSet struct {
	bits  []uint64
	other map[int64]struct{}
	n     int64
}

// newIDSet sizes the bitset for ids up to maxID when that is not much more
// than the number of events, so a stray huge id cannot allocate gigabytes.
func newIDSet(maxID int64, events int) idSet {
	if maxID >= 0 && maxID < 4*int64(events)+(1<<16) {
		return idSet{bits: make([]uint64, maxID/64+1)}
	}
	return idSet{other: map[int64]struct{}{}}
}

func (s *idSet) add(id int64) {
	if id >= 0 && id/64 < int64(len(s.bits)) {
		w, b := id/64, uint64(1)<<(uint64(id)%64)
		if s.bits[w]&b == 0 {
			s.bits[w] |= b
			s.n++
		}
		return
	}
	if s.other == nil {
		s.other = map[int64]struct{}{}
	}
	if _, ok := s.other[id]; !ok {
		s.other[id] = struct{}{}
		s.n++
	}
}
