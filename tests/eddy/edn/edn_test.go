package edn

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

func kwMap(kv ...any) *history.Map {
	m := history.NewMap()
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i].(string), kv[i+1])
	}
	return m
}

func strMap(kv ...any) *history.Map {
	m := kwMap(kv...)
	m.String = true
	return m
}

func numMap(kv ...any) *history.Map {
	m := kwMap(kv...)
	m.NumKeys = true
	return m
}

func TestMarshalGolden(t *testing.T) {
	cases := []struct {
		name string
		in   any
		edn  string
		json string
	}{
		{name: "nil", in: nil, edn: "nil", json: "null"},
		{name: "true", in: true, edn: "true", json: "true"},
		{name: "false", in: false, edn: "false", json: "false"},
		{name: "int64", in: int64(-42), edn: "-42", json: "-42"},
		{name: "int64 max", in: int64(math.MaxInt64), edn: "9223372036854775807", json: "9223372036854775807"},
		{name: "int", in: 7, edn: "7", json: "7"},
		{name: "string", in: "Please echo 12", edn: `"Please echo 12"`, json: `"Please echo 12"`},
		{name: "string escapes", in: "a\"b\\c\nd\te\rf\fg\bh", edn: `"a\"b\\c\nd\te\rf\fg\bh"`, json: `"a\"b\\c\nd\te\rf\u000cg\u0008h"`},
		{name: "string control", in: "\x01\x7f", edn: `"\u0001\u007f"`, json: "\"\\u0001\x7f\""},
		{name: "string unicode", in: "é✓<&>", edn: `"é✓<&>"`, json: `"é✓<&>"`},
		{name: "string bad utf8", in: "a\xffb", edn: "\"a\uFFFDb\"", json: `"a\ufffdb"`},
		{name: "string line separator", in: "a\u2028b", edn: "\"a\u2028b\"", json: `"a\u2028b"`},
		{name: "keyword", in: history.Keyword("net-timeout"), edn: ":net-timeout", json: `"net-timeout"`},
		{name: "keyword punct", in: history.Keyword("valid?"), edn: ":valid?", json: `"valid?"`},
		{name: "bad keyword", in: history.Keyword("a b"), edn: `"a b"`, json: `"a b"`},
		{name: "empty keyword", in: history.Keyword(""), edn: `""`, json: `""`},
		{name: "float half", in: history.Float(0.5), edn: "0.5", json: "0.5"},
		{name: "float one", in: history.Float(1), edn: "1.0", json: "1.0"},
		{name: "float zero", in: history.Float(0), edn: "0.0", json: "0.0"},
		{name: "float neg zero", in: history.Float(math.Copysign(0, -1)), edn: "-0.0", json: "-0.0"},
		{name: "float msgs-per-op", in: history.Float(2.074074), edn: "2.074074", json: "2.074074"},
		{name: "float 1e-3", in: history.Float(0.001), edn: "0.001", json: "0.001"},
		{name: "float 1e-4", in: history.Float(0.0001), edn: "1.0E-4", json: "1.0E-4"},
		{name: "float 1.5e-5", in: history.Float(1.5e-5), edn: "1.5E-5", json: "1.5E-5"},
		{name: "float below 1e7", in: history.Float(9999999.5), edn: "9999999.5", json: "9999999.5"},
		{name: "float 1e7", in: history.Float(1e7), edn: "1.0E7", json: "1.0E7"},
		{name: "float big", in: history.Float(123456789), edn: "1.23456789E8", json: "1.23456789E8"},
		{name: "float huge", in: history.Float(-1.7976931348623157e308), edn: "-1.7976931348623157E308", json: "-1.7976931348623157E308"},
		{name: "float nan", in: history.Float(math.NaN()), edn: "##NaN", json: "null"},
		{name: "float inf", in: history.Float(math.Inf(1)), edn: "##Inf", json: "null"},
		{name: "float -inf", in: math.Inf(-1), edn: "##-Inf", json: "null"},
		{name: "float64", in: 0.25, edn: "0.25", json: "0.25"},
		{name: "json int", in: history.JSON("12"), edn: "12", json: "12"},
		{name: "json float as written", in: history.JSON("1.50"), edn: "1.50", json: "1.50"},
		{name: "json exp", in: history.JSON("-1e+5"), edn: "-1e+5", json: "-1e+5"},
		{name: "json string", in: history.JSON(`"n1-4"`), edn: `"n1-4"`, json: `"n1-4"`},
		{name: "json string escapes", in: history.JSON(`"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`), edn: "\"a\\\"\\\\/\\b\\f\\n\\r\\té😀\"", json: `"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`},
		{name: "json lone surrogate", in: history.JSON(`"\ud800x"`), edn: "\"\uFFFDx\"", json: `"\ud800x"`},
		{name: "json null true false", in: history.JSON(`[null,true,false]`), edn: "[nil true false]", json: "[null,true,false]"},
		{name: "json object", in: history.JSON(`{"a":1,"b":[2,{"c":null}]}`), edn: `{"a" 1, "b" [2 {"c" nil}]}`, json: `{"a":1,"b":[2,{"c":null}]}`},
		{name: "json spaced", in: history.JSON(" { \"a\" : [ 1 , 2 ] } "), edn: `{"a" [1 2]}`, json: `{"a":[1,2]}`},
		{name: "json empty", in: history.JSON(`[{},[]]`), edn: "[{} []]", json: "[{},[]]"},
		{name: "vector", in: []any{int64(1), "a", history.Keyword("k"), nil, history.Float(0.5)}, edn: `[1 "a" :k nil 0.5]`, json: `[1,"a","k",null,0.5]`},
		{name: "empty vector", in: []any{}, edn: "[]", json: "[]"},
		{name: "nil vector", in: []any(nil), edn: "[]", json: "[]"},
		{name: "list", in: history.List{int64(3), int64(7)}, edn: "(3 7)", json: "[3,7]"},
		{name: "empty list", in: history.List{}, edn: "()", json: "[]"},
		{name: "int64s", in: []int64{1, -2}, edn: "[1 -2]", json: "[1,-2]"},
		{name: "strings", in: []string{"a", "b\n"}, edn: `["a" "b\n"]`, json: `["a","b\n"]`},
		{name: "txn micro-ops", in: []any{[]any{history.Keyword("r"), int64(1), nil}, []any{history.Keyword("append"), int64(2), int64(5)}}, edn: "[[:r 1 nil] [:append 2 5]]", json: `[["r",1,null],["append",2,5]]`},
		{name: "keyword map", in: kwMap("valid?", true, "count", int64(3)), edn: "{:valid? true, :count 3}", json: `{"valid?":true,"count":3}`},
		{name: "empty map", in: history.NewMap(), edn: "{}", json: "{}"},
		{name: "nil map", in: (*history.Map)(nil), edn: "nil", json: "null"},
		{name: "string map", in: strMap("n1", []any{"n2"}, "n2", []any{}), edn: `{"n1" ["n2"], "n2" []}`, json: `{"n1":["n2"],"n2":[]}`},
		{name: "num map", in: numMap("0", int64(0), "0.5", int64(1), "0.95", int64(5), "1", int64(10)), edn: "{0 0, 0.5 1, 0.95 5, 1 10}", json: `{"0":0,"0.5":1,"0.95":5,"1":10}`},
		{name: "num map bad key", in: numMap("x", int64(1), "01", int64(2)), edn: `{"x" 1, "01" 2}`, json: `{"x":1,"01":2}`},
		{name: "bad keyword key", in: kwMap("a b", int64(1)), edn: `{"a b" 1}`, json: `{"a b":1}`},
		{name: "nested", in: kwMap("net", kwMap("all", kwMap("msgs-per-op", history.Float(2.5)), "valid?", true), "stable-latencies", numMap("0.5", int64(0))), edn: "{:net {:all {:msgs-per-op 2.5}, :valid? true}, :stable-latencies {0.5 0}}", json: `{"net":{"all":{"msgs-per-op":2.5},"valid?":true},"stable-latencies":{"0.5":0}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.edn, string(got))

			var w bytes.Buffer
			require.NoError(t, Write(&w, tc.in))
			require.Equal(t, tc.edn, w.String())

			gotJSON, err := MarshalJSON(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(gotJSON))
			require.True(t, json.Valid(gotJSON), "invalid JSON %s", gotJSON)

			ind, err := MarshalJSONIndent(tc.in)
			require.NoError(t, err)
			require.True(t, json.Valid(ind))
			require.True(t, strings.HasSuffix(string(ind), "\n"))
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	deep := any(int64(1))
	for range maxDepth + 5 {
		deep = []any{deep}
	}
	deepJSON := history.JSON(strings.Repeat("[", maxDepth+5) + strings.Repeat("]", maxDepth+5))
	cases := []struct {
		name string
		in   any
	}{
		{name: "struct", in: struct{}{}},
		{name: "go map", in: map[string]any{"a": 1}},
		{name: "float32", in: float32(1)},
		{name: "pointer", in: new(int)},
		{name: "unsupported in vector", in: []any{int64(1), struct{}{}}},
		{name: "unsupported in map", in: kwMap("a", int8(1))},
		{name: "unsupported in list", in: history.List{uint(1)}},
		{name: "too deep", in: deep},
		{name: "json too deep", in: deepJSON},
		{name: "json invalid", in: history.JSON(`{"a":}`)},
		{name: "json trailing", in: history.JSON(`1 2`)},
		{name: "json empty", in: history.JSON(``)},
		{name: "json bad literal", in: history.JSON(`nul`)},
		{name: "json bad number", in: history.JSON(`01`)},
		{name: "json bad escape", in: history.JSON(`"\x"`)},
		{name: "json control", in: history.JSON("\"a\nb\"")},
		{name: "json unterminated", in: history.JSON(`"abc`)},
		{name: "json unterminated array", in: history.JSON(`[1,2`)},
		{name: "json missing colon", in: history.JSON(`{"a" 1}`)},
		{name: "json bad separator", in: history.JSON(`[1;2]`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.in)
			require.Error(t, err)
			_, err = PrettyMarshal(tc.in)
			require.Error(t, err)
			if tc.name != "json too deep" { // encoding/json allows 10000 levels
				_, err = MarshalJSON(tc.in)
				require.Error(t, err)
			}
		})
	}
}

