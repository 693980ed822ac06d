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
// an object); a body whose reserved fields have the wrong types, or a line
// nested too deep to decode, is returned with Request.decodeErr set so that
// dispatch can answer 12 when there is a msg_id. It copies everything it
// keeps: line may be reused afterwards.
func decodeLine(line []byte) (*Request, error) {
	line = bytes.TrimSpace(line)
	tooDeep := false
	if !json.Valid(line) {
		// Rare, so the slower check runs only here: a line too deep for
		// encoding/json is still answered (12) if it names its sender.
		if !validDeep(line) {
			return nil, errors.New("malformed JSON")
		}
		tooDeep = true
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
	if tooDeep {
		req.decodeErr = errTooDeep
	}
	// Zero and negative ids mean "none": never answer with in_reply_to <= 0.
	req.MsgID = max(req.MsgID, 0)
	req.inReplyTo = max(req.inReplyTo, 0)
	return req, nil
}

// errTooDeep marks a line that is valid JSON but nested deeper than
// encoding/json goes (10000 levels): json.Valid rejects it, and no handler
// could decode it, but its sender can still be told so.
var errTooDeep = errors.New("JSON nested deeper than encoding/json's 10000 levels")

// validDeep reports whether data is one JSON value, surrounded by optional
// whitespace, as json.Valid does but at any depth: it keeps its open
// containers in a slice instead of a bounded stack, and never recurses.
func validDeep(data []byte) bool {
	var open []byte // '{' or '[' for each container not yet closed
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		ok := true
		switch c := data[i]; {
		case c == '{' || c == '[':
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == closer {
				i++
				break
			}
			open = append(open, c)
			if c == '{' {
				if i, ok = scanKey(data, i); !ok {
					return false
				}
			}
			continue
		case c == '"':
			i, ok = scanString(data, i)
		case c == '-' || c >= '0' && c <= '9':
			i, ok = scanNumber(data, i)
		case c == 't':
			i, ok = scanLiteral(data, i, "true")
		case c == 'f':
			i, ok = scanLiteral(data, i, "false")
		case c == 'n':
			i, ok = scanLiteral(data, i, "null")
		default:
			return false
		}
		if !ok {
			return false
		}
		// After a value: close containers, or go on to the next value.
		for next := false; !next; {
			i = skipSpace(data, i)
			if len(open) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := open[len(open)-1]
			switch {
			case data[i] == ',':
				i = skipSpace(data, i+1)
				if top == '{' {
					if i, ok = scanKey(data, i); !ok {
						return false
					}
				}
				next = true
			case top == '{' && data[i] == '}', top == '[' && data[i] == ']':
				open = open[:len(open)-1]
				i++
			default:
				return false
			}
		}
	}
}

// scanKey checks `"key" :` at i and returns the index of the value after it.
func scanKey(data []byte, i int) (int, bool) {
	i, ok := scanString(data, i)
	if !ok {
		return i, false
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return i, false
	}
	return skipSpace(data, i+1), true
}

// scanString checks the string at i and returns the index past it. Like
// encoding/json it accepts any byte from 0x20 up, invalid UTF-8 included.
func scanString(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return i, false
	}
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(data) {
				return i, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return i, false
				}
				for _, h := range data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// scanNumber checks the number at i (RFC 8259's grammar) and returns the
// index past it.
func scanNumber(data []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i, i > start
	}
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return i, false
	case data[i] == '0':
		i++
	default:
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	if i < len(data) && data[i] == '.' {
		var ok bool
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}

// scanLiteral checks that word is at i and returns the index past it.
func scanLiteral(data []byte, i int, word string) (int, bool) {
	if !bytes.HasPrefix(data[i:], []byte(word)) {
		return i, false
	}
	return i + len(word), true
}
