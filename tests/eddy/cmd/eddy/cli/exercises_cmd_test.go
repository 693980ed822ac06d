package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/testenv"
	"maelkit/tests/eddy"
	"maelkit/tests/eddy/exercises"
	"maelkit/tests/eddy/internal/gobuild"
	"maelkit/tests/eddy/workload"
)

var walkBuild gobuild.Shared

// walkBins builds every node binary and the fixtures the catalog's
// known-wrong variants name (maelfix, kafkafix, amnesiac) once for the walk.
func walkBins(t *testing.T) string {
	return walkBuild.Dir(t, "eddy-walk-bin-", "maelkit/nodes/...", "maelkit/tests/fixtures/maelfix",
		"maelkit/tests/fixtures/kafkafix", "maelkit/tests/fixtures/amnesiac")
}

// checkoutRoot is the maelkit checkout the tests run in.
func checkoutRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// walkGrade grades one scenario of an exercise with one seed and a short
// time limit, returning the exit code and the console output.
func walkGrade(t *testing.T, id, bin, scenario string, args []string) (int, string) {
	return walkGradeFor(t, id, bin, scenario, args, "2", "1")
}

// walkGradeFor is walkGrade with a time limit and a recovery wait in
// seconds (recovery "": the scenario's own, Maelstrom's 10 s unless it
// says). A known-wrong variant gets longer: its mistake shows only when the
// nemesis and the ops meet (a value sent across a partition), which 2 s do
// not always hold.
func walkGradeFor(t *testing.T, id, bin, scenario string, args []string, limit, recovery string) (int, string) {
	t.Helper()
	out := t.TempDir()
	a := []string{"--exercise", id, "--bin", bin, "--seeds", "1", "--scenario", scenario, "--out", out, "--no-progress",
		"--", "--time-limit", limit}
	if recovery != "" {
		a = append(a, "--recovery", recovery)
	}
	a = append(a, args...)
	var stdout, stderr bytes.Buffer
	code := GradeMain(context.Background(), a, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// TestExercisesWalk walks the whole catalog: for every exercise, the
// reference binary passes the first scenario of level a, every scenario a
// known-wrong variant must fail and every scenario that kills nodes; each
// known-wrong variant fails its scenario with a reason that names the
// mistake and a link into the report; and the Go starter (and the Python
// one, once per starter kind) builds, runs, fails the scenario where its
// work is missing and passes those it already solves. One seed, 2 s runs
// (8 s for the known-wrong variants; with -long, the scenario's own length
// for one marked full_length): the full suites are
// scripts/measure/exercises.sh.
func TestExercisesWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eddy")
	}
	bins := walkBins(t)
	root := checkoutRoot(t)
	cat, err := exercises.Load("")
	require.NoError(t, err)
	pythonDone := map[string]bool{}
	for _, e := range cat.Exercises {
		withPython := !pythonDone[e.Starter]
		pythonDone[e.Starter] = true
		t.Run(e.ID, func(t *testing.T) {
			t.Parallel()
			t.Run("reference", func(t *testing.T) {
				for _, sc := range referenceScenarios(e) {
					// Nodes restarted by the final phase catch up from
					// their peers within the scenario's recovery wait,
					// which the walk keeps where nodes are killed and a
					// final read checks what they caught up (lin-kv and
					// the txn workloads have none); there a 2 s run may
					// end before the first leader after a kill answers
					// anything, so those runs take 5 s. So do lin-kv's:
					// Jepsen's stats want an ok cas, and a cas fails 22
					// whenever its from is stale, which can be every one
					// of a 2 s run's dozen.
					recovery, limit := "1", "2"
					if killsNodes(e, sc) {
						limit = "5"
						if finalReads(t, e.Workload) {
							recovery = ""
						}
					}
					if e.Workload == "lin-kv" {
						limit = "5"
					}
					code, out := walkGradeFor(t, e.ID, filepath.Join(bins, e.Reference.Bin), sc, e.Reference.Args, limit, recovery)
					require.Equal(t, eddy.ExitValid, code, "reference %s on %s:\n%s", e.Reference.Bin, sc, out)
				}
			})
			for _, w := range e.Wrong {
				t.Run("wrong "+strings.Join(w.Args, " "), func(t *testing.T) {
					// A full_length variant's mistake needs the
					// scenario's whole run (and a lin-kv history that
					// shows it can take porcupine a minute): the long
					// mode runs it in full; the default run keeps 8 s and
					// checks what it can (a run that finishes, and a
					// failure's reason).
					limit, full := "8", w.FullLength && testenv.Long()
					if full {
						limit = scenarioTimeLimit(t, e, w.Scenario)
					}
					args := w.Args
					if e.Workload == "broadcast" || e.Workload == "g-set" {
						// At the scenarios' rate of 10 an 8 s run sends a
						// handful of values across its one early partition
						// and may lose none of them; at 50 the loss shows.
						args = append([]string{"--rate", "50"}, args...)
					}
					code, out := walkGradeFor(t, e.ID, filepath.Join(bins, w.Bin), w.Scenario, args, limit, "1")
					if w.FullLength && !full && code == eddy.ExitValid {
						t.Logf("%s passed %s in 8 s; it fails at the scenario's full length (scripts/test.sh -long)", w.Bin, w.Scenario)
						return
					}
					require.Equal(t, eddy.ExitInvalid, code, out)
					line := failLine(out, w.Scenario)
					require.NotEmpty(t, line, "no FAIL line for %s:\n%s", w.Scenario, out)
					require.Contains(t, line, w.Reason, "the reason should name the mistake (%s)", w.Mistake)
					require.Regexp(t, `see \S+/report\.html#(lost|why-\S+)`, line)
				})
			}
			langs := []string{"go"}
			if withPython {
				langs = append(langs, "python")
			}
			for _, lang := range langs {
				t.Run("starter "+lang, func(t *testing.T) {
					dir := filepath.Join(t.TempDir(), e.ID)
					var stdout, stderr bytes.Buffer
					require.Equal(t, 0, NewMain(context.Background(), []string{e.ID, "--lang", lang, "--maelkit", root, dir}, &stdout, &stderr), stderr.String())
					bin := filepath.Join(dir, e.Binary(lang))
					if lang == "go" {
						cmd := exec.Command("go", "build", "-o", bin, ".")
						cmd.Dir = dir
						out, err := cmd.CombinedOutput()
						require.NoError(t, err, "the starter must build as is:\n%s", out)
					}
					code, out := walkGrade(t, e.ID, bin, e.StarterFails, nil)
					require.Equal(t, eddy.ExitInvalid, code, "the starter must fail %s:\n%s", e.StarterFails, out)
					require.NotEmpty(t, failLine(out, e.StarterFails), out)
					for _, sc := range e.StarterPasses {
						code, out := walkGrade(t, e.ID, bin, sc, nil)
						require.Equal(t, eddy.ExitValid, code, "the starter already does %s:\n%s", sc, out)
					}
				})
			}
		})
	}
}

