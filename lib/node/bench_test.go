package node

import (
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"testing"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
)

// repeatReader yields head once, then line count times, without holding
// count copies in memory.
type repeatReader struct {
	head  []byte
	line  []byte
	pos   int
	count int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.head) > 0 {
			c := copy(p[n:], r.head)
			r.head = r.head[c:]
			n += c
			continue
		}
		if r.count == 0 {
			break
		}
		c := copy(p[n:], r.line[r.pos:])
		r.pos += c
		n += c
		if r.pos == len(r.line) {
			r.pos = 0
			r.count--
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

const benchEchoLine = `{"id":12,"src":"c1","dest":"n1","body":{"type":"echo","echo":"Please echo 42","msg_id":2}}` + "\n"

// rawEcho is nodes/echo's handler: the payload is spliced back verbatim.
func rawEcho(req *Request, b echoBody) error {
	reply := make([]byte, 0, len(`{"type":"echo_ok","echo":}`)+len(b.Echo))
	reply = append(reply, `{"type":"echo_ok","echo":`...)
	reply = append(reply, b.Echo...)
	reply = append(reply, '}')
	return req.Reply(json.RawMessage(reply))
}

// BenchmarkEcho measures the whole decode → handle → encode path per echo
// request, stdin to stdout, for our runtime and for the official package's
// Node (its example echo handler). Both read b.N prepared lines after init,
// write to io.Discard, and log nowhere.
func BenchmarkEcho(b *testing.B) {
	for _, tc := range []struct {
		name    string
		handler func(*Request, echoBody) error
	}{
		{name: "ours", handler: rawEcho},            // what nodes/echo runs
		{name: "ours-struct", handler: echoHandler}, // a typed reply struct
	} {
		b.Run(tc.name, func(b *testing.B) {
			in := &repeatReader{head: []byte(initLine), line: []byte(benchEchoLine), count: b.N}
			n, err := New(Config{In: in, Out: io.Discard, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			Handle(n, "echo", tc.handler)
			b.ReportAllocs()
			b.ResetTimer()
			if err := n.Run(); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.Run("official", func(b *testing.B) {
		prev := log.Writer()
		log.SetOutput(io.Discard)
		defer log.SetOutput(prev)
		n := maelstrom.NewNode()
		n.Stdin = &repeatReader{head: []byte(initLine), line: []byte(benchEchoLine), count: b.N}
		n.Stdout = io.Discard
		officialEcho(n)
		b.ReportAllocs()
		b.ResetTimer()
		if err := n.Run(); err != nil {
			b.Fatal(err)
		}
	})
}
