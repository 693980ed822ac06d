package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addBody has a typed integer field, to test field type errors.
type addBody struct {
	Delta int64 `json:"delta"`
}

type addOK struct {
	Type  string `json:"type"`
	Delta int64  `json:"delta"`
}

func addHandler(req *Request, b addBody) error {
	return req.Reply(addOK{Type: "add_ok", Delta: b.Delta})
}

func basicNode(t *testing.T) *harness {
	h := startNode(t, Config{}, func(n *Node) {
		Handle(n, "echo", echoHandler)
		Handle(n, "add", addHandler)
	})
	h.init("n1", "n1", "n2", "n3")
	return h
}

func TestEchoAndEnvelope(t *testing.T) {
	h := basicNode(t)
	// Maelstrom adds a top-level "id"; unknown top-level fields are ignored.
	h.send(`{"id":17,"src":"c1","dest":"n1","extra":{"x":[1]},"body":{"type":"echo","echo":"Please echo 35","msg_id":1}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":"Please echo 35","in_reply_to":1}}`)
	// Unknown body fields are ignored too; the reply has exactly its struct's fields.
	h.send(`{"src":"c1","dest":"n1","body":{"type":"add","delta":3,"msg_id":2,"junk":true}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"add_ok","delta":3,"in_reply_to":2}}`)
	h.closeClean()
}

