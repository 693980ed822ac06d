package edn

// A small EDN reader for tests only: it reads back what the printer wrote,
// into a normal form that a history value can also be turned into, so that
// tests can check "prints the same value" rather than "prints these bytes".

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"maelkit/tests/eddy/history"
)

type (
	ednInt   string  // an integer, as written
	ednFloat string  // a float, as strconv 'g' -1 text, or ##NaN etc.
	ednKw    string  // a keyword without its colon
	ednVec   []any   // a vector
	ednList  []any   // a list
	ednMap   []ednKV // a map, sorted by the printed key
)

type ednKV struct {
	K, V any
}

func floatNorm(f float64) ednFloat {
	switch {
	case math.IsNaN(f):
		return "##NaN"
	case math.IsInf(f, 1):
		return "##Inf"
	case math.IsInf(f, -1):
		return "##-Inf"
	}
	return ednFloat(strconv.FormatFloat(f, 'g', -1, 64))
}

// numNorm normalizes number text: integers stay text, others become floats.
func numNorm(s string) any {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // 1E700 is +Inf for both sides
			panic(err)
		}
		return floatNorm(f)
	}
	return ednInt(s)
}

func sortMap(m ednMap) ednMap {
	sort.Slice(m, func(i, j int) bool { return fmt.Sprint(m[i].K) < fmt.Sprint(m[j].K) })
	return m
}

// readEDN reads one value from s and returns it with the rest of s.
func readEDN(s string) (any, string, error) {
	s = strings.TrimLeft(s, " \t\n\r,")
	if s == "" {
		return nil, s, fmt.Errorf("eof")
	}
	switch c := s[0]; {
	case c == '[' || c == '(' || c == '{':
		return readEDNColl(s)
	case c == '"':
		return readEDNString(s)
	}
	end := strings.IndexAny(s, " \t\n\r,[](){}\"")
	if end < 0 {
		end = len(s)
	}
	tok, rest := s[:end], s[end:]
	switch {
	case tok == "nil":
		return nil, rest, nil
	case tok == "true":
		return true, rest, nil
	case tok == "false":
		return false, rest, nil
	case tok == "##NaN" || tok == "##Inf" || tok == "##-Inf":
		return ednFloat(tok), rest, nil
	case strings.HasPrefix(tok, ":") && len(tok) > 1:
		return ednKw(tok[1:]), rest, nil
	case isNumber([]byte(tok)):
		return numNorm(tok), rest, nil
	}
	return nil, rest, fmt.Errorf("bad token %q", tok)
}

// readEDNColl reads a vector, list or map.
func readEDNColl(s string) (any, string, error) {
	c := s[0]
	closing := map[byte]byte{'[': ']', '(': ')', '{': '}'}[c]
	rest := s[1:]
	items := []any{}
	for {
		rest = strings.TrimLeft(rest, " \t\n\r,")
		if rest == "" {
			return nil, rest, fmt.Errorf("unterminated")
		}
		if rest[0] == closing {
			rest = rest[1:]
			break
		}
		v, r, err := readEDN(rest)
		if err != nil {
			return nil, r, err
		}
		items = append(items, v)
		rest = r
	}
	switch c {
	case '[':
		return ednVec(items), rest, nil
	case '(':
		return ednList(items), rest, nil
	}
	if len(items)%2 != 0 {
		return nil, rest, fmt.Errorf("odd map")
	}
	m := ednMap{}
	seen := map[string]bool{}
	for i := 0; i < len(items); i += 2 {
		k := fmt.Sprintf("%T%v", items[i], items[i])
		if seen[k] {
			return nil, rest, fmt.Errorf("duplicate key %v", items[i])
		}
		seen[k] = true
		m = append(m, ednKV{K: items[i], V: items[i+1]})
	}
	return sortMap(m), rest, nil
}

