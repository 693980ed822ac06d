package eddy

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkWake measures how late the client schedule wakes for an op: one
// wait per op, for a gap drawn as at --rate 1000 (uniform below 2 ms), with
// eddy's waitUntil and with a plain Go timer (sleepUntil). It reports the
// mean lateness (late-ns) and the op rate the waits alone would allow
// (ops/s), which under Jepsen's stagger is 1 / (1 ms + the mean lateness).
func BenchmarkWake(b *testing.B) {
	for _, c := range []struct {
		name string
		wait func(context.Context, time.Time) bool
	}{{"waitUntil", waitUntil}, {"timer", sleepUntil}} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			ctx := context.Background()
			var late, gaps time.Duration
			for range b.N {
				gap := time.Duration(r.Float64() * float64(2*time.Millisecond))
				at := time.Now().Add(gap)
				c.wait(ctx, at)
				late += time.Since(at)
				gaps += gap
			}
			b.ReportMetric(float64(late.Nanoseconds())/float64(b.N), "late-ns")
			b.ReportMetric(float64(b.N)/(gaps+late).Seconds(), "ops/s")
		})
	}
}
