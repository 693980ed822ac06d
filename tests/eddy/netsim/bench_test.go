package netsim

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

var benchBody = body(`{"type":"broadcast","message":12345,"msg_id":17}`)

// BenchmarkSendRecv measures the network's CPU per delivered message: one
// send plus one receive per op, zero latency, round-robin over participants.
// It includes the journal (two events per message).
func BenchmarkSendRecv(b *testing.B) {
	for _, participants := range []int{2, 25} {
		b.Run(fmt.Sprintf("participants=%d", participants), func(b *testing.B) {
			n, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, participants)
			for i := range ids {
				ids[i] = fmt.Sprintf("n%d", i)
				if err := n.Add(ids[i]); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				src, dest := ids[i%participants], ids[(i+1)%participants]
				if _, err := n.Send(src, dest, benchBody); err != nil {
					b.Fatal(err)
				}
				if _, err := n.Recv(ctx, dest); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSendRecvConcurrent has one blocked delivery goroutine per
// participant, as eddy runs it, and one sender; it includes the wake-ups.
func BenchmarkSendRecvConcurrent(b *testing.B) {
	const participants = 8
	n, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, participants+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i)
		if err := n.Add(ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	done := make(chan struct{}, participants)
	for _, id := range ids[1:] {
		wg.Go(func() {
			for {
				if _, err := n.Recv(ctx, id); err != nil {
					return
				}
				done <- struct{}{}
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := n.Send(ids[0], ids[1+i%participants], benchBody); err != nil {
				panic(err)
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		<-done
	}
	b.StopTimer()
	cancel()
	wg.Wait()
}

// BenchmarkQueued measures memory per queued (not yet delivered) message.
func BenchmarkQueued(b *testing.B) {
	n, err := New(Config{LatencyMs: 1000})
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range []string{"n1", "n2"} {
		if err := n.Add(id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := n.Send("n1", "n2", benchBody); err != nil {
			b.Fatal(err)
		}
	}
}
