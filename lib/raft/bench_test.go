package raft

import "testing"

// BenchmarkCommit measures the core's cost per committed entry in a
// three-node cluster with synchronous delivery: propose, replicate,
// acknowledge, commit, apply, for one entry at a time.
func BenchmarkCommit(b *testing.B) {
	nw := newNetwork(&testing.T{}, 3, nil)
	nw.noLog = true
	nw.campaign("a")
	a := nw.peers["a"]
	data := []byte("payload")
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Propose(data)
		nw.stabilize()
		nw.log = nw.log[:0]
		if len(nw.applied["a"]) > 1024 {
			for _, id := range nw.ids {
				nw.applied[id] = nw.applied[id][:0]
				r := nw.peers[id]
				_ = r.Compact(r.log.applied, nil)
			}
		}
	}
}

// BenchmarkCommitBatch64: the same with 64 entries per proposal (the node
// batches every request of a loop turn), reported per entry.
func BenchmarkCommitBatch64(b *testing.B) {
	nw := newNetwork(&testing.T{}, 3, nil)
	nw.noLog = true
	nw.campaign("a")
	a := nw.peers["a"]
	ents := make([]Entry, 64)
	for i := range ents {
		ents[i] = Entry{Data: []byte("payload")}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Step(Message{Type: MsgProp, Entries: ents})
		nw.stabilize()
		nw.log = nw.log[:0]
		for _, id := range nw.ids {
			nw.applied[id] = nw.applied[id][:0]
			r := nw.peers[id]
			_ = r.Compact(r.log.applied, nil)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/entry")
}
