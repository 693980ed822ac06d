package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The decoder reads only the fields that drive dispatch (src, dest, body;
// the body's type, msg_id, in_reply_to). Rather than three encoding/json
// passes (envelope, then body header), it validates the line once with
// json.Valid and then walks the top-level keys of the two objects with the
// small scanner below, which may assume valid JSON. Keys match exactly (as
// Maelstrom writes them), not case-insensitively as encoding/json would.
// FuzzDecodeLine checks it against an encoding/json reference.

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at data[i].
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// skipValue returns the index just past the value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(data) {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// eachField calls fn with the raw key (quotes included) and raw value of
// every top-level field of obj, a valid JSON object (leading space allowed).
func eachField(obj []byte, fn func(key, val []byte)) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return // '}' (or, never for valid input, garbage)
		}
		k := i
		i = skipString(obj, i)
		key := obj[k:i]
		i = skipSpace(obj, i) + 1 // ':'
		i = skipSpace(obj, i)
		v := i
		i = skipValue(obj, i)
		fn(key, obj[v:i])
		i = skipSpace(obj, i)
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

// keyIs reports whether raw key (with quotes) spells name. Escaped keys,
// which no Maelstrom participant writes, are unescaped first.
func keyIs(key []byte, name string) bool {
	if len(key) < 2 {
		return false
	}
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == name
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

// fieldError mirrors encoding/json's best effort: the first wrong-typed
// field is reported, the other fields are still read.
type fieldError struct {
	field string
	want  string
	got   []byte
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("field %s: want %s, got %s", e.field, e.want, kindOf(e.got))
}

func kindOf(val []byte) string {
	if len(val) == 0 {
		return "nothing"
	}
	switch val[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "number " + string(val)
}

// setString decodes a string field into dst. As in encoding/json, null and
// wrong types leave dst unchanged, and only the first error is kept.
func setString(dst *string, field string, val []byte, firstErr *error) {
	switch {
	case len(val) > 0 && val[0] == 'n':
		return
	case len(val) < 2 || val[0] != '"':
		if *firstErr == nil {
			*firstErr = &fieldError{field: field, want: "a string", got: val}
		}
		return
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		*dst = string(inner)
		return
	}
	// Escapes, or invalid UTF-8 that encoding/json replaces with U+FFFD.
	if err := json.Unmarshal(val, dst); err != nil && *firstErr == nil {
		*firstErr = err
	}
}

// setInt decodes an integer field into dst, like setString. Fractions,
// exponents and values past int64 are errors, as in encoding/json.
func setInt(dst *int64, field string, val []byte, firstErr *error) {
	if len(val) > 0 && val[0] == 'n' {
		return
	}
	v, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		if *firstErr == nil {
			*firstErr = &fieldError{field: field, want: "an int64", got: val}
		}
		return
	}
	*dst = v
}

// decodeLine parses one input line. It returns an error only when the line
// cannot be answered at all (invalid JSON, no string src, a body that is not
// an object); a body whose reserved fields have the wrong types is returned
// with Request.decodeErr set so that dispatch can answer 12 when there is a
// msg_id. It copies everything it keeps: line may be reused afterwards.
func decodeLine(line []byte) (*Request, error) {
	line = bytes.TrimSpace(line)
	if !json.Valid(line) {
		return nil, errors.New("malformed JSON")
	}
	if line[0] != '{' {
		return nil, errors.New("message is not a JSON object")
	}
	req := &Request{}
	var body []byte
	var envErr error
	eachField(line, func(key, val []byte) {
		switch {
		case keyIs(key, "src"):
			setString(&req.Src, "src", val, &envErr)
		case keyIs(key, "dest"):
			setString(&req.Dest, "dest", val, &envErr)
		case keyIs(key, "body"):
			body = val
		}
	})
	switch {
	case envErr != nil:
		return nil, fmt.Errorf("malformed envelope: %w", envErr)
	case req.Src == "":
		return nil, errors.New("envelope has no src")
	case len(body) == 0 || body[0] != '{':
		return nil, fmt.Errorf("body from %s is not a JSON object", req.Src)
	}
	req.Body = bytes.Clone(body)
	eachField(req.Body, func(key, val []byte) {
		switch {
		case keyIs(key, "type"):
			setString(&req.Type, "type", val, &req.decodeErr)
		case keyIs(key, "msg_id"):
			setInt(&req.MsgID, "msg_id", val, &req.decodeErr)
		case keyIs(key, "in_reply_to"):
			setInt(&req.inReplyTo, "in_reply_to", val, &req.decodeErr)
		}
	})
	// Zero and negative ids mean "none": never answer with in_reply_to <= 0.
	req.MsgID = max(req.MsgID, 0)
	req.inReplyTo = max(req.inReplyTo, 0)
	return req, nil
}