// referenceScenarios are the scenarios the walk runs the reference binary
// on: the first of level a, every one a known-wrong variant must fail (so
// each such scenario is shown to tell the mistake from a solution), and
// every one that kills nodes (a restart runs the reference's recovery,
// which no other scenario reaches).
func referenceScenarios(e *exercises.Exercise) []string {
	out := []string{e.Levels[0].Scenarios[0]}
	add := func(sc string) {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	for _, w := range e.Wrong {
		add(w.Scenario)
	}
	for _, sc := range e.LoadedSuite().Scenarios {
		if killsNodes(e, sc.Name) {
			add(sc.Name)
		}
	}
	return out
}

// scenarioTimeLimit is the --time-limit the exercise's scenario gives.
func scenarioTimeLimit(t *testing.T, e *exercises.Exercise, scenario string) string {
	t.Helper()
	for _, sc := range e.LoadedSuite().Scenarios {
		if i := slices.Index(sc.Flags, "--time-limit"); sc.Name == scenario && i >= 0 && i+1 < len(sc.Flags) {
			return sc.Flags[i+1]
		}
	}
	t.Fatalf("%s: scenario %s gives no --time-limit", e.ID, scenario)
	return ""
}

// killsNodes says whether the exercise's scenario runs the kill nemesis.
func killsNodes(e *exercises.Exercise, scenario string) bool {
	for _, sc := range e.LoadedSuite().Scenarios {
		if sc.Name != scenario {
			continue
		}
		if i := slices.Index(sc.Flags, "--nemesis"); i >= 0 && i+1 < len(sc.Flags) {
			return slices.Contains(strings.Split(sc.Flags[i+1], ","), "kill")
		}
	}
	return false
}

// finalReads says whether the workload reads every node once more after
// the recovery wait (Maelstrom's final generator).
func finalReads(t *testing.T, name string) bool {
	t.Helper()
	w, err := workload.New(name, workload.Params{Nodes: []string{"n0"}, Concurrency: 2, Rand: rand.New(rand.NewPCG(1, 1))})
	require.NoError(t, err)
	return w.Final != nil
}

// failLine is the scorecard's FAIL line for scenario.
func failLine(out, scenario string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "FAIL ") && strings.Contains(l, " "+scenario+" (") {
			return l
		}
	}
	return ""
}