// readEDNString reads a string.
func readEDNString(s string) (any, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); {
		switch s[i] {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return nil, "", fmt.Errorf("bad escape")
			}
			e := s[i+1]
			i += 2
			switch e {
			case '"', '\\':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'f':
				b.WriteByte('\f')
			case 'b':
				b.WriteByte('\b')
			case 'u':
				n, err := strconv.ParseUint(s[i:i+4], 16, 32)
				if err != nil {
					return nil, "", err
				}
				b.WriteRune(rune(n))
				i += 4
			default:
				return nil, "", fmt.Errorf("bad escape \\%c", e)
			}
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, "", fmt.Errorf("invalid utf-8 in string")
			}
			if r < 0x20 {
				return nil, "", fmt.Errorf("raw control character in string")
			}
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return nil, "", fmt.Errorf("unterminated string")
}

func fixUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// normValue turns a history value into the form readEDN returns.
func normValue(v any) any {
	switch x := v.(type) {
	case nil, bool:
		return x
	case int64:
		return ednInt(strconv.FormatInt(x, 10))
	case int:
		return ednInt(strconv.Itoa(x))
	case string:
		return fixUTF8(x)
	case history.Keyword:
		if validKeyword(string(x)) {
			return ednKw(x)
		}
		return fixUTF8(string(x))
	case history.Float:
		return floatNorm(float64(x))
	case float64:
		return floatNorm(x)
	case history.JSON:
		dec := json.NewDecoder(strings.NewReader(string(x)))
		dec.UseNumber()
		var t any
		if err := dec.Decode(&t); err != nil {
			panic(err)
		}
		return normJSONTree(t)
	case []any:
		out := ednVec{}
		for _, e := range x {
			out = append(out, normValue(e))
		}
		return out
	case []int64:
		out := ednVec{}
		for _, e := range x {
			out = append(out, normValue(e))
		}
		return out
	case history.List:
		out := ednList{}
		for _, e := range x {
			out = append(out, normValue(e))
		}
		return out
	case *history.Map:
		if x == nil {
			return nil
		}
		m := ednMap{}
		for _, k := range x.Keys() {
			val, _ := x.Get(k)
			var key any
			switch {
			case x.NumKeys && isNumber([]byte(k)):
				key = numNorm(k)
			case x.String || x.NumKeys || !validKeyword(k):
				key = fixUTF8(k)
			default:
				key = ednKw(k)
			}
			m = append(m, ednKV{K: key, V: normValue(val)})
		}
		return sortMap(m)
	}
	panic(fmt.Sprintf("normValue: %T", v))
}

// normJSONTree turns an encoding/json tree (UseNumber) into readEDN's form,
// as the printer translates JSON: objects become string-keyed maps.
func normJSONTree(v any) any {
	switch x := v.(type) {
	case nil, bool, string, ednFloat:
		return x
	case json.Number:
		return numNorm(string(x))
	case []any:
		out := ednVec{}
		for _, e := range x {
			out = append(out, normJSONTree(e))
		}
		return out
	case map[string]any:
		m := ednMap{}
		for k, e := range x {
			m = append(m, ednKV{K: k, V: normJSONTree(e)})
		}
		return sortMap(m)
	}
	panic(fmt.Sprintf("normJSONTree: %T", v))
}

// jsonExpect is what encoding/json should decode from MarshalJSON(v).
func jsonExpect(v any) any {
	switch x := v.(type) {
	case nil, bool:
		return x
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case int:
		return json.Number(strconv.Itoa(x))
	case string:
		return fixUTF8(x)
	case history.Keyword:
		return fixUTF8(string(x))
	case history.Float:
		return jsonExpect(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return floatNorm(x)
	case history.JSON:
		dec := json.NewDecoder(strings.NewReader(string(x)))
		dec.UseNumber()
		var t any
		if err := dec.Decode(&t); err != nil {
			panic(err)
		}
		return t
	case []any:
		out := []any{}
		for _, e := range x {
			out = append(out, jsonExpect(e))
		}
		return out
	case history.List:
		return jsonExpect([]any(x))
	case []int64:
		out := []any{}
		for _, e := range x {
			out = append(out, jsonExpect(e))
		}
		return out
	case *history.Map:
		if x == nil {
			return nil
		}
		m := map[string]any{}
		for _, k := range x.Keys() {
			val, _ := x.Get(k)
			m[fixUTF8(k)] = jsonExpect(val)
		}
		return m
	}
	panic(fmt.Sprintf("jsonExpect: %T", v))
}
