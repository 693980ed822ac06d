package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maelkit/tests/eddy"
)

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

Options:
` + flagHelp(analyzeCommand(&eddy.AnalyzeOptions{}, new(bool)).flags)
}

// analyzeCommand is `eddy analyze` reading into o and quiet.
func analyzeCommand(o *eddy.AnalyzeOptions, quiet *bool) *command {
	return &command{
		prefix: "eddy analyze",
		usage:  AnalyzeUsage,
		flags: []flag{
			helpFlag,
			strFlag([]string{"--store"}, "DIR", "analyze the latest run under DIR (default store)", &o.StoreRoot),
			boolFlag([]string{"--strict"}, "eddy-only findings fail the run", &o.Strict),
			boolFlag([]string{"-q", "--quiet"}, "print nothing but errors", quiet),
		},
		positional: func(w string) bool {
			if o.Dir != "" {
				return false
			}
			o.Dir = w
			return true
		},
		unknown:           func(word, _ string) string { return fmt.Sprintf("unexpected argument %q", word) },
		missingArg:        true,
		usageAfterUnknown: true,
	}
}

// AnalyzeMain is `eddy analyze`: args exclude the word "analyze".
func AnalyzeMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var o eddy.AnalyzeOptions
	quiet := false
	c := analyzeCommand(&o, &quiet)
	if help, err := c.parse(args); help {
		fmt.Fprint(stdout, AnalyzeUsage())
		return eddy.ExitValid
	} else if err != nil {
		return c.refuse(stderr, err)
	}
	if o.Dir != "" && o.StoreRoot != "" {
		fmt.Fprintf(stderr, "eddy analyze: give a run folder or --store, not both\n")
		return eddy.ExitUsage
	}
	if !quiet {
		o.Console = stdout
	}
	res, err := eddy.Analyze(o)
	var usage *eddy.UsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "eddy %v\n", err)
		return eddy.ExitUsage
	case err != nil:
		fmt.Fprintf(stderr, "eddy analyze: %v\n", err)
		return eddy.ExitCrash
	}
	fmt.Fprintf(stderr, "results in %s (report: %s/report.html)\n", res.Dir, res.Dir)
	switch res.Valid {
	case true:
		return eddy.ExitValid
	case false:
		return eddy.ExitInvalid
	}
	return eddy.ExitUnknown
}