// TestBadInput feeds one bad line at a time; each must produce exactly the
// expected reply (or none), and the node must answer the probe after it.
func TestBadInput(t *testing.T) {
	long := strings.Repeat("x", 300)
	cases := []struct {
		name string
		line string
		want string // "" = no reply at all
	}{
		{name: "not JSON", line: `hello`},
		{name: "truncated JSON", line: `{"src":"c1","dest":"n1","body":{"type":"echo"`},
		{name: "JSON array line", line: `[1,2,3]`},
		{name: "JSON null line", line: `null`},
		{name: "src not a string", line: `{"src":7,"dest":"n1","body":{"type":"echo","msg_id":5}}`},
		{name: "no src", line: `{"dest":"n1","body":{"type":"echo","echo":1,"msg_id":5}}`},
		{name: "no body", line: `{"src":"c1","dest":"n1"}`},
		{name: "body null", line: `{"src":"c1","dest":"n1","body":null}`},
		{name: "body array", line: `{"src":"c1","dest":"n1","body":[{"type":"echo","msg_id":5}]}`},
		{name: "body string", line: `{"src":"c1","dest":"n1","body":"echo"}`},
		{name: "body number", line: `{"src":"c1","dest":"n1","body":5}`},
		{name: "missing type with msg_id", line: `{"src":"c1","dest":"n1","body":{"msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"body has no type","in_reply_to":5}}`},
		{name: "missing type without msg_id", line: `{"src":"c1","dest":"n1","body":{"echo":1}}`},
		{name: "unknown type with msg_id", line: `{"src":"c1","dest":"n1","body":{"type":"frobnicate","msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":10,"text":"no handler for type \"frobnicate\"","in_reply_to":5}}`},
		{name: "unknown type without msg_id", line: `{"src":"n2","dest":"n1","body":{"type":"gossip","values":[1]}}`},
		{name: "unknown _ok without in_reply_to or msg_id", line: `{"src":"n2","dest":"n1","body":{"type":"broadcast_ok"}}`},
		{name: "handler field wrong type", line: `{"src":"c1","dest":"n1","body":{"type":"add","delta":"3","msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"decode add: json: cannot unmarshal string into Go struct field addBody.delta of type int64","in_reply_to":5}}`},
		{name: "float for int64", line: `{"src":"c1","dest":"n1","body":{"type":"add","delta":1.5,"msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"decode add: json: cannot unmarshal number 1.5 into Go struct field addBody.delta of type int64","in_reply_to":5}}`},
		{name: "int64 overflow", line: `{"src":"c1","dest":"n1","body":{"type":"add","delta":9223372036854775808,"msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"decode add: json: cannot unmarshal number 9223372036854775808 into Go struct field addBody.delta of type int64","in_reply_to":5}}`},
		{name: "handler field wrong type without msg_id", line: `{"src":"c1","dest":"n1","body":{"type":"add","delta":[]}}`},
		{name: "type not a string", line: `{"src":"c1","dest":"n1","body":{"type":5,"msg_id":5}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"reserved body fields: field type: want a string, got number 5","in_reply_to":5}}`},
		{name: "msg_id not an integer", line: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1,"msg_id":"5"}}`},
		{name: "msg_id zero", line: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1,"msg_id":0}}`},
		{name: "msg_id negative", line: `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1,"msg_id":-4}}`},
		{name: "reply to unknown msg_id", line: `{"src":"n2","dest":"n1","body":{"type":"read_ok","in_reply_to":99}}`},
		{name: "error reply to unknown msg_id", line: `{"src":"lin-kv","dest":"n1","body":{"type":"error","code":20,"in_reply_to":99}}`},
		{name: "error that is not a reply", line: `{"src":"n2","dest":"n1","body":{"type":"error","code":13,"msg_id":8}}`},
		{name: "blank line", line: ``},
		{name: "spaces", line: "   \t "},
		{name: "long garbage", line: long},
		{name: "init with bad node_ids after init", line: `{"src":"c1","dest":"n1","body":{"type":"init","msg_id":5,"node_ids":7}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"decode init: json: cannot unmarshal number into Go struct field initBody.node_ids of type []string","in_reply_to":5}}`},
	}
	deep := func(depth int, id string) string {
		return `{"src":"c1","dest":"n1","body":{"type":"echo",` + id + `"echo":` +
			strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}`
	}
	cases = append(cases, []struct {
		name string
		line string
		want string
	}{
		{name: "nested 100,000 deep with msg_id", line: deep(100_000, `"msg_id":5,`),
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"JSON nested deeper than encoding/json's 10000 levels","in_reply_to":5}}`},
		{name: "nested 100,000 deep without msg_id", line: deep(100_000, "")},
		{name: "nested 100,000 deep, unbalanced", line: deep(100_000, `"msg_id":5,`)[:150_000]},
		// 10,000 levels with the envelope and the body: the deepest accepted.
		{name: "nested 10,000 deep", line: deep(9_998, `"msg_id":5,`),
			want: `{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":` + strings.Repeat("[", 9_998) + strings.Repeat("]", 9_998) + `,"in_reply_to":5}}`},
		{name: "nested 10,001 deep", line: deep(9_999, `"msg_id":5,`),
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"JSON nested deeper than encoding/json's 10000 levels","in_reply_to":5}}`},
		{name: "init nested 100,000 deep", line: `{"src":"c1","dest":"n1","body":{"type":"init","msg_id":5,"node_id":"n1","node_ids":["n1"],"x":` +
			strings.Repeat("{\"a\":", 100_000) + "1" + strings.Repeat("}", 100_000) + `}}`,
			want: `{"src":"n1","dest":"c1","body":{"type":"error","code":12,"text":"JSON nested deeper than encoding/json's 10000 levels","in_reply_to":5}}`},
	}...)
	h := basicNode(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.send(tc.line)
			if tc.want != "" {
				h.expect(tc.want)
			}
			h.probe(int64(1000 + i))
		})
	}
	h.t = t
	h.closeClean()
}

// TestReplies covers how handler outcomes become replies.
func TestReplies(t *testing.T) {
	var pending *Request
	h := startNode(t, Config{}, func(n *Node) { replyHandlers(t, n, &pending) })
	h.init("n1", "n1")
	cases := []struct {
		name string
		body string
		want []string // reply bodies, in order, without in_reply_to
	}{
		{name: "error code 0 is sent", body: `{"type":"rpcerr","code":0,"text":"too slow"}`, want: []string{`{"type":"error","code":0,"text":"too slow"`}},
		{name: "error code kept", body: `{"type":"rpcerr","code":22,"text":"cas mismatch"}`, want: []string{`{"type":"error","code":22,"text":"cas mismatch"`}},
		{name: "user error code", body: `{"type":"rpcerr","code":1000}`, want: []string{`{"type":"error","code":1000`}},
		{name: "wrapped RPC error keeps its code", body: `{"type":"wrapped"}`, want: []string{`{"type":"error","code":20,"text":"no key 3"`}},
		{name: "plain error is a crash", body: `{"type":"plain"}`, want: []string{`{"type":"error","code":13,"text":"disk on fire"`}},
		{name: "panic is a crash", body: `{"type":"panic"}`, want: []string{`{"type":"error","code":13,"text":"panic: boom"`}},
		{name: "panic after reply sends nothing more", body: `{"type":"panic-after-reply"}`, want: []string{`{"type":"panic-after-reply_ok"`}},
		{name: "one reply only", body: `{"type":"twice"}`, want: []string{`{"type":"twice_ok"`}},
		{name: "non-object reply becomes a crash", body: `{"type":"not-object"}`, want: []string{`{"type":"error","code":13,"text":"node: body []int encodes to \"[1]\", not a JSON object"`}},
		{name: "empty object reply", body: `{"type":"empty-object"}`, want: []string{`{"in_reply_to":%d}`}},
		{name: "raw reply verbatim, newline compacted", body: `{"type":"raw"}`, want: []string{`{"type":"raw_ok","v":[1,2]`}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			id := int64(10 + i)
			h.sendf(`{"src":"c1","dest":"n1","body":%s}`, strings.Replace(tc.body, "{", fmt.Sprintf(`{"msg_id":%d,`, id), 1))
			for _, w := range tc.want {
				if strings.Contains(w, "%d") {
					h.expect(fmt.Sprintf(`{"src":"n1","dest":"c1","body":`+w+`}`, id))
					continue
				}
				h.expect(fmt.Sprintf(`{"src":"n1","dest":"c1","body":%s,"in_reply_to":%d}}`, w, id))
			}
			h.probe(100 + id)
		})
	}
	h.t = t
	// A deferred reply goes out when the node decides, still exactly once.
	h.send(`{"src":"c2","dest":"n1","body":{"type":"defer","msg_id":7}}`)
	h.probe(500)
	h.send(`{"src":"c3","dest":"n1","body":{"type":"finish","msg_id":8}}`)
	h.expect(`{"src":"n1","dest":"c2","body":{"type":"defer_ok","in_reply_to":7}}`,
		`{"src":"n1","dest":"c3","body":{"type":"finish_ok","in_reply_to":8}}`)
	// A request without msg_id gets nothing, even when its handler fails.
	h.send(`{"src":"c1","dest":"n1","body":{"type":"plain"}}`, `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1}}`)
	h.probe(501)
	h.closeClean()
}

// replyHandlers registers TestReplies' handlers, each answering in its own
// way (errors of every kind, panics, two replies, odd bodies); "defer"
// keeps its request in *pending and "finish" answers it.
func replyHandlers(t *testing.T, n *Node, pending **Request) {
	Handle(n, "echo", echoHandler)
	Handle(n, "rpcerr", func(_ *Request, b struct {
		Code int    `json:"code"`
		Text string `json:"text"`
	}) error {
		return maelstrom.NewRPCError(b.Code, b.Text)
	})
	Handle(n, "wrapped", func(*Request, struct{}) error {
		return fmt.Errorf("while reading: %w", maelstrom.NewRPCError(maelstrom.KeyDoesNotExist, "no key 3"))
	})
	Handle(n, "plain", func(*Request, struct{}) error { return errors.New("disk on fire") })
	Handle(n, "panic", func(*Request, struct{}) error { panic("boom") })
	Handle(n, "panic-after-reply", func(req *Request, _ struct{}) error {
		_ = req.Reply(initOK{Type: "panic-after-reply_ok"})
		panic("late boom")
	})
	Handle(n, "twice", func(req *Request, _ struct{}) error {
		assert.NoError(t, req.Reply(initOK{Type: "twice_ok"}))
		assert.ErrorIs(t, req.Reply(initOK{Type: "twice_ok"}), ErrReplied)
		return errors.New("ignored: already replied")
	})
	Handle(n, "not-object", func(req *Request, _ struct{}) error { return req.Reply([]int{1}) })
	Handle(n, "empty-object", func(req *Request, _ struct{}) error { return req.Reply(struct{}{}) })
	Handle(n, "raw", func(req *Request, _ struct{}) error {
		return req.Reply(json.RawMessage("{ \"type\" : \"raw_ok\",\n \"v\": [1, 2] }"))
	})
	Handle(n, "defer", func(req *Request, _ struct{}) error {
		*pending = req
		return nil // answered later
	})
	Handle(n, "finish", func(req *Request, _ struct{}) error {
		if err := (*pending).Reply(initOK{Type: "defer_ok"}); err != nil {
			return err
		}
		return req.Reply(initOK{Type: "finish_ok"})
	})
}

// TestRawEchoByteExact: integers beyond float64 precision, white space,
// HTML characters and escapes come back byte for byte when the reply splices
// the raw payload (what nodes/echo does), and exact but compacted through a
// struct reply.
func TestRawEchoByteExact(t *testing.T) {
	h := startNode(t, Config{}, func(n *Node) {
		Handle(n, "echo", echoHandler)
		Handle(n, "rawecho", func(req *Request, b echoBody) error {
			out := append([]byte(`{"type":"rawecho_ok","echo":`), b.Echo...)
			return req.Reply(json.RawMessage(append(out, '}')))
		})
		Handle(n, "add", addHandler)
	})
	h.init("n1", "n1")
	payloads := []string{
		`9007199254740993`,
		`-9223372036854775808`,
		`1.0`,
		`1e400`,
		`{"b": [1, 2.50, 9007199254740993, "<&>\u2028"], "a": {"z": null}}`,
		`"\u00e9\ud83d\ude00 \"quoted\" \\ / <script>"`,
		`[]`,
	}
	for i, p := range payloads {
		h.sendf(`{"src":"c1","dest":"n1","body":{"type":"rawecho","echo":%s,"msg_id":%d}}`, p, i+1)
		h.expect(fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"rawecho_ok","echo":%s,"in_reply_to":%d}}`, p, i+1))
	}
	// Through a struct the value is exact; only insignificant white space goes.
	h.send(`{"src":"c1","dest":"n1","body":{"type":"echo","echo":[9007199254740993, "<&>"],"msg_id":50}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":[9007199254740993,"<&>"],"in_reply_to":50}}`)
	// Typed int64 fields are exact at both ends of their range.
	for i, v := range []string{"9007199254740993", "-9223372036854775808", "9223372036854775807"} {
		h.sendf(`{"src":"c1","dest":"n1","body":{"type":"add","delta":%s,"msg_id":%d}}`, v, 60+i)
		h.expect(fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"add_ok","delta":%s,"in_reply_to":%d}}`, v, 60+i))
	}
	h.closeClean()
}

func TestLongLines(t *testing.T) {
	const maxBytes = 200 << 10
	h := startNode(t, Config{LineMaxBytes: maxBytes}, func(n *Node) { Handle(n, "echo", echoHandler) })
	h.init("n1", "n1")
	line := func(id, total int) string {
		pre := fmt.Sprintf(`{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":%d,"echo":"`, id)
		return pre + strings.Repeat("a", total-len(pre)-len(`"}}`)) + `"}}`
	}
	reply := func(l string, id int) string {
		start := strings.Index(l, `"echo":"`) + len(`"echo":`)
		return fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":%s,"in_reply_to":%d}}`, l[start:len(l)-2], id)
	}
	// Over 64 KiB (the official package's limit) but within the bound: served.
	l100k := line(1, 100<<10)
	h.send(l100k)
	h.expect(reply(l100k, 1))
	// Exactly the bound: served.
	lmax := line(2, maxBytes)
	h.send(lmax)
	h.expect(reply(lmax, 2))
	// One byte over, and far over: skipped; the node goes on.
	h.send(line(3, maxBytes+1), line(4, 3*maxBytes))
	h.probe(5)
	h.closeClean()
}

// TestInit covers the init rules: pre-init queueing in order, a second init
// that changes nothing, and a malformed first init.
func TestInit(t *testing.T) {
	t.Run("pre-init messages are queued and served after init_ok", testInitQueuesEarly)
	t.Run("a repeated init is answered init_ok, another identity 22, state kept", testInitRepeated)
	t.Run("malformed first init is answered 12 from dest; a good one follows", testInitMalformedFirst)
	t.Run("OnInit error is answered instead of init_ok", testInitHookError)
	t.Run("pre-init queue is bounded", testInitQueueBounded)
	t.Run("input ending before init drops the queue cleanly", testInitEndsBeforeInit)
}

func testInitQueuesEarly(t *testing.T) {
	var seen []string
	h := startNode(t, Config{}, func(n *Node) {
		Handle(n, "gossip", func(req *Request, b struct {
			V int64 `json:"v"`
		}) error {
			assert.Equal(t, "n2", n.ID(), "served before init")
			seen = append(seen, fmt.Sprint(b.V))
			return req.Reply(initOK{Type: "gossip_ok"})
		})
	})
	for v := 1; v <= 5; v++ {
		h.sendf(`{"src":"n1","dest":"n2","body":{"type":"gossip","v":%d,"msg_id":%d}}`, v, v)
	}
	h.init("n2", "n1", "n2")
	for v := 1; v <= 5; v++ {
		h.expect(fmt.Sprintf(`{"src":"n2","dest":"n1","body":{"type":"gossip_ok","in_reply_to":%d}}`, v))
	}
	h.closeClean()
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, seen)
}

func testInitRepeated(t *testing.T) {
	inits := 0
	var n0 *Node
	h := startNode(t, Config{}, func(n *Node) {
		n0 = n
		n.OnInit(func() error { inits++; return nil })
		Handle(n, "who", func(req *Request, _ struct{}) error {
			return req.Reply(struct {
				Type  string   `json:"type"`
				ID    string   `json:"id"`
				Peers []string `json:"peers"`
				Inits int      `json:"inits"`
			}{Type: "who_ok", ID: n0.ID(), Peers: n0.Peers(), Inits: inits})
		})
	})
	h.init("n1", "n1", "n2")
	h.send(`{"src":"c5","dest":"n1","body":{"type":"init","msg_id":3,"node_id":"n1","node_ids":["n1","n2"]}}`)
	h.expect(`{"src":"n1","dest":"c5","body":{"type":"init_ok","in_reply_to":3}}`)
	h.send(`{"src":"c5","dest":"n1","body":{"type":"init","msg_id":4,"node_id":"n7","node_ids":["n7"]}}`)
	h.expect(`{"src":"n1","dest":"c5","body":{"type":"error","code":22,"text":"already initialized as \"n1\" of [\"n1\" \"n2\"]; a process keeps one identity","in_reply_to":4}}`)
	h.send(`{"src":"c5","dest":"n1","body":{"type":"init","msg_id":5,"node_id":"n1","node_ids":["n2","n1"]}}`)
	h.expect(`{"src":"n1","dest":"c5","body":{"type":"error","code":22,"text":"already initialized as \"n1\" of [\"n1\" \"n2\"]; a process keeps one identity","in_reply_to":5}}`)
	h.send(`{"src":"c5","dest":"n1","body":{"type":"init","msg_id":6,"node_id":"n1","node_ids":[]}}`)
	h.expect(`{"src":"n1","dest":"c5","body":{"type":"error","code":12,"text":"init has no node_ids","in_reply_to":6}}`)
	h.send(`{"src":"c5","dest":"n1","body":{"type":"who","msg_id":7}}`)
	h.expect(`{"src":"n1","dest":"c5","body":{"type":"who_ok","id":"n1","peers":["n2"],"inits":1,"in_reply_to":7}}`)
	h.closeClean()
}

func testInitMalformedFirst(t *testing.T) {
	h := startNode(t, Config{}, func(n *Node) { Handle(n, "echo", echoHandler) })
	h.send(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_ids":["n1"]}}`)
	h.expect(`{"src":"n1","dest":"c0","body":{"type":"error","code":12,"text":"init has no node_id","in_reply_to":1}}`)
	h.init("n1", "n1")
	h.probe(2)
	h.closeClean()
}

func testInitHookError(t *testing.T) {
	h := startNode(t, Config{}, func(n *Node) {
		n.OnInit(func() error { return errors.New("no disk") })
	})
	h.send(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}`)
	h.expect(`{"src":"n1","dest":"c0","body":{"type":"error","code":13,"text":"no disk","in_reply_to":1}}`)
	h.closeClean()
}

func testInitQueueBounded(t *testing.T) {
	h := startNode(t, Config{PreInitMax: 2}, func(n *Node) { Handle(n, "echo", echoHandler) })
	for i := 1; i <= 4; i++ {
		h.sendf(`{"src":"c1","dest":"n1","body":{"type":"echo","echo":%d,"msg_id":%d}}`, i, i)
	}
	h.init("n1", "n1")
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":1,"in_reply_to":1}}`,
		`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":2,"in_reply_to":2}}`)
	h.probe(9)
	h.closeClean()
}

func testInitEndsBeforeInit(t *testing.T) {
	h := startNode(t, Config{}, func(n *Node) { Handle(n, "echo", echoHandler) })
	h.send(`{"src":"c1","dest":"n1","body":{"type":"echo","echo":1,"msg_id":1}}`)
	h.closeClean()
}

// TestInitRefused: an init that is malformed, or whose OnInit hooks fail,
// is answered with an error and leaves the node as it was, waiting for
// init: the requests that came before it stay queued, and a good init then
// runs every hook from scratch and serves them.
func TestInitRefused(t *testing.T) {
	const good = `{"src":"c0","dest":"n1","body":{"type":"init","msg_id":2,"node_id":"n1","node_ids":["n1","n2"]}}`
	bad := []struct {
		name string
		body string // the init body's fields after type and msg_id
		want string // the error reply's code and text
	}{
		{name: "empty node_ids", body: `"node_id":"n1","node_ids":[]`, want: `"code":12,"text":"init has no node_ids"`},
		{name: "null node_ids", body: `"node_id":"n1","node_ids":null`, want: `"code":12,"text":"init has no node_ids"`},
		{name: "no node_ids", body: `"node_id":"n1"`, want: `"code":12,"text":"init has no node_ids"`},
		{name: "no node_id", body: `"node_ids":["n1","n2"]`, want: `"code":12,"text":"init has no node_id"`},
		{name: "empty node_id", body: `"node_id":"","node_ids":["n1","n2"]`, want: `"code":12,"text":"init has no node_id"`},
		{name: "node_id a number", body: `"node_id":1,"node_ids":["n1","n2"]`,
			want: `"code":12,"text":"decode init: json: cannot unmarshal number into Go struct field initBody.node_id of type string"`},
		{name: "node_ids a string", body: `"node_id":"n1","node_ids":"n1"`,
			want: `"code":12,"text":"decode init: json: cannot unmarshal string into Go struct field initBody.node_ids of type []string"`},
		{name: "node_ids with a number", body: `"node_id":"n1","node_ids":["n1",2]`,
			want: `"code":12,"text":"decode init: json: cannot unmarshal number into Go struct field initBody.node_ids of type string"`},
		{name: "self not in node_ids", body: `"node_id":"n1","node_ids":["n2","n3"]`,
			want: `"code":12,"text":"init: node_id \"n1\" is not among node_ids [\"n2\" \"n3\"]"`},
		{name: "repeated id", body: `"node_id":"n1","node_ids":["n1","n2","n1"]`,
			want: `"code":12,"text":"init: node_ids [\"n1\" \"n2\" \"n1\"] has an empty or repeated id"`},
		{name: "empty id in node_ids", body: `"node_id":"n1","node_ids":["n1",""]`,
			want: `"code":12,"text":"init: node_ids [\"n1\" \"\"] has an empty or repeated id"`},
		{name: "in_reply_to not an integer", body: `"in_reply_to":"x","node_id":"n1","node_ids":["n1","n2"]`,
			want: `"code":12,"text":"reserved body fields: field in_reply_to: want an int64, got a string"`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			inits := 0
			h := startNode(t, Config{}, func(n *Node) {
				n.OnInit(func() error { inits++; return nil })
				Handle(n, "echo", echoHandler)
			})
			h.send(`{"src":"c9","dest":"n1","body":{"type":"echo","echo":"early","msg_id":1}}`)
			h.send(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,` + tc.body + `}}`)
			h.expect(`{"src":"n1","dest":"c0","body":{"type":"error",` + tc.want + `,"in_reply_to":1}}`)
			require.Zero(t, inits, "hooks ran for a refused init")
			h.send(good)
			h.expect(`{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":2}}`,
				`{"src":"n1","dest":"c9","body":{"type":"echo_ok","echo":"early","in_reply_to":1}}`)
			h.probe(3)
			h.closeClean()
			require.Equal(t, 1, inits)
		})
	}

	t.Run("a failing hook undoes what the hooks started", testInitHookUndone)
}

