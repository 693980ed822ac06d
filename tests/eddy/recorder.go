package eddy

import (
	"sync"
	"sync/atomic"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/workload"
)

// recorder appends events to the history from many goroutines, stamping
// each with its index and its time since the test started. It also keeps
// the counts the progress line shows.
type recorder struct {
	start time.Time

	mu sync.Mutex
	h  history.History

	ok, fail, info atomic.Int64
}

func newRecorder(start time.Time) *recorder { return &recorder{start: start} }

func (r *recorder) add(op history.Op) {
	r.mu.Lock()
	op.Index = int64(len(r.h))
	op.Time = int64(time.Since(r.start))
	r.h = append(r.h, op)
	r.mu.Unlock()
}

func (r *recorder) invoke(process int64, op workload.Op) {
	r.add(history.Op{Type: history.Invoke, Process: process, F: op.F, Value: op.Value, Final: op.Final})
}

func (r *recorder) complete(process int64, op workload.Op, out workload.Outcome) {
	switch out.Type {
	case history.OK:
		r.ok.Add(1)
	case history.Fail:
		r.fail.Add(1)
	default:
		r.info.Add(1)
	}
	r.add(history.Op{Type: out.Type, Process: process, F: op.F, Value: out.Value,
		Error: out.Error, Exception: out.Exception, Final: op.Final})
}

// history returns a copy of the events so far.
func (r *recorder) history() history.History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(history.History(nil), r.h...)
}
