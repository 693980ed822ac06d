package eddy

import (
	"fmt"
	"io"
	"os"
	"strings"

	"maelkit/tests/eddy/grade"
)

// SuiteUsage is `eddy suite`'s help.
func SuiteUsage() string {
	return `Usage:
  eddy suite -w WORKLOAD [--suite FILE] [--flags NAME | --args NAME]

Lists the scenarios of a grade suite (built in: ` + strings.Join(grade.Workloads(), ", ") + `;
or --suite FILE): each scenario's name, whether it is required, its title and its
` + "`eddy test`" + ` flags. With --flags NAME it prints only that scenario's flags, and with
--args NAME only its arguments for the binary, one word per line, for scripts
(scripts/run.sh takes its commands from here).
`
}

// SuiteMain is `eddy suite`: args exclude the word "suite".
func SuiteMain(args []string, stdout, stderr io.Writer) int {
	var workload, suiteFile, flagsOf, argsOf string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			fmt.Fprint(stdout, SuiteUsage())
			return 0
		}
		name, val, hasVal := strings.Cut(a, "=")
		if !hasVal {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "eddy suite: %s needs a value\n\n%s", name, SuiteUsage())
				return ExitUsage
			}
			i++
			val = args[i]
		}
		switch name {
		case "-w", "--workload":
			workload = val
		case "--suite":
			suiteFile = val
		case "--flags":
			flagsOf = val
		case "--args":
			argsOf = val
		default:
			fmt.Fprintf(stderr, "eddy suite: unknown option %s\n\n%s", name, SuiteUsage())
			return ExitUsage
		}
	}
	if (workload == "") == (suiteFile == "") {
		fmt.Fprintf(stderr, "eddy suite: give -w or --suite\n\n%s", SuiteUsage())
		return ExitUsage
	}
	if flagsOf != "" && argsOf != "" {
		fmt.Fprintf(stderr, "eddy suite: give --flags or --args, not both\n")
		return ExitUsage
	}
	var suite *grade.Suite
	var err error
	if suiteFile != "" {
		var b []byte
		if b, err = os.ReadFile(suiteFile); err == nil {
			suite, err = grade.Parse(b)
		}
	} else {
		suite, err = grade.Builtin(workload)
	}
	if err != nil {
		fmt.Fprintf(stderr, "eddy suite: %v\n", err)
		return ExitUsage
	}
	if want := flagsOf + argsOf; want != "" {
		var names []string
		for i := range suite.Scenarios {
			sc := &suite.Scenarios[i]
			names = append(names, sc.Name)
			if sc.Name != want {
				continue
			}
			words := sc.Flags
			if argsOf != "" {
				words = sc.Args
			}
			for _, w := range words {
				if strings.ContainsAny(w, "\n\r") {
					fmt.Fprintf(stderr, "eddy suite: scenario %s: a word holds a line break: %q\n", want, w)
					return ExitUsage
				}
			}
			for _, w := range words {
				fmt.Fprintln(stdout, w)
			}
			return 0
		}
		fmt.Fprintf(stderr, "eddy suite: %s has no scenario %q; its scenarios: %s\n", suite.Workload, want, strings.Join(names, ", "))
		return ExitUsage
	}
	if suite.Description != "" {
		fmt.Fprintf(stdout, "%s: %s\n\n", suite.Workload, suite.Description)
	}
	for i := range suite.Scenarios {
		sc := &suite.Scenarios[i]
		req := "required"
		if !sc.IsRequired() {
			req = "optional"
		}
		fmt.Fprintf(stdout, "%s (%s) %s\n  eddy test -w %s --bin BIN %s", sc.Name, req, sc.Title, suite.Workload, strings.Join(sc.Flags, " "))
		if len(sc.Args) > 0 {
			fmt.Fprintf(stdout, " -- %s", strings.Join(sc.Args, " "))
		}
		fmt.Fprintln(stdout)
	}
	return 0
}
