package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
)

// encoder turns message bodies into JSON objects. It is loop-owned and
// reuses one buffer, so each body is marshalled once: the reserved fields are
// spliced into the object's bytes instead of the official package's
// marshal → map → marshal round trip, and the field order stays the struct's.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	// Keep '<', '>' and '&' as they are: bodies echo client data.
	e.enc.SetEscapeHTML(false)
	return e
}

// object encodes body as one JSON object on one line. The result aliases the
// encoder's buffer until the next call.
//
// Bodies are ordinary structs with a "type" field, *maelstrom.RPCError
// (always written with its code, even 0), or json.RawMessage, which is used
// verbatim (after validation) so that payloads can be returned byte for byte.
// A body must not carry msg_id or in_reply_to: the runtime adds them.
func (e *encoder) object(body any) ([]byte, error) {
	e.buf.Reset()
	switch b := body.(type) {
	case *maelstrom.RPCError:
		if b == nil {
			return nil, errors.New("node: nil *maelstrom.RPCError body")
		}
		body = errorBody{Type: "error", Code: b.Code, Text: b.Text}
	case maelstrom.RPCError:
		body = errorBody{Type: "error", Code: b.Code, Text: b.Text}
	case json.RawMessage:
		return e.raw(b)
	}
	if err := e.enc.Encode(body); err != nil {
		return nil, fmt.Errorf("node: encode %T: %w", body, err)
	}
	out := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	if len(out) < 2 || out[0] != '{' || out[len(out)-1] != '}' {
		return nil, fmt.Errorf("node: body %T encodes to %.40q, not a JSON object", body, out)
	}
	return out, nil
}

// raw validates a caller-built object. It is returned unchanged unless it
// spans several lines, which would break the line framing.
func (e *encoder) raw(b json.RawMessage) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' || !json.Valid(b) {
		return nil, fmt.Errorf("node: raw body %.40q is not a JSON object", b)
	}
	if bytes.IndexByte(b, '\n') < 0 {
		return b, nil
	}
	if err := json.Compact(&e.buf, b); err != nil {
		return nil, fmt.Errorf("node: compact raw body: %w", err)
	}
	return e.buf.Bytes(), nil
}

// appendBody appends obj (a JSON object) with "msg_id" and "in_reply_to"
// added before its closing brace, each only when positive.
func appendBody(dst, obj []byte, msgID, inReplyTo int64) []byte {
	if msgID <= 0 && inReplyTo <= 0 {
		return append(dst, obj...)
	}
	inner := obj[1 : len(obj)-1]
	sep := len(bytes.TrimSpace(inner)) > 0
	dst = append(dst, obj[:len(obj)-1]...)
	if msgID > 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"msg_id":`...)
		dst = strconv.AppendInt(dst, msgID, 10)
		sep = true
	}
	if inReplyTo > 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"in_reply_to":`...)
		dst = strconv.AppendInt(dst, inReplyTo, 10)
	}
	return append(dst, '}')
}

// appendMessage appends one envelope line: src, dest, body, in that order
// (Maelstrom accepts no other top-level keys).
func appendMessage(dst []byte, src, dest string, obj []byte, msgID, inReplyTo int64) []byte {
	dst = append(dst, `{"src":`...)
	dst = appendString(dst, src)
	dst = append(dst, `,"dest":`...)
	dst = appendString(dst, dest)
	dst = append(dst, `,"body":`...)
	dst = appendBody(dst, obj, msgID, inReplyTo)
	return append(dst, '}', '\n')
}

// appendString appends s as a JSON string. Node ids are plain ASCII, so the
// fast path copies them; anything else goes through encoding/json.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
