package edn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"maelkit/tests/eddy/history"
)

// MarshalJSON returns the JSON text of a history value on one line, for
// results.json and history.jsonl: a Keyword is its name without the colon,
// a *history.Map an object with the same keys in the same order, a
// history.JSON its (compacted) text, a Float a number (null when it is NaN
// or infinite, which JSON cannot hold), a List or vector an array.
func MarshalJSON(v any) ([]byte, error) { return AppendJSON(nil, v) }

// AppendJSON appends the JSON text of v to dst.
func AppendJSON(dst []byte, v any) ([]byte, error) { return appendJSON(dst, v, 0) }

// MarshalJSONIndent is MarshalJSON laid out with two-space indentation and
// a final newline, for files people read.
func MarshalJSONIndent(v any) ([]byte, error) {
	flat, err := MarshalJSON(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(flat) * 2)
	if err := json.Indent(&out, flat, "", "  "); err != nil {
		return nil, fmt.Errorf("edn: indenting JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func appendJSON(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case string:
		return appendJSONString(dst, x), nil
	case history.Keyword:
		return appendJSONString(dst, string(x)), nil
	case history.Float:
		return appendJSONFloat(dst, float64(x)), nil
	case float64:
		return appendJSONFloat(dst, x), nil
	case history.JSON:
		return appendRawJSON(dst, []byte(x))
	case []any:
		return appendJSONArray(dst, x, depth)
	case history.List:
		return appendJSONArray(dst, x, depth)
	case []int64:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, e, 10)
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, e)
		}
		return append(dst, ']'), nil
	case *history.Map:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, k := range x.Keys() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			val, _ := x.Get(k)
			var err error
			if dst, err = appendJSON(dst, val, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, fmt.Errorf("edn: value of unsupported type %T", v)
}

func appendJSONArray(dst []byte, xs []any, depth int) ([]byte, error) {
	dst = append(dst, '[')
	for i, e := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendJSON(dst, e, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendRawJSON appends raw compacted (so that a JSON line stays one line),
// failing on invalid JSON rather than writing a broken file.
func appendRawJSON(dst, raw []byte) ([]byte, error) {
	if isNumber(raw) { // the common case: no need for the general path
		return append(dst, raw...), nil
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, fmt.Errorf("edn: invalid JSON value: %w", err)
	}
	return buf.Bytes(), nil
}

func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return appendFiniteFloat(dst, f)
}

// appendJSONString quotes s for JSON. Unlike encoding/json it leaves <, >
// and & alone (the files are not embedded in HTML); invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[r&0xf])
			default:
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"':
			dst = append(dst, `\"`...)
		case '\\':
			dst = append(dst, `\\`...)
		case '\n':
			dst = append(dst, `\n`...)
		case '\t':
			dst = append(dst, `\t`...)
		case '\r':
			dst = append(dst, `\r`...)
		default:
			dst = append(dst, `\u00`...)
			dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
	}
	return append(dst, '"')
}
