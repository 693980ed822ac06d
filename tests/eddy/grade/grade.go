// Package grade runs a workload's suite of scenarios against a node binary
// and scores it: each scenario (a set of `eddy test` flags, a few seeds and
// thresholds on results.json figures) passes or fails, and the scorecard
// says which figure decided it and what the target was. Suites are data
// (suites/<workload>.json, embedded; or any file given with --suite) so a
// teacher can add a scenario without writing Go.
//
// The package does not run tests itself: the caller passes a Runner (the eddy
// command line passes one built on eddy.GradeRun), which keeps this package free of
// an import cycle and lets tests grade canned results.
package grade

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/report"
)

//go:embed suites/*.json
var builtin embed.FS

// DefaultSeeds are used when a scenario lists none.
var defaultSeeds = []int64{1, 2, 3}

// maxSeeds bounds --seeds and a scenario's seed list.
const maxSeeds = 100

// reserved are the flags grade sets itself on every run.
var reserved = []string{"-w", "--workload", "--bin", "--seed", "--store", "--test-count", "-q", "--quiet"}

// Suite is one workload's scenarios.
type Suite struct {
	Workload    string     `json:"workload"`
	Description string     `json:"description,omitempty"`
	Scenarios   []Scenario `json:"scenarios"`
}

// Scenario is one graded configuration: `eddy test` flags (without -w,
// --bin, --seed and --store, which grade sets), the seeds to run, and the
// checks every run must pass.
type Scenario struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	// Required defaults to true; an optional scenario is reported but does
	// not fail the grade.
	Required *bool    `json:"required,omitempty"`
	Flags    []string `json:"flags"`
	Args     []string `json:"args,omitempty"` // arguments for the binary
	Seeds    []int64  `json:"seeds,omitempty"`
	Checks   []Check  `json:"checks"`
}

// IsRequired reports whether failing s fails the grade.
func (s *Scenario) IsRequired() bool { return s.Required == nil || *s.Required }

// Check is a threshold on one figure of results.json. Figure is a path of
// keys separated by "/" ("net/servers/msgs-per-op",
// "workload/stable-latencies/0.5", "valid?"); Op is one of < <= > >= == !=;
// Target is a number, true/false, or a string (compared with a keyword such
// as "unknown" by name).
type Check struct {
	Figure string `json:"figure"`
	Op     string `json:"op"`
	Target Target `json:"target"`
	// Note says why, shown in the scorecard (e.g. "Fly.io 3d").
	Note string `json:"note,omitempty"`
}

// Target is a check's right-hand side: exactly one field is set.
type Target struct {
	Num  *float64
	Bool *bool
	Str  *string
}

// UnmarshalJSON accepts a JSON number, boolean or string.
func (t *Target) UnmarshalJSON(b []byte) error {
	var n float64
	var f bool
	var s string
	switch {
	case json.Unmarshal(b, &n) == nil:
		t.Num = &n
	case json.Unmarshal(b, &f) == nil:
		t.Bool = &f
	case json.Unmarshal(b, &s) == nil:
		t.Str = &s
	default:
		return fmt.Errorf("target must be a number, true/false or a string, not %s", b)
	}
	return nil
}

// MarshalJSON writes the set field.
func (t Target) MarshalJSON() ([]byte, error) {
	switch {
	case t.Num != nil:
		return json.Marshal(*t.Num)
	case t.Bool != nil:
		return json.Marshal(*t.Bool)
	case t.Str != nil:
		return json.Marshal(*t.Str)
	}
	return []byte("null"), nil
}

func (t Target) String() string {
	switch {
	case t.Num != nil:
		return strconv.FormatFloat(*t.Num, 'g', -1, 64)
	case t.Bool != nil:
		return strconv.FormatBool(*t.Bool)
	case t.Str != nil:
		return *t.Str
	}
	return "?"
}

var ops = []string{"<", "<=", ">", ">=", "==", "!="}

