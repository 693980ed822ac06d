package exercises

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/grade"
)

func TestBuiltinCatalog(t *testing.T) {
	c, err := Load("")
	require.NoError(t, err)
	require.Len(t, c.Chapters, 6)
	var chapters []string
	for _, e := range c.Exercises {
		chapters = append(chapters, e.Chapter)
		require.NotEmpty(t, e.Hints, e.ID)
		require.NotEmpty(t, e.Wrong, e.ID)
		require.NotNil(t, e.LoadedSuite(), e.ID)
		for _, cmd := range e.Commands {
			require.True(t, strings.HasPrefix(cmd, "eddy test -w "+e.Workload+" --bin BIN"), "%s: %s", e.ID, cmd)
		}
	}
	// Sorted by chapter order.
	order := map[string]int{}
	for i, ch := range c.Chapters {
		order[ch.ID] = i
	}
	for i := 1; i < len(chapters); i++ {
		require.LessOrEqual(t, order[chapters[i-1]], order[chapters[i]])
	}
	// Kafka has its exercise and starter; every replication and consensus
	// exercise has a level whose scenario kills nodes.
	require.Equal(t, "partitioning", c.Get("kafka").Chapter)
	require.Equal(t, "kafka", c.Get("kafka").Starter)
	for _, id := range []string{"broadcast", "g-set", "g-counter", "pn-counter", "lin-kv-raft", "paxos-register"} {
		e := c.Get(id)
		kills := false
		for _, l := range e.Levels {
			for _, name := range l.Scenarios {
				for _, sc := range e.LoadedSuite().Scenarios {
					if i := slices.Index(sc.Flags, "--nemesis"); sc.Name == name && i >= 0 && i+1 < len(sc.Flags) && slices.Contains(strings.Split(sc.Flags[i+1], ","), "kill") {
						kills = true
					}
				}
			}
		}
		require.True(t, kills, "%s has no crash level", id)
	}
	// Only the lin-kv exercises share a suite.
	require.Len(t, c.ForSuite(c.Get("broadcast").LoadedSuite()), 1)
	require.Len(t, c.ForSuite(c.Get("lin-kv-raft").LoadedSuite()), 2)
}

const teacherExercise = `{
  "id": "%s", "chapter": "replication", "order": 9, "title": "Broadcast, slowly", "statement": "Gossip on a line.",
  "workload": "broadcast", "commands": ["eddy test -w broadcast --bin BIN"], "suite_file": "suites/line.json",
  "levels": [{"name": "a", "title": "correct", "scenarios": ["line"], "figures": "valid?"}],
  "reference": {"bin": "broadcast"}, "starter": "broadcast", "starter_fails": "line"
}`

const teacherSuite = `{"workload": "broadcast", "scenarios": [{"name": "line", "flags": ["--topology", "line"], "checks": [{"figure": "valid?", "op": "==", "target": true}]}]}`

func teacherDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func TestTeacherDirectory(t *testing.T) {
	dir := teacherDir(t, map[string]string{
		"exercises/line.json": strings.Replace(teacherExercise, "%s", "broadcast-line", 1),
		"suites/line.json":    teacherSuite,
		// Replaces the built-in echo exercise by id.
		"exercises/echo.json": strings.Replace(strings.Replace(teacherExercise, "%s", "echo", 1), "Broadcast, slowly", "Echo, the teacher's", 1),
	})
	c, err := Load(dir)
	require.NoError(t, err)
	e := c.Get("broadcast-line")
	require.NotNil(t, e)
	require.Equal(t, "line", e.LoadedSuite().Scenarios[0].Name)
	require.Equal(t, "Echo, the teacher's", c.Get("echo").Title)
	require.Equal(t, filepath.Join(dir, "exercises/line.json"), e.From)
	base, _ := Load("")
	require.Len(t, c.Exercises, len(base.Exercises)+1)

	for name, files := range map[string]map[string]string{
		"unknown field":    {"exercises/x.json": `{"id": "x", "colour": 1}`},
		"unknown chapter":  {"exercises/x.json": strings.Replace(strings.Replace(teacherExercise, "%s", "x", 1), `"replication"`, `"cooking"`, 1), "suites/line.json": teacherSuite},
		"missing suite":    {"exercises/x.json": strings.Replace(teacherExercise, "%s", "x", 1)},
		"suite escapes":    {"exercises/x.json": strings.Replace(strings.Replace(teacherExercise, "%s", "x", 1), "suites/line.json", "../line.json", 1)},
		"level scenario":   {"exercises/x.json": strings.Replace(strings.Replace(teacherExercise, "%s", "x", 1), `"scenarios": ["line"]`, `"scenarios": ["nope"]`, 1), "suites/line.json": teacherSuite},
		"bad starter":      {"exercises/x.json": strings.Replace(strings.Replace(teacherExercise, "%s", "x", 1), `"starter": "broadcast"`, `"starter": "cobol"`, 1), "suites/line.json": teacherSuite},
		"id with a slash":  {"exercises/x.json": strings.Replace(teacherExercise, "%s", "a/b", 1), "suites/line.json": teacherSuite},
		"workload differs": {"exercises/x.json": strings.Replace(strings.Replace(teacherExercise, "%s", "x", 1), `"workload": "broadcast"`, `"workload": "echo"`, 1), "suites/line.json": teacherSuite},
		"bad chapters":     {"chapters.json": `{"chapters": [{"title": "no id"}]}`},
		"not json":         {"exercises/x.json": `{`},
	} {
		_, err := Load(teacherDir(t, files))
		require.Error(t, err, name)
	}
	_, err = Load(filepath.Join(dir, "nope"))
	require.Error(t, err)
}

