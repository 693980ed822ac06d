package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeLine feeds arbitrary input lines through the decoder and the
// loop's dispatch (no goroutines: dispatch is called directly). Nothing may
// panic, every accepted message must be a well-formed request or reply, and
// everything the node writes must be valid, single-line, reserved-key-clean
// Maelstrom messages.
//
//	go test -run '^$' -fuzz '^FuzzDecodeLine$' -fuzztime 10s ./lib/node/
func FuzzDecodeLine(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"src":"c1","dest":"n1","body":{"type":"echo","echo":"Please echo 1","msg_id":1}}`,
		`{"src":"c1","dest":"n1","body":{"type":"add","delta":9007199254740993,"msg_id":2}}`,
		`{"src":"c1","dest":"n1","body":{"type":"add","delta":"x","msg_id":2}}`,
		`{"src":"c1","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}}`,
		`{"src":"n2","dest":"n1","body":{"type":"error","code":0,"in_reply_to":1}}`,
		`{"src":"n2","dest":"n1","body":{"type":"read_ok","in_reply_to":1}}`,
		`{"src":"c1","dest":"n1","body":{"type":5,"msg_id":"x"}}`,
		`{"src":"c1","dest":"n1","body":{"msg_id":3}}`,
		`{"src":"c1","dest":"n1","body":[1]}`,
		`{"src":"c1","dest":"n1","body":{"type":"frob","msg_id":-1}}`,
		`{"src":"c\u0000","dest":"\"","body":{"type":"echo","echo":"\ud800","msg_id":4}}`,
		`[]`, `null`, `{`, ``, "\xff",
		deepLine(100_000, true), deepLine(10_001, false), deepLine(100_000, false)[:150_000],
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := decodeLine(line)
		ref, refErr := decodeLineReference(line)
		if refErr != nil && strings.Contains(refErr.Error(), "exceeded max depth") {
			// Too deep for the reference; the scanner takes it if it can
			// be answered, flagged so that it is answered 12.
			if err == nil {
				require.ErrorIs(t, req.decodeErr, errTooDeep)
			}
		} else if comparable(line) {
			require.Equal(t, refErr == nil, err == nil, "accept: scanner %v, reference %v", err, refErr)
			if err == nil {
				require.Equal(t, ref.Src, req.Src)
				require.Equal(t, ref.Dest, req.Dest)
				require.Equal(t, string(ref.Body), string(req.Body))
				require.Equal(t, ref.Type, req.Type)
				require.Equal(t, ref.MsgID, req.MsgID)
				require.Equal(t, ref.inReplyTo, req.inReplyTo)
				require.Equal(t, ref.decodeErr == nil, req.decodeErr == nil, "scanner %v, reference %v", req.decodeErr, ref.decodeErr)
			}
		}
		if err != nil {
			require.Nil(t, req)
			return
		}
		require.NotEmpty(t, req.Src)
		require.True(t, json.Valid(req.Body) || req.decodeErr == errTooDeep && validDeep(req.Body))
		require.Equal(t, byte('{'), req.Body[0])
		require.GreaterOrEqual(t, req.MsgID, int64(0))
		require.GreaterOrEqual(t, req.inReplyTo, int64(0))
		_ = errorOf(req)

		// An error reply to it is one valid line that decodes back.
		text := string(line)
		obj, err := newEncoder().object(maelstrom.NewRPCError(maelstrom.MalformedRequest, text))
		require.NoError(t, err)
		src := req.Dest
		if src == "" {
			src = "n1"
		}
		out := appendMessage(nil, src, req.Src, obj, 0, req.MsgID)
		require.Equal(t, 1, bytes.Count(out, []byte{'\n'}))
		back, err := decodeLine(out[:len(out)-1])
		require.NoError(t, err)
		require.Equal(t, "error", back.Type)
		require.Equal(t, req.MsgID, back.inReplyTo)
		if utf8.ValidString(text) && utf8.ValidString(req.Src) {
			require.Equal(t, req.Src, back.Dest)
			require.Equal(t, maelstrom.NewRPCError(maelstrom.MalformedRequest, text), errorOf(back))
		}

		// Dispatch it on an initialized node and on a fresh one.
		for _, initialized := range []bool{true, false} {
			n := fuzzNode(t, initialized)
			n.dispatch(req)
			checkOutput(t, n.out)
			if initialized && req.decodeErr != nil && req.MsgID > 0 && req.inReplyTo == 0 {
				// A request that cannot be decoded is answered 12, once.
				require.Equal(t, 1, bytes.Count(n.out, []byte{'\n'}), "%s", n.out)
				require.Contains(t, string(n.out), `"type":"error","code":12,`)
			}
		}
	})
}

