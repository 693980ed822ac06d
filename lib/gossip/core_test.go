package gossip

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/gset"
)

// newCore builds a core of the cluster nodes with 10 ms ticks and the
// default configuration, adjusted by tweak.
func newCore(t *testing.T, id string, nodes []string, tweak func(*Config)) *Core {
	t.Helper()
	cfg := Defaults(id, nodes, tickMs)
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func ticks(c *Core, n int64) []core.Send[Message] {
	var out []core.Send[Message]
	for range n {
		c.Tick()
		out = append(out, c.Drain().Messages...)
	}
	return out
}

func val(i int) json.RawMessage { return json.RawMessage(strconv.Itoa(i)) }

// lines renders envelopes as "to: message" lines for compact assertions.
func lines(envs []core.Send[Message]) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.To+": "+e.Msg.String())
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	nodes := []string{"n0", "n1"}
	cases := []struct {
		name  string
		tweak func(*Config)
		err   string
	}{
		{name: "defaults", tweak: func(*Config) {}},
		{name: "empty id", tweak: func(c *Config) { c.ID = "" }, err: "empty ID"},
		{name: "id not a node", tweak: func(c *Config) { c.ID = "n9" }, err: "not in Nodes"},
		{name: "duplicate node", tweak: func(c *Config) { c.Nodes = []string{"n0", "n1", "n1"} }, err: "duplicate"},
		{name: "zero batch", tweak: func(c *Config) { c.BatchTicks = 0 }, err: "BatchTicks"},
		{name: "rto within ack delay", tweak: func(c *Config) { c.RTOTicks = c.AckDelayTicks }, err: "must exceed AckDelayTicks"},
		{name: "rto max below rto", tweak: func(c *Config) { c.RTOMaxTicks = c.RTOTicks - 1 }, err: "RTOMaxTicks"},
		{name: "zero batch max", tweak: func(c *Config) { c.BatchMax = 0 }, err: "BatchMax"},
		{name: "negative margin", tweak: func(c *Config) { c.UploadMarginTicks = -1 }, err: "UploadMarginTicks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults("n0", nodes, tickMs)
			tc.tweak(&cfg)
			_, err := New(cfg)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// TestLeafUploadsAtOnce: a leaf sends a client's value to the hub in the
// same Drain, with a forward request, and adds identical values once.
func TestLeafUploadsAtOnce(t *testing.T) {
	c := newCore(t, "n2", []string{"n0", "n1", "n2"}, nil)
	require.Equal(t, "n0", c.Hub())
	require.NoError(t, c.Add(val(7)))
	require.NoError(t, c.Add(val(7)))
	require.NoError(t, c.Add(val(8)))
	require.Equal(t, []string{"n0: gossip fwd=n2:1-2 have=[n2:1-2]"}, lines(c.Drain().Messages))
	require.Empty(t, c.Drain().Messages)
	require.Error(t, c.Add(json.RawMessage(`{`)))
}

// TestHubBatches: the hub forwards what leaves upload in one message per
// leaf per flush period (not to the origin), acknowledges uploads in it,
// and sends nothing when there is nothing new.
func TestHubBatches(t *testing.T) {
	nodes := []string{"n0", "n1", "n2", "n3"}
	hub := newCore(t, "n0", nodes, nil)
	up := func(from string, seq int64, v int) Message {
		return Message{Type: MessageType, Fwd: []Run{{Origin: from, Seq: seq, Vals: []json.RawMessage{val(v)}}},
			Have: gset.Digest{{Origin: from, Ranges: []int64{1, seq}}}}
	}
	hub.Step("n1", up("n1", 1, 10))
	hub.Step("n2", up("n2", 1, 20))
	require.NoError(t, hub.Add(val(30)))
	require.Empty(t, hub.Drain().Messages, "the hub waits for its flush")
	out := ticks(hub, hub.cfg.BatchTicks)
	require.Equal(t, []string{
		"n1: gossip vals=n0:1,n2:1 have=[n0:1 n1:1 n2:1] phase=0",
		"n2: gossip vals=n0:1,n1:1 have=[n0:1 n1:1 n2:1] phase=0",
		"n3: gossip vals=n0:1,n1:1,n2:1 have=[n0:1 n1:1 n2:1] phase=0",
	}, lines(out))
	require.Empty(t, ticks(hub, 3*hub.cfg.BatchTicks/2), "nothing new, nothing sent (acks are not yet due)")
}

// TestAckPiggybackAndDelay: a leaf that received data acknowledges it in
// its next upload; with nothing to upload it sends a digest-only message
// AckDelayTicks later, once; an ack-only message draws no ack.
func TestAckPiggybackAndDelay(t *testing.T) {
	nodes := []string{"n0", "n1"}
	leaf := newCore(t, "n1", nodes, nil)
	batch := Message{Type: MessageType, Vals: []Run{{Origin: "n0", Seq: 1, Vals: []json.RawMessage{val(1)}}}, Phase: 1}
	leaf.Step("n0", batch)
	require.Empty(t, leaf.Drain().Messages)
	require.NoError(t, leaf.Add(val(2)))
	require.Equal(t, []string{"n0: gossip fwd=n1:1 have=[n0:1 n1:1]"}, lines(leaf.Drain().Messages), "the upload carries the ack")
	require.Empty(t, ticks(leaf, leaf.cfg.AckDelayTicks+1), "acknowledged already")

	batch.Vals[0].Seq, batch.Vals[0].Vals = 2, []json.RawMessage{val(3)}
	batch.Have = gset.Digest{{Origin: "n0", Ranges: []int64{1, 2}}, {Origin: "n1", Ranges: []int64{1, 1}}}
	leaf.Step("n0", batch)
	out := ticks(leaf, leaf.cfg.AckDelayTicks)
	require.Equal(t, []string{"n0: gossip have=[n0:1-2 n1:1]"}, lines(out), "one delayed ack")
	require.Empty(t, ticks(leaf, 3*leaf.cfg.RTOTicks))

	leaf.Step("n0", Message{Type: MessageType, Have: batch.Have})
	require.Empty(t, ticks(leaf, 2*leaf.cfg.AckDelayTicks), "acks are not acknowledged")
}

// TestRetransmitBackoff: unacknowledged values are sent again after the
// timeout, asking for an immediate ack, then after doubling timeouts up to
// RTOMaxTicks; an ack ends it.
func TestRetransmitBackoff(t *testing.T) {
	nodes := []string{"n0", "n1"}
	hub := newCore(t, "n0", nodes, nil)
	require.NoError(t, hub.Add(val(1)))
	var sends []int64
	for range 12000 / tickMs {
		hub.Tick()
		for _, e := range hub.Drain().Messages {
			require.Equal(t, []json.RawMessage{val(1)}, e.Msg.Vals[0].Vals)
			sends = append(sends, hub.Now())
		}
	}
	cfg := hub.cfg
	first := cfg.BatchTicks
	want := []int64{first, first + cfg.RTOTicks}
	for at := want[1] + cfg.RTOMaxTicks; at <= 1200; at += cfg.RTOMaxTicks { // 2 s, then 3 s (capped 4 s)
		want = append(want, at)
	}
	require.Equal(t, want, sends)
	hub.Step("n1", Message{Type: MessageType, Have: gset.Digest{{Origin: "n0", Ranges: []int64{1, 1}}}})
	require.Empty(t, ticks(hub, 2*cfg.RTOMaxTicks))
	require.False(t, hub.Pending())
	require.Equal(t, int64(len(want)-1), hub.Stats().Timeouts)
}

// TestHubFailover: a leaf whose upload times out suspects the hub, moves
// the upload to the next node, and returns once the hub answers.
func TestHubFailover(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	leaf := newCore(t, "n2", nodes, nil)
	require.NoError(t, leaf.Add(val(5)))
	require.Equal(t, []string{"n0: gossip fwd=n2:1 have=[n2:1]"}, lines(leaf.Drain().Messages))
	out := ticks(leaf, leaf.cfg.RTOTicks)
	require.Equal(t, "n1", leaf.Hub())
	require.Equal(t, []string{"n1: gossip fwd=n2:1 have=[n2:1] t=200"}, lines(out))
	// n1 acknowledges; the primary hub comes back with everything.
	leaf.Step("n1", Message{Type: MessageType, Have: gset.Digest{{Origin: "n2", Ranges: []int64{1, 1}}}})
	leaf.Step("n0", Message{Type: MessageType, Vals: []Run{{Origin: "n1", Seq: 1, Vals: []json.RawMessage{val(6)}}},
		Have: gset.Digest{{Origin: "n1", Ranges: []int64{1, 1}}, {Origin: "n2", Ranges: []int64{1, 1}}}})
	require.Equal(t, "n0", leaf.Hub())
	require.Equal(t, `[5,6]`, string(leaf.Set().AppendJSON(nil)))
}

// TestFallbackHubForwards: a node that receives a forward request relays
// the value to every other node except the origin, even when it is a leaf.
func TestFallbackHubForwards(t *testing.T) {
	nodes := []string{"n0", "n1", "n2", "n3"}
	n1 := newCore(t, "n1", nodes, nil)
	n1.Step("n3", Message{Type: MessageType, Fwd: []Run{{Origin: "n3", Seq: 1, Vals: []json.RawMessage{val(9)}}}})
	out := ticks(n1, n1.cfg.BatchTicks)
	require.Equal(t, []string{
		"n0: gossip vals=n3:1 have=[n3:1] phase=0",
		"n2: gossip vals=n3:1 have=[n3:1] phase=0",
	}, lines(out), "relayed to n0 and n2, not back to n3")
	out = ticks(n1, n1.cfg.AckDelayTicks)
	require.Equal(t, []string{"n3: gossip have=[n3:1]"}, lines(out), "n3's ack, having nothing to piggyback it on")
}

// TestBadInput: messages from unknown nodes, malformed digests, runs of
// unknown origins or bad sequence numbers, and values that are not JSON
// are dropped without effect or panic.
func TestBadInput(t *testing.T) {
	nodes := []string{"n0", "n1"}
	c := newCore(t, "n0", nodes, nil)
	c.Step("n7", Message{Type: MessageType, Vals: []Run{{Origin: "n1", Seq: 1, Vals: []json.RawMessage{val(1)}}}})
	c.Step("n0", Message{Type: MessageType})
	c.Step("n1", Message{Type: MessageType, Have: gset.Digest{{Origin: "n1", Ranges: []int64{1}}}})
	c.Step("n1", Message{Type: MessageType, Vals: []Run{{Origin: "n9", Seq: 1, Vals: []json.RawMessage{val(1)}}}})
	c.Step("n1", Message{Type: MessageType, Vals: []Run{{Origin: "n1", Seq: 0, Vals: []json.RawMessage{val(1)}}}})
	c.Step("n1", Message{Type: MessageType, Vals: []Run{{Origin: "n1", Seq: 1, Vals: []json.RawMessage{json.RawMessage(`{`)}}}})
	require.Equal(t, 0, c.Set().Len())
	require.Equal(t, int64(6), c.Stats().Dropped)
}

// FuzzStep feeds arbitrary message bodies (as the runtime would decode
// them) to a core: it must never panic, and whatever it stores must be
// canonical JSON it can read back.
func FuzzStep(f *testing.F) {
	f.Add(`{"type":"gossip","v":[{"o":"n1","s":1,"v":[1,2]}],"h":[{"o":"n1","r":[1,2]}]}`)
	f.Add(`{"type":"gossip","f":[{"o":"n2","s":3,"v":[{"a":1}]}],"h":[],"a":true,"t":5,"e":{"t":1,"d":2},"p":3}`)
	f.Add(`{"type":"gossip","h":[{"o":"n1","r":[5,1]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var m Message
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		c := newCore(t, "n0", []string{"n0", "n1", "n2"}, nil)
		c.Step("n1", m)
		c.Step("n2", m)
		_ = ticks(c, 50)
		var got []any
		require.NoError(t, json.Unmarshal(c.Set().AppendJSON(nil), &got))
	})
}

func BenchmarkHubFlush25(b *testing.B) {
	nodes := make([]string, 25)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("n%d", i)
	}
	cfg := Defaults("n0", nodes, tickMs)
	hub, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	seq := map[string]int64{}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// 20 uploads then one flush: about the 3d load per flush period.
		for k := range 20 {
			from := nodes[1+(i*20+k)%24]
			seq[from]++
			hub.Step(from, Message{Type: MessageType, Fwd: []Run{{Origin: from, Seq: seq[from], Vals: []json.RawMessage{val(i*20 + k)}}}})
		}
		for range cfg.BatchTicks {
			hub.Tick()
			_ = hub.Drain()
		}
	}
}
