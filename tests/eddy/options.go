// Package eddy runs a Maelstrom test in Go: it spawns the node binaries,
// moves their messages over a simulated network with latency and
// partitions, drives the workload's clients, records the history, checks it
// and writes Maelstrom's results. It is a library: Run, Analyze and
// GradeRun are what tests and the eddy command (tests/eddy/cmd/eddy/cli,
// which does all command-line parsing) share.
package eddy

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy/checker"
	"maelkit/tests/eddy/elle"
	"maelkit/tests/eddy/nemesis"
	"maelkit/tests/eddy/workload"
)

// Options are `maelstrom test`'s options (with its defaults, see Defaults)
// plus eddy's own: Seed, Recovery, StoreRoot, Progress and the process
// bounds.
type Options struct {
	Workload string
	Bin      string
	Args     []string // positional arguments, passed to the binary

	NodeCount   int      // n0..n(N-1) when > 0
	Nodes       []string // explicit names when NodeCount is 0; default n1..n5
	Concurrency string   // "1n", "2n", or a literal number
	TimeLimit   time.Duration
	Rate        float64 // total client ops per second; 0 = none
	LatencyMs   int64
	LatencyDist string
	// Nemesis lists the faults: Maelstrom's partition, kill and pause, and
	// eddy's loss and duplicate.
	Nemesis []string
	// NemesisInterval is the mean time between nemesis ops.
	NemesisInterval time.Duration
	// PartitionShapes (eddy only) restricts the partitions drawn to these
	// shapes (one, minority-third, majority, majorities-ring); empty: all.
	PartitionShapes []string
	// KillWipesDisk (eddy only) empties a node's directory when the
	// nemesis kills it: amnesia.
	KillWipesDisk bool
	// LossRate and DuplicateRate (eddy only) are the rates of the loss and
	// duplicate faults, in [0, 1]; zero means DefaultPacketRate.
	LossRate, DuplicateRate float64
	Topology                string
	// Availability is "" (no target), "total", or a fraction in [0, 1].
	Availability string

	// The txn workloads' options; zero values mean Maelstrom's defaults
	// (strict-serializable, 10 keys, 1..4 micro-ops, 16 writes per key).
	ConsistencyModels []string
	KeyCount          int
	MaxTxnLength      int
	MaxWritesPerKey   int

	LogStderr  bool // copy node stderr lines into the console log
	LogNetSend bool
	LogNetRecv bool

	// Seed drives the generators, latency draws, partition shapes and the
	// nemesis schedule. 0 picks one from the clock; the seed used is printed
	// and recorded in test.json.
	Seed int64
	// Recovery is the final phase's wait after the heal (Maelstrom: 10 s).
	Recovery time.Duration
	// StoreRoot is where run folders go (default "store").
	StoreRoot string
	// Console receives Maelstrom's console output (the results and final
	// line) and Progress the live progress line; either may be nil.
	Console  io.Writer
	Progress io.Writer
	// Log is eddy's own diagnostic logger (stderr in the CLI); nil = quiet.
	Log *slog.Logger

	// Process bounds for untrusted binaries.
	MaxLineBytes int
	// MemoryLimitBytes bounds the memory of all the processes of one node
	// together (its cgroup), or of each process (RLIMIT_AS) without
	// cgroups; 0 is no bound.
	MemoryLimitBytes int64
	// The run's totals (README "Sandbox"); 0 takes eddy's default
	// (DefaultLimits), a negative value means no bound.
	MaxOutputBytes   int64 // node output, stdout and stderr of every node
	MaxJournalEvents int64 // sends and deliveries recorded
	MaxProcs         int64 // processes of one node at once (fork bombs)
	// Grading is set by eddy grade: the bounds default to GradeLimits, and
	// a message whose src is not its sender's own id is a violation that
	// ends the run (under eddy test it is forwarded, as Maelstrom does,
	// with a warning).
	Grading bool
	// NoSandbox runs nodes as eddy's own processes, without namespaces,
	// uids or cgroups (for debugging a node with tools that need that).
	NoSandbox bool
	// Strict (eddy only) makes eddy-only findings, which a checker lists
	// under :eddy-only without changing :valid?, fail the run.
	Strict bool
}

