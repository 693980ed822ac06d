package grade

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
)

// CheckJUnit validates a JUnit XML document against the rules of
// Jenkins' junit-10.xsd, the schema CI reporters (Jenkins, GitLab, the
// GitHub Actions JUnit reporters) accept: which elements nest where and in
// which order, how many of each, which attributes exist and are required,
// and the types of the numeric and time attributes. It also checks what
// a reader sums and a schema cannot say: a suite's tests, failures,
// errors and skipped attributes equal its test cases' counts, and the
// root's equal the suites' sums.
//
// The rules are written out here rather than read by an XSD engine: the
// Go XSD validators on the module proxy wrap libxml2 through cgo (a C
// toolchain and libxml2's headers on every machine that runs the tests),
// and the pure-Go ones are young single-maintainer projects much larger
// than the ten elements this schema has.
func CheckJUnit(doc []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var root *xnode
	var stack []*xnode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					return errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return errors.New("no root element")
	}
	switch root.name {
	case "testsuites":
		if err := check(root, "testsuites"); err != nil {
			return err
		}
		var tests, failures, errs int
		for _, s := range root.kids {
			t, f, e, _ := suiteCounts(s)
			tests, failures, errs = tests+t, failures+f, errs+e
		}
		for attr, want := range map[string]int{"tests": tests, "failures": failures, "errors": errs} {
			if v, ok := root.attrs[attr]; ok && v != strconv.Itoa(want) {
				return fmt.Errorf("testsuites %s=%q, but its suites sum to %d", attr, v, want)
			}
		}
		return nil
	case "testsuite":
		return check(root, "testsuite")
	}
	return fmt.Errorf("root element %q is neither testsuites nor testsuite", root.name)
}

type xnode struct {
	name  string
	attrs map[string]string
	kids  []*xnode
	text  string
}

// child is one particle of a content model: an element name and how many
// times it may occur, in sequence order.
type child struct {
	name     string
	min, max int // max -1: unbounded
}

// rule is one element's declaration.
type rule struct {
	required, optional []string
	types              map[string]*regexp.Regexp
	seq                []child
}

var (
	timeType  = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,9})?$`)
	intType   = regexp.MustCompile(`^[0-9]+$`)
	stampType = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}`)
)

var junitRules = map[string]rule{
	"testsuites": {optional: []string{"name", "time", "tests", "failures", "disabled", "errors"},
		types: map[string]*regexp.Regexp{"time": timeType, "tests": intType, "failures": intType, "disabled": intType, "errors": intType},
		seq:   []child{{"testsuite", 0, -1}}},
	"testsuite": {required: []string{"name", "tests"},
		optional: []string{"failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname", "id", "package"},
		types: map[string]*regexp.Regexp{"tests": intType, "failures": intType, "errors": intType, "time": timeType,
			"disabled": intType, "skipped": intType, "timestamp": stampType},
		seq: []child{{"properties", 0, 1}, {"testcase", 0, -1}, {"system-out", 0, 1}, {"system-err", 0, 1}}},
	"properties": {seq: []child{{"property", 1, -1}}},
	"property":   {required: []string{"name", "value"}},
	"testcase": {required: []string{"name"}, optional: []string{"assertions", "time", "classname", "status"},
		types: map[string]*regexp.Regexp{"time": timeType},
		seq:   []child{{"skipped", 0, 1}, {"error", 0, -1}, {"failure", 0, -1}, {"system-out", 0, -1}, {"system-err", 0, -1}}},
	"skipped":    {optional: []string{"message"}},
	"error":      {optional: []string{"message", "type"}},
	"failure":    {optional: []string{"message", "type"}},
	"system-out": {},
	"system-err": {},
}

func check(n *xnode, path string) error {
	r, ok := junitRules[n.name]
	if !ok {
		return fmt.Errorf("%s: element %q is not in the schema", path, n.name)
	}
	for _, a := range r.required {
		if _, ok := n.attrs[a]; !ok {
			return fmt.Errorf("%s: attribute %s is required", path, a)
		}
	}
	for a, v := range n.attrs {
		if !slices.Contains(r.required, a) && !slices.Contains(r.optional, a) {
			return fmt.Errorf("%s: attribute %s is not allowed", path, a)
		}
		if t := r.types[a]; t != nil && !t.MatchString(v) {
			return fmt.Errorf("%s: attribute %s=%q does not match its type", path, a, v)
		}
	}
	if len(r.seq) == 0 && len(n.kids) > 0 {
		return fmt.Errorf("%s: %s has no child elements, found %s", path, n.name, n.kids[0].name)
	}
	counts := map[string]int{}
	pos := 0
	for _, k := range n.kids {
		i := slices.IndexFunc(r.seq, func(c child) bool { return c.name == k.name })
		if i < 0 {
			return fmt.Errorf("%s: %s may not contain %s", path, n.name, k.name)
		}
		if i < pos {
			return fmt.Errorf("%s: %s comes after %s, out of the schema's order", path, k.name, r.seq[pos].name)
		}
		pos = i
		counts[k.name]++
		if err := check(k, path+"/"+k.name); err != nil {
			return err
		}
	}
	for _, c := range r.seq {
		if counts[c.name] < c.min || (c.max >= 0 && counts[c.name] > c.max) {
			return fmt.Errorf("%s: %d %s elements, the schema allows %d..%d", path, counts[c.name], c.name, c.min, c.max)
		}
	}
	if n.name == "testsuite" {
		t, f, e, s := suiteCounts(n)
		for attr, want := range map[string]int{"tests": t, "failures": f, "errors": e, "skipped": s} {
			if v, ok := n.attrs[attr]; ok && v != strconv.Itoa(want) {
				return fmt.Errorf("%s: %s=%q, but it holds %d", path, attr, v, want)
			}
		}
	}
	return nil
}

// suiteCounts counts a suite's test cases and their outcomes.
func suiteCounts(s *xnode) (tests, failures, errs, skipped int) {
	for _, c := range s.kids {
		if c.name != "testcase" {
			continue
		}
		tests++
		for _, k := range c.kids {
			switch k.name {
			case "failure":
				failures++
			case "error":
				errs++
			case "skipped":
				skipped++
			}
		}
	}
	return
}
