package grade

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// JUnit XML in the shape CI systems read (Jenkins' junit-10.xsd, which
// GitHub Actions reporters, GitLab and Jenkins accept): one <testsuite>
// per scorecard, one <testcase> per scenario and seed. A failed required
// run is a <failure> whose message is the deciding figure, its value and
// target; a run that did not finish is an <error>; a failed optional
// scenario is <skipped> (it does not fail the grade) with the same
// message.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr"`
	Props     *junitPropList  `xml:"properties,omitempty"`
	Cases     []junitTestCase `xml:"testcase"`
}

type junitPropList struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// JUnit renders the scorecard as JUnit XML. suite names the test suite
// (the exercise or the workload); now stamps it.
func (c *Scorecard) JUnit(suite string, now time.Time) ([]byte, error) {
	ts := junitSuite{Name: suite, Timestamp: now.UTC().Format("2006-01-02T15:04:05")}
	ts.Props = &junitPropList{Props: []junitProp{{Name: "workload", Value: c.Workload}, {Name: "bin", Value: xmlSafe(c.Bin)},
		{Name: "verdict", Value: map[bool]string{true: "PASS", false: "FAIL"}[c.Pass]}}}
	var total float64
	for _, s := range c.Scenarios {
		for _, r := range s.Runs {
			tc := junitTestCase{Name: fmt.Sprintf("%s seed %d", s.Name, r.Seed), Classname: "eddy." + c.Workload + "." + s.Name,
				Time: seconds(r.Seconds)}
			total += r.Seconds
			if s.Title != "" {
				tc.SystemOut = s.Title
			}
			if !r.Pass {
				d := deciding(r.Outcomes)
				msg := fmt.Sprintf("%s = %s, target %s %s", d.Figure, d.Value, d.Op, d.Target)
				if d.Note != "" {
					msg += " (" + d.Note + ")"
				}
				var text strings.Builder
				for _, o := range r.Outcomes {
					fmt.Fprintf(&text, "%s %s = %s, target %s %s\n", passText(o.Pass), o.Figure, o.Value, o.Op, o.Target)
				}
				if r.Why != "" {
					fmt.Fprintf(&text, "why: %s\n", r.Why)
				}
				if link := reportLink(r.Dir, r.Anchor); link != "" {
					fmt.Fprintf(&text, "see: %s\n", link)
				}
				if r.Error != "" {
					text.WriteString(r.Error + "\n")
				}
				m := &junitMessage{Message: msg, Type: d.Figure, Text: xmlSafe(text.String())}
				m.Message = xmlSafe(m.Message)
				switch {
				case !s.Required:
					m.Message = "optional scenario failed: " + m.Message
					m.Type = "" // the schema gives <skipped> a message only
					tc.Skipped = m
					ts.Skipped++
				case r.Error != "":
					tc.Error = m
					ts.Errors++
				default:
					tc.Failure = m
					ts.Failures++
				}
			}
			ts.Cases = append(ts.Cases, tc)
		}
	}
	ts.Tests = len(ts.Cases)
	ts.Time = seconds(total)
	doc := junitSuites{Name: "eddy grade " + suite, Tests: ts.Tests, Failures: ts.Failures, Errors: ts.Errors, Time: ts.Time, Suites: []junitSuite{ts}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// xmlSafe drops the characters XML 1.0 cannot carry (a node's output may
// hold any byte): encoding/xml would write them as U+FFFD or refuse them.
func xmlSafe(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return -1
		}
		return r
	}, s)
}

// WriteJUnit writes the JUnit XML to path.
func (c *Scorecard) WriteJUnit(path, suite string, now time.Time) error {
	b, err := c.JUnit(suite, now)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// WriteJSON writes the scorecard as JSON to path.
func (c *Scorecard) WriteJSON(path string) error {
	b, err := c.jsonBytes()
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

func writeFile(path string, b []byte) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b, 0o644)
}
