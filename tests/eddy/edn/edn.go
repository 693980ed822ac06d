// Package edn prints eddy's history values the way Maelstrom (Clojure) does,
// so that results.edn and history.edn read like Maelstrom's own files and
// scripts written against Maelstrom keep working; it also prints the same
// values as JSON (results.json, history.jsonl) for everyone else.
//
// The values are the closed set of package history (see its package
// comment): nil, bool, int64 (and int), string, history.Keyword,
// history.Float (and float64), history.JSON, []any (a vector), history.List,
// []int64, []string and *history.Map. Anything else is an error, never a
// panic. Nesting deeper than maxDepth is an error too, so that a cyclic or
// hostile value cannot exhaust the stack.
//
// Two printing modes mirror Clojure's pr and print: readable (strings
// quoted and escaped, used everywhere) and plain (strings raw, used only for
// the error column of history.txt, where Jepsen uses print).
package edn

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"maelkit/tests/eddy/history"
)

// maxDepth bounds nesting of values (and of JSON text inside history.JSON).
const maxDepth = 1000

// errTooDeep is returned for values nested deeper than maxDepth.
var errTooDeep = errors.New("edn: value nested too deeply")

// Marshal returns the EDN text of v on one line, as Clojure's pr prints it.
func Marshal(v any) ([]byte, error) { return Append(nil, v) }

// Append appends the EDN text of v to dst. On error dst is returned with
// whatever was appended so far; callers discard it.
func Append(dst []byte, v any) ([]byte, error) { return appendValue(dst, v, true, 0) }

// Write writes the EDN text of v to w.
func Write(w io.Writer, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func appendValue(dst []byte, v any, readable bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "nil"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case string:
		if !readable {
			return appendPlain(dst, x), nil
		}
		return appendString(dst, x), nil
	case history.Keyword:
		return appendKeyword(dst, string(x)), nil
	case history.Float:
		return appendFloat(dst, float64(x)), nil
	case float64:
		return appendFloat(dst, x), nil
	case history.JSON:
		return appendJSONAsEDN(dst, []byte(x), readable, depth)
	case []any:
		return appendSeq(dst, '[', ']', x, readable, depth)
	case history.List:
		return appendSeq(dst, '(', ')', x, readable, depth)
	case []int64:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = strconv.AppendInt(dst, e, 10)
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ' ')
			}
			if readable {
				dst = appendString(dst, e)
			} else {
				dst = appendPlain(dst, e)
			}
		}
		return append(dst, ']'), nil
	case *history.Map:
		if x == nil {
			return append(dst, "nil"...), nil
		}
		dst = append(dst, '{')
		for i, k := range x.Keys() {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendMapKey(dst, x, k, readable)
			dst = append(dst, ' ')
			val, _ := x.Get(k)
			var err error
			if dst, err = appendValue(dst, val, readable, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, fmt.Errorf("edn: value of unsupported type %T", v)
}

func appendSeq(dst []byte, open, closing byte, xs []any, readable bool, depth int) ([]byte, error) {
	dst = append(dst, open)
	for i, e := range xs {
		if i > 0 {
			dst = append(dst, ' ')
		}
		var err error
		if dst, err = appendValue(dst, e, readable, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, closing), nil
}

// appendMapKey prints k as the map's flags say: a number for NumKeys maps
// (when k is a valid number; otherwise a string, so the output stays
// readable), a string for String maps, a keyword otherwise.
func appendMapKey(dst []byte, m *history.Map, k string, readable bool) []byte {
	switch {
	case m.NumKeys && isNumber([]byte(k)):
		return append(dst, k...)
	case m.String || m.NumKeys:
		if !readable {
			return appendPlain(dst, k)
		}
		return appendString(dst, k)
	}
	return appendKeyword(dst, k)
}

// appendKeyword prints :k. A name that the EDN reader could not read back as
// one keyword (empty, or holding white space or delimiters) is printed as a
// string instead, so that a bad key cannot corrupt the rest of the file.
func appendKeyword(dst []byte, k string) []byte {
	if !validKeyword(k) {
		return appendString(dst, k)
	}
	dst = append(dst, ':')
	return append(dst, k...)
}

func validKeyword(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		switch r {
		case ' ', '\t', '\n', '\r', '\f', ',', '"', ';', '(', ')', '[', ']', '{', '}', '\\', '@', '^', '`', '~':
			return false
		}
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return k[0] != '#' && k[0] != ':'
}

// appendString prints s as Clojure's pr does: quoted, with \" \\ \n \t \r
// \f \b escaped. Other control characters become \uXXXX (which the reader
// accepts) and invalid UTF-8 becomes U+FFFD, so every line stays readable.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf && c != 0x7f {
			dst = append(dst, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
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
		case '\f':
			dst = append(dst, `\f`...)
		case '\b':
			dst = append(dst, `\b`...)
		default:
			dst = append(dst, `\u00`...)
			dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
	}
	return append(dst, '"')
}

// appendPlain prints s as Clojure's print does (no quotes, no escapes),
// except that invalid UTF-8 becomes U+FFFD.
func appendPlain(dst []byte, s string) []byte {
	if utf8.ValidString(s) {
		return append(dst, s...)
	}
	for _, r := range s {
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendFloat prints f as Java's Double.toString, which is what Clojure
// prints: 0.5, 1.0, 2.074074, 1.0E7, 1.0E-4, ##NaN, ##Inf, ##-Inf.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "##NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "##Inf"...)
	case math.IsInf(f, -1):
		return append(dst, "##-Inf"...)
	}
	return appendFiniteFloat(dst, f)
}

// appendFiniteFloat is Java's Double.toString for finite f; its output is
// also a valid JSON number.
func appendFiniteFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-3 && abs < 1e7) {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d.ddde±XX
	e := 0
	for e < len(s) && s[e] != 'e' {
		e++
	}
	mant, exp := s[:e], s[e+1:]
	dst = append(dst, mant...)
	hasDot := false
	for _, c := range mant {
		if c == '.' {
			hasDot = true
		}
	}
	if !hasDot {
		dst = append(dst, ".0"...)
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = exp[1:]
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(dst, exp...)
}
