// Package cli is the eddy command line: one flag table per subcommand
// (test, grade, serve, suite, analyze, exercises, new), read by one parser
// and rendered by one help writer, over the eddy library.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/process"
)

// The test command's options follow Maelstrom's CLI: long names with
// "--name value" or "--name=value", a few short forms, and every argument
// that is not an option passed on to the binary, wherever it stands (so
// Fly.io's "–-nemesis" typo reaches the binary, as it does under
// Maelstrom).
type cliState struct {
	o         eddy.Options
	testCount int
	quiet     bool
	verbose   bool

	// The node options, merged by mergeNodes once all are read.
	nodeFlags []string // each -n/--node, in order
	nodesList []string // the last --nodes; nil when not given
	nodesFile string   // --nodes-file
}

// splitNodes is Jepsen's parse of --nodes: split on a comma and the
// whitespace after it (a space before a comma stays in the name).
var splitNodes = regexp.MustCompile(`,\s*`)

// splitFaults is Maelstrom's parse of --nemesis: split on a comma and the
// whitespace around it.
var splitFaults = regexp.MustCompile(`\s*,\s*`)

// splitFileNodes is Jepsen's parse of --nodes-file: one name per line,
// whitespace around line breaks dropped.
var splitFileNodes = regexp.MustCompile(`\s*\n\s*`)