func testInitHookUndone(t *testing.T) {
	type event struct{ what, detail string }
	var events []event
	runs := 0
	var n0 *Node
	h := startNode(t, Config{}, func(n *Node) {
		n0 = n
		// The first hook starts everything a hook can: a message, a
		// call, a retried call, timers; the second fails on its first run.
		n.OnInit(func() error {
			runs++
			require.NoError(t, n.Send("n2", initOK{Type: "hello"}))
			require.NoError(t, Call(n, "n2", initOK{Type: "ping"}, time.Hour, func(_ json.RawMessage, err error) {
				events = append(events, event{what: "call", detail: fmt.Sprint(err)})
			}))
			require.NoError(t, CallRetry(n, "n2", initOK{Type: "ping"}, Retry{Attempts: 3, Timeout: time.Hour,
				Retryable: func(error) bool { return true }}, func(_ json.RawMessage, err error) {
				events = append(events, event{what: "retry", detail: fmt.Sprint(err)})
			}))
			n.Every(time.Hour, func() {})
			n.After(time.Hour, func() {})
			return nil
		})
		n.OnInit(func() error {
			if runs == 1 {
				return errors.New("not yet")
			}
			return nil
		})
		Handle(n, "stats", func(req *Request, _ struct{}) error {
			s := n0.stats()
			return req.Reply(struct {
				Type    string `json:"type"`
				Pending int    `json:"pending"`
				Timers  int    `json:"timers"`
			}{Type: "stats_ok", Pending: s.Pending, Timers: s.Timers})
		})
	})
	h.send(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}}`)
	// Nothing the hooks sent is written: the error is the only line.
	h.expect(`{"src":"n1","dest":"c0","body":{"type":"error","code":13,"text":"not yet","in_reply_to":1}}`)
	h.send(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":2,"node_id":"n1","node_ids":["n1","n2"]}}`)
	// The second run starts again from msg_id 1.
	h.expect(`{"src":"n1","dest":"n2","body":{"type":"hello"}}`,
		`{"src":"n1","dest":"n2","body":{"type":"ping","msg_id":1}}`,
		`{"src":"n1","dest":"n2","body":{"type":"ping","msg_id":2}}`,
		`{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":2}}`)
	// Two calls with their deadlines, Every and After: the first run's are gone.
	h.send(`{"src":"c1","dest":"n1","body":{"type":"stats","msg_id":3}}`)
	h.expect(`{"src":"n1","dest":"c1","body":{"type":"stats_ok","pending":2,"timers":4,"in_reply_to":3}}`)
	rest, err := h.close()
	require.NoError(t, err)
	require.Empty(t, rest)
	require.Equal(t, 2, runs)
	require.Equal(t, []event{
		{what: "call", detail: ErrNotInitialized.Error()},
		// Failed with ErrNotInitialized, retried, and its back-off
		// timer dropped: it ends as a stop does.
		{what: "retry", detail: ErrStopped.Error()},
		{what: "call", detail: ErrStopped.Error()},
		{what: "retry", detail: ErrStopped.Error()},
	}, events)
}

