package eddy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
	"maelkit/tests/eddy/report"
	"maelkit/tests/eddy/store"
	"maelkit/tests/eddy/workload"
)

// checkInput is what the checkers of a run read: the same for a test that
// just ran and for `eddy analyze` on a stored run.
type checkInput struct {
	workload     *workload.Workload
	history      history.History
	journal      []journal.Event
	availability checker.AvailabilityTarget
	strict       bool
	start        time.Time // the test's wall-clock start, for the timeline
	writeFile    func(name string, data []byte) error
}

// checkRun composes Maelstrom's checkers (perf, timeline, exceptions,
// stats, availability, net, workload) over one run. Eddy-only findings
// make their checker invalid only when strict is set.
func checkRun(in checkInput) *history.Map {
	h, j := in.history, in.journal
	results := checker.Compose(
		checker.Part{Key: "perf", Check: func() *history.Map { return checker.Perf(h) }},
		checker.Part{Key: "timeline", Check: func() *history.Map {
			if err := report.WriteTimelines(in.writeFile, in.workload.Name, h, in.start, in.workload.Name == "lin-kv"); err != nil {
				return history.NewMap().Set("valid?", checker.Unknown).Set("error", err.Error())
			}
			return history.NewMap().Set("valid?", true)
		}},
		checker.Part{Key: "exceptions", Check: func() *history.Map { return checker.Exceptions(h) }},
		checker.Part{Key: "stats", Check: func() *history.Map { return checker.Stats(h) }},
		checker.Part{Key: "availability", Check: func() *history.Map {
			return checker.Availability(h, in.availability)
		}},
		checker.Part{Key: "net", Check: func() *history.Map { return checker.Net(j, h) }},
		checker.Part{Key: "workload", Check: func() *history.Map {
			return in.workload.Check(h, workload.CheckEnv{WriteFile: in.writeFile})
		}},
	)
	if in.strict {
		checker.ApplyStrict(results)
	}
	return results
}

// printWarnings writes one console line per eddy-only finding, before the
// final line, so that a warning is seen without reading the results map.
func printWarnings(out io.Writer, results *history.Map, strict bool) {
	ws := report.Warnings(results)
	if len(ws) == 0 {
		return
	}
	effect := "not counted in the verdict; --strict counts them"
	if strict {
		effect = "counted in the verdict (--strict)"
	}
	fmt.Fprintf(out, "\neddy-only findings (%s):\n", effect)
	for _, w := range ws {
		switch {
		case w.Anomaly == "":
			fmt.Fprintf(out, "  %s: %s\n", w.Path, w.Explanation)
		case w.Count > 0:
			fmt.Fprintf(out, "  %s: %s (%d found)\n", w.Path, w.Anomaly, w.Count)
		default:
			fmt.Fprintf(out, "  %s: %s\n", w.Path, w.Anomaly)
		}
	}
}

// storedTest is test.json as Run writes it (progress.go's testRecord).
type storedTest struct {
	Workload          string   `json:"workload"`
	Bin               string   `json:"bin"`
	Args              []string `json:"args"`
	Nodes             []string `json:"nodes"`
	Concurrency       int      `json:"concurrency"`
	TimeLimitS        float64  `json:"time-limit-s"`
	Rate              float64  `json:"rate"`
	LatencyMs         int64    `json:"latency-ms"`
	LatencyDist       string   `json:"latency-dist"`
	Nemesis           []string `json:"nemesis"`
	NemesisIntervalS  float64  `json:"nemesis-interval-s"`
	Topology          string   `json:"topology"`
	Availability      string   `json:"availability"`
	Seed              int64    `json:"seed"`
	RecoveryS         float64  `json:"recovery-s"`
	Start             string   `json:"start"`
	ConsistencyModels []string `json:"consistency-models"`
	KeyCount          int      `json:"key-count"`
	MaxTxnLength      int      `json:"max-txn-length"`
	MaxWritesPerKey   int      `json:"max-writes-per-key"`
	Strict            bool     `json:"strict"`
}