// javaSplit splits s as Clojure's str/split does (Java's String.split):
// trailing empty strings are dropped, and a text without separator is
// itself the one element.
func javaSplit(re *regexp.Regexp, s string) []string {
	parts := re.Split(s, -1)
	if len(parts) == 1 {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// mergeNodes combines the node options as Jepsen's parse-nodes does after
// Maelstrom's --node-count: --node-count replaces --nodes with
// n0..n(N-1); the names of --nodes-file, then --nodes (or --node-count),
// then every -n follow one another; the default n1..n5 stands only when no
// -n was given and neither --nodes, --node-count nor --nodes-file was.
func (s *cliState) mergeNodes() error {
	var file []string
	if s.nodesFile != "" {
		b, err := os.ReadFile(s.nodesFile)
		if err != nil {
			return eddy.Usagef("--nodes-file: %v", err)
		}
		file = javaSplit(splitFileNodes, string(b))
	}
	if s.nodesFile == "" && s.nodesList == nil && s.nodeFlags == nil {
		return nil // resolve's default, n1..n5, or n0..n(N-1)
	}
	if s.o.NodeCount > 0 && file == nil && s.nodeFlags == nil {
		s.o.Nodes = nil // resolve names n0..n(N-1)
		return nil
	}
	list := s.nodesList
	if s.o.NodeCount > 0 {
		list = nil
		for i := 0; i < s.o.NodeCount; i++ {
			list = append(list, fmt.Sprintf("n%d", i))
		}
	}
	var nodes []string
	nodes = append(nodes, file...)
	nodes = append(nodes, list...)
	nodes = append(nodes, s.nodeFlags...)
	if len(nodes) == 0 {
		return eddy.Usagef("the node options name no node")
	}
	s.o.Nodes = nodes
	s.o.NodeCount = 0
	return nil
}

func intArg(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, eddy.Usagef("%s takes an integer, not %q", name, v)
	}
	return n, nil
}

func positiveArg(name, v string) (int, error) {
	n, err := intArg(name, v)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > 1<<30 {
		return 0, eddy.Usagef("%s must be a positive integer, not %q", name, v)
	}
	return int(n), nil
}

// limitArg reads a bound: a positive integer, or -1 for none.
func limitArg(name, v string) (int64, error) {
	n, err := intArg(name, v)
	if err == nil && (n == 0 || n < -1 || n > 1<<40) {
		err = eddy.Usagef("%s must be a positive integer or -1 (no bound), not %q", name, v)
	}
	return n, err
}

// scaled multiplies a bound by unit, keeping -1 (none) as it is.
func scaled(n, unit int64) int64 {
	if n < 0 {
		return n
	}
	return n * unit
}

func secondsArg(name, v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, eddy.Usagef("%s takes a number of seconds, not %q", name, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func rateArg(name, v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0 && f <= 1) {
		return 0, eddy.Usagef("%s takes a fraction in (0, 1], not %q", name, v)
	}
	return f, nil
}

// flags is the test command's table, setting s.
func (s *cliState) flags() []flag {
	return []flag{
		{[]string{"--bin"}, "FILE", "node binary to run (required)", func(v string) error { s.o.Bin = v; return nil }},
		{[]string{"-w", "--workload"}, "NAME", "workload (default lin-kv)", func(v string) error { s.o.Workload = v; return nil }},
		helpFlag,
		{[]string{"--node-count"}, "N", "nodes n0..n(N-1), replacing --nodes (default: n1..n5)", func(v string) error {
			n, err := intArg("--node-count", v)
			if err == nil && n <= 0 {
				err = eddy.Usagef("--node-count must be positive")
			}
			s.o.NodeCount = int(n)
			return err
		}},
		{[]string{"--nodes"}, "A,B,..", "comma-separated node names", func(v string) error {
			s.nodesList = javaSplit(splitNodes, v)
			return nil
		}},
		{[]string{"--nodes-file"}, "FILE", "node names, one per line", func(v string) error {
			s.nodesFile = v
			return nil
		}},
		{[]string{"-n", "--node"}, "NAME", "one more node name (repeatable)", func(v string) error {
			s.nodeFlags = append(s.nodeFlags, v)
			return nil
		}},
		{[]string{"--concurrency"}, "N|Kn", "worker threads (default 1n)", func(v string) error { s.o.Concurrency = v; return nil }},
		{[]string{"--time-limit"}, "S", "main phase length in seconds (default 60)", func(v string) error {
			n, err := intArg("--time-limit", v)
			s.o.TimeLimit = time.Duration(n) * time.Second
			return err
		}},
		{[]string{"--rate"}, "R", "total client ops per second (default 5)", func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return eddy.Usagef("--rate takes a number, not %q", v)
			}
			s.o.Rate = f
			return nil
		}},
		{[]string{"--latency"}, "MS", "mean node-to-node latency in ms (default 0)", func(v string) error {
			n, err := intArg("--latency", v)
			s.o.LatencyMs = n
			return err
		}},
		{[]string{"--latency-dist"}, "DIST", "constant, uniform or exponential (default constant)", func(v string) error {
			s.o.LatencyDist = v
			return nil
		}},
		{[]string{"--nemesis"}, "FAULTS", "comma-separated faults: partition, kill, pause (Maelstrom's); loss, duplicate (eddy's)", func(v string) error {
			s.o.Nemesis = javaSplit(splitFaults, v)
			return nil
		}},
		{[]string{"--nemesis-interval"}, "S", "mean seconds between nemesis ops (default 10)", func(v string) error {
			d, err := secondsArg("--nemesis-interval", v)
			s.o.NemesisInterval = d
			return err
		}},
		{[]string{"--topology"}, "NAME", "broadcast topology: grid, line, total, tree, tree2, tree3, tree4", func(v string) error {
			s.o.Topology = v
			return nil
		}},
		{[]string{"--availability"}, "A", "total, or a minimum ok-fraction in [0,1]", func(v string) error {
			s.o.Availability = v
			return nil
		}},
		{[]string{"--consistency-models"}, "M[,M..]", "txn workloads: consistency models to check (default strict-serializable); \"a , b\" or \"a,b\"",
			func(v string) error {
				ms, err := elle.ParseModels(v)
				if err != nil {
					return eddy.Usagef("--consistency-models: %v", err)
				}
				s.o.ConsistencyModels = ms
				return nil
			}},
		{[]string{"--key-count"}, "N", "txn and kafka workloads: active keys (default 10)", func(v string) error {
			n, err := positiveArg("--key-count", v)
			s.o.KeyCount = n
			return err
		}},
		{[]string{"--max-txn-length"}, "N", "txn workloads: most micro-ops per transaction (default 4)", func(v string) error {
			n, err := positiveArg("--max-txn-length", v)
			s.o.MaxTxnLength = n
			return err
		}},
		{[]string{"--max-writes-per-key"}, "N", "txn and kafka workloads: writes to a key before it is retired (default 16)", func(v string) error {
			n, err := positiveArg("--max-writes-per-key", v)
			s.o.MaxWritesPerKey = n
			return err
		}},
		{[]string{"--log-stderr"}, "", "copy node stderr into the console log", func(string) error { s.o.LogStderr = true; return nil }},
		{[]string{"--log-net-send"}, "", "log every send", func(string) error { s.o.LogNetSend = true; return nil }},
		{[]string{"--log-net-recv"}, "", "log every delivery", func(string) error { s.o.LogNetRecv = true; return nil }},
		{[]string{"--test-count"}, "K", "repeat the test K times, stopping at the first failure", func(v string) error {
			n, err := intArg("--test-count", v)
			if err == nil && n <= 0 {
				err = eddy.Usagef("--test-count must be positive")
			}
			s.testCount = int(n)
			return err
		}},
		// eddy's own options.
		{[]string{"--partition-shapes"}, "S[,S..]", "eddy: draw partitions from these shapes only (one, minority-third, majority, majorities-ring; one-way, eddy's)", func(v string) error {
			s.o.PartitionShapes = strings.Split(v, ",")
			return nil
		}},
		{[]string{"--kill-wipes-disk"}, "", "eddy: a killed node's directory is emptied (amnesia)", func(string) error {
			s.o.KillWipesDisk = true
			return nil
		}},
		{[]string{"--loss-rate"}, "R", "eddy: with --nemesis loss, the fraction of node-to-node messages lost while it is on (default 0.1)", func(v string) error {
			f, err := rateArg("--loss-rate", v)
			s.o.LossRate = f
			return err
		}},
		{[]string{"--duplicate-rate"}, "R", "eddy: with --nemesis duplicate, the fraction of node-to-node messages delivered twice (default 0.1)", func(v string) error {
			f, err := rateArg("--duplicate-rate", v)
			s.o.DuplicateRate = f
			return err
		}},
		{[]string{"--seed"}, "N", "eddy: seed for generators, latencies and the nemesis (default: from the clock, printed)", func(v string) error {
			n, err := intArg("--seed", v)
			s.o.Seed = n
			return err
		}},
		{[]string{"--recovery"}, "S", "eddy: final-phase recovery wait in seconds (default 10, Maelstrom's)", func(v string) error {
			d, err := secondsArg("--recovery", v)
			s.o.Recovery = d
			return err
		}},
		{[]string{"--store"}, "DIR", "eddy: where run folders go (default store)", func(v string) error { s.o.StoreRoot = v; return nil }},
		{[]string{"--memory-limit-mb"}, "MB", "eddy: memory of each node, all its processes together (cgroup; else address space per process); -1 none (default: none, grade 1024)", func(v string) error {
			n, err := limitArg("--memory-limit-mb", v)
			s.o.MemoryLimitBytes = scaled(n, 1<<20)
			return err
		}},
		{[]string{"--max-output-mb"}, "MB", "eddy: node output (stdout+stderr) of the whole run, all nodes; -1 none (default 1024, grade 256)", func(v string) error {
			n, err := limitArg("--max-output-mb", v)
			s.o.MaxOutputBytes = scaled(n, 1<<20)
			return err
		}},
		{[]string{"--max-journal-events"}, "N", "eddy: network journal events (sends and deliveries) of the run; -1 none (default 10000000, grade 3000000)", func(v string) error {
			n, err := limitArg("--max-journal-events", v)
			s.o.MaxJournalEvents = n
			return err
		}},
		{[]string{"--max-procs"}, "N", "eddy: processes of one node at once; -1 none (default 1024, grade 256)", func(v string) error {
			n, err := limitArg("--max-procs", v)
			s.o.MaxProcs = n
			return err
		}},
		{[]string{"--no-sandbox"}, "", "eddy: run nodes without namespaces, uids or cgroups (debugging only)", func(string) error { s.o.NoSandbox = true; return nil }},
		{[]string{"--max-line-bytes"}, "N", "eddy: longest node output line accepted (default 16 MiB)", func(v string) error {
			n, err := intArg("--max-line-bytes", v)
			s.o.MaxLineBytes = int(n)
			return err
		}},
		{[]string{"-q", "--quiet"}, "", "eddy: print nothing but errors (the run folder still gets everything)", func(string) error { s.quiet = true; return nil }},
		{[]string{"--strict"}, "", "eddy: eddy-only findings (listed under :eddy-only, see README) fail the run", func(string) error { s.o.Strict = true; return nil }},
		{[]string{"-v", "--verbose"}, "", "eddy: log eddy's own diagnostics to stderr", func(string) error { s.verbose = true; return nil }},
	}
}

