package store

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// bigHistory is n ops shaped like a txn-list-append run: an invoke and a
// completion per op, micro-op vectors as values.
func bigHistory(n int) history.History {
	h := make(history.History, n)
	for i := range h {
		op := &h[i]
		op.Index = int64(i)
		op.Time = int64(i) * 1_000_123
		op.Process = int64(i/2) % 10
		op.F = "txn"
		if i%2 == 0 {
			op.Type = history.Invoke
			op.Value = []any{[]any{history.Keyword("append"), int64(i % 7), int64(i)}, []any{history.Keyword("r"), int64(i % 5), nil}}
		} else {
			op.Type = history.OK
			op.Value = []any{[]any{history.Keyword("append"), int64(i % 7), int64(i)}, []any{history.Keyword("r"), int64(i % 5), history.JSON(`[1,2,3]`)}}
		}
	}
	return h
}

func BenchmarkWriteHistory1M(b *testing.B) {
	h := bigHistory(1_000_000)
	r, err := Create(b.TempDir(), "txn-list-append", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ResetTimer()
	for range b.N {
		if err := r.WriteHistory(h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(h)), "ns/event")
}

func BenchmarkWriteJournal1M(b *testing.B) {
	events := make([]journal.Event, 1_000_000)
	for i := range events {
		events[i] = journal.Event{Time: int64(i) * 1000, Kind: journal.Kind(i % 2), ID: int64(i / 2),
			Src: "n1", Dest: fmt.Sprintf("n%d", i%5),
			Body: json.RawMessage(fmt.Sprintf(`{"type":"gossip","msg_id":%d,"values":[1,2,3,%d]}`, i, i))}
	}
	r, err := Create(b.TempDir(), "broadcast", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ResetTimer()
	for range b.N {
		if err := r.WriteJournal(events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
}
