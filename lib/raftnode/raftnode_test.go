package raftnode

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"

	"maelkit/lib/node"
	"maelkit/lib/rsm"
)

// counter is a toy state machine: one integer, "add" commands applied once
// per (client, id).
type counter struct {
	Sum  int64            `json:"sum"`
	Last map[string]int64 `json:"last"`
}

type addCmd struct {
	Client string `json:"c"`
	ID     int64  `json:"id"`
	Delta  int64  `json:"d"`
}

type addResult struct {
	Client string
	ID     int64
	Sum    int64
	Dup    bool
}

func (c *counter) Apply(_ int64, data []byte) any {
	var cmd addCmd
	if json.Unmarshal(data, &cmd) != nil {
		return nil
	}
	if c.Last[cmd.Client] >= cmd.ID {
		return addResult{Client: cmd.Client, ID: cmd.ID, Sum: c.Sum, Dup: true}
	}
	c.Last[cmd.Client] = cmd.ID
	c.Sum += cmd.Delta
	return addResult{Client: cmd.Client, ID: cmd.ID, Sum: c.Sum}
}

func (c *counter) Snapshot() ([]byte, error) { return json.Marshal(c) }
func (c *counter) Restore(data []byte) error {
	*c = counter{Last: map[string]int64{}}
	if len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, c)
}

type counterCodec struct{ c *counter }

type addReq struct {
	Delta *int64 `json:"delta"`
}

type valueReply struct {
	Type  string `json:"type"`
	Value int64  `json:"value"`
	Dup   bool   `json:"dup,omitempty"`
}

func (cc counterCodec) Decode(typ string, body json.RawMessage, client string, id int64) (Op, error) {
	if typ == "get" {
		return Op{Query: true}, nil
	}
	var b addReq
	if err := json.Unmarshal(body, &b); err != nil || b.Delta == nil {
		return Op{}, maelstrom.NewRPCError(maelstrom.MalformedRequest, "add needs a delta")
	}
	data, err := json.Marshal(addCmd{Client: client, ID: id, Delta: *b.Delta})
	return Op{Data: data}, err
}

func (cc counterCodec) Query([]byte) any { return valueReply{Type: "get_ok", Value: cc.c.Sum} }

func (cc counterCodec) Outcome(a rsm.Applied) (string, int64, any, bool) {
	res, ok := a.Result.(addResult)
	if !ok {
		return "", 0, nil, false
	}
	return res.Client, res.ID, valueReply{Type: "add_ok", Value: res.Sum, Dup: res.Dup}, true
}

type reply struct {
	Dest string `json:"dest"`
	Body struct {
		Type      string `json:"type"`
		InReplyTo int64  `json:"in_reply_to"`
		Code      int    `json:"code"`
		Value     int64  `json:"value"`
		Dup       bool   `json:"dup"`
	} `json:"body"`
}

// harness runs one node over pipes.
type harness struct {
	t   *testing.T
	in  *io.PipeWriter
	out chan reply
}

func newHarness(t *testing.T, ids []string) *harness {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &harness{t: t, in: inW, out: make(chan reply, 1024)}
	n, err := node.New(node.Config{In: inR, Out: outW, Logger: node.NewLogger(io.Discard, "")})
	require.NoError(t, err)
	c := &counter{Last: map[string]int64{}}
	_, err = Register(n, Config{Types: []string{"add", "get"}, Machine: c, Codec: counterCodec{c: c}, Timing: DefaultTiming(), Dir: t.TempDir()})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		require.NoError(t, n.Run())
		outW.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var r reply
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Dest[0] == 'c' {
				h.out <- r
			}
		}
		close(h.out)
	}()
	t.Cleanup(func() {
		inW.Close()
		<-done
	})
	idsJSON, _ := json.Marshal(ids)
	h.send(fmt.Sprintf(`{"src":"c0","dest":%q,"body":{"type":"init","msg_id":1,"node_id":%q,"node_ids":%s}}`, ids[0], ids[0], idsJSON))
	r := h.await(1)
	require.Equal(t, "init_ok", r.Body.Type)
	return h
}

func (h *harness) send(line string) {
	_, err := h.in.Write([]byte(line + "\n"))
	require.NoError(h.t, err)
}

// await returns the reply to msg_id id (5 s bound).
func (h *harness) await(id int64) reply {
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r, ok := <-h.out:
			require.True(h.t, ok, "node stopped")
			if r.Body.InReplyTo == id {
				return r
			}
		case <-deadline:
			h.t.Fatalf("no reply to msg_id %d", id)
		}
	}
}