// TestInitRace: peers' messages race with init from several writers; run
// under -race. Every message must be served exactly once, after init, from
// the loop, and answered from the right id.
func TestInitRace(t *testing.T) {
	const writers, perWriter = 4, 200
	served := map[string]int{}
	h := startNode(t, Config{Logger: testLogger(t, slog.LevelWarn)}, func(n *Node) {
		Handle(n, "gossip", func(req *Request, _ struct{}) error {
			if n.ID() != "n3" {
				return errors.New("served before init")
			}
			served[req.Src]++ // loop-owned: no lock, -race checks it
			return req.Reply(initOK{Type: "gossip_ok"})
		})
	})
	var mu sync.Mutex // one line at a time on the shared stdin
	writeLine := func(l string) {
		mu.Lock()
		defer mu.Unlock()
		_, err := io.WriteString(h.in, l+"\n")
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 1; i <= perWriter; i++ {
				writeLine(fmt.Sprintf(`{"src":"n%d","dest":"n3","body":{"type":"gossip","msg_id":%d}}`, 10+w, i))
			}
		})
	}
	wg.Go(func() {
		writeLine(`{"src":"c0","dest":"n3","body":{"type":"init","msg_id":1,"node_id":"n3","node_ids":["n3"]}}`)
	})
	wg.Wait()
	replies := map[string]int{}
	for range writers*perWriter + 1 {
		var m struct {
			Src  string `json:"src"`
			Dest string `json:"dest"`
			Body struct {
				Type      string `json:"type"`
				InReplyTo int64  `json:"in_reply_to"`
			} `json:"body"`
		}
		require.NoError(t, json.Unmarshal([]byte(h.recv()), &m))
		require.Equal(t, "n3", m.Src)
		replies[m.Body.Type]++
	}
	require.Equal(t, map[string]int{"init_ok": 1, "gossip_ok": writers * perWriter}, replies)
	h.closeClean()
	for w := range writers {
		require.Equal(t, perWriter, served[fmt.Sprintf("n%d", 10+w)])
	}
}

