package grade

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

func TestBuiltinSuitesParse(t *testing.T) {
	want := []string{"broadcast", "echo", "g-counter", "g-set", "kafka", "lin-kv", "pn-counter", "txn-list-append", "txn-rw-register", "unique-ids"}
	require.Equal(t, want, Workloads())
	for _, w := range want {
		s, err := Builtin(w)
		require.NoError(t, err, w)
		require.Equal(t, w, s.Workload)
		require.NotEmpty(t, s.Scenarios)
		for _, sc := range s.Scenarios {
			require.NotEmpty(t, sc.Seeds, "%s %s", w, sc.Name)
		}
	}
	_, err := Builtin("no-such-workload")
	require.ErrorContains(t, err, "no built-in suite")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{name: "not json", json: `{`, want: "suite:"},
		{name: "unknown field", json: `{"workload":"echo","scenarioz":[]}`, want: "unknown field"},
		{name: "no workload", json: `{"scenarios":[]}`, want: "workload is required"},
		{name: "no scenarios", json: `{"workload":"echo"}`, want: "no scenarios"},
		{name: "empty name", json: `{"workload":"echo","scenarios":[{"name":"","checks":[{"figure":"valid?","op":"==","target":true}]}]}`, want: "name must be"},
		{name: "duplicate", json: `{"workload":"echo","scenarios":[{"name":"a","checks":[{"figure":"valid?","op":"==","target":true}]},{"name":"a","checks":[{"figure":"valid?","op":"==","target":true}]}]}`, want: "duplicate"},
		{name: "reserved flag", json: `{"workload":"echo","scenarios":[{"name":"a","flags":["--seed","3"],"checks":[{"figure":"valid?","op":"==","target":true}]}]}`, want: "set by grade"},
		{name: "reserved flag with =", json: `{"workload":"echo","scenarios":[{"name":"a","flags":["--bin=x"],"checks":[{"figure":"valid?","op":"==","target":true}]}]}`, want: "set by grade"},
		{name: "no checks", json: `{"workload":"echo","scenarios":[{"name":"a"}]}`, want: "no checks"},
		{name: "bad op", json: `{"workload":"echo","scenarios":[{"name":"a","checks":[{"figure":"valid?","op":"=~","target":true}]}]}`, want: "op"},
		{name: "no target", json: `{"workload":"echo","scenarios":[{"name":"a","checks":[{"figure":"valid?","op":"=="}]}]}`, want: "target is required"},
		{name: "order on bool", json: `{"workload":"echo","scenarios":[{"name":"a","checks":[{"figure":"valid?","op":"<","target":true}]}]}`, want: "numeric target"},
		{name: "object target", json: `{"workload":"echo","scenarios":[{"name":"a","checks":[{"figure":"valid?","op":"==","target":{}}]}]}`, want: "target must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(`{"workload":"echo","scenarios":[
		{"name":"a","checks":[{"figure":"valid?","op":"==","target":true}]},
		{"name":"b","required":false,"checks":[{"figure":"net/all/msgs-per-op","op":"<","target":3.5},{"figure":"valid?","op":"!=","target":"unknown"}]}]}`))
	require.NoError(t, err)
	require.True(t, s.Scenarios[0].IsRequired())
	require.False(t, s.Scenarios[1].IsRequired())
	require.Equal(t, 3.5, *s.Scenarios[1].Checks[0].Target.Num)
	require.Equal(t, "unknown", *s.Scenarios[1].Checks[1].Target.Str)
}

func results() *history.Map {
	q := history.NewMap().Set("0.5", int64(120)).Set("1", int64(700))
	q.NumKeys = true
	return history.NewMap().
		Set("availability", history.NewMap().Set("valid?", true).Set("ok-fraction", history.Float(0.75))).
		Set("net", history.NewMap().Set("servers", history.NewMap().Set("msgs-per-op", history.Float(25.5)))).
		Set("workload", history.NewMap().Set("valid?", false).Set("stable-latencies", q).Set("lost", history.List{int64(1)})).
		Set("valid?", history.Keyword("unknown"))
}

func num(f float64) Target  { return Target{Num: &f} }
func boolean(b bool) Target { return Target{Bool: &b} }
func str(s string) Target   { return Target{Str: &s} }

func TestEvaluate(t *testing.T) {
	r := results()
	for _, tc := range []struct {
		c     Check
		value string
		pass  bool
	}{
		{c: Check{Figure: "net/servers/msgs-per-op", Op: "<", Target: num(30)}, value: "25.5", pass: true},
		{c: Check{Figure: "net/servers/msgs-per-op", Op: "<", Target: num(20)}, value: "25.5", pass: false},
		{c: Check{Figure: "workload/stable-latencies/0.5", Op: "<=", Target: num(120)}, value: "120", pass: true},
		{c: Check{Figure: "workload/stable-latencies/1", Op: ">", Target: num(700)}, value: "700", pass: false},
		{c: Check{Figure: "workload/stable-latencies/1", Op: ">=", Target: num(700)}, value: "700", pass: true},
		{c: Check{Figure: "availability/ok-fraction", Op: "==", Target: num(0.75)}, value: "0.75", pass: true},
		{c: Check{Figure: "availability/ok-fraction", Op: "!=", Target: num(1)}, value: "0.75", pass: true},
		{c: Check{Figure: "availability/valid?", Op: "==", Target: boolean(true)}, value: "true", pass: true},
		{c: Check{Figure: "workload/valid?", Op: "==", Target: boolean(true)}, value: "false", pass: false},
		{c: Check{Figure: "valid?", Op: "==", Target: boolean(true)}, value: "unknown", pass: false},
		{c: Check{Figure: "valid?", Op: "==", Target: str("unknown")}, value: "unknown", pass: true},
		{c: Check{Figure: "valid?", Op: "<", Target: num(1)}, value: "unknown", pass: false},
		{c: Check{Figure: "net/clients/msgs-per-op", Op: "<", Target: num(1)}, value: "missing", pass: false},
		{c: Check{Figure: "workload/lost", Op: "==", Target: num(0)}, value: "(history.List)", pass: false},
		{c: Check{Figure: "workload/lost/0", Op: "==", Target: num(1)}, value: "1", pass: true},
	} {
		t.Run(tc.c.Figure+tc.c.Op+tc.c.Target.String(), func(t *testing.T) {
			o := Evaluate(r, tc.c)
			require.Equal(t, tc.value, o.Value)
			require.Equal(t, tc.pass, o.Pass)
		})
	}
	require.Equal(t, "missing", Evaluate(nil, Check{Figure: "valid?", Op: "==", Target: boolean(true)}).Value)
}

func TestGradeScorecard(t *testing.T) {
	s, err := Parse([]byte(`{"workload":"broadcast","scenarios":[
		{"name":"ok","seeds":[1,2],"checks":[{"figure":"valid?","op":"==","target":true},{"figure":"net/servers/msgs-per-op","op":"<","target":30}]},
		{"name":"slow","seeds":[1,2],"checks":[{"figure":"valid?","op":"==","target":true},{"figure":"net/servers/msgs-per-op","op":"<","target":20}]},
		{"name":"crash","required":false,"seeds":[7],"checks":[{"figure":"valid?","op":"==","target":true}]}]}`))
	require.NoError(t, err)
	run := func(_ context.Context, sc *Scenario, seed int64) (Run, error) {
		if sc.Name == "crash" {
			return Run{Dir: "store/x"}, errors.New("Node n1 crashed with exit status 3\nlast lines")
		}
		mpo := 10.0 + float64(seed)*8 // seed 1: 18, seed 2: 26
		return Run{Dir: "store/" + sc.Name, Results: history.NewMap().
			Set("net", history.NewMap().Set("servers", history.NewMap().Set("msgs-per-op", history.Float(mpo)))).
			Set("valid?", true)}, nil
	}
	card, err := Grade(context.Background(), s, "bin/broadcast", Options{}, run)
	require.NoError(t, err)
	require.False(t, card.Pass)
	require.Len(t, card.Scenarios, 3)
	ok, slow, crash := card.Scenarios[0], card.Scenarios[1], card.Scenarios[2]
	require.True(t, ok.Pass)
	require.Equal(t, "net/servers/msgs-per-op", ok.Decider.Figure, "the closest call decides a pass")
	require.Equal(t, "26", ok.Decider.Value)
	require.False(t, slow.Pass)
	require.Equal(t, int64(2), slow.Seed)
	require.Equal(t, "26", slow.Decider.Value)
	require.False(t, crash.Pass)
	require.Equal(t, "run", crash.Decider.Figure)
	fails := card.Failures()
	require.Len(t, fails, 2)
	require.Contains(t, fails[0], "FAIL broadcast slow (required): net/servers/msgs-per-op = 26, target < 20 (seed 2")
	require.Equal(t, "#net", slow.Runs[1].Anchor, "a valid run that misses a target points at the figure's section")
	require.Contains(t, fails[1], "FAIL broadcast crash (optional): run = did not finish: Node n1 crashed with exit status 3")

	var table strings.Builder
	require.NoError(t, card.WriteTable(&table))
	require.Contains(t, table.String(), "FAIL: a required scenario failed")
	require.Contains(t, table.String(), "1/2")
	dir := t.TempDir()
	require.NoError(t, card.WriteFiles(dir))
	md, err := os.ReadFile(filepath.Join(dir, "scorecard.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| slow |")
	js, err := os.ReadFile(filepath.Join(dir, "scorecard.json"))
	require.NoError(t, err)
	require.Contains(t, string(js), `"decider"`)

	// Only the passing scenario, one seed: the grade passes.
	card, err = Grade(context.Background(), s, "b", Options{Seeds: 1, Only: []string{"ok", "crash"}}, run)
	require.NoError(t, err)
	require.True(t, card.Pass, "an optional failure does not fail the grade")
	_, err = Grade(context.Background(), s, "b", Options{Only: []string{"nope"}}, run)
	require.ErrorContains(t, err, "no scenario")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Grade(ctx, s, "b", Options{}, run)
	require.Error(t, err)
}

func TestDecidingPrefersSpecificFigure(t *testing.T) {
	outs := []Outcome{{Figure: "valid?", Value: "false"}, {Figure: "workload/lost-count", Value: "3"}, {Figure: "x", Pass: true}}
	require.Equal(t, "workload/lost-count", deciding(outs).Figure)
	require.Equal(t, "valid?", deciding(outs[:1]).Figure)
	require.Equal(t, Outcome{}, deciding(nil))
}

func TestWhyNamesFailingChecker(t *testing.T) {
	res := history.NewMap().
		Set("workload", history.NewMap().Set("valid?", false).Set("lost-count", int64(2)).Set("lost", history.List{int64(4), int64(9)})).
		Set("valid?", false)
	require.Equal(t, "workload: lost-count 2, lost (4 9)", why(res))
	require.Equal(t, "", why(history.NewMap().Set("valid?", true)))
	// A counter's final reads below its acceptable range: an add was lost.
	counter := history.NewMap().
		Set("workload", history.NewMap().Set("valid?", false).Set("final-reads", history.List{int64(216), int64(216)}).
			Set("acceptable", history.List{[]any{int64(1130), int64(1130)}})).
		Set("valid?", false)
	require.Equal(t, "workload: final-reads (216 216), acceptable ([1130 1130])", why(counter))
	// A strict lin-kv run: a key's stretch that is not linearizable, then
	// the findings that strictness counted; the key's own map, which only
	// holds its linearizability check, adds nothing.
	key := history.NewMap().Set("valid?", false).
		Set("linearizable", history.NewMap().Set("valid?", false).Set("op-count", int64(64)))
	byKey := history.NewMap()
	byKey.Set("1", key)
	linkv := history.NewMap().
		Set("workload", history.NewMap().Set("valid?", false).Set("results", byKey).Set("failures", []any{int64(1)}).
			Set("eddy-only", []any{history.NewMap().Set("anomaly", history.Keyword("forgotten-key")).Set("count", int64(19))})).
		Set("valid?", false)
	require.Equal(t, "workload results 1 linearizable: op-count 64; workload: eddy-only forgotten-key (count 19)", why(linkv))
}

// TestFailureLinksReport: a failed run's line, JUnit text and JSON point
// at the anchor of report.html that shows the failure.
func TestFailureLinksReport(t *testing.T) {
	s, err := Parse([]byte(`{"workload":"broadcast","scenarios":[
		{"name":"lost","seeds":[1],"checks":[{"figure":"workload/lost-count","op":"==","target":0}]},
		{"name":"dup","seeds":[1],"checks":[{"figure":"valid?","op":"==","target":true}]}]}`))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "report.html"), []byte("<html>"), 0o644))
	run := func(_ context.Context, sc *Scenario, _ int64) (Run, error) {
		w := history.NewMap().Set("valid?", false)
		if sc.Name == "lost" {
			w.Set("lost-count", int64(1)).Set("lost", history.List{int64(7)})
		} else {
			w.Set("duplicated-count", int64(2))
		}
		return Run{Dir: dir, Results: history.NewMap().Set("workload", w).Set("valid?", false)}, nil
	}
	card, err := Grade(context.Background(), s, "b", Options{}, run)
	require.NoError(t, err)
	fails := card.Failures()
	require.Len(t, fails, 2)
	require.Contains(t, fails[0], "see "+filepath.Join(dir, "report.html")+"#lost")
	require.Contains(t, fails[1], "see "+filepath.Join(dir, "report.html")+"#why-workload")
	require.Equal(t, "#lost", card.Scenarios[0].Runs[0].Anchor)
	x, err := card.JUnit("broadcast", time.Now())
	require.NoError(t, err)
	require.NoError(t, CheckJUnit(x))
	require.Contains(t, string(x), "report.html#why-workload")
}
