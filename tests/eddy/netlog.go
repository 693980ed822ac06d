package eddy

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"

	"maelkit/tests/eddy/services"
)

// netLogHandler writes the network's --log-net-send/--log-net-recv lines
// as Jepsen's console pattern prints Maelstrom's ("%p\t[%t] %c: %m"):
//
//	INFO	[n1 stdout] maelstrom.net: :send #maelstrom.net.message.Message{...}
//
// The thread is the one that sends or receives in Maelstrom: a node's
// stdout reader for its sends and its stdin writer for its deliveries, the
// service's own thread ("maelstrom lin-kv"); for a client, which Maelstrom
// runs on a Jepsen worker thread, eddy names the client ("c3").
type netLogHandler struct {
	mu *sync.Mutex
	w  io.Writer
}

func newNetLogHandler(w io.Writer) *netLogHandler {
	return &netLogHandler{mu: &sync.Mutex{}, w: w}
}

func (h *netLogHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *netLogHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *netLogHandler) WithGroup(string) slog.Handler            { return h }

func (h *netLogHandler) Handle(_ context.Context, r slog.Record) error {
	var event, who string
	var extra []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "event":
			event = a.Value.String()
		case "participant":
			who = a.Value.String()
		default:
			extra = append(extra, a.Key+"="+a.Value.String())
		}
		return true
	})
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteString("\t[")
	b.WriteString(netThread(event, who))
	b.WriteString("] maelstrom.net: ")
	b.WriteString(r.Message)
	for _, e := range extra {
		b.WriteByte(' ')
		b.WriteString(e)
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// netThread is the Maelstrom thread that logs event for participant id.
func netThread(event, id string) string {
	for _, s := range services.Names {
		if id == s {
			return "maelstrom " + id
		}
	}
	switch {
	case id == "":
		return "maelstrom"
	case id[0] == 'c':
		return id
	case event == "send":
		return id + " stdout"
	case event == "recv":
		return id + " stdin"
	}
	return id
}