// TestShutdownDrains: input that ends right after a burst is fully served
// and flushed before Run returns nil.
func TestShutdownDrains(t *testing.T) {
	const count = 3000
	idle := 0
	h := startNode(t, Config{Logger: testLogger(t, slog.LevelWarn), InboxMax: 16}, func(n *Node) {
		Handle(n, "echo", echoHandler)
		n.OnIdle(func() { idle++ })
	})
	h.init("n1", "n1")
	var b strings.Builder
	for i := 1; i <= count; i++ {
		fmt.Fprintf(&b, `{"src":"c1","dest":"n1","body":{"type":"echo","echo":%d,"msg_id":%d}}`+"\n", i, i)
	}
	wrote := make(chan error, 1)
	go func() { _, err := io.WriteString(h.in, b.String()); wrote <- err }()
	require.NoError(t, <-wrote)
	rest, err := h.close() // EOF right after the burst, before it is served
	require.NoError(t, err)
	require.NoError(t, err)
	require.Len(t, rest, count)
	for i, l := range rest {
		require.Equal(t, fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":%d,"in_reply_to":%d}}`, i+1, i+1), l)
	}
	require.Positive(t, idle)
}

// TestFinalLineWithoutNewline: the last line is served even unterminated.
func TestFinalLineWithoutNewline(t *testing.T) {
	h := startNode(t, Config{}, func(n *Node) { Handle(n, "echo", echoHandler) })
	h.init("n1", "n1")
	_, err := io.WriteString(h.in, `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1,"msg_id":2}}`)
	require.NoError(t, err)
	rest, err := h.close()
	require.NoError(t, err)
	require.Equal(t, []string{`{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":1,"in_reply_to":2}}`}, rest)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorEndsRun(t *testing.T) {
	inR, inW := io.Pipe()
	n, err := New(Config{In: inR, Out: failWriter{}, Logger: testLogger(t, slog.LevelWarn)})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Run() }()
	_, err = io.WriteString(inW, `{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}`+"\n")
	require.NoError(t, err)
	require.ErrorContains(t, <-done, "broken pipe")
	require.NoError(t, inW.Close()) // lets the blocked reader goroutine end
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("stdin gone") }

func TestReadErrorEndsRun(t *testing.T) {
	n, err := New(Config{In: failReader{}, Out: io.Discard, Logger: testLogger(t, slog.LevelWarn)})
	require.NoError(t, err)
	require.ErrorContains(t, n.Run(), "stdin gone")
	require.ErrorContains(t, n.Run(), "twice")
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{{LineMaxBytes: -1}, {InboxMax: -1}, {PreInitMax: -1}, {PeerInflightMax: -1}, {PeerQueueMax: -1}} {
		_, err := New(cfg)
		require.Error(t, err)
	}
	n, err := New(Config{})
	require.NoError(t, err)
	require.Equal(t, DefaultLineMaxBytes, n.cfg.LineMaxBytes)
	require.Equal(t, DefaultPeerInflightMax, n.cfg.PeerInflightMax)
}

func TestRegisterPanics(t *testing.T) {
	n, err := New(Config{})
	require.NoError(t, err)
	Handle(n, "x", func(*Request, struct{}) error { return nil })
	for _, typ := range []string{"x", "init", "error", ""} {
		require.Panics(t, func() { Handle(n, typ, func(*Request, struct{}) error { return nil }) }, typ)
	}
}

func TestSendBeforeInit(t *testing.T) {
	n, err := New(Config{})
	require.NoError(t, err)
	require.ErrorIs(t, n.Send("n2", initOK{Type: "x"}), ErrNotInitialized)
	require.ErrorIs(t, Call(n, "n2", initOK{Type: "x"}, 1, func(json.RawMessage, error) {}), ErrNotInitialized)
	require.Error(t, (&Request{MsgID: 1}).Reply(initOK{Type: "x"}))
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"": slog.LevelWarn, "debug": slog.LevelDebug, "DEBUG": slog.LevelDebug, " info ": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError, "verbose": slog.LevelWarn,
	} {
		require.Equal(t, want, ParseLevel(in), in)
	}
	var b strings.Builder
	l := NewLogger(&b, "")
	l.Info("quiet")
	l.Warn("loud")
	require.NotContains(t, b.String(), "quiet")
	require.Contains(t, b.String(), "loud")
}

