// Package nodetest drives a node binary's whole run function over pipes, for
// the binaries' tests: a Session sends lines and waits for the replies to
// given msg_ids, and two batteries check what every binary must do with bad
// input. InitBattery sends malformed or impossible inits and requires each
// to be refused, leaving the node able to take a good init and serve.
// RequestBattery sends malformed requests (missing fields, wrong types,
// integers past int64, bad msg_ids, unknown types, empty bodies, deep
// nesting), each followed by a good request that must still be served.
//
// The batteries run each node in a testing/synctest bubble: the waits are
// virtual time, so a Raft node's first election costs nothing and a missing
// reply fails at once. A Session may be used outside one too (real time).
package nodetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RunFunc is a binary's whole node over its streams (stdin, stdout,
// stderr), as each nodes/* main package defines it.
type RunFunc func(in io.Reader, out, logs io.Writer) error

// replyWait bounds every wait for a reply (virtual time under synctest).
const replyWait = 30 * time.Second

// Session is one run of a node. Its methods must be called from the test's
// goroutine.
type Session struct {
	t     testing.TB
	in    *io.PipeWriter
	lines chan string
	// held are lines to clients read while awaiting another client's
	// reply, oldest first, for a later Await.
	held []held
	done chan error
	// closed is set once stdin is closed and the output drained.
	closed bool
}