func card(pass map[string]bool) *grade.Scorecard {
	c := &grade.Scorecard{Workload: "broadcast", Bin: "./b", Pass: true}
	for _, name := range []string{"3a", "3b", "3c", "3-crash", "3d", "3e"} {
		p, ran := pass[name]
		if !ran {
			continue
		}
		sr := grade.ScenarioResult{Name: name, Pass: p, Required: name != "3e"}
		if !p {
			sr.Decider = grade.Outcome{Figure: "workload/lost-count", Value: "4", Op: "==", Target: "0"}
			if sr.Required {
				c.Pass = false
			}
		}
		c.Scenarios = append(c.Scenarios, sr)
	}
	return c
}

func TestProgress(t *testing.T) {
	c, err := Load("")
	require.NoError(t, err)
	e := c.Get("broadcast")
	path := filepath.Join(t.TempDir(), ProgressFile)
	p, err := ReadProgress(path)
	require.NoError(t, err)
	require.Equal(t, "not started", Status(e, p))

	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	a := AttemptOf(e, card(map[string]bool{"3a": true, "3b": false, "3c": false}), now)
	require.Equal(t, 0, a.Reached)
	require.Equal(t, "a", a.Failing)
	require.Equal(t, "3b", a.Scenario)
	p.Record(e.ID, a)
	require.Equal(t, "level a failing: 3b workload/lost-count = 4, target == 0", Status(e, p))

	// Levels a-d pass, the optional e fails: done.
	p.Record(e.ID, AttemptOf(e, card(map[string]bool{"3a": true, "3b": true, "3c": true, "3-crash": true, "3d": true, "3e": false}), now))
	require.Equal(t, "done (levels a b c d; next: e)", Status(e, p))
	// The crash level failing stops the count there, though 3d passed.
	q0 := &Progress{Exercises: map[string]*Standing{}}
	q0.Record(e.ID, AttemptOf(e, card(map[string]bool{"3a": true, "3b": true, "3c": true, "3-crash": false, "3d": true}), now))
	require.Equal(t, "level c failing: 3-crash workload/lost-count = 4, target == 0", Status(e, q0))
	// A worse attempt later is the latest, not the best.
	p.Record(e.ID, AttemptOf(e, card(map[string]bool{"3a": false}), now))
	require.Equal(t, 4, p.Exercises[e.ID].Best.Reached)
	require.Equal(t, 0, p.Exercises[e.ID].Last.Reached)
	// Only some scenarios graded: the levels not run are not passed.
	q := &Progress{Exercises: map[string]*Standing{}}
	q.Record(e.ID, AttemptOf(e, card(map[string]bool{"3a": true, "3b": true}), now))
	require.Equal(t, "level b not graded yet", Status(e, q))

	require.NoError(t, p.Write(path))
	back, err := ReadProgress(path)
	require.NoError(t, err)
	require.Equal(t, 4, back.Exercises[e.ID].Best.Reached)
	require.NoError(t, os.WriteFile(path, []byte("{"), 0o644))
	_, err = ReadProgress(path)
	require.Error(t, err)
}

func TestStarterModule(t *testing.T) {
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	c, err := Load("")
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "s")
	files, err := WriteStarter(c.Get("g-counter"), StarterOptions{Lang: "go", Dir: dir, Maelkit: root, Eddy: "/x/eddy"})
	require.NoError(t, err)
	require.Equal(t, []string{".github/workflows/grade.yml", ".gitignore", "README.md", "go.mod", "go.sum", "main.go"}, files)
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(mod), "module student/g-counter\n")
	require.Contains(t, string(mod), "require maelkit v0.0.0\n")
	require.Contains(t, string(mod), "replace maelkit => "+root+"\n")
	require.Contains(t, string(mod), "github.com/jepsen-io/maelstrom/demo/go ")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	require.Contains(t, string(readme), "/x/eddy grade --exercise g-counter --bin ./g-counter")
	require.Contains(t, string(readme), "/x/eddy test -w g-counter --bin ./g-counter")
	_, err = WriteStarter(c.Get("g-counter"), StarterOptions{Lang: "go", Dir: dir, Maelkit: root})
	require.Error(t, err, "a non-empty directory")
	_, err = WriteStarter(c.Get("g-counter"), StarterOptions{Lang: "go", Dir: t.TempDir(), Maelkit: t.TempDir()})
	require.Error(t, err, "not a checkout")

	py := filepath.Join(t.TempDir(), "p")
	files, err = WriteStarter(c.Get("g-counter"), StarterOptions{Lang: "python", Dir: py, Eddy: "eddy"})
	require.NoError(t, err)
	require.Contains(t, files, "g-counter.py")
	st, err := os.Stat(filepath.Join(py, "g-counter.py"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm())

	_, _, err = parseGoMod([]byte("module other\n\ngo 1.26\n"))
	require.Error(t, err)
}