// TestLogging: a clean session logs nothing at the default level; debug
// logs every message received and sent; stdout never carries logs.
func TestLogging(t *testing.T) {
	input := initLine + `{"src":"c1","dest":"n1","body":{"type":"echo","echo":1,"msg_id":2}}` + "\n"
	for _, tc := range []struct {
		level string
		want  []string
	}{
		{level: "", want: nil},
		{level: "debug", want: []string{"msg=recv", "msg=send", "msg=initialized"}},
	} {
		var logs, out strings.Builder
		n, err := New(Config{In: strings.NewReader(input), Out: &out, Logger: NewLogger(&logs, tc.level)})
		require.NoError(t, err)
		Handle(n, "echo", echoHandler)
		require.NoError(t, n.Run())
		if tc.want == nil {
			require.Empty(t, logs.String())
		}
		for _, w := range tc.want {
			require.Contains(t, logs.String(), w)
		}
		require.Equal(t, 2, strings.Count(out.String(), "\n"))
		require.NotContains(t, out.String(), "level=")
	}
}

// ReplyTo answers a client's request forwarded by a peer: the line carries
// this node as src, the client as dest and the client's msg_id as
// in_reply_to; a non-positive msg_id is refused.
func TestReplyTo(t *testing.T) {
	input := initLine + `{"src":"n2","dest":"n1","body":{"type":"fwd","client":"c7","id":41}}` + "\n"
	var out strings.Builder
	n, err := New(Config{In: strings.NewReader(input), Out: &out})
	require.NoError(t, err)
	require.ErrorIs(t, n.ReplyTo("c7", 1, initOK{Type: "x"}), ErrNotInitialized)
	type fwd struct {
		Client string `json:"client"`
		ID     int64  `json:"id"`
	}
	Handle(n, "fwd", func(req *Request, b fwd) error {
		require.Error(t, n.ReplyTo(b.Client, 0, initOK{Type: "write_ok"}))
		require.Error(t, n.ReplyTo("", b.ID, initOK{Type: "write_ok"}))
		return n.ReplyTo(b.Client, b.ID, initOK{Type: "write_ok"})
	})
	require.NoError(t, n.Run())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	require.JSONEq(t, `{"src":"n1","dest":"c7","body":{"type":"write_ok","in_reply_to":41}}`, lines[1])
}