// options turns the stored record back into the options of the run.
func (t *storedTest) options() Options {
	o := Defaults()
	o.Workload, o.Bin, o.Args, o.Nodes = t.Workload, t.Bin, t.Args, t.Nodes
	if t.Concurrency > 0 {
		o.Concurrency = strconv.Itoa(t.Concurrency)
	}
	o.TimeLimit = time.Duration(t.TimeLimitS * float64(time.Second))
	o.Rate, o.LatencyMs, o.Nemesis, o.Topology, o.Availability = t.Rate, t.LatencyMs, t.Nemesis, t.Topology, t.Availability
	if t.LatencyDist != "" {
		o.LatencyDist = t.LatencyDist
	}
	if t.NemesisIntervalS > 0 {
		o.NemesisInterval = time.Duration(t.NemesisIntervalS * float64(time.Second))
	}
	o.Recovery = time.Duration(t.RecoveryS * float64(time.Second))
	o.Seed = t.Seed
	o.ConsistencyModels, o.KeyCount, o.MaxTxnLength, o.MaxWritesPerKey = t.ConsistencyModels, t.KeyCount, t.MaxTxnLength, t.MaxWritesPerKey
	o.Strict = t.Strict
	return o
}

// valueShape is how workload w records its op values in history.jsonl.
func valueShape(w string) store.ValueShape {
	switch w {
	case "echo", "unique-ids":
		return store.ShapeOpaque
	case "txn-rw-register", "txn-list-append":
		return store.ShapeTxn
	case "kafka":
		return store.ShapeKafka
	}
	return store.ShapeData
}

// AnalyzeOptions are `eddy analyze`'s options.
type AnalyzeOptions struct {
	// Dir is the run folder; empty means StoreRoot's latest run.
	Dir       string
	StoreRoot string
	// Strict makes eddy-only findings fail, whatever the run used.
	Strict bool
	// Console receives the results and the final line; nil is quiet.
	Console io.Writer
}

// Analyze re-checks a stored run folder without running anything: it
// reads test.json, history.jsonl and net-journal.jsonl, runs the checkers
// the test ran with the stored options (and --strict when the run or
// AnalyzeOptions asks for it), and rewrites results.edn, results.json,
// the timelines, the checkers' explanations and report.html. A folder
// that cannot be read is a *UsageError.
func Analyze(o AnalyzeOptions) (*Result, error) {
	dir := o.Dir
	if dir == "" {
		root := o.StoreRoot
		if root == "" {
			root = store.DefaultRoot
		}
		dir = filepath.Join(root, "latest")
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	raw, err := os.ReadFile(filepath.Join(dir, "test.json"))
	if err != nil {
		return nil, usageErr("analyze: %s is not a run folder: %v", dir, err)
	}
	var t storedTest
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, usageErr("analyze: %s/test.json: %v", dir, err)
	}
	opts := t.options()
	opts.Strict = opts.Strict || o.Strict
	if opts.Bin == "" {
		opts.Bin = "(not recorded)" // nothing is run; resolve wants a name
	}
	res, err := opts.resolve()
	if err != nil {
		return nil, usageErr("analyze: the options stored in %s/test.json: %v", dir, err)
	}
	w, err := workload.New(opts.Workload, workload.Params{
		Nodes: res.nodes, Concurrency: res.concurrency, Topology: opts.Topology,
		LatencyMs: opts.LatencyMs, Rand: rng(opts.Seed, streamWorkload),
		KeyCount: opts.KeyCount, MaxTxnLength: opts.MaxTxnLength, MaxWritesPerKey: opts.MaxWritesPerKey,
		ConsistencyModels: opts.ConsistencyModels,
	})
	if err != nil {
		return nil, usageErr("analyze: %v", err)
	}
	h, err := store.ReadHistory(dir, valueShape(opts.Workload))
	if err != nil {
		return nil, usageErr("analyze: %v", err)
	}
	j, err := store.ReadJournal(dir)
	if err != nil {
		return nil, usageErr("analyze: %v", err)
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// The previous check's explanations may name anomalies this one does
	// not find; they are written afresh.
	for _, sub := range []string{"elle", "independent"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return nil, err
		}
	}
	start, _ := time.Parse(time.RFC3339Nano, t.Start)
	out := io.Writer(st.Log())
	if o.Console != nil {
		out = io.MultiWriter(out, o.Console)
	}
	fmt.Fprintf(out, "\neddy analyze: re-checking %d events and %d journal events of %s\n", len(h), len(j), dir)
	results := checkRun(checkInput{workload: w, history: h, journal: j, availability: res.availability,
		strict: opts.Strict, start: start, writeFile: st.WriteFile})
	valid, _ := results.Get("valid?")
	if err := st.WriteResults(results); err != nil {
		return nil, err
	}
	if err := report.Write(dir, report.Input{Results: results, History: h, Journal: j,
		Nodes: res.nodes, Workload: opts.Workload, Seed: opts.Seed, Summary: CommandLine(opts)}); err != nil {
		fmt.Fprintf(st.Log(), "WARN report: %v\n", err)
	}
	if pretty, err := edn.PrettyMarshal(results); err == nil {
		fmt.Fprintf(out, "\n%s\n", pretty)
	}
	printWarnings(out, results, opts.Strict)
	fmt.Fprintf(out, "\n%s\n", FinalLine(valid))
	return &Result{Valid: valid, Results: results, Dir: dir, Seed: opts.Seed, History: h, Journal: j}, nil
}

