package raftnode

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/sim"
)

// ringResult counts, per client (one per node), the commands sent during
// the ring partition and those answered add_ok within a client's timeout.
type ringResult struct {
	sent, ok map[string]int
	msgs     int64 // messages the cores sent during the ring
}

const (
	ringTickMs    = 10
	ringClientMs  = 1000 // a client gives up after this long
	ringSettleMs  = 1000 // connected, before the cut
	ringLengthMs  = 4000 // the partition
	ringRequestMs = 50   // each client's pace
)

// runOneWayRing runs three raftnode cores (the counter service) on the
// simulator: connected for a second, then Maelstrom's majorities ring on
// three nodes, where every link works one way only (n0 reaches n1, n1
// reaches n2, n2 reaches n0, and no reply comes back the way it went).
// One client per node sends a command every 50 ms throughout the ring;
// commands sent in its last three seconds count (the first second is
// the cores' to notice the cut and route around it).
func runOneWayRing(t *testing.T, seed uint64, relay, cold bool) ringResult {
	t.Helper()
	ids := []string{"n0", "n1", "n2"}
	tm := DefaultTiming()
	tm.TickMin = ringTickMs * time.Millisecond
	tm.RelayRouting = relay
	s := sim.New(sim.Config{Seed: seed, Nodes: ids, TickMs: ringTickMs, LatencyMinMs: 1, LatencyMaxMs: 10,
		Clone: cloneRingMsg}, func(id string) core.Core[Msg, Request, any] {
		c := &counter{Last: map[string]int64{}}
		n, err := NewCore(CoreConfig{ID: id, Nodes: ids, Types: []string{"add", "get"}, Machine: c,
			Codec: counterCodec{c: c}, Timing: tm, Rand: rand.New(rand.NewPCG(seed, uint64(id[1])))})
		require.NoError(t, err)
		return n
	})
	if !cold {
		s.RunFor(ringSettleMs)
	}
	s.Replies()
	sent0 := s.Sent
	for i, a := range ids {
		for j, b := range ids {
			if a != b && (j-i+len(ids))%len(ids) != 1 {
				s.Cut(a, b) // a's messages to b are lost
			}
		}
	}
	res := ringResult{sent: map[string]int{}, ok: map[string]int{}}
	type req struct {
		client string
		at     int64
	}
	open := map[int64]req{} // by msg_id, unique across clients
	var msgID int64
	start := s.Now()
	for s.Now() < start+ringLengthMs {
		for _, id := range ids {
			msgID++
			client := "c" + id[1:]
			if s.Now() >= start+ringClientMs {
				open[msgID] = req{client: client, at: s.Now()}
				res.sent[client]++
			}
			s.Command(id, add(client, msgID, 1))
		}
		s.RunFor(ringRequestMs)
		for _, r := range s.Replies() {
			q, ok := open[r.InReplyTo]
			if !ok || q.client != r.To {
				continue
			}
			delete(open, r.InReplyTo)
			if v, ok := r.Body.(valueReply); ok && v.Type == "add_ok" && s.Now()-q.at <= ringClientMs {
				res.ok[q.client]++
			}
		}
	}
	res.msgs = s.Sent - sent0
	return res
}

// cloneRingMsg copies a message through its JSON form, as nodes exchange
// it.
func cloneRingMsg(x any) any {
	b, err := json.Marshal(x.(Msg))
	if err != nil {
		panic(err)
	}
	var m Msg
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// TestOneWayRingCommits: in the three-node one-way ring no two nodes talk
// both ways, so no request and its answer complete directly. With
// relaying (Timing.RelayRouting), the link table marks each link whose
// requests go unanswered, and a request goes to its peer through the third
// node where its own direction is broken, asking for its answer through
// the third node where the way back is: the cluster keeps committing, and
// every node's client gets its commands answered. Without relaying, nothing
// commits for the whole ring.
func TestOneWayRingCommits(t *testing.T) {
	t.Parallel()
	for _, seed := range sim.Seeds(t, 3) {
		cold := seed%2 == 0
		res := runOneWayRing(t, seed, true, cold)
		t.Logf("seed %d (cold %v): sent %v, answered %v, %d messages", seed, cold, res.sent, res.ok, res.msgs)
		for client, n := range res.sent {
			require.Equal(t, n, res.ok[client], "seed %d: %s's commands answered", seed, client)
		}
	}
	res := runOneWayRing(t, 1, false, false)
	total := 0
	for _, n := range res.ok {
		total += n
	}
	require.Zero(t, total, fmt.Sprintf("without relaying the ring should stall: %v", res.ok))
}
