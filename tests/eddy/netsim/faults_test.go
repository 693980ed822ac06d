package netsim

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/journal"
)

// kinds counts journal events per message id: sends and receives.
func kinds(n *Net) map[int64][2]int {
	out := map[int64][2]int{}
	for _, e := range n.Journal() {
		c := out[e.ID]
		if e.Kind == journal.Send {
			c[0]++
		} else {
			c[1]++
		}
		out[e.ID] = c
	}
	return out
}

func TestDownNodeDropsMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 10}, "n1", "n2", "c1")
		// Queued before the kill: lost with the node's queue.
		_, err := n.Send("n1", "n2", body(`"before"`))
		require.NoError(t, err)
		require.NoError(t, n.SetDown("n2", true))
		// Sent while it is down, by a node and by a client: journaled as
		// sent, never delivered.
		_, err = n.Send("n1", "n2", body(`"while down"`))
		require.NoError(t, err)
		_, err = n.Send("c1", "n2", body(`"client"`))
		require.NoError(t, err)
		time.Sleep(time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err = n.Recv(ctx, "n2")
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "nothing to deliver to a dead node")

		// Restarted: a fresh queue, new messages flow.
		require.NoError(t, n.SetDown("n2", false))
		_, err = n.Send("n1", "n2", body(`"after"`))
		require.NoError(t, err)
		m := recvAll(t, n, "n2", 1)[0]
		require.JSONEq(t, `"after"`, string(m.Body))

		sent, delivered, dropped := n.Stats()
		require.Equal(t, [3]int64{4, 1, 3}, [3]int64{sent, delivered, dropped})
		k := kinds(n)
		for id := range int64(3) {
			require.Equal(t, [2]int{1, 0}, k[id], "message %d: sent, never received", id)
		}
		require.Equal(t, [2]int{1, 1}, k[3])
		require.Error(t, n.SetDown("n9", true))
	})
}

// TestDownDropsATakenMessage: a receiver waiting for a message's deadline
// when the node goes down and gives up (its process was killed) does not
// put the message back.
func TestDownDropsATakenMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 100}, "n1", "n2")
		_, err := n.Send("n1", "n2", body(`1`))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := n.Recv(ctx, "n2")
			done <- err
		}()
		synctest.Wait()
		require.NoError(t, n.SetDown("n2", true))
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		require.NoError(t, n.SetDown("n2", false))
		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		_, err = n.Recv(ctx2, "n2")
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestPacketLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 1, Seed: 3}, "n1", "n2", "c1")
		require.NoError(t, n.SetPacketFaults(0.25, 0))
		const count = 4000
		for range count {
			_, err := n.Send("n1", "n2", body(`1`))
			require.NoError(t, err)
		}
		// Client traffic is never lost.
		for range 100 {
			_, err := n.Send("c1", "n2", body(`2`))
			require.NoError(t, err)
		}
		got := 0
		clients := 0
		for _, m := range drain(t, n, "n2") {
			if m.Src == "c1" {
				clients++
			} else {
				got++
			}
		}
		require.Equal(t, 100, clients)
		require.InDelta(t, 0.75*count, got, 0.05*count, "seed 3")
		for id, c := range kinds(n) {
			require.Equal(t, 1, c[0], "message %d", id)
			require.LessOrEqual(t, c[1], 1, "message %d", id)
		}
		// Off again: nothing lost.
		require.NoError(t, n.SetPacketFaults(0, 0))
		for range 200 {
			_, err := n.Send("n1", "n2", body(`3`))
			require.NoError(t, err)
		}
		recvAll(t, n, "n2", 200)
		require.Error(t, n.SetPacketFaults(1.5, 0))
		require.Error(t, n.SetPacketFaults(0, -0.1))
	})
}

func TestPacketDuplication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNet(t, Config{LatencyMs: 5, Seed: 4}, "n1", "n2")
		require.NoError(t, n.SetPacketFaults(0, 0.2))
		const count = 3000
		for range count {
			_, err := n.Send("n1", "n2", body(`1`))
			require.NoError(t, err)
		}
		perID := map[int64]int{}
		for _, m := range drain(t, n, "n2") {
			perID[m.ID]++
		}
		require.Len(t, perID, count, "nothing lost")
		dups := 0
		for id, c := range perID {
			require.LessOrEqual(t, c, 2, "message %d duplicated at most once", id)
			if c == 2 {
				dups++
			}
		}
		require.InDelta(t, 0.2*count, dups, 0.05*count, "seed 4")
		// The journal has one send and a receive per delivery, same id.
		for id, c := range kinds(n) {
			require.Equal(t, [2]int{1, perID[id]}, c, "message %d", id)
		}
	})
}

// drain receives for id until nothing comes for ten (fake) seconds.
func drain(t *testing.T, n *Net, id string) []Message {
	t.Helper()
	var out []Message
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		m, err := n.Recv(ctx, id)
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			return out
		}
		out = append(out, m)
	}
}
