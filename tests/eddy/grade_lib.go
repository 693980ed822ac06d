package eddy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"maelkit/tests/eddy/grade"
	"maelkit/tests/eddy/report"
)

// Exit codes, as Maelstrom's.
const (
	ExitValid   = 0
	ExitInvalid = 1
	ExitUnknown = 2
	ExitUsage   = 254
	ExitCrash   = 255
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

// GradeRun runs one graded scenario's options and returns what the grader
// keeps of it: the results and the run folder (also for a crashed run).
func GradeRun(ctx context.Context, o Options) (grade.Run, error) {
	res, err := Run(ctx, o)
	if err != nil {
		var crash *CrashError
		if errors.As(err, &crash) {
			return grade.Run{Dir: crash.Dir}, err
		}
		return grade.Run{}, err
	}
	if _, serr := os.Stat(filepath.Join(res.Dir, "report.html")); serr != nil {
		// A run that stopped before its analysis wrote no report.
		if r, rerr := o.resolve(); rerr == nil {
			_ = report.Write(res.Dir, ReportInput(o, r.nodes, res))
		}
	}
	return grade.Run{Results: res.Results, Dir: res.Dir}, nil
}

// Check validates the options as Run would, without running anything.
func (o Options) Check() error {
	_, err := o.resolve()
	return err
}

// CloseOut creates the grader's output directory and, when eddy is root
// (its nodes then run as other uids), closes it to everyone else while
// the nodes run, so that no node reads the runs or the last scorecard;
// the returned function opens it again (0755) once grading is over.
func CloseOut(out string) (reopen func(), err error) {
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