// TestGradeRecordsProgress: a grading with --exercise writes the progress
// file, the best attempt stays when a later one reaches fewer levels, and
// eddy exercises shows it.
func TestGradeRecordsProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eddy")
	}
	bin := buildMaelfix(t)
	dir := t.TempDir()
	progress := filepath.Join(dir, "progress.json")
	grade := func(mode string) string {
		var stdout, stderr bytes.Buffer
		GradeMain(context.Background(), []string{"--exercise", "echo", "--bin", bin, "--seeds", "1", "--scenario", "1",
			"--out", filepath.Join(dir, "out"), "--progress", progress, "--", "--time-limit", "1", mode}, &stdout, &stderr)
		return stdout.String()
	}
	require.Contains(t, grade("echo-alter"), "exercise echo: level a failing: 1 ")
	require.Contains(t, grade("echo"), "exercise echo: done (every level)")
	require.Contains(t, grade("echo-alter"), "exercise echo: done (every level)", "the best result stays")
	p, err := exercises.ReadProgress(progress)
	require.NoError(t, err)
	require.Equal(t, 1, p.Exercises["echo"].Best.Reached)
	require.Equal(t, 0, p.Exercises["echo"].Last.Reached)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, ExercisesMain(context.Background(), []string{"--progress", progress}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "you: done (every level)")
	require.Contains(t, stdout.String(), "you: not started")

	// Without --progress, a starter's own file (./echo/) is shown too.
	b, err := os.ReadFile(progress)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "echo"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "echo", exercises.ProgressFile), b, 0o644))
	t.Chdir(dir)
	stdout.Reset()
	require.Equal(t, 0, ExercisesMain(context.Background(), nil, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "you: done (every level)")
}

// TestExercisesMainListsEveryWorkload: the list covers every workload
// with a built-in suite and names every reference binary.
func TestExercisesMainListsEveryWorkload(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, ExercisesMain(context.Background(), []string{"--json"}, &stdout, &stderr), stderr.String())
	var got struct {
		Exercises []exercises.Exercise `json:"exercises"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	workloads, refs := map[string]bool{}, map[string]bool{}
	for _, e := range got.Exercises {
		workloads[e.Workload] = true
		refs[e.Reference.Bin] = true
	}
	for _, w := range []string{"echo", "unique-ids", "broadcast", "g-set", "g-counter", "pn-counter", "lin-kv", "txn-rw-register", "txn-list-append"} {
		require.True(t, workloads[w], "no exercise for workload %s", w)
	}
	// A binary whose exercise is still to come must be named, as bin/NAME,
	// in a chapter's pending list, which `eddy exercises` shows.
	cat, err := exercises.Load("")
	require.NoError(t, err)
	var pending []string
	for _, ch := range cat.Chapters {
		pending = append(pending, ch.Pending...)
	}
	nodes, err := os.ReadDir(filepath.Join(checkoutRoot(t), "nodes"))
	require.NoError(t, err)
	for _, n := range nodes {
		declared := slices.ContainsFunc(pending, func(p string) bool { return strings.Contains(p, "bin/"+n.Name()+" ") })
		require.True(t, refs[n.Name()] || declared, "no exercise has binary %s as its reference, and no chapter lists it as pending", n.Name())
	}
	for _, args := range [][]string{{"nope"}, {"--bogus"}, {"a", "b"}} {
		require.Equal(t, eddy.ExitUsage, ExercisesMain(context.Background(), args, &stdout, &stderr), "%v", args)
	}
	require.Equal(t, eddy.ExitUsage, NewMain(context.Background(), []string{"nope"}, &stdout, &stderr))
	require.Equal(t, eddy.ExitUsage, NewMain(context.Background(), []string{"echo", "--lang", "rust", t.TempDir() + "/x"}, &stdout, &stderr))
	// An existing, non-empty directory is never overwritten.
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "main.go"), []byte("mine"), 0o644))
	require.Equal(t, eddy.ExitUsage, NewMain(context.Background(), []string{"echo", full}, &stdout, &stderr))
	b, err := os.ReadFile(filepath.Join(full, "main.go"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(b))
}