// deepLine is an echo request whose payload is nested depth levels deep,
// with a msg_id when withID.
func deepLine(depth int, withID bool) string {
	id := ""
	if withID {
		id = `"msg_id":7,`
	}
	return `{"src":"c1","dest":"n1","body":{"type":"echo",` + id + `"echo":` +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}`
}

// FuzzValidDeep checks validDeep against json.Valid: they agree on every
// input but those nested deeper than encoding/json goes, which validDeep
// alone accepts.
//
//	go test -run '^$' -fuzz '^FuzzValidDeep$' -fuzztime 10s ./lib/node/
func FuzzValidDeep(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, ` {"a" : [1, -0.5e+3, "x\u00e9\n", true, false, null, {}]} `, `{"a":1,}`, `[1,]`, `01`,
		`-`, `1.`, `1e`, `"\x"`, `"\u12"`, "\"\x01\"", `{"a"}`, `{1:2}`, `[1 2]`, `tru`, `nul`, `"a`, `]`, `{"a":1}}`,
		"\"\xff\"", deepLine(10_001, true), deepLine(10_000, true)[:20_050],
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := validDeep(data), json.Valid(data)
		if got == want {
			return
		}
		var v json.RawMessage
		err := json.Unmarshal(data, &v)
		require.True(t, got, "validDeep rejects what json.Valid accepts: %.200q", data)
		require.ErrorContains(t, err, "exceeded max depth", "validDeep accepts %.200q", data)
	})
}

func fuzzNode(t *testing.T, initialized bool) *Node {
	n, err := New(Config{In: bytes.NewReader(nil), Out: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	Handle(n, "echo", echoHandler)
	Handle(n, "add", addHandler)
	if initialized {
		init, err := decodeLine([]byte(`{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}}`))
		require.NoError(t, err)
		n.dispatch(init)
		n.out = n.out[:0]
	}
	return n
}

// checkOutput requires every line to be a message Maelstrom accepts: only
// src, dest and body at the top level, an object body with a string type,
// and in_reply_to, when present, a positive integer.
func checkOutput(t *testing.T, out []byte) {
	for _, line := range bytes.Split(bytes.TrimSuffix(out, []byte{'\n'}), []byte{'\n'}) {
		if len(out) == 0 {
			return
		}
		var top map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(line, &top), string(line))
		for k := range top {
			require.Contains(t, []string{"src", "dest", "body"}, k)
		}
		var m struct {
			Src  string `json:"src"`
			Dest string `json:"dest"`
			Body struct {
				Type      string `json:"type"`
				InReplyTo *int64 `json:"in_reply_to"`
			} `json:"body"`
		}
		require.NoError(t, json.Unmarshal(line, &m), string(line))
		require.NotEmpty(t, m.Src)
		require.NotEmpty(t, m.Dest)
		require.NotEmpty(t, m.Body.Type)
		if m.Body.InReplyTo != nil {
			require.Positive(t, *m.Body.InReplyTo)
		}
	}
}

// decodeLineReference is the straightforward encoding/json decoder that
// decodeLine's scanner replaces; the fuzz target checks they agree.
func decodeLineReference(line []byte) (*Request, error) {
	var env maelstrom.Message
	if err := json.Unmarshal(line, &env); err != nil {
		return nil, err
	}
	if env.Src == "" {
		return nil, errors.New("no src")
	}
	body := bytes.TrimSpace(env.Body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errors.New("body not an object")
	}
	req := &Request{Src: env.Src, Dest: env.Dest, Body: body}
	var h header
	req.decodeErr = json.Unmarshal(body, &h)
	req.Type, req.MsgID, req.inReplyTo = h.Type, max(h.MsgID, 0), max(h.InReplyTo, 0)
	return req, nil
}

// comparable reports whether the reference decoder's answer is the one the
// scanner must give: encoding/json also matches keys case-insensitively
// (with Unicode folding), which the scanner deliberately does not, so lines
// with such near-miss keys are skipped.
func comparable(line []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(line, &top) != nil {
		return true
	}
	near := func(m map[string]json.RawMessage, names ...string) bool {
		for k := range m {
			for _, name := range names {
				if k != name && (strings.EqualFold(k, name) || !isASCII(k)) {
					return true
				}
			}
		}
		return false
	}
	if near(top, "src", "dest", "body") {
		return false
	}
	var body map[string]json.RawMessage
	for k, v := range top {
		if k == "body" {
			_ = json.Unmarshal(v, &body) // the last "body" wins in both decoders
		}
	}
	return !near(body, "type", "msg_id", "in_reply_to")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
