package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/exercises"
	"maelkit/tests/eddy/grade"
	"maelkit/tests/eddy/process"
)

// gradeArgs is what `eddy grade` reads from its arguments.
type gradeArgs struct {
	workload, bin, out, suiteFile, exerciseID, exDir, junitFile, jsonFile string
	only, extra                                                           []string
	seeds                                                                 int
	progressFile                                                          string
	noProgress                                                            bool
}

func strFlag(names []string, arg, help string, dst *string) flag {
	return flag{names, arg, help, func(v string) error { *dst = v; return nil }}
}

func boolFlag(names []string, help string, dst *bool) flag {
	return flag{names, "", help, func(string) error { *dst = true; return nil }}
}

// gradeCommand is `eddy grade` reading into g.
func gradeCommand(g *gradeArgs) *command {
	return &command{
		prefix: "eddy grade",
		usage:  GradeUsage,
		flags: []flag{
			helpFlag,
			strFlag([]string{"-w", "--workload"}, "NAME", "the workload whose built-in suite to run", &g.workload),
			strFlag([]string{"--bin"}, "FILE", "node binary to grade (required)", &g.bin),
			strFlag([]string{"--out"}, "DIR", "where the scorecard and the run folders go (default grade-out/<workload>)", &g.out),
			strFlag([]string{"--suite"}, "FILE", "a suite file to run instead of the built-in one", &g.suiteFile),
			{[]string{"--scenario"}, "NAME", "run only this scenario (repeatable)", func(v string) error { g.only = append(g.only, v); return nil }},
			strFlag([]string{"--exercise"}, "ID", "grade an exercise: its suite and progress", &g.exerciseID),
			strFlag([]string{"--exercises-dir"}, "DIR", "a teacher's exercise directory (default $"+exercises.DirEnv+")", &g.exDir),
			strFlag([]string{"--junit"}, "FILE", "also write JUnit XML (one test case per scenario and seed)", &g.junitFile),
			strFlag([]string{"--json"}, "FILE", "also write the scorecard as JSON", &g.jsonFile),
			strFlag([]string{"--progress"}, "FILE", "where the best result per exercise is kept (default "+exercises.ProgressFile+" in the current directory)", &g.progressFile),
			boolFlag([]string{"--no-progress"}, "do not record progress", &g.noProgress),
			{[]string{"--seeds"}, "N", "run each scenario with its first N seeds", func(v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return eddy.Usagef("--seeds takes a positive integer, not %q", v)
				}
				g.seeds = n
				return nil
			}},
		},
		rest:              func(ws []string) { g.extra = append(g.extra, ws...) },
		unknown:           unknownName,
		usageAfterUnknown: true,
		usageAfterMissing: true,
	}
}

// GradeUsage is `eddy grade`'s help.
func GradeUsage() string {
	var b strings.Builder
	b.WriteString(`Usage:
  eddy grade -w WORKLOAD --bin PATH [--seeds N] [--out DIR] [--suite FILE] [--scenario NAME]... [-- EXTRA TEST FLAGS]
  eddy grade --exercise ID --bin PATH [options] [-- EXTRA TEST FLAGS]

Runs every scenario of the workload's suite (built in: ` + strings.Join(grade.Workloads(), ", ") + `;
or --suite FILE, the same JSON format; or the suite of --exercise ID, see eddy
exercises) with each of its seeds, prints a scorecard and writes scorecard.json
and scorecard.md into --out (default grade-out/<workload>). Run folders go under
<out>/store. Flags after -- are appended to every scenario's flags (e.g. --
--time-limit 5 for a quick check). Exit 0 when every required scenario passes,
1 otherwise, 254 on bad arguments.

Options:
`)
	writeFlags(&b, gradeCommand(&gradeArgs{}).flags)
	return b.String()
}

// gradeJob is a grading ready to run: its suite, the exercise it counts
// for (if any) and the arguments.
type gradeJob struct {
	gradeArgs
	suite    *grade.Suite
	exercise *exercises.Exercise
}

// GradeMain is `eddy grade`: args exclude the word "grade".
func GradeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := gradeArgs{progressFile: exercises.ProgressFile}
	c := gradeCommand(&g)
	if help, err := c.parse(args); help {
		fmt.Fprint(stdout, GradeUsage())
		return 0
	} else if err != nil {
		return c.refuse(stderr, err)
	}
	if g.bin == "" || (g.workload == "" && g.suiteFile == "" && g.exerciseID == "") {
		fmt.Fprintf(stderr, "eddy grade: -w and --bin are required\n\n%s", GradeUsage())
		return eddy.ExitUsage
	}
	job, err := g.prepare()
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return eddy.ExitUsage
	}
	return job.run(ctx, stdout, stderr)
}

