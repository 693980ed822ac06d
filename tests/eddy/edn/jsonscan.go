package edn

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"maelkit/tests/eddy/history"
)

// jsonScanner reads one JSON text without building it, so that a history
// value of type history.JSON can be printed as EDN in a single pass (a
// million-event history must not allocate a tree per event).
type jsonScanner struct {
	data []byte
	pos  int
}

var errEOF = errors.New("edn: unexpected end of JSON")

// appendJSONAsEDN translates the JSON text raw into EDN: objects become
// string-keyed maps {"k" v}, arrays vectors, null nil, numbers as written.
//
// An object with a repeated key would print as an EDN map that the reader
// rejects; such text (never produced by history.CanonicalJSON) is rebuilt
// through jsonTree, where the last value wins, as in encoding/json.
func appendJSONAsEDN(dst, raw []byte, readable bool, depth int) ([]byte, error) {
	start := len(dst)
	s := jsonScanner{data: raw}
	s.skipWS()
	dst, err := s.appendEDN(dst, readable, depth)
	if errors.Is(err, errDuplicateKey) {
		tree, err := jsonTree(raw, depth)
		if err != nil {
			return dst[:start], err
		}
		return appendValue(dst[:start], tree, readable, depth)
	}
	if err != nil {
		return dst, err
	}
	return dst, s.end()
}

// errDuplicateKey reports a JSON object that repeats a key.
var errDuplicateKey = errors.New("edn: duplicate key in JSON object")

// keySet remembers the keys of one JSON object: a short slice scanned
// linearly (objects in histories are small), a map past smallObject keys.
type keySet struct {
	list []string
	set  map[string]struct{}
}

const smallObject = 16

// add records k and reports whether it was new.
func (ks *keySet) add(k string) bool {
	if ks.set != nil {
		if _, ok := ks.set[k]; ok {
			return false
		}
		ks.set[k] = struct{}{}
		return true
	}
	for _, seen := range ks.list {
		if seen == k {
			return false
		}
	}
	ks.list = append(ks.list, k)
	if len(ks.list) > smallObject {
		ks.set = make(map[string]struct{}, 2*smallObject)
		for _, seen := range ks.list {
			ks.set[seen] = struct{}{}
		}
	}
	return true
}

