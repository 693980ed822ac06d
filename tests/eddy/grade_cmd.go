package eddy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy/exercises"
	"maelkit/tests/eddy/grade"
	"maelkit/tests/eddy/process"
	"maelkit/tests/eddy/report"
)

// maxIndexRuns bounds the runs listed on the store's index page.
const maxIndexRuns = 2000

// ReportInput is what report.Write needs from a finished run; analyse()
// and grade share it.
func ReportInput(o Options, nodes []string, res *Result) report.Input {
	return report.Input{Results: res.Results, History: res.History, Journal: res.Journal, Nodes: nodes,
		Workload: o.Workload, Seed: res.Seed, Summary: CommandLine(o)}
}

// CommandLine renders the options as an `eddy test` command, for reports.
func CommandLine(o Options) string {
	parts := []string{"eddy test", "-w", o.Workload, "--bin", o.Bin}
	if o.NodeCount > 0 {
		parts = append(parts, "--node-count", strconv.Itoa(o.NodeCount))
	} else if len(o.Nodes) > 0 {
		parts = append(parts, "--nodes", strings.Join(o.Nodes, ","))
	}
	parts = append(parts, "--concurrency", o.Concurrency, "--time-limit", strconv.FormatFloat(o.TimeLimit.Seconds(), 'g', -1, 64),
		"--rate", strconv.FormatFloat(o.Rate, 'g', -1, 64))
	if o.LatencyMs > 0 {
		parts = append(parts, "--latency", strconv.FormatInt(o.LatencyMs, 10), "--latency-dist", o.LatencyDist)
	}
	if len(o.Nemesis) > 0 {
		parts = append(parts, "--nemesis", strings.Join(o.Nemesis, ","))
		if o.NemesisInterval > 0 {
			parts = append(parts, "--nemesis-interval", strconv.FormatFloat(o.NemesisInterval.Seconds(), 'g', -1, 64))
		}
	}
	if len(o.PartitionShapes) > 0 {
		parts = append(parts, "--partition-shapes", strings.Join(o.PartitionShapes, ","))
	}
	if o.KillWipesDisk {
		parts = append(parts, "--kill-wipes-disk")
	}
	if o.LossRate > 0 {
		parts = append(parts, "--loss-rate", strconv.FormatFloat(o.LossRate, 'g', -1, 64))
	}
	if o.DuplicateRate > 0 {
		parts = append(parts, "--duplicate-rate", strconv.FormatFloat(o.DuplicateRate, 'g', -1, 64))
	}
	if o.Availability != "" {
		parts = append(parts, "--availability", o.Availability)
	}
	if len(o.ConsistencyModels) > 0 {
		parts = append(parts, "--consistency-models", strings.Join(o.ConsistencyModels, ","))
	}
	parts = append(parts, "--seed", strconv.FormatInt(o.Seed, 10))
	parts = append(parts, o.Args...)
	return strings.Join(parts, " ")
}

// GradeUsage is `eddy grade`'s help.
func GradeUsage() string {
	return `Usage:
  eddy grade -w WORKLOAD --bin PATH [--seeds N] [--out DIR] [--suite FILE] [--scenario NAME]... [-- EXTRA TEST FLAGS]
  eddy grade --exercise ID --bin PATH [options] [-- EXTRA TEST FLAGS]

Runs every scenario of the workload's suite (built in: ` + strings.Join(grade.Workloads(), ", ") + `;
or --suite FILE, the same JSON format; or the suite of --exercise ID, see eddy
exercises) with each of its seeds, prints a scorecard and writes scorecard.json
and scorecard.md into --out (default grade-out/<workload>). Run folders go under
<out>/store. Flags after -- are appended to every scenario's flags (e.g. --
--time-limit 5 for a quick check). Exit 0 when every required scenario passes,
1 otherwise, 254 on bad arguments.

  --junit FILE          also write JUnit XML (one test case per scenario and seed)
  --json FILE           also write the scorecard as JSON
  --exercises-dir DIR   a teacher's exercise directory (default $` + exercises.DirEnv + `)
  --progress FILE       where the best result per exercise is kept
                        (default ` + exercises.ProgressFile + ` in the current directory)
  --no-progress         do not record progress
`
}