// Limits are the run totals and per-node bounds of the sandbox.
type Limits struct {
	MaxOutputBytes   int64
	MaxJournalEvents int64
	MaxProcs         int64
	MemoryLimitBytes int64
	// MaxStderrBytes bounds each node's stderr log (no option: the run's
	// MaxOutputBytes bounds them all together).
	MaxStderrBytes int64
}

// DefaultLimits are `eddy test`'s: generous for any honest node at rate
// 10,000, small enough that a flood or a fork bomb cannot take the machine.
var DefaultLimits = Limits{MaxOutputBytes: 1 << 30, MaxJournalEvents: 10_000_000, MaxProcs: 1024, MaxStderrBytes: 128 << 20}

// GradeLimits are `eddy grade`'s defaults, tighter: every built-in scenario
// of an honest node stays far below them.
var GradeLimits = Limits{MaxOutputBytes: 256 << 20, MaxJournalEvents: 3_000_000, MaxProcs: 256, MemoryLimitBytes: 1 << 30,
	MaxStderrBytes: 32 << 20}

// limits fills zero bounds from d; negative ones mean none (0).
func (o Options) limits(d Limits) Limits {
	pick := func(v, def int64) int64 {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	return Limits{
		MaxOutputBytes:   pick(o.MaxOutputBytes, d.MaxOutputBytes),
		MaxJournalEvents: pick(o.MaxJournalEvents, d.MaxJournalEvents),
		MaxProcs:         pick(o.MaxProcs, d.MaxProcs),
		MemoryLimitBytes: pick(o.MemoryLimitBytes, d.MemoryLimitBytes),
		MaxStderrBytes:   d.MaxStderrBytes,
	}
}

// DefaultPacketRate is the loss and duplicate faults' rate when none is
// given.
const DefaultPacketRate = 0.1

// Defaults returns Maelstrom's defaults.
func Defaults() Options {
	return Options{
		Workload:        "lin-kv",
		Concurrency:     "1n",
		TimeLimit:       60 * time.Second,
		Rate:            5,
		LatencyDist:     "constant",
		NemesisInterval: 10 * time.Second,
		Topology:        "grid",
		Recovery:        10 * time.Second,
		StoreRoot:       "store",
	}
}

// resolved is Options turned into what the run uses.
type resolved struct {
	nodes       []string
	concurrency int
	faults      nemesis.Faults
	// lossRate and duplicateRate are the packet faults' rates, defaults
	// applied.
	lossRate, duplicateRate float64
	shapes                  []nemesis.Shape // nil: all
	availability            checker.AvailabilityTarget
}

func (o *Options) resolve() (resolved, error) {
	var r resolved
	if o.Bin == "" {
		return r, usageErr("--bin is required")
	}
	known := false
	for _, n := range workload.Names {
		known = known || n == o.Workload
	}
	if !known {
		return r, usageErr("unknown workload %q; eddy runs %s", o.Workload, strings.Join(workload.Names, ", "))
	}
	var err error
	if r.nodes, err = o.nodeNames(); err != nil {
		return r, err
	}
	c, err := ParseConcurrency(o.Concurrency, len(r.nodes))
	if err != nil {
		return r, err
	}
	r.concurrency = c
	if o.Workload == "lin-kv" && c%(2*len(r.nodes)) != 0 {
		return r, usageErr("lin-kv needs --concurrency to be a multiple of 2 × the node count (2 × %d = %d): "+
			"half of each group of 2n threads reads, half writes; use --concurrency 2n or 4n (got %d)",
			len(r.nodes), 2*len(r.nodes), c)
	}
	for _, m := range o.ConsistencyModels {
		if !elle.KnownModel(m) {
			return r, usageErr("unknown consistency model %q; known models are %s", m, strings.Join(elle.Models(), ", "))
		}
	}
	switch {
	case o.KeyCount < 0:
		return r, usageErr("--key-count must be positive")
	case o.MaxTxnLength < 0:
		return r, usageErr("--max-txn-length must be positive")
	case o.MaxWritesPerKey < 0:
		return r, usageErr("--max-writes-per-key must be positive")
	}
	if o.TimeLimit < 0 {
		return r, usageErr("--time-limit must not be negative")
	}
	if o.Rate < 0 {
		return r, usageErr("--rate must not be negative")
	}
	if o.LatencyMs < 0 {
		return r, usageErr("--latency must not be negative")
	}
	if err := o.resolveFaults(&r); err != nil {
		return r, err
	}
	if r.availability, err = checker.ParseAvailability(o.Availability); err != nil {
		return r, usageErr("--%v", err)
	}
	return r, nil
}

// nodeNames are the run's node names: n0..n(N-1) with --node-count, the
// names given, or Maelstrom's default n1..n5; none may look like a client.
func (o *Options) nodeNames() ([]string, error) {
	var nodes []string
	switch {
	case o.NodeCount > 0:
		for i := 0; i < o.NodeCount; i++ {
			nodes = append(nodes, fmt.Sprintf("n%d", i))
		}
	case o.NodeCount < 0:
		return nil, usageErr("--node-count must be positive")
	case len(o.Nodes) > 0:
		nodes = append(nodes, o.Nodes...)
	default:
		nodes = []string{"n1", "n2", "n3", "n4", "n5"}
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if n == "" || n[0] == 'c' {
			return nil, usageErr("node name %q: ids starting with c are clients", n)
		}
		if seen[n] {
			return nil, usageErr("duplicate node name %q", n)
		}
		seen[n] = true
	}
	return nodes, nil
}

// resolveFaults reads the nemesis options into r.
func (o *Options) resolveFaults(r *resolved) error {
	var err error
	if r.faults, err = nemesis.ParseFaults(o.Nemesis); err != nil {
		return usageErr("--nemesis: %v", err)
	}
	for _, rate := range []struct {
		name string
		v    float64
		out  *float64
	}{{"--loss-rate", o.LossRate, &r.lossRate}, {"--duplicate-rate", o.DuplicateRate, &r.duplicateRate}} {
		if !(rate.v >= 0 && rate.v <= 1) {
			return usageErr("%s must be between 0 and 1, not %v", rate.name, rate.v)
		}
		*rate.out = rate.v
		if rate.v == 0 {
			*rate.out = DefaultPacketRate
		}
	}
	if o.NemesisInterval <= 0 {
		return usageErr("--nemesis-interval must be positive")
	}
	for _, v := range o.PartitionShapes {
		sh, err := nemesis.ParseShape(v)
		if err != nil {
			return usageErr("--partition-shapes: %v", err)
		}
		r.shapes = append(r.shapes, sh)
	}
	return nil
}

// ParseConcurrency reads --concurrency: "Kn" is K times the node count, a
// bare integer is literal.
func ParseConcurrency(s string, nodes int) (int, error) {
	if s == "" {
		s = "1n"
	}
	mul := 1
	num := s
	if strings.HasSuffix(s, "n") {
		mul = nodes
		num = strings.TrimSuffix(s, "n")
		if num == "" {
			num = "1"
		}
	}
	k, err := strconv.Atoi(num)
	if err != nil || k <= 0 {
		return 0, usageErr("--concurrency must be a positive integer or Kn, not %q", s)
	}
	return k * mul, nil
}

// UsageError is a bad option: the CLI exits 254 on it.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// Usagef is a UsageError: a bad argument, refused before anything runs.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}
