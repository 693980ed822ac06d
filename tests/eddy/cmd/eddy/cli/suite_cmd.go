package cli

import (
	"fmt"
	"io"
	"strings"

	"maelkit/tests/eddy"
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
(scripts/run.sh and scripts/e2e.sh take their commands from here).

Options:
` + flagHelp(suiteCommand(&suiteArgs{}).flags)
}

// suiteArgs is what `eddy suite` reads from its arguments.
type suiteArgs struct{ workload, suiteFile, flagsOf, argsOf string }

// suiteCommand is `eddy suite` reading into a.
func suiteCommand(a *suiteArgs) *command {
	return &command{
		prefix: "eddy suite",
		usage:  SuiteUsage,
		flags: []flag{
			helpFlag,
			strFlag([]string{"-w", "--workload"}, "NAME", "the workload whose built-in suite to list", &a.workload),
			strFlag([]string{"--suite"}, "FILE", "a suite file to list instead", &a.suiteFile),
			strFlag([]string{"--flags"}, "NAME", "print only this scenario's flags, one a line", &a.flagsOf),
			strFlag([]string{"--args"}, "NAME", "print only this scenario's arguments for the binary, one a line", &a.argsOf),
		},
		unknown:           unknownName,
		usageAfterUnknown: true,
		usageAfterMissing: true,
	}
}

// SuiteMain is `eddy suite`: args exclude the word "suite".
func SuiteMain(args []string, stdout, stderr io.Writer) int {
	var a suiteArgs
	c := suiteCommand(&a)
	if help, err := c.parse(args); help {
		fmt.Fprint(stdout, SuiteUsage())
		return 0
	} else if err != nil {
		return c.refuse(stderr, err)
	}
	if (a.workload == "") == (a.suiteFile == "") {
		fmt.Fprintf(stderr, "eddy suite: give -w or --suite\n\n%s", SuiteUsage())
		return eddy.ExitUsage
	}
	if a.flagsOf != "" && a.argsOf != "" {
		fmt.Fprintf(stderr, "eddy suite: give --flags or --args, not both\n")
		return eddy.ExitUsage
	}
	suite, err := loadSuite(a.workload, a.suiteFile)
	if err != nil {
		fmt.Fprintf(stderr, "eddy suite: %v\n", err)
		return eddy.ExitUsage
	}
	if a.flagsOf != "" || a.argsOf != "" {
		return printWords(suite, a.flagsOf, a.argsOf, stdout, stderr)
	}
	printSuite(suite, stdout)
	return 0
}

// printWords prints the flags of scenario flagsOf, or the arguments of
// scenario argsOf, one word a line.
func printWords(suite *grade.Suite, flagsOf, argsOf string, stdout, stderr io.Writer) int {
	want := flagsOf + argsOf
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
				return eddy.ExitUsage
			}
		}
		for _, w := range words {
			fmt.Fprintln(stdout, w)
		}
		return 0
	}
	fmt.Fprintf(stderr, "eddy suite: %s has no scenario %q; its scenarios: %s\n", suite.Workload, want, strings.Join(names, ", "))
	return eddy.ExitUsage
}

// printSuite lists every scenario with its `eddy test` command.
func printSuite(suite *grade.Suite, stdout io.Writer) {
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
}