// GradeMain is `eddy grade`: args exclude the word "grade".
func GradeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var workload, bin, out, suiteFile, exerciseID, exDir, junitFile, jsonFile string
	var only, extra []string
	seeds := 0
	progressFile, noProgress := exercises.ProgressFile, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			extra = append(extra, args[i+1:]...)
			break
		}
		if a == "-h" || a == "--help" {
			fmt.Fprint(stdout, GradeUsage())
			return 0
		}
		if a == "--no-progress" {
			noProgress = true
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if !hasVal {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "eddy grade: %s needs a value\n\n%s", name, GradeUsage())
				return ExitUsage
			}
			i++
			val = args[i]
		}
		switch name {
		case "-w", "--workload":
			workload = val
		case "--bin":
			bin = val
		case "--out":
			out = val
		case "--suite":
			suiteFile = val
		case "--scenario":
			only = append(only, val)
		case "--exercise":
			exerciseID = val
		case "--exercises-dir":
			exDir = val
		case "--junit":
			junitFile = val
		case "--json":
			jsonFile = val
		case "--progress":
			progressFile = val
		case "--seeds":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				fmt.Fprintf(stderr, "eddy grade: --seeds takes a positive integer, not %q\n", val)
				return ExitUsage
			}
			seeds = n
		default:
			fmt.Fprintf(stderr, "eddy grade: unknown option %s\n\n%s", name, GradeUsage())
			return ExitUsage
		}
	}
	if bin == "" || (workload == "" && suiteFile == "" && exerciseID == "") {
		fmt.Fprintf(stderr, "eddy grade: -w and --bin are required\n\n%s", GradeUsage())
		return ExitUsage
	}
	if exDir == "" {
		exDir = os.Getenv(exercises.DirEnv)
	}
	var suite *grade.Suite
	var err error
	var exercise *exercises.Exercise
	catalog, catErr := exercises.Load(exDir)
	if exerciseID != "" {
		if catErr != nil {
			fmt.Fprintf(stderr, "eddy grade: %v\n", catErr)
			return ExitUsage
		}
		if exercise = catalog.Get(exerciseID); exercise == nil {
			fmt.Fprintf(stderr, "eddy grade: no exercise %q; exercises: %s\n", exerciseID, strings.Join(catalog.IDs(), ", "))
			return ExitUsage
		}
		if suiteFile != "" {
			fmt.Fprintln(stderr, "eddy grade: --exercise and --suite are exclusive")
			return ExitUsage
		}
	}
	if exercise != nil {
		suite = exercise.LoadedSuite()
	} else if suiteFile != "" {
		var b []byte
		if b, err = os.ReadFile(suiteFile); err == nil {
			suite, err = grade.Parse(b)
		}
	} else {
		suite, err = grade.Builtin(workload)
	}
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return ExitUsage
	}
	if workload != "" && suite.Workload != workload {
		fmt.Fprintf(stderr, "eddy grade: the suite is for %s, not %s\n", suite.Workload, workload)
		return ExitUsage
	}
	if out == "" {
		out = filepath.Join("grade-out", suite.Workload)
	}
	// Check every scenario's flags before running anything.
	for i := range suite.Scenarios {
		if _, err := gradeOptions(suite, &suite.Scenarios[i], bin, 1, out, extra); err != nil {
			fmt.Fprintf(stderr, "eddy grade: scenario %s: %v\n", suite.Scenarios[i].Name, err)
			return ExitUsage
		}
	}
	runner := func(ctx context.Context, sc *grade.Scenario, seed int64) (grade.Run, error) {
		o, err := gradeOptions(suite, sc, bin, seed, out, extra)
		if err != nil {
			return grade.Run{}, err
		}
		res, err := Run(ctx, o)
		if err != nil {
			var crash *CrashError
			if errors.As(err, &crash) {
				return grade.Run{Dir: crash.Dir}, err
			}
			return grade.Run{}, err
		}
		if _, serr := os.Stat(filepath.Join(res.Dir, "report.html")); serr != nil {
			// Until analyse() writes the report itself.
			if r, rerr := o.resolve(); rerr == nil {
				_ = report.Write(res.Dir, ReportInput(o, r.nodes, res))
			}
		}
		return grade.Run{Results: res.Results, Dir: res.Dir}, nil
	}
	// A bad binary is a bad argument: refused before any run folder exists.
	if _, err := process.CheckBin(bin); err != nil {
		fmt.Fprintf(stderr, "eddy grade: --bin: %v\n", err)
		return ExitUsage
	}
	if exercise == nil && catErr == nil {
		// Progress is kept for the one exercise this suite grades, if any.
		if xs := catalog.ForSuite(suite); len(xs) == 1 {
			exercise = xs[0]
		}
	}
	reopen, err := closeOut(out)
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return ExitCrash
	}
	card, err := grade.Grade(ctx, suite, bin, grade.Options{Seeds: seeds, Only: only, Progress: stderr}, runner)
	defer reopen()
	if err != nil && card == nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return ExitUsage
	}
	_ = card.WriteTable(stdout)
	for _, l := range card.Failures() {
		fmt.Fprintln(stdout, l)
	}
	if werr := card.WriteFiles(out); werr != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", werr)
	} else {
		fmt.Fprintf(stdout, "scorecard: %s, %s\n", filepath.Join(out, "scorecard.md"), filepath.Join(out, "scorecard.json"))
	}
	name := suite.Workload
	if exercise != nil {
		name = exercise.ID
	}
	if junitFile != "" {
		if werr := card.WriteJUnit(junitFile, name, time.Now()); werr != nil {
			fmt.Fprintf(stderr, "eddy grade: --junit: %v\n", werr)
		}
	}
	if jsonFile != "" {
		if werr := card.WriteJSON(jsonFile); werr != nil {
			fmt.Fprintf(stderr, "eddy grade: --json: %v\n", werr)
		}
	}
	if exercise != nil && !noProgress && err == nil {
		recordProgress(exercise, card, progressFile, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return ExitInvalid
	}
	if !card.Pass {
		return ExitInvalid
	}
	return ExitValid
}