func TestTooDeepIsTyped(t *testing.T) {
	deep := any(nil)
	for range maxDepth + 2 {
		deep = history.List{deep}
	}
	_, err := Marshal(deep)
	require.True(t, errors.Is(err, errTooDeep))
}

// FuzzJSONAsEDN checks that the JSON translator never panics, agrees with
// encoding/json on what is valid, and that valid input gives readable EDN.
func FuzzJSONAsEDN(f *testing.F) {
	for _, s := range []string{`1`, `-0.5e10`, `"a\u00e9\ud83d\ude00"`, `{"a":[1,{"b":null}],"c":true}`, `[`, `{"a"`, `"\ud800"`, `[1,]`, ` [ ] `, `tru`, `1.`, `-`, `"\u12"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Marshal(history.JSON(s))
		valid := json.Valid([]byte(s)) && strings.Count(s, "[")+strings.Count(s, "{") < maxDepth
		if valid {
			require.NoError(t, err, "input %q", s)
			v, rest, perr := readEDN(string(got))
			require.NoError(t, perr, "edn %q", got)
			require.Empty(t, strings.TrimSpace(rest))
			// The EDN read back means the same as the JSON.
			var want any
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&want))
			require.Equal(t, normJSONTree(want), v, "input %q edn %q", s, got)
		} else if !json.Valid([]byte(s)) {
			require.Error(t, err, "input %q", s)
		}
		j, err := MarshalJSON(history.JSON(s))
		if json.Valid([]byte(s)) {
			require.NoError(t, err)
			require.True(t, json.Valid(j))
		} else {
			require.Error(t, err)
		}
	})
}

// history.List is a sequence like []any for equality (history.Key), only
// its EDN form differs.
func TestListKeyEqualsVector(t *testing.T) {
	require.Equal(t, history.Key([]any{int64(1), "a"}), history.Key(history.List{int64(1), "a"}))
}
