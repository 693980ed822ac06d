package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"maelkit/tests/eddy/exercises"
	"maelkit/tests/eddy/grade"
)

// workflow is the part of a GitHub Actions workflow the recipes use.
type workflow struct {
	Name        string                 `yaml:"name"`
	On          yaml.Node              `yaml:"on"`
	Permissions map[string]string      `yaml:"permissions"`
	Env         map[string]string      `yaml:"env"`
	Jobs        map[string]workflowJob `yaml:"jobs"`
}

type workflowJob struct {
	RunsOn   string            `yaml:"runs-on"`
	Timeout  int               `yaml:"timeout-minutes"`
	Needs    any               `yaml:"needs"`
	If       string            `yaml:"if"`
	Outputs  map[string]string `yaml:"outputs"`
	Strategy map[string]any    `yaml:"strategy"`
	Steps    []workflowStep    `yaml:"steps"`
}

type workflowStep struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Run  string            `yaml:"run"`
	Dir  string            `yaml:"working-directory"`
	If   string            `yaml:"if"`
}

func parseWorkflow(t *testing.T, b []byte) workflow {
	t.Helper()
	var w workflow
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&w), "%s", b)
	require.NotEmpty(t, w.Jobs)
	return w
}

func step(t *testing.T, j workflowJob, name string) workflowStep {
	t.Helper()
	for _, s := range j.Steps {
		if s.Name == name || s.ID == name {
			return s
		}
	}
	require.Failf(t, "no step", "%q", name)
	return workflowStep{}
}

// buildEddy compiles eddy into a temp dir: the recipes call the binary.
func buildEddy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+"/", "maelkit/tests/eddy/cmd/eddy").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return filepath.Join(dir, "eddy")
}

// runStep runs a step's script with bash as Actions would, in the
// workspace; the grading is shortened (one seed, one scenario, a 1 s
// run) and the checkout's eddy path replaced by the one built here.
func runStep(t *testing.T, s workflowStep, workspace, dir, eddyBin string, env ...string) string {
	t.Helper()
	script := s.Run
	for _, p := range []string{"../../../maelkit/bin/eddy", "../maelkit/bin/eddy"} {
		script = strings.ReplaceAll(script, p, eddyBin)
	}
	script = strings.ReplaceAll(script, "--json grade.json", "--json grade.json --seeds 1 --scenario 1 -- --time-limit 1 --recovery 0.5")
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GITHUB_WORKSPACE=" + workspace, "GITHUB_OUTPUT=" + filepath.Join(workspace, "output")}, env...)...)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// checkReports validates what a grade step left: JUnit XML by the
// schema's rules and the JSON scorecard.
func checkReports(t *testing.T, dir string) {
	t.Helper()
	x, err := os.ReadFile(filepath.Join(dir, "grade-junit.xml"))
	require.NoError(t, err)
	require.NoError(t, grade.CheckJUnit(x), "%s", x)
	require.Contains(t, string(x), `<testcase name="1 seed 1" classname="eddy.echo.1"`)
	j, err := os.ReadFile(filepath.Join(dir, "grade.json"))
	require.NoError(t, err)
	var card grade.Scorecard
	require.NoError(t, json.Unmarshal(j, &card))
	require.Equal(t, "echo", card.Workload)
}

// TestClassroomRecipe runs the workflow eddy new writes into a starter:
// its build and grade steps, as GitHub Actions would run them in a
// student's repository beside a maelkit checkout, on a Go and a Python
// starter, and validates the JUnit XML it publishes.
func TestClassroomRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eddy")
	}
	eddyBin := buildEddy(t)
	root := checkoutRoot(t)
	for _, lang := range exercises.Langs {
		t.Run(lang, func(t *testing.T) {
			ws := t.TempDir()
			require.NoError(t, os.Symlink(root, filepath.Join(ws, "maelkit")))
			sub := filepath.Join(ws, "submission")
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, NewMain(context.Background(), []string{"echo", "--lang", lang, "--maelkit", root, sub}, &stdout, &stderr), stderr.String())
			if lang == "go" {
				// The student's checkout is elsewhere than CI's: the
				// workflow must point the replace directive at its own.
				mod, err := os.ReadFile(filepath.Join(sub, "go.mod"))
				require.NoError(t, err)
				mod = bytes.Replace(mod, []byte("replace maelkit => "+root), []byte("replace maelkit => /home/student/maelkit"), 1)
				require.NoError(t, os.WriteFile(filepath.Join(sub, "go.mod"), mod, 0o644))
			}
			b, err := os.ReadFile(filepath.Join(sub, ".github", "workflows", "grade.yml"))
			require.NoError(t, err)
			w := parseWorkflow(t, b)
			job := w.Jobs["grade"]
			require.Equal(t, "ubuntu-latest", job.RunsOn)
			require.Contains(t, step(t, job, "report").With["report_paths"], "grade-junit.xml")
			build := step(t, job, "build the submission")
			out := runStep(t, build, ws, filepath.Join(ws, build.Dir), eddyBin)
			if lang == "go" {
				_, err := os.Stat(filepath.Join(sub, "echo"))
				require.NoError(t, err, "the build step made no binary:\n%s", out)
			}
			g := step(t, job, "grade")
			require.Contains(t, g.Run, "--exercise echo")
			out = runStep(t, g, ws, filepath.Join(ws, g.Dir), eddyBin)
			require.Contains(t, out, "FAIL echo 1 (required)", "the starter fails the suite, so the job fails")
			checkReports(t, sub)
		})
	}
}

// TestTeacherMatrixRecipe runs the teacher's workflow: the list job's
// script over a repository of two submissions (Go and Python), then the
// matrix job's grade script for each, and validates every JUnit file.
func TestTeacherMatrixRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eddy")
	}
	eddyBin := buildEddy(t)
	root := checkoutRoot(t)
	b, err := exercises.CIRecipe("teacher-matrix.yml")
	require.NoError(t, err)
	w := parseWorkflow(t, b)
	require.Contains(t, w.Jobs["grade"].Strategy, "matrix")
	require.Equal(t, "list", w.Jobs["grade"].Needs)

	ws := t.TempDir()
	require.NoError(t, os.Symlink(root, filepath.Join(ws, "maelkit")))
	class := filepath.Join(ws, "class")
	var stdout, stderr bytes.Buffer
	for student, lang := range map[string]string{"alice": "go", "bob": "python"} {
		require.Equal(t, 0, NewMain(context.Background(), []string{"echo", "--lang", lang, "--maelkit", root, filepath.Join(class, "submissions", student)}, &stdout, &stderr), stderr.String())
	}
	out := runStep(t, step(t, w.Jobs["list"], "ls"), ws, class, eddyBin)
	o, err := os.ReadFile(filepath.Join(ws, "output"))
	require.NoError(t, err, out)
	require.Equal(t, `students=["alice","bob"]`+"\n", string(o))

	g := step(t, w.Jobs["grade"], "grade")
	for _, student := range []string{"alice", "bob"} {
		dir := filepath.Join(ws, strings.ReplaceAll(g.Dir, "${{ matrix.student }}", student))
		out := runStep(t, g, ws, dir, eddyBin, "EXERCISE=echo")
		require.Contains(t, out, "FAIL echo 1 (required)", student)
		checkReports(t, dir)
	}
}
