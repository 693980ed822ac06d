package grade

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// junitCard is a scorecard with every kind of run: passed, failed
// (required), failed (optional), did not finish with control characters
// and invalid UTF-8 in the node's output.
func junitCard() *Scorecard {
	fail := Outcome{Figure: "workload/lost-count", Value: "3", Op: "==", Target: "0"}
	return &Scorecard{Workload: "broadcast", Bin: "./broadcast", Scenarios: []ScenarioResult{
		{Name: "3a", Title: "single-node", Required: true, Pass: true, Runs: []RunResult{
			{Seed: 1, Pass: true, Seconds: 4.2, Outcomes: []Outcome{{Figure: "valid?", Value: "true", Op: "==", Target: "true", Pass: true}}}}},
		{Name: "3b", Required: true, Runs: []RunResult{
			{Seed: 1, Pass: true, Seconds: 1},
			{Seed: 2, Seconds: 2.5, Outcomes: []Outcome{fail}, Why: "workload: lost-count 3, lost (1 2 3)", Dir: "store/x", Anchor: "#lost"}}},
		{Name: "3e", Required: false, Runs: []RunResult{{Seed: 1, Seconds: 3, Outcomes: []Outcome{{Figure: "net/servers/msgs-per-op", Value: "25", Op: "<", Target: "20", Note: "Fly.io 3e"}}}}},
		{Name: "crash", Required: true, Runs: []RunResult{{Seed: 1, Error: "node n1 exited\n\x00\x1b[31mboom\xff<&>\"", Outcomes: []Outcome{{Figure: "run", Value: "did not finish: node n1 exited", Op: "==", Target: "finished"}}}}},
	}}
}

func TestJUnitValidates(t *testing.T) {
	b, err := junitCard().JUnit("broadcast", time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.NoError(t, CheckJUnit(b), "%s", b)
	s := string(b)
	for _, want := range []string{
		`<testsuites name="eddy grade broadcast" tests="5" failures="1" errors="1" time="10.700">`,
		`skipped="1"`, `timestamp="2026-12-02T05:00:00"`,
		`<testcase name="3b seed 2" classname="eddy.broadcast.3b" time="2.500">`,
		`<failure message="workload/lost-count = 3, target == 0" type="workload/lost-count">`,
		`<skipped message="optional scenario failed: net/servers/msgs-per-op = 25, target &lt; 20 (Fly.io 3e)">`,
		`<error message="run = did not finish: node n1 exited, target == finished" type="run">`,
		`boom`,
	} {
		require.Contains(t, s, want)
	}
	require.NotContains(t, s, "\x00")
	require.NotContains(t, s, "\x1b")
}

func TestCheckJUnitRejects(t *testing.T) {
	ok := `<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1"><testcase name="c" time="1.5"/></testsuite></testsuites>`
	require.NoError(t, CheckJUnit([]byte(ok)))
	for name, doc := range map[string]string{
		"not xml":                `<testsuites>`,
		"wrong root":             `<tests/>`,
		"suite without name":     `<testsuites><testsuite tests="0"/></testsuites>`,
		"case without name":      `<testsuite name="s" tests="1"><testcase/></testsuite>`,
		"unknown attribute":      `<testsuite name="s" tests="0" colour="red"/>`,
		"unknown element":        `<testsuite name="s" tests="1"><testcase name="c"><oops/></testcase></testsuite>`,
		"bad time":               `<testsuite name="s" tests="1"><testcase name="c" time="1.5s"/></testsuite>`,
		"bad count":              `<testsuite name="s" tests="2"><testcase name="c"/></testsuite>`,
		"failures miscounted":    `<testsuite name="s" tests="1" failures="0"><testcase name="c"><failure message="m"/></testcase></testsuite>`,
		"root sum":               `<testsuites tests="3"><testsuite name="s" tests="1"><testcase name="c"/></testsuite></testsuites>`,
		"order":                  `<testsuite name="s" tests="1"><testcase name="c"><failure/><skipped/></testcase></testsuite>`,
		"two skipped":            `<testsuite name="s" tests="1" skipped="2"><testcase name="c"><skipped/><skipped/></testcase></testsuite>`,
		"properties after cases": `<testsuite name="s" tests="1"><testcase name="c"/><properties><property name="a" value="b"/></properties></testsuite>`,
		"empty properties":       `<testsuite name="s" tests="0"><properties/></testsuite>`,
		"bad timestamp":          `<testsuite name="s" tests="0" timestamp="yesterday"/>`,
	} {
		require.Error(t, CheckJUnit([]byte(doc)), name)
	}
	require.True(t, strings.HasPrefix(string(must(junitCard().JUnit("x", time.Now()))), "<?xml"))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