// Start runs the node on pipes; Close (registered as a cleanup too) ends
// its input and waits for it to return.
func Start(t testing.TB, run RunFunc) *Session {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &Session{t: t, in: inW, lines: make(chan string, 1<<12), done: make(chan error, 1)}
	go func() {
		err := run(inR, outW, t.Output())
		_ = outW.Close()
		_ = inR.Close()
		s.done <- err
	}()
	go func() {
		defer close(s.lines)
		br := bufio.NewReaderSize(outR, 1<<16)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			s.lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Send writes one line to the node's stdin.
func (s *Session) Send(line string) {
	s.t.Helper()
	_, err := io.WriteString(s.in, line+"\n")
	require.NoError(s.t, err, "the node stopped reading")
}

// Reply is a decoded reply body.
type Reply struct {
	Type string
	Code *int64 // error replies only
	Text string
	Body json.RawMessage
}

// IsError says whether the reply is an error with the given code.
func (r Reply) IsError(code int64) bool { return r.Type == "error" && r.Code != nil && *r.Code == code }

func (r Reply) String() string { return string(r.Body) }

// envelope is an output line as far as the session reads it.
type envelope struct {
	Src  string          `json:"src"`
	Dest string          `json:"dest"`
	Body json.RawMessage `json:"body"`
}

type replyHeader struct {
	Type      string `json:"type"`
	InReplyTo *int64 `json:"in_reply_to"`
	Code      *int64 `json:"code"`
	Text      string `json:"text"`
}

// held is a line to a client that Await read but did not want yet.
type held struct {
	dest string
	line string
}

// Await returns the reply to client's msg_id. Lines to other clients are
// kept for their own Await; messages to nodes (peers) that reply to nothing
// are skipped. Any other line to client fails the test: it answers a
// request that must get no reply, or answers twice.
func (s *Session) Await(client string, msgID int64) Reply {
	s.t.Helper()
	for i, h := range s.held {
		if h.dest == client {
			s.held = append(s.held[:i], s.held[i+1:]...)
			return s.check(client, msgID, h.line)
		}
	}
	deadline := time.After(replyWait)
	for {
		select {
		case line, ok := <-s.lines:
			require.True(s.t, ok, "the node's output ended before the reply to %s's msg_id %d", client, msgID)
			var env envelope
			require.NoError(s.t, json.Unmarshal([]byte(line), &env), "output line %q", line)
			var h replyHeader
			require.NoError(s.t, json.Unmarshal(env.Body, &h), "output line %q", line)
			switch {
			case env.Dest == client:
				return s.check(client, msgID, line)
			case h.InReplyTo != nil || isClient(env.Dest):
				s.held = append(s.held, held{dest: env.Dest, line: line})
			}
		case <-deadline:
			s.t.Fatalf("no reply to %s's msg_id %d within %v", client, msgID, replyWait)
			return Reply{}
		}
	}
}

// isClient says whether id is a Maelstrom client id: "c" and digits.
func isClient(id string) bool {
	if len(id) < 2 || id[0] != 'c' {
		return false
	}
	_, err := strconv.ParseUint(id[1:], 10, 64)
	return err == nil
}

// check requires line, a message to client, to be the reply to msgID.
func (s *Session) check(client string, msgID int64, line string) Reply {
	s.t.Helper()
	var env envelope
	require.NoError(s.t, json.Unmarshal([]byte(line), &env), "output line %q", line)
	var h replyHeader
	require.NoError(s.t, json.Unmarshal(env.Body, &h), "output line %q", line)
	require.NotNil(s.t, h.InReplyTo, "a message to %s that replies to nothing: %s", client, line)
	require.Equal(s.t, msgID, *h.InReplyTo, "unexpected reply to %s: %s", client, line)
	return Reply{Type: h.Type, Code: h.Code, Text: h.Text, Body: env.Body}
}

// Request sends body (a JSON object without msg_id) from client to dest
// with msg_id msgID and returns the reply.
func (s *Session) Request(client, dest string, msgID int64, body string) Reply {
	s.t.Helper()
	s.Send(requestLine(client, dest, msgID, body))
	return s.Await(client, msgID)
}

// requestLine builds a request line; msgID 0 sends none.
func requestLine(client, dest string, msgID int64, body string) string {
	body = strings.TrimSpace(body)
	if msgID != 0 {
		sep := ","
		if strings.TrimSpace(body[1:len(body)-1]) == "" {
			sep = ""
		}
		body = body[:len(body)-1] + sep + `"msg_id":` + strconv.FormatInt(msgID, 10) + "}"
	}
	return fmt.Sprintf(`{"src":%q,"dest":%q,"body":%s}`, client, dest, body)
}

// Init sends an init for id among ids from client c0 and requires init_ok.
func (s *Session) Init(msgID int64, id string, ids ...string) {
	s.t.Helper()
	rep := s.Request("c0", id, msgID, initBody(id, ids))
	require.Equal(s.t, "init_ok", rep.Type, "init: %s", rep)
}

func initBody(id string, ids []string) string {
	quoted, _ := json.Marshal(ids) // strings always marshal
	return fmt.Sprintf(`{"type":"init","node_id":%q,"node_ids":%s}`, id, quoted)
}

// Close ends the node's input, requires Run to return nil, and drops the
// output left.
func (s *Session) Close() {
	if s.closed {
		return
	}
	s.closed = true
	_ = s.in.Close()
	for range s.lines {
	}
	require.NoError(s.t, <-s.done)
}

// Binary describes a node binary to the batteries.
type Binary struct {
	Run RunFunc
	// Good is a request body (without msg_id) the node serves once
	// initialized, answered with GoodType.
	Good     string
	GoodType string
	// NotYet says whether a reply to Good means "not ready yet, ask again
	// later" (a Raft node without a leader answers 11 until its first
	// election); the probe then waits a virtual second and asks again.
	NotYet func(Reply) bool
}

// probeTries bounds the probe's attempts (each a virtual second apart).
const probeTries = 60

// Probe requires the node to serve b.Good for client, with msg_ids from
// *msgID on, and returns the reply.
func (b Binary) Probe(s *Session, dest, client string, msgID *int64) Reply {
	s.t.Helper()
	var rep Reply
	for try := 0; try < probeTries; try++ {
		*msgID++
		rep = s.Request(client, dest, *msgID, b.Good)
		if b.NotYet == nil || !b.NotYet(rep) {
			break
		}
		time.Sleep(time.Second) // virtual in the batteries' bubbles: the node's timers run
	}
	require.Equal(s.t, b.GoodType, rep.Type, "good request %s from %s: %s", b.Good, client, rep)
	return rep
}

// BadInit is an init the node must refuse.
type BadInit struct {
	Name string
	Body string // the whole init body, without msg_id
	Code int64
}

// BadInits are the inits every binary must refuse with 12, for node n1.
func BadInits() []BadInit {
	return []BadInit{
		{Name: "empty node_ids", Body: `{"type":"init","node_id":"n1","node_ids":[]}`, Code: 12},
		{Name: "no node_ids", Body: `{"type":"init","node_id":"n1"}`, Code: 12},
		{Name: "null node_ids", Body: `{"type":"init","node_id":"n1","node_ids":null}`, Code: 12},
		{Name: "no node_id", Body: `{"type":"init","node_ids":["n1","n2","n3"]}`, Code: 12},
		{Name: "empty node_id", Body: `{"type":"init","node_id":"","node_ids":["n1","n2","n3"]}`, Code: 12},
		{Name: "node_id a number", Body: `{"type":"init","node_id":1,"node_ids":["n1","n2","n3"]}`, Code: 12},
		{Name: "node_id a list", Body: `{"type":"init","node_id":["n1"],"node_ids":["n1","n2","n3"]}`, Code: 12},
		{Name: "node_ids a string", Body: `{"type":"init","node_id":"n1","node_ids":"n1"}`, Code: 12},
		{Name: "node_ids with a number", Body: `{"type":"init","node_id":"n1","node_ids":["n1",2]}`, Code: 12},
		{Name: "self not among node_ids", Body: `{"type":"init","node_id":"n1","node_ids":["n2","n3"]}`, Code: 12},
		{Name: "repeated id", Body: `{"type":"init","node_id":"n1","node_ids":["n1","n2","n1"]}`, Code: 12},
		{Name: "empty id in node_ids", Body: `{"type":"init","node_id":"n1","node_ids":["n1",""]}`, Code: 12},
		{Name: "nested 100,000 deep", Body: `{"type":"init","node_id":"n1","node_ids":["n1"],"x":` + Deep(100_000) + `}`, Code: 12},
	}
}

// Deep is a JSON array nested depth levels deep.
func Deep(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

// InitBattery sends each bad init to a fresh node, with a good request
// queued before it, and requires: the init refused with its code; then a
// good init (node n1 of ids) answered init_ok, the queued request served,
// and the same init again answered init_ok while another identity is
// refused (22), the node still serving.
func InitBattery(t *testing.T, b Binary, ids ...string) {
	for _, bad := range BadInits() {
		t.Run(bad.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := Start(t, b.Run)
				// A request before init waits for it: it must be neither
				// answered by the refusal nor lost, and is served after
				// the good init.
				s.Send(requestLine("c1", "n1", 1, b.Good))
				rep := s.Request("c0", "n1", 1, bad.Body)
				// Not fatal: whatever the answer, the node must then
				// take a good init and serve.
				assert.True(t, rep.IsError(bad.Code), "bad init %.200s: want error %d, got %s", bad.Body, bad.Code, rep)
				s.Init(2, "n1", ids...)
				early := s.Await("c1", 1)
				if b.NotYet == nil || !b.NotYet(early) {
					require.Equal(t, b.GoodType, early.Type, "the request queued before init: %s", early)
				}
				msgID := int64(1)
				b.Probe(s, "n1", "c1", &msgID)
				rep = s.Request("c0", "n1", 3, initBody("n1", ids))
				require.Equal(t, "init_ok", rep.Type, "the same init again: %s", rep)
				rep = s.Request("c0", "n1", 4, initBody("n9", []string{"n9"}))
				require.True(t, rep.IsError(22), "an init naming another node: %s", rep)
				b.Probe(s, "n1", "c1", &msgID)
				s.Close()
			})
		})
	}
}

