package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recvWait bounds every wait for a node's output; under synctest it is
// virtual time.
const recvWait = 5 * time.Second

// harness runs a Node over in-memory pipes: the test writes stdin lines and
// reads stdout lines.
type harness struct {
	t      testing.TB
	n      *Node
	in     *io.PipeWriter
	lines  chan string
	done   chan error
	once   sync.Once
	runErr error
}

func testLogger(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// startNode builds a node with cfg (In, Out and, if unset, Logger filled in),
// lets setup register handlers, and runs it.
func startNode(t testing.TB, cfg Config, setup func(n *Node)) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cfg.In, cfg.Out = inR, outW
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t, slog.LevelDebug)
	}
	n, err := New(cfg)
	require.NoError(t, err)
	if setup != nil {
		setup(n)
	}
	h := &harness{t: t, n: n, in: inW, lines: make(chan string, 1<<16), done: make(chan error, 1)}
	go func() {
		err := n.Run()
		_ = outW.Close()
		h.done <- err
	}()
	go func() {
		defer close(h.lines)
		br := bufio.NewReader(outR)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			h.lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	t.Cleanup(func() { h.close() })
	return h
}

// send writes lines to the node's stdin, each followed by a newline.
func (h *harness) send(lines ...string) {
	h.t.Helper()
	for _, l := range lines {
		_, err := io.WriteString(h.in, l+"\n")
		require.NoError(h.t, err)
	}
}

// sendf sends one formatted line.
func (h *harness) sendf(format string, args ...any) {
	h.t.Helper()
	h.send(fmt.Sprintf(format, args...))
}

// recv returns the next stdout line.
func (h *harness) recv() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		require.True(h.t, ok, "node output ended")
		return l
	case <-time.After(recvWait):
		h.t.Fatal("no output from the node")
		return ""
	}
}

// expect checks that the next lines are exactly want, in order.
func (h *harness) expect(want ...string) {
	h.t.Helper()
	for _, w := range want {
		require.Equal(h.t, w, h.recv())
	}
}

// init sends init (msg_id 1) for node id among ids and checks init_ok.
func (h *harness) init(id string, ids ...string) {
	h.t.Helper()
	quoted, _ := json.Marshal(ids)
	h.sendf(`{"src":"c0","dest":%q,"body":{"type":"init","msg_id":1,"node_id":%q,"node_ids":%s}}`, id, id, quoted)
	h.expect(fmt.Sprintf(`{"src":%q,"dest":"c0","body":{"type":"init_ok","in_reply_to":1}}`, id))
}

// close ends stdin, returns the remaining output lines and Run's result.
func (h *harness) close() ([]string, error) {
	var rest []string
	h.once.Do(func() {
		_ = h.in.Close()
		for l := range h.lines {
			rest = append(rest, l)
		}
		h.runErr = <-h.done
	})
	return rest, h.runErr
}

// closeClean closes and requires a nil Run result and no further output.
func (h *harness) closeClean() {
	h.t.Helper()
	rest, err := h.close()
	require.NoError(h.t, err)
	require.Empty(h.t, rest)
}

// probe proves the node is alive and that nothing was written before the
// probe's answer: it must be the very next line.
func (h *harness) probe(id int64) {
	h.t.Helper()
	h.sendf(`{"src":"c9","dest":"n1","body":{"type":"echo","echo":"probe","msg_id":%d}}`, id)
	h.expect(fmt.Sprintf(`{"src":"n1","dest":"c9","body":{"type":"echo_ok","echo":"probe","in_reply_to":%d}}`, id))
}

// echoBody and echoOK are the echo workload's bodies; the payload stays raw.
type echoBody struct {
	Echo json.RawMessage `json:"echo"`
}

type echoOK struct {
	Type string          `json:"type"`
	Echo json.RawMessage `json:"echo"`
}

func echoHandler(req *Request, b echoBody) error {
	return req.Reply(echoOK{Type: "echo_ok", Echo: b.Echo})
}
