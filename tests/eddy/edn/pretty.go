package edn

import (
	"io"
	"unicode/utf8"

	"maelkit/tests/eddy/history"
)

// prettyWidth is the line width of PrettyMarshal: fipp's default, which is
// what Jepsen prints results.edn with. Maelstrom's results read like
//
//	{:perf {:latency-graph {:valid? true},
//	        :rate-graph {:valid? true},
//	        :valid? true},
//	 :timeline {:valid? true},
//	 ...}
const prettyWidth = 70

// PrettyMarshal returns v laid out as fipp lays out EDN, ending in a
// newline: a value that fits in what is left of the line is printed flat;
// otherwise a map puts one entry per line, each value right after its key,
// entries aligned one column inside the brace, and a vector or list puts one
// element per line aligned inside its bracket. The output is deterministic.
func PrettyMarshal(v any) ([]byte, error) {
	dst, err := appendPretty(nil, v, 0, 0)
	if err != nil {
		return nil, err
	}
	return append(dst, '\n'), nil
}

// PrettyWrite writes PrettyMarshal(v) to w.
func PrettyWrite(w io.Writer, v any) error {
	b, err := PrettyMarshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func appendPretty(dst []byte, v any, col, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errTooDeep
	}
	flat, err := appendValue(nil, v, true, depth)
	if err != nil {
		return dst, err
	}
	if col+utf8.RuneCount(flat) <= prettyWidth {
		return append(dst, flat...), nil
	}
	switch x := v.(type) {
	case *history.Map:
		if x == nil || x.Len() == 0 {
			break
		}
		inner := col + 1
		dst = append(dst, '{')
		for i, k := range x.Keys() {
			if i > 0 {
				dst = append(dst, ",\n"...)
				dst = appendSpaces(dst, inner)
			}
			start := len(dst)
			dst = appendMapKey(dst, x, k, true)
			keyWidth := utf8.RuneCount(dst[start:])
			dst = append(dst, ' ')
			val, _ := x.Get(k)
			if dst, err = appendPretty(dst, val, inner+keyWidth+1, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		return appendPrettySeq(dst, '[', ']', x, col, depth)
	case history.List:
		return appendPrettySeq(dst, '(', ')', x, col, depth)
	case []int64:
		xs := make([]any, len(x))
		for i, e := range x {
			xs[i] = e
		}
		return appendPrettySeq(dst, '[', ']', xs, col, depth)
	case []string:
		xs := make([]any, len(x))
		for i, e := range x {
			xs[i] = e
		}
		return appendPrettySeq(dst, '[', ']', xs, col, depth)
	case history.JSON:
		tree, err := jsonTree([]byte(x), depth)
		if err != nil {
			return dst, err
		}
		if _, ok := tree.(history.JSON); ok { // a long number: nothing to lay out
			break
		}
		return appendPretty(dst, tree, col, depth)
	}
	return append(dst, flat...), nil
}

func appendPrettySeq(dst []byte, open, closing byte, xs []any, col, depth int) ([]byte, error) {
	if len(xs) == 0 {
		return append(dst, open, closing), nil
	}
	dst = append(dst, open)
	for i, e := range xs {
		if i > 0 {
			dst = append(dst, '\n')
			dst = appendSpaces(dst, col+1)
		}
		var err error
		if dst, err = appendPretty(dst, e, col+1, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, closing), nil
}

func appendSpaces(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, ' ')
	}
	return dst
}