// BadRequest is a malformed request and what it must get.
type BadRequest struct {
	Name string
	// Body is the request body; the battery adds a msg_id unless Line is
	// set or NoMsgID.
	Body string
	// Line, if set, is sent as the whole line instead (from client c1 to
	// n1); it must carry no msg_id or msg_id 1 and get nothing or Code.
	Line    string
	NoMsgID bool
	// Code is the error code expected; 0 with NoReply means no reply.
	Code    int64
	NoReply bool
}

// CommonBadRequests are the malformed requests every binary answers the
// same way: the runtime's rules (a request that cannot be answered gets
// nothing; one that can, an error).
func CommonBadRequests() []BadRequest {
	return []BadRequest{
		{Name: "empty body", Body: `{}`, NoMsgID: true, NoReply: true},
		{Name: "no type", Body: `{}`, Code: 12},
		{Name: "type a number", Body: `{"type":5}`, Code: 12},
		{Name: "type null", Body: `{"type":null}`, Code: 12},
		{Name: "unknown type", Body: `{"type":"frobnicate"}`, Code: 10},
		{Name: "unknown type without msg_id", Body: `{"type":"frobnicate"}`, NoMsgID: true, NoReply: true},
		{Name: "error not a reply", Body: `{"type":"error","code":13}`, NoReply: true},
		{Name: "in_reply_to a string", Body: `{"type":"frobnicate","in_reply_to":"x"}`, Code: 12},
		{Name: "reply to nothing", Body: `{"type":"read_ok","in_reply_to":77}`, NoMsgID: true, NoReply: true},
		{Name: "msg_id negative", Line: `{"src":"c1","dest":"n1","body":{"type":"frobnicate","msg_id":-1}}`, NoReply: true},
		{Name: "msg_id a float", Line: `{"src":"c1","dest":"n1","body":{"type":"frobnicate","msg_id":1.5}}`, NoReply: true},
		{Name: "msg_id past int64", Line: `{"src":"c1","dest":"n1","body":{"type":"frobnicate","msg_id":9223372036854775808}}`, NoReply: true},
		{Name: "msg_id a string", Line: `{"src":"c1","dest":"n1","body":{"type":"frobnicate","msg_id":"1"}}`, NoReply: true},
		{Name: "body a list", Line: `{"src":"c1","dest":"n1","body":[{"type":"frobnicate","msg_id":1}]}`, NoReply: true},
		{Name: "body null", Line: `{"src":"c1","dest":"n1","body":null}`, NoReply: true},
		{Name: "no src", Line: `{"dest":"n1","body":{"type":"frobnicate","msg_id":1}}`, NoReply: true},
		{Name: "not JSON", Line: `{"src":"c1","dest":"n1","body":{"type":"frob`, NoReply: true},
		{Name: "nested 100,000 deep", Body: `{"type":"frobnicate","x":` + Deep(100_000) + `}`, Code: 12},
	}
}