// TestSingleNode: a one-node cluster elects itself; queries go through
// ReadIndex, commands through the log, answered once each with the state
// machine's outcome; a command repeated after it applied is deduplicated
// by the state machine; bad requests get 12 at once.
func TestSingleNode(t *testing.T) {
	h := newHarness(t, []string{"n0"})
	var id int64 = 1
	// Until the node has elected itself, queries fail definitely. Poll,
	// paced by a ticker, within a bound.
	deadline := time.Now().Add(5 * time.Second)
	pace := time.NewTicker(5 * time.Millisecond)
	defer pace.Stop()
	for {
		<-pace.C
		id++
		h.send(fmt.Sprintf(`{"src":"c1","dest":"n0","body":{"type":"get","msg_id":%d}}`, id))
		r := h.await(id)
		if r.Body.Type == "get_ok" {
			require.Zero(t, r.Body.Value)
			break
		}
		require.Equal(t, maelstrom.TemporarilyUnavailable, r.Body.Code)
		require.True(t, time.Now().Before(deadline), "no leader elected")
	}
	steps := []struct {
		body string
		want string // type
		code int
		val  int64
		dup  bool
	}{
		{body: `{"type":"add","msg_id":%d,"delta":5}`, want: "add_ok", val: 5},
		{body: `{"type":"add","msg_id":%d,"delta":2}`, want: "add_ok", val: 7},
		{body: `{"type":"get","msg_id":%d}`, want: "get_ok", val: 7},
		{body: `{"type":"add","msg_id":%d}`, want: "error", code: maelstrom.MalformedRequest},
	}
	for _, st := range steps {
		id++
		h.send(fmt.Sprintf(`{"src":"c1","dest":"n0","body":`+st.body+`}`, id))
		r := h.await(id)
		require.Equal(t, st.want, r.Body.Type, st.body)
		require.Equal(t, st.code, r.Body.Code, st.body)
		require.Equal(t, st.val, r.Body.Value, st.body)
	}
	// The first add again (same client, same msg_id): applied once.
	h.send(`{"src":"c1","dest":"n0","body":{"type":"add","msg_id":3,"delta":5}}`)
	r := h.await(3)
	require.Equal(t, "add_ok", r.Body.Type)
	require.True(t, r.Body.Dup)
	id++
	h.send(fmt.Sprintf(`{"src":"c1","dest":"n0","body":{"type":"get","msg_id":%d}}`, id))
	require.Equal(t, int64(7), h.await(id).Body.Value)
}

func TestObserveRTT(t *testing.T) {
	tests := []struct {
		rtts []time.Duration
		want time.Duration
	}{
		{rtts: []time.Duration{time.Millisecond}, want: 10 * time.Millisecond},                           // floor
		{rtts: []time.Duration{200 * time.Millisecond}, want: 200 * time.Millisecond},                    // 100 + 100 (first sample: var = rtt/2)
		{rtts: []time.Duration{10 * time.Second}, want: time.Second},                                     // cap
		{rtts: slices.Repeat([]time.Duration{200 * time.Millisecond}, 50), want: 100 * time.Millisecond}, // variance decays
	}
	for _, tt := range tests {
		l := newLinks(DefaultTiming(), "n0", nil)
		for _, r := range tt.rtts {
			l.observeRTT(r)
		}
		require.InDelta(t, float64(tt.want), float64(l.Tick()), float64(10*time.Millisecond), "rtts %v", tt.rtts[:1])
	}
}

func TestRegisterValidates(t *testing.T) {
	c := &counter{Last: map[string]int64{}}
	good := Config{Types: []string{"add"}, Machine: c, Codec: counterCodec{c: c}, Timing: DefaultTiming()}
	bad := []func(*Config){
		func(c *Config) { c.Machine = nil },
		func(c *Config) { c.Codec = nil },
		func(c *Config) { c.Types = nil },
		func(c *Config) { c.Types = []string{"add", "raft"} },
		func(c *Config) { c.Timing = Timing{} },
		func(c *Config) { c.Timing.TickMax = c.Timing.TickMin / 2 },
	}
	for i, mut := range bad {
		cfg := good
		mut(&cfg)
		n, err := node.New(node.Config{})
		require.NoError(t, err)
		_, err = Register(n, cfg)
		require.Error(t, err, "case %d", i)
	}
	n, err := node.New(node.Config{})
	require.NoError(t, err)
	_, err = Register(n, good)
	require.NoError(t, err)
}