// testCommand is `eddy test` reading into s.
func testCommand(s *cliState) *command {
	return &command{
		prefix:     "eddy",
		usage:      TestUsage,
		flags:      s.flags(),
		positional: func(w string) bool { s.o.Args = append(s.o.Args, w); return true },
		rest:       func(ws []string) { s.o.Args = append(s.o.Args, ws...) },
		collect:    true,
		unknown:    unknownName,
		missingArg: true,
	}
}

// parseTest parses `eddy test` arguments. As in Jepsen's CLI, -h or
// --help anywhere among the options wins over a bad option: help is
// reported and no error.
func parseTest(args []string) (s *cliState, help bool, err error) {
	s = &cliState{o: eddy.Defaults(), testCount: 1}
	if help, err = testCommand(s).parse(args); help || err != nil {
		return s, help, err
	}
	if err := s.mergeNodes(); err != nil {
		return nil, false, err
	}
	return s, false, nil
}

// Usage is the CLI's help text.
func Usage() string {
	var b strings.Builder
	b.WriteString(`eddy: a Go-native "maelstrom test"

Usage:
  eddy test -w WORKLOAD --bin PATH [options] [args for the binary...]
  eddy grade -w WORKLOAD --bin PATH [--seeds N] [--out DIR] [--suite FILE]
  eddy serve [--store DIR] [--addr 127.0.0.1:8080] [--index-only]
  eddy suite -w WORKLOAD [--flags NAME | --args NAME]
  eddy analyze [--store DIR | RUN-DIR] [--strict]
  eddy exercises [EXERCISE]           the book's exercises and your progress
  eddy new EXERCISE [--lang go|python] [DIR]   a starter for an exercise

Exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 crashed.

Options:
`)
	writeFlags(&b, (&cliState{}).flags())
	return b.String()
}