// gradeOptions turns a scenario into eddy.Options through the test CLI's
// own parser, so a suite's flags mean exactly what they mean to eddy test.
func gradeOptions(suite *grade.Suite, sc *grade.Scenario, bin string, seed int64, out string, extra []string) (Options, error) {
	args := []string{"-w", suite.Workload, "--bin", bin}
	args = append(args, sc.Flags...)
	args = append(args, extra...)
	args = append(args, "--seed", strconv.FormatInt(seed, 10), "--store", filepath.Join(out, "store"))
	if len(sc.Args) > 0 {
		args = append(args, "--")
		args = append(args, sc.Args...)
	}
	s, err := parseTest(args)
	if err != nil {
		return Options{}, err
	}
	if _, err := s.o.resolve(); err != nil {
		return Options{}, err
	}
	s.o.Grading = true
	return s.o, nil
}

// closeOut creates the grader's output directory and, when eddy is root
// (its nodes then run as other uids), closes it to everyone else while
// the nodes run, so that no node reads the runs or the last scorecard;
// the returned function opens it again (0755) once grading is over.
func closeOut(out string) (reopen func(), err error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return func() {}, nil
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(out, 0o700); err != nil {
		return nil, err
	}
	return func() { _ = os.Chmod(out, st.Mode().Perm()) }, nil
}

// ServeUsage is `eddy serve`'s help.
func ServeUsage() string {
	return `Usage:
  eddy serve [--store DIR] [--addr 127.0.0.1:8080] [--index-only]

Writes DIR/index.html (every run folder with its verdict and a link to its
report.html) and serves DIR over HTTP on a loopback address until interrupted.
--index-only writes the index and exits.
`
}