// Parse reads and validates a suite.
func Parse(data []byte) (*Suite, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks names, flags, seeds and checks.
func (s *Suite) Validate() error {
	if s.Workload == "" {
		return errors.New("suite: workload is required")
	}
	if len(s.Scenarios) == 0 {
		return errors.New("suite: no scenarios")
	}
	seen := map[string]bool{}
	for i := range s.Scenarios {
		sc := &s.Scenarios[i]
		where := fmt.Sprintf("suite %s: scenario %d (%q)", s.Workload, i+1, sc.Name)
		if sc.Name == "" || strings.ContainsAny(sc.Name, " /\\") {
			return fmt.Errorf("%s: name must be non-empty without spaces or slashes", where)
		}
		if seen[sc.Name] {
			return fmt.Errorf("%s: duplicate name", where)
		}
		seen[sc.Name] = true
		for _, f := range sc.Flags {
			name, _, _ := strings.Cut(f, "=")
			if slices.Contains(reserved, name) {
				return fmt.Errorf("%s: flag %s is set by grade itself", where, name)
			}
		}
		if len(sc.Seeds) > maxSeeds {
			return fmt.Errorf("%s: more than %d seeds", where, maxSeeds)
		}
		if len(sc.Checks) == 0 {
			return fmt.Errorf("%s: no checks", where)
		}
		for j, c := range sc.Checks {
			if c.Figure == "" {
				return fmt.Errorf("%s: check %d: figure is required", where, j+1)
			}
			if !slices.Contains(ops, c.Op) {
				return fmt.Errorf("%s: check %d: op %q is not one of %s", where, j+1, c.Op, strings.Join(ops, " "))
			}
			t := c.Target
			switch {
			case t.Num == nil && t.Bool == nil && t.Str == nil:
				return fmt.Errorf("%s: check %d: target is required", where, j+1)
			case t.Num == nil && c.Op != "==" && c.Op != "!=":
				return fmt.Errorf("%s: check %d: %s needs a numeric target", where, j+1, c.Op)
			}
		}
	}
	return nil
}

// Builtin returns the embedded suite for workload.
func Builtin(workload string) (*Suite, error) {
	b, err := builtin.ReadFile("suites/" + workload + ".json")
	if err != nil {
		return nil, fmt.Errorf("no built-in suite for workload %q; built-in suites: %s", workload, strings.Join(Workloads(), ", "))
	}
	return Parse(b)
}

// Workloads lists the workloads with a built-in suite.
func Workloads() []string {
	es, _ := builtin.ReadDir("suites")
	var out []string
	for _, e := range es {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	return out
}

// Outcome is one check evaluated on one run.
type Outcome struct {
	Figure string `json:"figure"`
	Value  string `json:"value"` // "missing" when results lack the figure
	Op     string `json:"op"`
	Target string `json:"target"`
	Pass   bool   `json:"pass"`
	Note   string `json:"note,omitempty"`
	margin float64
}

// Evaluate applies c to results.
func Evaluate(results *history.Map, c Check) Outcome {
	o := Outcome{Figure: c.Figure, Op: c.Op, Target: c.Target.String(), Note: c.Note, margin: math.Inf(1)}
	v, ok := report.Lookup(results, strings.Split(c.Figure, "/")...)
	if !ok || results == nil {
		o.Value = "missing"
		return o
	}
	switch x := v.(type) {
	case *history.Map, []any, history.List:
		o.Value = "(" + fmt.Sprintf("%T", x) + ")"
		return o
	}
	if n, isNum := number(v); isNum {
		o.Value = strconv.FormatFloat(n, 'g', 6, 64)
		if c.Target.Num != nil {
			t := *c.Target.Num
			o.Pass = compare(n, c.Op, t)
			o.margin = math.Abs(t-n) / math.Max(math.Abs(t), 1e-9)
		}
		return o
	}
	var s string
	switch x := v.(type) {
	case bool:
		s = strconv.FormatBool(x)
	case history.Keyword:
		s = string(x)
	case string:
		s = x
	default:
		s = fmt.Sprint(x)
	}
	o.Value = s
	want := c.Target.String()
	if c.Target.Num != nil {
		return o // a number was expected
	}
	switch c.Op {
	case "==":
		o.Pass = s == want
	case "!=":
		o.Pass = s != want
	}
	return o
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case history.Float:
		return float64(x), true
	case float64:
		return x, true
	case history.JSON:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

func compare(v float64, op string, t float64) bool {
	switch op {
	case "<":
		return v < t
	case "<=":
		return v <= t
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "==":
		return v == t
	case "!=":
		return v != t
	}
	return false
}

// Run is what a Runner returns for one scenario and seed.
type Run struct {
	Results *history.Map
	Dir     string
}

// Runner runs one scenario with one seed. An error means the run did not
// finish (bad flags, a crashed node): the scenario fails on figure "run".
type Runner func(ctx context.Context, sc *Scenario, seed int64) (Run, error)

// Options tune a grading.
type Options struct {
	// Seeds, when > 0, runs seeds 1..Seeds for every scenario instead of
	// the scenario's own list.
	Seeds int
	// Only restricts grading to these scenario names; empty means all.
	Only []string
	// Progress receives one line per run; nil is quiet.
	Progress io.Writer
}

// RunResult is one seed of one scenario.
type RunResult struct {
	Seed     int64     `json:"seed"`
	Dir      string    `json:"dir,omitempty"`
	Pass     bool      `json:"pass"`
	Error    string    `json:"error,omitempty"`
	Outcomes []Outcome `json:"outcomes"`
	// Why names the failing sub-checkers and their figures when the run's
	// results are not valid (lost elements, duplicated ids, bad reads...).
	Why string `json:"why,omitempty"`
	// Anchor is the place in the run's report.html that shows why
	// ("#lost", "#why-workload"), empty when the run passed or has no
	// report.
	Anchor string `json:"anchor,omitempty"`
	// Seconds is the run's wall time.
	Seconds float64 `json:"seconds"`
}

// ScenarioResult is a scenario over all its seeds: it passes when every
// seed passes every check. Decider is the figure that decided it: the
// first failed check (of the first failing seed), or on a pass the check
// that came closest to its target.
type ScenarioResult struct {
	Name     string  `json:"name"`
	Title    string  `json:"title,omitempty"`
	Required bool    `json:"required"`
	Pass     bool    `json:"pass"`
	Decider  Outcome `json:"decider"`
	Seed     int64   `json:"decider-seed"`
	Dir      string  `json:"decider-dir,omitempty"`
	Why      string  `json:"why,omitempty"`
	// Report is the deciding run's report.html with the anchor that shows
	// why it failed, or its folder when it has no report.
	Report string      `json:"report,omitempty"`
	Runs   []RunResult `json:"runs"`
}

// Scorecard is a whole grading.
type Scorecard struct {
	Workload  string           `json:"workload"`
	Bin       string           `json:"bin"`
	Pass      bool             `json:"pass"` // every required scenario passed
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Grade runs every selected scenario of suite with run and scores it.
func Grade(ctx context.Context, suite *Suite, bin string, o Options, run Runner) (*Scorecard, error) {
	if o.Seeds < 0 || o.Seeds > maxSeeds {
		return nil, fmt.Errorf("--seeds must be in 1..%d", maxSeeds)
	}
	for _, name := range o.Only {
		if !slices.ContainsFunc(suite.Scenarios, func(s Scenario) bool { return s.Name == name }) {
			return nil, fmt.Errorf("suite %s has no scenario %q", suite.Workload, name)
		}
	}
	card := &Scorecard{Workload: suite.Workload, Bin: bin, Pass: true}
	for i := range suite.Scenarios {
		sc := &suite.Scenarios[i]
		if len(o.Only) > 0 && !slices.Contains(o.Only, sc.Name) {
			continue
		}
		sr, err := gradeScenario(ctx, suite.Workload, sc, scenarioSeeds(sc, o.Seeds), o, run)
		if err != nil {
			return card, err
		}
		if !sr.Pass && sr.Required {
			card.Pass = false
		}
		card.Scenarios = append(card.Scenarios, sr)
	}
	return card, nil
}

// scenarioSeeds are the seeds a scenario runs with: its own (or the
// default ones), or 1..n when n > 0.
func scenarioSeeds(sc *Scenario, n int) []int64 {
	seeds := sc.Seeds
	if len(seeds) == 0 {
		seeds = defaultSeeds
	}
	if n > 0 {
		seeds = nil
		for s := 1; s <= n; s++ {
			seeds = append(seeds, int64(s))
		}
	}
	return seeds
}

// gradeScenario runs one scenario with each seed. The first failing run
// decides a failed scenario; a passed one is decided by the outcome
// closest to its target.
func gradeScenario(ctx context.Context, workload string, sc *Scenario, seeds []int64, o Options, run Runner) (ScenarioResult, error) {
	sr := ScenarioResult{Name: sc.Name, Title: sc.Title, Required: sc.IsRequired(), Pass: true}
	best := math.Inf(1)
	for _, seed := range seeds {
		if err := ctx.Err(); err != nil {
			return sr, err
		}
		rr := runSeed(ctx, sc, seed, run)
		if !rr.Pass && sr.Pass {
			sr.Pass = false
			sr.Decider, sr.Seed, sr.Dir, sr.Why = deciding(rr.Outcomes), seed, rr.Dir, rr.Why
			sr.Report = reportLink(rr.Dir, rr.Anchor)
		}
		for _, out := range rr.Outcomes {
			if sr.Pass && (sr.Decider.Figure == "" || out.margin < best) {
				best = out.margin
				sr.Decider, sr.Seed, sr.Dir = out, seed, rr.Dir
			}
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%s %s seed %d: %s %s\n", workload, sc.Name, seed, passText(rr.Pass), rr.Dir)
		}
		sr.Runs = append(sr.Runs, rr)
	}
	return sr, nil
}

// runSeed runs a scenario once and evaluates its checks.
func runSeed(ctx context.Context, sc *Scenario, seed int64, run Runner) RunResult {
	rr := RunResult{Seed: seed, Pass: true}
	start := time.Now()
	res, err := run(ctx, sc, seed)
	rr.Seconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	rr.Dir = res.Dir
	if err != nil {
		rr.Pass = false
		rr.Error = err.Error()
		rr.Outcomes = []Outcome{{Figure: "run", Value: "did not finish: " + firstLine(err.Error()), Op: "==", Target: "finished"}}
		rr.Why = crashWhy(err.Error())
		return rr
	}
	for _, c := range sc.Checks {
		out := Evaluate(res.Results, c)
		rr.Outcomes = append(rr.Outcomes, out)
		rr.Pass = rr.Pass && out.Pass
	}
	if out, hit := limitsHit(res.Results); hit {
		rr.Outcomes = append(rr.Outcomes, out)
		rr.Pass = false
	}
	rr.Why = why(res.Results)
	if !rr.Pass {
		if rr.Anchor = report.Anchor(res.Results); rr.Anchor == "" {
			rr.Anchor = report.FigureAnchor(deciding(rr.Outcomes).Figure)
		}
	}
	return rr
}

// deciding picks the failed check to report: a specific figure
// (msgs-per-op, lost-count) says more than the overall valid?, so the
// first failed check on another figure wins.
func deciding(outs []Outcome) Outcome {
	var first *Outcome
	for i := range outs {
		if outs[i].Pass {
			continue
		}
		if first == nil {
			first = &outs[i]
		}
		if outs[i].Figure != "valid?" {
			return outs[i]
		}
	}
	if first == nil {
		return Outcome{}
	}
	return *first
}

// telling are the result keys that explain a failure by themselves
// (set-full, unique-ids, counters, elle, availability, and the eddy-only
// findings a strict run counts), besides any "-count". A counter's
// final-reads beside its acceptable range show an add lost (reads below
// the range) or counted twice (above).
var telling = []string{"lost", "duplicated", "errors", "error", "final-reads", "acceptable", "anomaly-types", "anomalies", "unexpected", "never-read", "ok-fraction", "bad", "eddy-only"}

// maxWhy bounds the explanation carried into the scorecard.
const maxWhy = 400

// why summarises report.Failures: the failing sub-checkers with figures
// of their own, deepest first, at most two.
func why(results *history.Map) string {
	fs := report.Failures(results)
	var parts []string
	for i := len(fs) - 1; i >= 0 && len(parts) < 2; i-- {
		f := fs[i]
		var figs, rest []string
		for _, fig := range f.Figures {
			v := fig.Value
			if strings.HasPrefix(f.Path, "eddy ") {
				figs = append(figs, v) // eddy's own sentences, kept whole within maxWhy
				continue
			}
			if len(v) > 120 {
				v = strings.ToValidUTF8(v[:120], "") + "…"
			}
			if strings.HasSuffix(fig.Key, "-count") || slices.Contains(telling, fig.Key) {
				figs = append(figs, fig.Key+" "+v)
			} else if len(rest) < 2 {
				rest = append(rest, fig.Key+" "+v)
			}
		}
		if len(figs) == 0 {
			figs = rest
		}
		if len(figs) == 0 {
			continue // a map that only holds a deeper failure (a lin-kv key's)
		}
		parts = append(parts, f.Path+": "+strings.Join(figs, ", "))
	}
	s := strings.Join(parts, "; ")
	if len(s) > maxWhy {
		s = strings.ToValidUTF8(s[:maxWhy], "") + "…"
	}
	return s
}

// limitsHit is a failed outcome when eddy had to bound the run (results'
// :eddy :limits): output dropped, processes killed, forks refused. A graded
// submission must stay within the bounds, whatever its checks say.
func limitsHit(results *history.Map) (Outcome, bool) {
	v, ok := report.Lookup(results, "eddy", "limits")
	xs, _ := v.([]any)
	if !ok || len(xs) == 0 {
		return Outcome{}, false
	}
	parts := make([]string, 0, len(xs))
	for _, x := range xs {
		parts = append(parts, fmt.Sprint(x))
	}
	return Outcome{Figure: "eddy/limits", Value: strings.Join(parts, "; "), Op: "==", Target: "none", margin: math.Inf(1)}, true
}

// maxCrashWhy bounds the crash report carried into the scorecard: the
// node's last 32 lines of output, each cut to 4 KiB by eddy, fit with room.
const maxCrashWhy = 16 << 10

// crashWhy is everything of a crash report after its first line (the
// node's last lines of output, the bounds eddy hit), whole up to
// maxCrashWhy.
func crashWhy(msg string) string {
	first, rest, ok := strings.Cut(msg, "\n")
	if !ok {
		return ""
	}
	if len(first) > 200 {
		rest = first + "\n" + rest
	}
	if len(rest) > maxCrashWhy {
		rest = strings.ToValidUTF8(rest[:maxCrashWhy], "") + "…"
	}
	return rest
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

func passText(p bool) string {
	if p {
		return "PASS"
	}
	return "FAIL"
}

func reqText(r bool) string {
	if r {
		return "required"
	}
	return "optional"
}

// Failures returns one line per failed scenario naming the scenario, the
// figure, its value and the target, required ones first.
func (c *Scorecard) Failures() []string {
	var req, opt []string
	for _, s := range c.Scenarios {
		if s.Pass {
			continue
		}
		line := fmt.Sprintf("FAIL %s %s (%s): %s = %s, target %s %s (seed %d)",
			c.Workload, s.Name, reqText(s.Required), s.Decider.Figure, s.Decider.Value, s.Decider.Op, s.Decider.Target, s.Seed)
		if s.Why != "" {
			line += "; why: " + s.Why
		}
		if s.Report != "" {
			line += "; see " + s.Report
		} else if s.Dir != "" {
			line += "; see " + s.Dir
		}
		if s.Required {
			req = append(req, line)
		} else {
			opt = append(opt, line)
		}
	}
	return append(req, opt...)
}

// WriteTable prints the scorecard as an aligned table.
func (c *Scorecard) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tREQUIRED\tRESULT\tFIGURE\tVALUE\tTARGET\tSEEDS\tRUN")
	for _, s := range c.Scenarios {
		pass := 0
		for _, r := range s.Runs {
			if r.Pass {
				pass++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\t%d/%d\t%s\n", s.Name, reqText(s.Required), passText(s.Pass),
			s.Decider.Figure, s.Decider.Value, s.Decider.Op, s.Decider.Target, pass, len(s.Runs), s.Dir)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "PASS: every required scenario passed"
	if !c.Pass {
		verdict = "FAIL: a required scenario failed"
	}
	_, err := fmt.Fprintf(w, "%s %s: %s\n", c.Workload, c.Bin, verdict)
	return err
}

// Markdown renders the scorecard for a README or a pull request.
func (c *Scorecard) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Scorecard: %s\n\nBinary: `%s`\n\nVerdict: **%s**\n\n", c.Workload, c.Bin, map[bool]string{true: "PASS", false: "FAIL"}[c.Pass])
	b.WriteString("| scenario | title | required | result | deciding figure | value | target | seeds passed | run |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range c.Scenarios {
		pass := 0
		for _, r := range s.Runs {
			if r.Pass {
				pass++
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | `%s` | %s | %s %s | %d/%d | %s |\n", mdEsc(s.Name), mdEsc(s.Title), reqText(s.Required), passText(s.Pass),
			mdEsc(s.Decider.Figure), mdEsc(s.Decider.Value), mdEsc(s.Decider.Op), mdEsc(s.Decider.Target), pass, len(s.Runs), mdEsc(reportLink(s.Dir, "")))
	}
	if f := c.Failures(); len(f) > 0 {
		b.WriteString("\n## Failures\n\n")
		for _, l := range f {
			fmt.Fprintf(&b, "- %s\n", mdEsc(l))
		}
	}
	for _, s := range c.Scenarios {
		for _, r := range s.Runs {
			if r.Error == "" || r.Seed != s.Seed || s.Pass {
				continue
			}
			fmt.Fprintf(&b, "\n## %s, seed %d: the run did not finish\n\n```\n%s\n```\n", mdEsc(s.Name), r.Seed,
				strings.ReplaceAll(r.Error, "```", "'''"))
		}
	}
	return b.String()
}

// reportLink is the run's report.html with anchor, or its folder when it
// has no report (a run that did not finish).
func reportLink(dir, anchor string) string {
	if dir == "" {
		return ""
	}
	report := filepath.Join(dir, "report.html")
	if _, err := os.Stat(report); err != nil {
		return dir
	}
	return report + anchor
}

func mdEsc(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteFiles writes scorecard.json and scorecard.md into dir.
func (c *Scorecard) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := c.jsonBytes()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scorecard.json"), j, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "scorecard.md"), []byte(c.Markdown()), 0o644)
}

func (c *Scorecard) jsonBytes() ([]byte, error) {
	j, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(j, '\n'), nil
}
