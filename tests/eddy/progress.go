package eddy

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// status is what the progress line shows.
type status struct {
	deadline atomic.Int64 // unix ns when the main phase ends
	phase    atomic.Value // string, after the main phase
}

func (r *runner) setDeadline(t time.Time) { r.status.deadline.Store(t.UnixNano()) }
func (r *runner) setPhase(p string)       { r.status.phase.Store(p) }

// progress prints a status line every second until the returned stop is
// called: elapsed / time limit, ops ok / fail / info, messages, partition.
func (r *runner) progress() (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	// On a terminal the line rewrites itself every second; into a file or a
	// pipe (CI logs) a plain line every 5 s keeps the log readable.
	tty := isTerminal(r.o.Progress)
	every := 5 * time.Second
	if tty {
		every = time.Second
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprintln(r.o.Progress)
				}
				return
			case <-tk.C:
				if tty {
					fmt.Fprintf(r.o.Progress, "\r\033[K%s", r.statusLine())
				} else {
					fmt.Fprintln(r.o.Progress, r.statusLine())
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (r *runner) statusLine() string {
	var b strings.Builder
	elapsed := time.Since(r.start).Truncate(time.Second)
	if p, ok := r.status.phase.Load().(string); ok {
		fmt.Fprintf(&b, "[%v %s]", elapsed, p)
	} else if d := r.status.deadline.Load(); d > 0 {
		left := time.Until(time.Unix(0, d)).Truncate(time.Second)
		fmt.Fprintf(&b, "[%v, %v left of %v]", elapsed, max(left, 0), r.o.TimeLimit)
	} else {
		fmt.Fprintf(&b, "[%v setup]", elapsed)
	}
	fmt.Fprintf(&b, " ops %d ok / %d fail / %d info", r.rec.ok.Load(), r.rec.fail.Load(), r.rec.info.Load())
	sent, delivered, dropped := r.net.Stats()
	fmt.Fprintf(&b, " · msgs %d sent, %d delivered, %d dropped", sent, delivered, dropped)
	if g := r.net.Grudge(); len(g) > 0 {
		keys := make([]string, 0, len(g))
		for k, v := range g {
			if len(v) > 0 {
				keys = append(keys, fmt.Sprintf("%s✗%s", k, strings.Join(v, ",")))
			}
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, " · partition %s", strings.Join(keys, " "))
	}
	return b.String()
}

// testRecord is test.json: the options as given and resolved, with the seed.
func (r *runner) testRecord() map[string]any {
	o := r.o
	return map[string]any{
		"workload": o.Workload, "bin": o.Bin, "args": o.Args, "nodes": r.res.nodes,
		"concurrency": r.res.concurrency, "time-limit-s": o.TimeLimit.Seconds(), "rate": o.Rate,
		"latency-ms": o.LatencyMs, "latency-dist": o.LatencyDist, "nemesis": o.Nemesis,
		"nemesis-interval-s": o.NemesisInterval.Seconds(), "topology": o.Topology,
		"availability": o.Availability, "seed": r.seed, "recovery-s": o.Recovery.Seconds(),
		"start": r.start.Format(time.RFC3339Nano),
		// What eddy analyze needs to run the same checkers again.
		"consistency-models": o.ConsistencyModels, "key-count": o.KeyCount, "max-txn-length": o.MaxTxnLength,
		"max-writes-per-key": o.MaxWritesPerKey, "strict": o.Strict,
		// eddy's own faults.
		"partition-shapes": o.PartitionShapes, "kill-wipes-disk": o.KillWipesDisk,
		"loss-rate": o.LossRate, "duplicate-rate": o.DuplicateRate,
	}
}