// RequestBattery initializes a node n1 of ids, then sends each bad request
// (the common ones, then the binary's own) from a client of its own and
// requires its answer, and after it a good request from the same client
// served.
func RequestBattery(t *testing.T, b Binary, own []BadRequest, ids ...string) {
	synctest.Test(t, func(t *testing.T) {
		s := Start(t, b.Run)
		s.Init(1, "n1", ids...)
		for i, bad := range append(CommonBadRequests(), own...) {
			client := "c" + strconv.Itoa(i+1)
			line, msgID := bad.Line, int64(1)
			switch {
			case line != "":
				line = strings.Replace(line, `"src":"c1"`, `"src":"`+client+`"`, 1)
			case bad.NoMsgID:
				line = requestLine(client, "n1", 0, bad.Body)
			default:
				line = requestLine(client, "n1", msgID, bad.Body)
			}
			t.Logf("case %q: %.200s", bad.Name, line)
			s.Send(line)
			if !bad.NoReply {
				rep := s.Await(client, msgID)
				require.True(t, rep.IsError(bad.Code), "case %q: want error %d, got %s", bad.Name, bad.Code, rep)
			}
			// The next reply to this client must be the probe's: the bad
			// request got nothing more.
			b.Probe(s, "n1", client, &msgID)
		}
		s.Close()
	})
}
