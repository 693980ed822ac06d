package eddy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"maelkit/tests/eddy/internal/gobuild"
	"maelkit/tests/eddy/journal"
	"maelkit/tests/eddy/netsim"
	"maelkit/tests/eddy/store"
	"maelkit/tests/eddy/workload"
)

var roundTripBins gobuild.Shared

type benchEcho struct {
	workload.Header
	Echo string `json:"echo"`
}

type benchEchoOK struct {
	Type      string `json:"type"`
	Echo      string `json:"echo"`
	InReplyTo int64  `json:"in_reply_to"`
}

// BenchmarkRoundTrip measures one client op's round trip through eddy at
// latency 0, one op at a time: the client's request goes through the
// network to the node's stdin writer, the node answers, and its reply
// comes back from the node's stdout reader through the network to the
// client. "process" runs the echo node binary behind eddy's own pumps
// (no sandbox); "inproc" answers from a goroutine on the network, which
// leaves the network, the client and the goroutine hand-offs. Besides
// ns/op it reports the median of each stage, from the network journal:
// send>recv (request sent to taken by the node's writer), recv>reply
// (taken, written to the node, answered, read back and parsed, to the
// reply's send) and reply>recv (the reply reaches the client).
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []string{"process", "inproc"} {
		b.Run(mode, func(b *testing.B) {
			start := time.Now()
			net, err := netsim.New(netsim.Config{Start: start})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if mode == "process" {
				r := benchRunner(b, net, start)
				defer r.teardown()
			} else {
				if err := net.Add("n0"); err != nil {
					b.Fatal(err)
				}
				go echoOnNet(ctx, net, "n0")
			}
			c, err := workload.NewClient(net, "c1", "n0")
			if err != nil {
				b.Fatal(err)
			}
			skip := len(net.Journal())
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Call(ctx, &benchEcho{Header: workload.Header{Type: "echo"}, Echo: "hi"}, 5*time.Second); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportStages(b, net.Journal()[skip:])
		})
	}
}

// echoOnNet answers every echo that reaches id, until ctx ends.
func echoOnNet(ctx context.Context, net *netsim.Net, id string) {
	for {
		m, err := net.Recv(ctx, id)
		if err != nil {
			return
		}
		var req benchEcho
		if json.Unmarshal(m.Body, &req) != nil {
			continue
		}
		reply, err := json.Marshal(benchEchoOK{Type: "echo_ok", Echo: req.Echo, InReplyTo: req.MsgID})
		if err != nil {
			continue
		}
		if _, err := net.Send(id, m.Src, reply); err != nil {
			return
		}
	}
}

// benchRunner starts the echo node n0 on net behind a runner's pumps, as a
// run does without the sandbox, and initialises it.
func benchRunner(b *testing.B, net *netsim.Net, start time.Time) *runner {
	b.Helper()
	bin := roundTripBins.Dir(b, "eddy-roundtrip-", "maelkit/nodes/echo") + "/echo"
	st, err := store.Create(b.TempDir(), "echo", start)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	o := Defaults()
	o.Bin = bin
	bgCtx, bgCancel := context.WithCancel(context.Background())
	ctx, cancel := context.WithCancelCause(context.Background())
	b.Cleanup(func() { cancel(nil) })
	r := &runner{o: o, start: start, log: slog.New(slog.DiscardHandler), out: io.Discard, store: st, net: net,
		ctx: ctx, cancel: cancel, bgCtx: bgCtx, bgCancel: bgCancel, notes: newNotes(io.Discard), tempDir: b.TempDir()}
	r.res.nodes = []string{"n0"}
	n := &nodeProc{id: "n0"}
	if err := os.Mkdir(r.nodeDir(n.id), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := net.Add(n.id); err != nil {
		b.Fatal(err)
	}
	if err := r.spawn(n); err != nil {
		b.Fatal(err)
	}
	r.nodes = append(r.nodes, n)
	if err := r.sendInit(n.id, "c0"); err != nil {
		r.teardown()
		b.Fatal(err)
	}
	return r
}

// reportStages reports the median time of each stage of the round trips
// in events (requests from c1, replies to it).
func reportStages(b *testing.B, events []journal.Event) {
	type trip struct{ send, recv, reply, back int64 }
	trips := map[int64]*trip{}
	get := func(id int64) *trip {
		if trips[id] == nil {
			trips[id] = &trip{}
		}
		return trips[id]
	}
	for _, e := range events {
		var h struct {
			MsgID     int64 `json:"msg_id"`
			InReplyTo int64 `json:"in_reply_to"`
		}
		if json.Unmarshal(e.Body, &h) != nil {
			continue
		}
		switch {
		case e.Src == "c1" && e.Kind == journal.Send:
			get(h.MsgID).send = e.Time
		case e.Src == "c1":
			get(h.MsgID).recv = e.Time
		case e.Dest == "c1" && e.Kind == journal.Send:
			get(h.InReplyTo).reply = e.Time
		case e.Dest == "c1":
			get(h.InReplyTo).back = e.Time
		}
	}
	var s [3][]int64
	for _, t := range trips {
		if t.send == 0 || t.recv == 0 || t.reply == 0 || t.back == 0 {
			continue
		}
		s[0] = append(s[0], t.recv-t.send)
		s[1] = append(s[1], t.reply-t.recv)
		s[2] = append(s[2], t.back-t.reply)
	}
	for i, name := range []string{"send>recv-ns", "recv>reply-ns", "reply>recv-ns"} {
		if len(s[i]) > 0 {
			slices.Sort(s[i])
			b.ReportMetric(float64(s[i][len(s[i])/2]), name)
		}
	}
}