// TestUsage is `eddy test --help`.
func TestUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: eddy test -w WORKLOAD --bin PATH [options] [args for the binary...]

Runs one Maelstrom test on eddy. Arguments that are not options (and all
words after --) are passed to the binary.

Exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 crashed.

Options:
`)
	writeFlags(&b, (&cliState{}).flags())
	return b.String()
}

// Main is the eddy command: it returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, Usage())
		if len(args) == 0 {
			return eddy.ExitUsage
		}
		return 0
	}
	switch args[0] {
	case "test":
		return TestMain(ctx, args[1:], stdout, stderr)
	case "grade":
		return GradeMain(ctx, args[1:], stdout, stderr)
	case "serve":
		return ServeMain(ctx, args[1:], stdout, stderr)
	case "suite":
		return SuiteMain(args[1:], stdout, stderr)
	case "analyze":
		return AnalyzeMain(ctx, args[1:], stdout, stderr)
	case "exercises":
		return ExercisesMain(ctx, args[1:], stdout, stderr)
	case "new":
		return NewMain(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "eddy: unknown command %q\n\n%s", args[0], Usage())
	return eddy.ExitUsage
}

// TestMain is `eddy test`: args exclude the word "test".
func TestMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s, help, err := parseTest(args)
	if help {
		fmt.Fprint(stdout, TestUsage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "eddy: %v\n", err)
		return eddy.ExitUsage
	}
	// A bad binary is a bad argument: refused before any run folder exists.
	if s.o.Bin != "" {
		if _, err := process.CheckBin(s.o.Bin); err != nil {
			fmt.Fprintf(stderr, "eddy: --bin: %v\n", err)
			return eddy.ExitUsage
		}
	}
	if !s.quiet {
		s.o.Console = stdout
		s.o.Progress = stderr
	}
	if s.verbose {
		s.o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for i := 0; i < s.testCount; i++ {
		if code := runOnce(ctx, s, stderr); code != eddy.ExitValid {
			return code
		}
		s.o.Seed = 0 // each repetition draws its own seed
	}
	return eddy.ExitValid
}

// runOnce runs the test once and returns its exit code.
func runOnce(ctx context.Context, s *cliState, stderr io.Writer) int {
	res, err := eddy.Run(ctx, s.o)
	var usage *eddy.UsageError
	var crash *eddy.CrashError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "eddy: %v\n", err)
		return eddy.ExitUsage
	case errors.As(err, &crash):
		fmt.Fprintf(stderr, "eddy: the test crashed: %v\nrun folder: %s\n", crash.Msg, crash.Dir)
		return eddy.ExitCrash
	case err != nil:
		fmt.Fprintf(stderr, "eddy: %v\n", err)
		return eddy.ExitCrash
	}
	if !s.quiet {
		fmt.Fprintf(stderr, "seed %d; results in %s (report: %s/report.html)\n", res.Seed, res.Dir, res.Dir)
	}
	switch res.Valid {
	case true:
		return eddy.ExitValid
	case false:
		return eddy.ExitInvalid
	}
	return eddy.ExitUnknown
}
