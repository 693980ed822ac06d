package eddy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/process"
)

// Exit codes, as Maelstrom's.
const (
	ExitValid   = 0
	ExitInvalid = 1
	ExitUnknown = 2
	ExitUsage   = 254
	ExitCrash   = 255
)

// flagSpec is one `eddy test` option. Options follow Maelstrom's CLI: long
// names with "--name value" or "--name=value", a few short forms, and every
// argument that is not an option passed on to the binary, wherever it
// stands (so Fly.io's "–-nemesis" typo reaches the binary, as it does under
// Maelstrom).
type flagSpec struct {
	names []string
	arg   string // "" for a boolean flag
	help  string
	set   func(o *cliState, v string) error
}

type cliState struct {
	o         Options
	testCount int
	quiet     bool
	verbose   bool
}

func intArg(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, usageErr("%s takes an integer, not %q", name, v)
	}
	return n, nil
}

func positiveArg(name, v string) (int, error) {
	n, err := intArg(name, v)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > 1<<30 {
		return 0, usageErr("%s must be a positive integer, not %q", name, v)
	}
	return int(n), nil
}

// limitArg reads a bound: a positive integer, or -1 for none.
func limitArg(name, v string) (int64, error) {
	n, err := intArg(name, v)
	if err == nil && (n == 0 || n < -1 || n > 1<<40) {
		err = usageErr("%s must be a positive integer or -1 (no bound), not %q", name, v)
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
		return 0, usageErr("%s takes a number of seconds, not %q", name, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

var testFlags = []flagSpec{
	{[]string{"--bin"}, "FILE", "node binary to run (required)", func(s *cliState, v string) error { s.o.Bin = v; return nil }},
	{[]string{"-w", "--workload"}, "NAME", "workload (default lin-kv)", func(s *cliState, v string) error { s.o.Workload = v; return nil }},
	{[]string{"--node-count"}, "N", "nodes n0..n(N-1) (default: n1..n5)", func(s *cliState, v string) error {
		n, err := intArg("--node-count", v)
		if err == nil && n <= 0 {
			err = usageErr("--node-count must be positive")
		}
		s.o.NodeCount = int(n)
		return err
	}},
	{[]string{"--nodes"}, "A,B,..", "explicit node names", func(s *cliState, v string) error {
		s.o.Nodes = strings.Split(v, ",")
		return nil
	}},
	{[]string{"-n", "--node"}, "NAME", "add one node name", func(s *cliState, v string) error {
		s.o.Nodes = append(s.o.Nodes, v)
		return nil
	}},
	{[]string{"--concurrency"}, "N|Kn", "worker threads (default 1n)", func(s *cliState, v string) error { s.o.Concurrency = v; return nil }},
	{[]string{"--time-limit"}, "S", "main phase length in seconds (default 60)", func(s *cliState, v string) error {
		n, err := intArg("--time-limit", v)
		s.o.TimeLimit = time.Duration(n) * time.Second
		return err
	}},
	{[]string{"--rate"}, "R", "total client ops per second (default 5)", func(s *cliState, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return usageErr("--rate takes a number, not %q", v)
		}
		s.o.Rate = f
		return nil
	}},
	{[]string{"--latency"}, "MS", "mean node-to-node latency in ms (default 0)", func(s *cliState, v string) error {
		n, err := intArg("--latency", v)
		s.o.LatencyMs = n
		return err
	}},
	{[]string{"--latency-dist"}, "DIST", "constant, uniform or exponential (default constant)", func(s *cliState, v string) error {
		s.o.LatencyDist = v
		return nil
	}},
	{[]string{"--nemesis"}, "FAULTS", "comma-separated faults; only partition", func(s *cliState, v string) error {
		s.o.Nemesis = strings.Split(v, ",")
		return nil
	}},
	{[]string{"--nemesis-interval"}, "S", "mean seconds between nemesis ops (default 10)", func(s *cliState, v string) error {
		d, err := secondsArg("--nemesis-interval", v)
		s.o.NemesisInterval = d
		return err
	}},
	{[]string{"--topology"}, "NAME", "broadcast topology: grid, line, total, tree, tree2, tree3, tree4", func(s *cliState, v string) error {
		s.o.Topology = v
		return nil
	}},
	{[]string{"--availability"}, "A", "total, or a minimum ok-fraction in [0,1]", func(s *cliState, v string) error {
		s.o.Availability = v
		return nil
	}},
	{[]string{"--consistency-models"}, "M[,M..]", "txn workloads: consistency models to check (default strict-serializable); \"a , b\" or \"a,b\"",
		func(s *cliState, v string) error {
			ms, err := elle.ParseModels(v)
			if err != nil {
				return usageErr("--consistency-models: %v", err)
			}
			s.o.ConsistencyModels = ms
			return nil
		}},
	{[]string{"--key-count"}, "N", "txn workloads: active keys (default 10)", func(s *cliState, v string) error {
		n, err := positiveArg("--key-count", v)
		s.o.KeyCount = n
		return err
	}},
	{[]string{"--max-txn-length"}, "N", "txn workloads: most micro-ops per transaction (default 4)", func(s *cliState, v string) error {
		n, err := positiveArg("--max-txn-length", v)
		s.o.MaxTxnLength = n
		return err
	}},
	{[]string{"--max-writes-per-key"}, "N", "txn workloads: writes to a key before it is retired (default 16)", func(s *cliState, v string) error {
		n, err := positiveArg("--max-writes-per-key", v)
		s.o.MaxWritesPerKey = n
		return err
	}},
	{[]string{"--log-stderr"}, "", "copy node stderr into the console log", func(s *cliState, _ string) error { s.o.LogStderr = true; return nil }},
	{[]string{"--log-net-send"}, "", "log every send", func(s *cliState, _ string) error { s.o.LogNetSend = true; return nil }},
	{[]string{"--log-net-recv"}, "", "log every delivery", func(s *cliState, _ string) error { s.o.LogNetRecv = true; return nil }},
	{[]string{"--test-count"}, "K", "repeat the test K times, stopping at the first failure", func(s *cliState, v string) error {
		n, err := intArg("--test-count", v)
		if err == nil && n <= 0 {
			err = usageErr("--test-count must be positive")
		}
		s.testCount = int(n)
		return err
	}},
	// eddy's own options.
	{[]string{"--partition-shapes"}, "S[,S..]", "eddy: draw partitions from these shapes only (one, minority-third, majority, majorities-ring)", func(s *cliState, v string) error {
		s.o.PartitionShapes = strings.Split(v, ",")
		return nil
	}},
	{[]string{"--seed"}, "N", "eddy: seed for generators, latencies and the nemesis (default: from the clock, printed)", func(s *cliState, v string) error {
		n, err := intArg("--seed", v)
		s.o.Seed = n
		return err
	}},
	{[]string{"--recovery"}, "S", "eddy: final-phase recovery wait in seconds (default 10, Maelstrom's)", func(s *cliState, v string) error {
		d, err := secondsArg("--recovery", v)
		s.o.Recovery = d
		return err
	}},
	{[]string{"--store"}, "DIR", "eddy: where run folders go (default store)", func(s *cliState, v string) error { s.o.StoreRoot = v; return nil }},
	{[]string{"--memory-limit-mb"}, "MB", "eddy: memory of each node, all its processes together (cgroup; else address space per process); -1 none (default: none, grade 1024)", func(s *cliState, v string) error {
		n, err := limitArg("--memory-limit-mb", v)
		s.o.MemoryLimitBytes = scaled(n, 1<<20)
		return err
	}},
	{[]string{"--max-output-mb"}, "MB", "eddy: node output (stdout+stderr) of the whole run, all nodes; -1 none (default 1024, grade 256)", func(s *cliState, v string) error {
		n, err := limitArg("--max-output-mb", v)
		s.o.MaxOutputBytes = scaled(n, 1<<20)
		return err
	}},
	{[]string{"--max-journal-events"}, "N", "eddy: network journal events (sends and deliveries) of the run; -1 none (default 10000000, grade 3000000)", func(s *cliState, v string) error {
		n, err := limitArg("--max-journal-events", v)
		s.o.MaxJournalEvents = n
		return err
	}},
	{[]string{"--max-procs"}, "N", "eddy: processes of one node at once; -1 none (default 1024, grade 256)", func(s *cliState, v string) error {
		n, err := limitArg("--max-procs", v)
		s.o.MaxProcs = n
		return err
	}},
	{[]string{"--no-sandbox"}, "", "eddy: run nodes without namespaces, uids or cgroups (debugging only)", func(s *cliState, _ string) error { s.o.NoSandbox = true; return nil }},
	{[]string{"--max-line-bytes"}, "N", "eddy: longest node output line accepted (default 16 MiB)", func(s *cliState, v string) error {
		n, err := intArg("--max-line-bytes", v)
		s.o.MaxLineBytes = int(n)
		return err
	}},
	{[]string{"-q", "--quiet"}, "", "eddy: no progress line and no results on the console", func(s *cliState, _ string) error { s.quiet = true; return nil }},
	{[]string{"-v", "--verbose"}, "", "eddy: log eddy's own diagnostics to stderr", func(s *cliState, _ string) error { s.verbose = true; return nil }},
}

// parseTest parses `eddy test` arguments.
func parseTest(args []string) (*cliState, error) {
	s := &cliState{o: Defaults(), testCount: 1}
	byName := map[string]*flagSpec{}
	for i := range testFlags {
		for _, n := range testFlags[i].names {
			byName[n] = &testFlags[i]
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			s.o.Args = append(s.o.Args, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			s.o.Args = append(s.o.Args, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		f := byName[name]
		if f == nil {
			return nil, usageErr("unknown option %s", name)
		}
		if f.arg == "" {
			if hasVal {
				return nil, usageErr("%s takes no value", name)
			}
			if err := f.set(s, ""); err != nil {
				return nil, err
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, usageErr("%s needs a value (%s)", name, f.arg)
			}
			i++
			val = args[i]
		}
		if err := f.set(s, val); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Usage is the CLI's help text.
func Usage() string {
	var b strings.Builder
	b.WriteString(`eddy: a Go-native "maelstrom test"

Usage:
  eddy test -w WORKLOAD --bin PATH [options] [args for the binary...]
  eddy grade -w WORKLOAD --bin PATH [--seeds N] [--out DIR] [--suite FILE]
  eddy serve [--store DIR] [--addr 127.0.0.1:8080] [--index-only]
  eddy exercises [EXERCISE]           the book's exercises and your progress
  eddy new EXERCISE [--lang go|python] [DIR]   a starter for an exercise

Exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 crashed.

Options:
`)
	for _, f := range testFlags {
		name := strings.Join(f.names, ", ")
		if f.arg != "" {
			name += " " + f.arg
		}
		fmt.Fprintf(&b, "  %-28s %s\n", name, f.help)
	}
	return b.String()
}

// Main is the eddy command: it returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, Usage())
		if len(args) == 0 {
			return ExitUsage
		}
		return 0
	}
	switch args[0] {
	case "grade":
		return GradeMain(ctx, args[1:], stdout, stderr)
	case "serve":
		return ServeMain(ctx, args[1:], stdout, stderr)
	case "exercises":
		return ExercisesMain(ctx, args[1:], stdout, stderr)
	case "new":
		return NewMain(ctx, args[1:], stdout, stderr)
	}
	if args[0] != "test" {
		fmt.Fprintf(stderr, "eddy: unknown command %q\n\n%s", args[0], Usage())
		return ExitUsage
	}
	s, err := parseTest(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "eddy: %v\n", err)
		return ExitUsage
	}
	// A bad binary is a bad argument: refused before any run folder exists.
	if s.o.Bin != "" {
		if _, err := process.CheckBin(s.o.Bin); err != nil {
			fmt.Fprintf(stderr, "eddy: --bin: %v\n", err)
			return ExitUsage
		}
	}
	if !s.quiet {
		s.o.Console = stdout
		s.o.Progress = stderr
	}
	if s.verbose {
		s.o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	code := ExitValid
	for i := 0; i < s.testCount; i++ {
		res, err := Run(ctx, s.o)
		var usage *UsageError
		var crash *CrashError
		switch {
		case errors.As(err, &usage):
			fmt.Fprintf(stderr, "eddy: %v\n", err)
			return ExitUsage
		case errors.As(err, &crash):
			fmt.Fprintf(stderr, "eddy: the test crashed: %v\nrun folder: %s\n", crash.Msg, crash.Dir)
			return ExitCrash
		case err != nil:
			fmt.Fprintf(stderr, "eddy: %v\n", err)
			return ExitCrash
		}
		fmt.Fprintf(stderr, "seed %d; results in %s (report: %s/report.html)\n", res.Seed, res.Dir, res.Dir)
		switch res.Valid {
		case true:
		case false:
			return ExitInvalid
		default:
			return ExitUnknown
		}
		s.o.Seed = 0 // each repetition draws its own seed
	}
	return code
}