// prepare finds the suite and the exercise and checks every scenario's
// flags and the binary before anything runs.
func (g gradeArgs) prepare() (*gradeJob, error) {
	if g.exDir == "" {
		g.exDir = os.Getenv(exercises.DirEnv)
	}
	job := &gradeJob{gradeArgs: g}
	catalog, catErr := exercises.Load(g.exDir)
	if g.exerciseID != "" {
		if catErr != nil {
			return nil, catErr
		}
		if job.exercise = catalog.Get(g.exerciseID); job.exercise == nil {
			return nil, fmt.Errorf("no exercise %q; exercises: %s", g.exerciseID, strings.Join(catalog.IDs(), ", "))
		}
		if g.suiteFile != "" {
			return nil, fmt.Errorf("--exercise and --suite are exclusive")
		}
	}
	var err error
	if job.exercise != nil {
		job.suite = job.exercise.LoadedSuite()
	} else if job.suite, err = loadSuite(g.workload, g.suiteFile); err != nil {
		return nil, err
	}
	if g.workload != "" && job.suite.Workload != g.workload {
		return nil, fmt.Errorf("the suite is for %s, not %s", job.suite.Workload, g.workload)
	}
	if job.out == "" {
		job.out = filepath.Join("grade-out", job.suite.Workload)
	}
	for i := range job.suite.Scenarios {
		if _, err := job.options(&job.suite.Scenarios[i], 1); err != nil {
			return nil, fmt.Errorf("scenario %s: %v", job.suite.Scenarios[i].Name, err)
		}
	}
	// A bad binary is a bad argument: refused before any run folder exists.
	if _, err := process.CheckBin(g.bin); err != nil {
		return nil, fmt.Errorf("--bin: %v", err)
	}
	if job.exercise == nil && catErr == nil {
		// Progress is kept for the one exercise this suite grades, if any.
		if xs := catalog.ForSuite(job.suite); len(xs) == 1 {
			job.exercise = xs[0]
		}
	}
	return job, nil
}

// loadSuite reads a suite file, or else the workload's built-in suite.
func loadSuite(workload, file string) (*grade.Suite, error) {
	if file == "" {
		return grade.Builtin(workload)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return grade.Parse(b)
}

// run grades the suite, writes the scorecard and its reports and records
// progress; it returns the exit code.
func (job *gradeJob) run(ctx context.Context, stdout, stderr io.Writer) int {
	reopen, err := eddy.CloseOut(job.out)
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return eddy.ExitCrash
	}
	runner := func(ctx context.Context, sc *grade.Scenario, seed int64) (grade.Run, error) {
		o, err := job.options(sc, seed)
		if err != nil {
			return grade.Run{}, err
		}
		return eddy.GradeRun(ctx, o)
	}
	card, err := grade.Grade(ctx, job.suite, job.bin, grade.Options{Seeds: job.seeds, Only: job.only, Progress: stderr}, runner)
	defer reopen()
	if err != nil && card == nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return eddy.ExitUsage
	}
	job.writeCard(card, stdout, stderr)
	if job.exercise != nil && !job.noProgress && err == nil {
		recordProgress(job.exercise, card, job.progressFile, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", err)
		return eddy.ExitInvalid
	}
	if !card.Pass {
		return eddy.ExitInvalid
	}
	return eddy.ExitValid
}

// writeCard prints the scorecard and writes it where the arguments ask.
func (job *gradeJob) writeCard(card *grade.Scorecard, stdout, stderr io.Writer) {
	_ = card.WriteTable(stdout)
	for _, l := range card.Failures() {
		fmt.Fprintln(stdout, l)
	}
	if werr := card.WriteFiles(job.out); werr != nil {
		fmt.Fprintf(stderr, "eddy grade: %v\n", werr)
	} else {
		fmt.Fprintf(stdout, "scorecard: %s, %s\n", filepath.Join(job.out, "scorecard.md"), filepath.Join(job.out, "scorecard.json"))
	}
	name := job.suite.Workload
	if job.exercise != nil {
		name = job.exercise.ID
	}
	if job.junitFile != "" {
		if werr := card.WriteJUnit(job.junitFile, name, time.Now()); werr != nil {
			fmt.Fprintf(stderr, "eddy grade: --junit: %v\n", werr)
		}
	}
	if job.jsonFile != "" {
		if werr := card.WriteJSON(job.jsonFile); werr != nil {
			fmt.Fprintf(stderr, "eddy grade: --json: %v\n", werr)
		}
	}
}

// options turns a scenario into eddy.Options through the test command's
// own parser, so a suite's flags mean exactly what they mean to eddy test.
func (job *gradeJob) options(sc *grade.Scenario, seed int64) (eddy.Options, error) {
	args := []string{"-w", job.suite.Workload, "--bin", job.bin}
	args = append(args, sc.Flags...)
	args = append(args, job.extra...)
	args = append(args, "--seed", strconv.FormatInt(seed, 10), "--store", filepath.Join(job.out, "store"))
	if len(sc.Args) > 0 {
		args = append(args, "--")
		args = append(args, sc.Args...)
	}
	s, help, err := parseTest(args)
	if err == nil && help {
		err = eddy.Usagef("-h is not a scenario flag")
	}
	if err != nil {
		return eddy.Options{}, err
	}
	if err := s.o.Check(); err != nil {
		return eddy.Options{}, err
	}
	s.o.Grading = true
	return s.o, nil
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