// AnalyzeUsage is `eddy analyze`'s help.
func AnalyzeUsage() string {
	return `Usage:
  eddy analyze [--store DIR | RUN-DIR] [--strict] [-q]

Re-checks a stored run without running it again: reads the run folder's test.json,
history.jsonl and net-journal.jsonl, runs the checkers with the stored options,
rewrites results.edn, results.json, the timelines and report.html, and prints the
results and the verdict line. RUN-DIR is a run folder (store/<workload>/<time>);
without it, the latest run under --store (default store). --strict makes eddy-only
findings fail the run. Exit codes as for test: 0 valid, 1 invalid, 2 unknown,
254 bad arguments or an unreadable folder.
`
}

// AnalyzeMain is `eddy analyze`: args exclude the word "analyze".
func AnalyzeMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var o AnalyzeOptions
	quiet := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "-h", "--help":
			fmt.Fprint(stdout, AnalyzeUsage())
			return ExitValid
		case "--strict":
			o.Strict = true
		case "-q", "--quiet":
			quiet = true
		case "--store":
			if !hasVal {
				if i+1 >= len(args) {
					fmt.Fprintf(stderr, "eddy analyze: --store needs a value (DIR)\n")
					return ExitUsage
				}
				i++
				val = args[i]
			}
			o.StoreRoot = val
		default:
			if strings.HasPrefix(a, "-") || o.Dir != "" {
				fmt.Fprintf(stderr, "eddy analyze: unexpected argument %q\n\n%s", a, AnalyzeUsage())
				return ExitUsage
			}
			o.Dir = a
		}
	}
	if o.Dir != "" && o.StoreRoot != "" {
		fmt.Fprintf(stderr, "eddy analyze: give a run folder or --store, not both\n")
		return ExitUsage
	}
	if !quiet {
		o.Console = stdout
	}
	res, err := Analyze(o)
	var usage *UsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "eddy %v\n", err)
		return ExitUsage
	case err != nil:
		fmt.Fprintf(stderr, "eddy analyze: %v\n", err)
		return ExitCrash
	}
	fmt.Fprintf(stderr, "results in %s (report: %s/report.html)\n", res.Dir, res.Dir)
	switch res.Valid {
	case true:
		return ExitValid
	case false:
		return ExitInvalid
	}
	return ExitUnknown
}