// jsonTree parses raw into history values: objects become *history.Map with
// String keys (in the order written), arrays []any, strings string, numbers
// history.JSON (as written), true/false bool and null nil. The pretty
// printer uses it to lay out a JSON value that does not fit on one line.
func jsonTree(raw []byte, depth int) (any, error) {
	s := jsonScanner{data: raw}
	s.skipWS()
	v, err := s.tree(depth)
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("edn: invalid JSON at offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// expect consumes c (after white space) or fails.
func (s *jsonScanner) expect(c byte) error {
	s.skipWS()
	if s.pos >= len(s.data) {
		return errEOF
	}
	if s.data[s.pos] != c {
		return s.errorf("expected %q, found %q", c, s.data[s.pos])
	}
	s.pos++
	return nil
}

// end checks that nothing but white space follows the value read.
func (s *jsonScanner) end() error {
	s.skipWS()
	if s.pos != len(s.data) {
		return s.errorf("trailing data after JSON value")
	}
	return nil
}

// peekAfterWS returns the next significant byte without consuming it.
func (s *jsonScanner) peekAfterWS() (byte, error) {
	s.skipWS()
	if s.pos >= len(s.data) {
		return 0, errEOF
	}
	return s.data[s.pos], nil
}

// each walks the container (object or array: what) at the scanner, closed
// by closer: it calls elem with the scanner at each element (an object's
// key), first true for the first one.
func (s *jsonScanner) each(closer byte, what string, elem func(first bool) error) error {
	s.pos++
	if c, err := s.peekAfterWS(); err != nil || c == closer {
		if err == nil {
			s.pos++
		}
		return err
	}
	for first := true; ; first = false {
		s.skipWS()
		if err := elem(first); err != nil {
			return err
		}
		c, err := s.peekAfterWS()
		if err != nil {
			return err
		}
		switch c {
		case closer:
			s.pos++
			return nil
		case ',':
			s.pos++
		default:
			return s.errorf("expected ',' or '%c' in %s", closer, what)
		}
	}
}

// field reads an object's key and the colon after it, leaving the scanner
// at the value.
func (s *jsonScanner) field() (string, error) {
	k, err := s.str()
	if err != nil {
		return "", err
	}
	if err := s.expect(':'); err != nil {
		return "", err
	}
	s.skipWS()
	return k, nil
}

// appendEDN appends the JSON value at the scanner to dst as EDN (strings
// readable or plain).
func (s *jsonScanner) appendEDN(dst []byte, readable bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errTooDeep
	}
	if s.pos >= len(s.data) {
		return dst, errEOF
	}
	switch c := s.data[s.pos]; c {
	case '{':
		return s.appendObject(dst, readable, depth)
	case '[':
		return s.appendArray(dst, readable, depth)
	case '"':
		str, err := s.str()
		if err != nil {
			return dst, err
		}
		if readable {
			return appendString(dst, str), nil
		}
		return appendPlain(dst, str), nil
	case 't':
		return append(dst, "true"...), s.literal("true")
	case 'f':
		return append(dst, "false"...), s.literal("false")
	case 'n':
		return append(dst, "nil"...), s.literal("null")
	}
	num, err := s.number()
	if err != nil {
		return dst, err
	}
	return append(dst, num...), nil
}

// appendObject appends a JSON object as an EDN map.
func (s *jsonScanner) appendObject(dst []byte, readable bool, depth int) ([]byte, error) {
	dst = append(dst, '{')
	var keys keySet
	err := s.each('}', "object", func(first bool) error {
		k, err := s.field()
		if err != nil {
			return err
		}
		if !keys.add(k) {
			return errDuplicateKey
		}
		if !first {
			dst = append(dst, ", "...)
		}
		if readable {
			dst = appendString(dst, k)
		} else {
			dst = appendPlain(dst, k)
		}
		dst = append(dst, ' ')
		dst, err = s.appendEDN(dst, readable, depth+1)
		return err
	})
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// appendArray appends a JSON array as an EDN vector.
func (s *jsonScanner) appendArray(dst []byte, readable bool, depth int) ([]byte, error) {
	dst = append(dst, '[')
	err := s.each(']', "array", func(first bool) error {
		if !first {
			dst = append(dst, ' ')
		}
		var err error
		dst, err = s.appendEDN(dst, readable, depth+1)
		return err
	})
	if err != nil {
		return dst, err
	}
	return append(dst, ']'), nil
}

func (s *jsonScanner) tree(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	if s.pos >= len(s.data) {
		return nil, errEOF
	}
	switch s.data[s.pos] {
	case '{':
		return s.treeObject(depth)
	case '[':
		return s.treeArray(depth)
	case '"':
		return s.str()
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return nil, s.literal("null")
	}
	num, err := s.number()
	if err != nil {
		return nil, err
	}
	return history.JSON(num), nil
}

// treeObject reads a JSON object into a string-keyed map.
func (s *jsonScanner) treeObject(depth int) (any, error) {
	m := history.NewMap()
	m.String = true
	err := s.each('}', "object", func(bool) error {
		k, err := s.field()
		if err != nil {
			return err
		}
		v, err := s.tree(depth + 1)
		if err != nil {
			return err
		}
		m.Set(k, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// treeArray reads a JSON array into a vector.
func (s *jsonScanner) treeArray(depth int) (any, error) {
	xs := []any{}
	err := s.each(']', "array", func(bool) error {
		v, err := s.tree(depth + 1)
		if err != nil {
			return err
		}
		xs = append(xs, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return xs, nil
}

func (s *jsonScanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errorf("invalid literal")
	}
	s.pos += len(word)
	return nil
}

// number consumes a JSON number and returns its text.
func (s *jsonScanner) number() ([]byte, error) {
	start := s.pos
	n := numberLen(s.data[s.pos:])
	if n == 0 {
		return nil, s.errorf("invalid value")
	}
	s.pos += n
	return s.data[start:s.pos], nil
}

// numberLen returns the length of the JSON number at the start of b, or 0.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digitsEnd(b, i)
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		if i = digitsEnd(b, i+1); i == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digitsEnd(b, i); i == 0 {
			return 0
		}
	}
	return i
}

// digitsEnd returns the end of the run of digits at b[i:], or 0 if there
// is none.
func digitsEnd(b []byte, i int) int {
	d := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == d {
		return 0
	}
	return i
}

// isNumber reports whether b is exactly one JSON number (which is also an
// EDN number).
func isNumber(b []byte) bool { return len(b) > 0 && numberLen(b) == len(b) }

// str consumes a JSON string and returns its decoded value. Invalid UTF-8
// and lone surrogates decode to U+FFFD, as encoding/json does.
func (s *jsonScanner) str() (string, error) {
	if s.pos >= len(s.data) {
		return "", errEOF
	}
	if s.data[s.pos] != '"' {
		return "", s.errorf("expected string")
	}
	s.pos++
	start := s.pos
	// Fast path: no escapes.
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == '"' {
			out := string(s.data[start:s.pos])
			s.pos++
			return out, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		s.pos++
	}
	buf := append([]byte(nil), s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return string(buf), nil
		case c < 0x20:
			return "", s.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			s.pos++
			continue
		}
		var err error
		if buf, err = s.escape(buf); err != nil {
			return "", err
		}
	}
	return "", errEOF
}

// escape appends the character of the escape sequence at the scanner (its
// backslash included) to buf.
func (s *jsonScanner) escape(buf []byte) ([]byte, error) {
	s.pos++
	if s.pos >= len(s.data) {
		return buf, errEOF
	}
	e := s.data[s.pos]
	s.pos++
	switch e {
	case '"', '\\', '/':
		buf = append(buf, e)
	case 'b':
		buf = append(buf, '\b')
	case 'f':
		buf = append(buf, '\f')
	case 'n':
		buf = append(buf, '\n')
	case 'r':
		buf = append(buf, '\r')
	case 't':
		buf = append(buf, '\t')
	case 'u':
		r, ok := s.hex4()
		if !ok {
			return buf, s.errorf("invalid \\u escape")
		}
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if len(s.data)-s.pos >= 6 && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
				save := s.pos
				s.pos += 2
				lo, ok := s.hex4()
				if ok {
					r2 = utf16.DecodeRune(r, lo)
				}
				if r2 == utf8.RuneError {
					s.pos = save // a lone high surrogate; the next escape stands alone
				}
			}
			r = r2
		}
		buf = utf8.AppendRune(buf, r)
	default:
		return buf, s.errorf("invalid escape \\%c", e)
	}
	return buf, nil
}

func (s *jsonScanner) hex4() (rune, bool) {
	if len(s.data)-s.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	s.pos += 4
	return r, true
}