// ServeMain is `eddy serve`: args exclude the word "serve".
func ServeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, addr, indexOnly := "store", "127.0.0.1:8080", false
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		switch name {
		case "-h", "--help":
			fmt.Fprint(stdout, ServeUsage())
			return 0
		case "--index-only":
			indexOnly = true
			continue
		case "--store", "--addr":
		default:
			fmt.Fprintf(stderr, "eddy serve: unknown option %s\n\n%s", name, ServeUsage())
			return ExitUsage
		}
		if !hasVal {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "eddy serve: %s needs a value\n", name)
				return ExitUsage
			}
			i++
			val = args[i]
		}
		if name == "--store" {
			root = val
		} else {
			addr = val
		}
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "eddy serve: %s is not a directory\n", root)
		return ExitUsage
	}
	if err := WriteIndex(root); err != nil {
		fmt.Fprintf(stderr, "eddy serve: %v\n", err)
		return ExitCrash
	}
	fmt.Fprintf(stdout, "index: %s\n", filepath.Join(root, "index.html"))
	if indexOnly {
		return 0
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		fmt.Fprintf(stderr, "eddy serve: %s is not a loopback address; eddy serves runs only to this machine\n", addr)
		return ExitUsage
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "eddy serve: %v\n", err)
		return ExitCrash
	}
	files := http.FileServer(http.Dir(root))
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			_ = WriteIndex(root) // new runs appear on reload
			http.ServeFile(w, r, filepath.Join(root, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})}
	fmt.Fprintf(stdout, "serving %s on http://%s/\n", root, ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "eddy serve: %v\n", err)
		return ExitCrash
	}
	return 0
}

// indexRun is one run folder on the index page.
type indexRun struct {
	workload, name, rel string
	valid               string
	report              bool
}

// WriteIndex writes root/index.html listing every run folder
// (root/<workload>/<run>/), newest first, with its verdict.
func WriteIndex(root string) error {
	workloads, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	var runs []indexRun
	for _, w := range workloads {
		if !w.IsDir() || strings.HasPrefix(w.Name(), ".") {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, w.Name()))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || len(runs) >= maxIndexRuns {
				continue
			}
			dir := filepath.Join(root, w.Name(), e.Name())
			run := indexRun{workload: w.Name(), name: e.Name(), rel: w.Name() + "/" + e.Name(), valid: "crashed or running"}
			if b, err := os.ReadFile(filepath.Join(dir, "results.json")); err == nil {
				var top struct {
					Valid json.RawMessage `json:"valid?"`
				}
				if json.Unmarshal(b, &top) == nil {
					run.valid = strings.Trim(string(top.Valid), `"`)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
				run.report = true
			}
			runs = append(runs, run)
		}
	}
	slices.SortFunc(runs, func(a, b indexRun) int { return strings.Compare(b.name, a.name) })
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>eddy runs</title><style>body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}.true{color:#1b6b2a}.false{color:#a11;font-weight:bold}</style></head><body><h1>eddy runs</h1>`)
	fmt.Fprintf(&b, "<p>%d runs in %s, newest first.</p><table><tr><th>run</th><th>workload</th><th>valid?</th><th>files</th></tr>", len(runs), html.EscapeString(root))
	for _, r := range runs {
		link := html.EscapeString(r.rel) + "/"
		if r.report {
			link += "report.html"
		}
		fmt.Fprintf(&b, `<tr><td><a href="%s">%s</a></td><td>%s</td><td class="%s">%s</td><td><a href="%s/">folder</a></td></tr>`,
			link, html.EscapeString(r.name), html.EscapeString(r.workload), html.EscapeString(r.valid), html.EscapeString(r.valid), html.EscapeString(r.rel))
	}
	b.WriteString("</table></body></html>\n")
	return os.WriteFile(filepath.Join(root, "index.html"), []byte(b.String()), 0o644)
}

// recordProgress keeps the grading in the student's progress file and
// prints where the exercise stands.
func recordProgress(e *exercises.Exercise, card *grade.Scorecard, path string, stdout, stderr io.Writer) {
	p, err := exercises.ReadProgress(path)
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: progress not recorded: %v\n", err)
		return
	}
	p.Record(e.ID, exercises.AttemptOf(e, card, time.Now()))
	if err := p.Write(path); err != nil {
		fmt.Fprintf(stderr, "eddy grade: progress not recorded: %v\n", err)
		return
	}
	fmt.Fprintf(stdout, "exercise %s: %s (best so far, kept in %s)\n", e.ID, exercises.Status(e, p), path)
}
