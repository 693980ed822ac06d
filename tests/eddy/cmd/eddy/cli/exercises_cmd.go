package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"maelkit/tests/eddy"
	"maelkit/tests/eddy/exercises"
)

// ExercisesUsage is `eddy exercises`' help.
func ExercisesUsage() string {
	return `Usage:
  eddy exercises [--dir DIR] [--progress FILE] [--json] [EXERCISE]

Lists the book's exercises by chapter, each with its workload, levels and where
you stand (from ` + exercises.ProgressFile + `, which eddy grade keeps in the current
directory, and in ./EXERCISE/ for each starter eddy new made there): not
started, the failing level and its figure, or done. With an
EXERCISE, shows its statement, commands, levels and the figures that decide
them, the reference binary, the known-wrong variant and hints.

Options:
` + flagHelp(exercisesCommand(new(string), new(string), new(bool), new(bool), new(string)).flags)
}

// NewUsage is `eddy new`'s help.
func NewUsage() string {
	return `Usage:
  eddy new EXERCISE [--lang go|python] [--maelkit DIR] [--dir EXERCISES-DIR] [DIR]

Writes a starter for EXERCISE into DIR (default ./EXERCISE): a node that builds
and runs as is and fails the exercise's suite only where the work is missing
(marked TODO), a README with the commands, and a GitHub Actions workflow that
grades it. A Go starter runs on maelkit/lib/node: its go.mod requires maelkit
and replaces it with the checkout at --maelkit (default: the checkout eddy was
built in, found from eddy's own path or the current directory). A Python
starter is one file with its own small runtime.

Options:
` + flagHelp(newCommand(new(string), new(string), new(string), &[]string{}).flags)
}

// exercisesCommand is `eddy exercises` reading into dir, progress,
// asJSON and id; ownProgress is set when --progress is given.
func exercisesCommand(dir, progress *string, ownProgress, asJSON *bool, id *string) *command {
	return &command{
		prefix: "eddy exercises",
		usage:  ExercisesUsage,
		flags: []flag{
			helpFlag,
			strFlag([]string{"--dir"}, "DIR", "a teacher's exercise directory: DIR/chapters.json and DIR/exercises/*.json add or replace exercises by id (default $"+exercises.DirEnv+")", dir),
			{[]string{"--progress"}, "FILE", "the progress file to show", func(v string) error { *progress, *ownProgress = v, true; return nil }},
			boolFlag([]string{"--json"}, "the catalog (or the exercise) as JSON", asJSON),
		},
		positional: func(w string) bool {
			if *id != "" {
				return false
			}
			*id = w
			return true
		},
		unknown:           func(word, _ string) string { return "unexpected " + word },
		usageAfterUnknown: true,
	}
}

// ExercisesMain is `eddy exercises`: args exclude the word "exercises".
func ExercisesMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	dir, progress, asJSON, id, ownProgress := os.Getenv(exercises.DirEnv), exercises.ProgressFile, false, "", false
	c := exercisesCommand(&dir, &progress, &ownProgress, &asJSON, &id)
	if help, err := c.parse(args); help {
		fmt.Fprint(stdout, ExercisesUsage())
		return 0
	} else if err != nil {
		return c.refuse(stderr, err)
	}
	cat, err := exercises.Load(dir)
	if err != nil {
		fmt.Fprintf(stderr, "eddy exercises: %v\n", err)
		return eddy.ExitUsage
	}
	p, err := exercises.ReadProgress(progress)
	if err != nil {
		fmt.Fprintf(stderr, "eddy exercises: %v (progress not shown)\n", err)
		p, _ = exercises.ReadProgress("")
	}
	if !ownProgress {
		// Starters made with eddy new's default directory keep their own
		// progress file: ./<id>/.eddy-progress.json.
		for _, e := range cat.Exercises {
			if p.Exercises[e.ID] != nil {
				continue
			}
			if q, err := exercises.ReadProgress(filepath.Join(e.ID, exercises.ProgressFile)); err == nil && q.Exercises[e.ID] != nil {
				p.Exercises[e.ID] = q.Exercises[e.ID]
			}
		}
	}
	if id != "" {
		e := cat.Get(id)
		if e == nil {
			fmt.Fprintf(stderr, "eddy exercises: no exercise %q; exercises: %s\n", id, strings.Join(cat.IDs(), ", "))
			return eddy.ExitUsage
		}
		if asJSON {
			return writeJSON(stdout, stderr, e)
		}
		writeExercise(stdout, e, p)
		return 0
	}
	if asJSON {
		return writeJSON(stdout, stderr, struct {
			Chapters  []exercises.Chapter   `json:"chapters"`
			Exercises []*exercises.Exercise `json:"exercises"`
			Progress  *exercises.Progress   `json:"progress"`
		}{cat.Chapters, cat.Exercises, p})
	}
	for i, ch := range cat.Chapters {
		fmt.Fprintf(stdout, "%d. %s\n", i+1, ch.Title)
		for _, e := range cat.Exercises {
			if e.Chapter != ch.ID {
				continue
			}
			var levels []string
			for _, l := range e.Levels {
				levels = append(levels, l.Name+" "+l.Title)
			}
			fmt.Fprintf(stdout, "   %-16s %s\n", e.ID, e.Title)
			fmt.Fprintf(stdout, "   %-16s workload %s; levels: %s\n", "", e.Workload, strings.Join(levels, ", "))
			fmt.Fprintf(stdout, "   %-16s reference %s; you: %s\n", "", reference(e.Reference), exercises.Status(e, p))
		}
		for _, pend := range ch.Pending {
			fmt.Fprintf(stdout, "   %-16s (to come) %s\n", "…", pend)
		}
	}
	fmt.Fprintf(stdout, "\neddy exercises ID for details; eddy new ID [--lang go|python] for a starter; eddy grade --exercise ID --bin PATH to grade.\n")
	return 0
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "eddy exercises: %v\n", err)
		return eddy.ExitCrash
	}
	_, _ = stdout.Write(append(b, '\n'))
	return 0
}

// reference renders a binary as the command that runs it from the
// checkout's root.
func reference(b exercises.Binary) string {
	bin := b.Bin
	if !strings.Contains(bin, "/") {
		bin = "bin/" + bin
	}
	s := bin
	if len(b.Args) > 0 {
		s += " -- " + strings.Join(b.Args, " ")
	}
	return s
}

func writeExercise(w io.Writer, e *exercises.Exercise, p *exercises.Progress) {
	fmt.Fprintf(w, "%s: %s (chapter %s)\n\n%s\n\n", e.ID, e.Title, e.Chapter, e.Statement)
	if len(e.Messages) > 0 {
		fmt.Fprintln(w, "Messages:")
		for _, m := range e.Messages {
			fmt.Fprintf(w, "  %s\n", m)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Commands:")
	for _, c := range e.Commands {
		fmt.Fprintf(w, "  %s\n", c)
	}
	suite := e.LoadedSuite()
	fmt.Fprintf(w, "\nSuite: %s", suite.Workload)
	if e.SuiteFile != "" {
		fmt.Fprintf(w, " (%s)", e.SuiteFile)
	}
	fmt.Fprintln(w, "\nLevels:")
	for _, l := range e.Levels {
		fmt.Fprintf(w, "  %s, %s: %s\n", l.Name, l.Title, l.Figures)
		for _, name := range l.Scenarios {
			for _, sc := range suite.Scenarios {
				if sc.Name != name {
					continue
				}
				var checks []string
				for _, c := range sc.Checks {
					checks = append(checks, fmt.Sprintf("%s %s %s", c.Figure, c.Op, c.Target))
				}
				req := ""
				if !sc.IsRequired() {
					req = ", optional"
				}
				fmt.Fprintf(w, "    %s (%s%s): %s; flags %s\n", sc.Name, sc.Title, req, strings.Join(checks, ", "), strings.Join(sc.Flags, " "))
			}
		}
	}
	fmt.Fprintf(w, "\nReference: %s\n", reference(e.Reference))
	for _, x := range e.Wrong {
		fmt.Fprintf(w, "Known wrong: %s fails %s (%s)\n", reference(exercises.Binary{Bin: x.Bin, Args: x.Args}), x.Scenario, x.Mistake)
	}
	if len(e.Hints) > 0 {
		fmt.Fprintln(w, "\nHints:")
		for _, h := range e.Hints {
			fmt.Fprintf(w, "  - %s\n", h)
		}
	}
	fmt.Fprintf(w, "\nYou: %s\n", exercises.Status(e, p))
}

// newCommand is `eddy new` reading into lang, root, exDir and pos.
func newCommand(lang, root, exDir *string, pos *[]string) *command {
	return &command{
		prefix: "eddy new",
		usage:  NewUsage,
		flags: []flag{
			helpFlag,
			strFlag([]string{"--lang"}, "go|python", "the starter's language (default go)", lang),
			strFlag([]string{"--maelkit"}, "DIR", "the maelkit checkout a Go starter builds on", root),
			strFlag([]string{"--dir"}, "EXERCISES-DIR", "a teacher's exercise directory (default $"+exercises.DirEnv+")", exDir),
		},
		positional:        func(w string) bool { *pos = append(*pos, w); return true },
		unknown:           func(word, _ string) string { return "unknown option " + word },
		usageAfterUnknown: true,
	}
}

// NewMain is `eddy new`: args exclude the word "new".
func NewMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	lang, root, exDir := "go", "", os.Getenv(exercises.DirEnv)
	var pos []string
	c := newCommand(&lang, &root, &exDir, &pos)
	if help, err := c.parse(args); help {
		fmt.Fprint(stdout, NewUsage())
		return 0
	} else if err != nil {
		return c.refuse(stderr, err)
	}
	if len(pos) == 0 || len(pos) > 2 {
		fmt.Fprintf(stderr, "eddy new: name one exercise and at most one directory\n\n%s", NewUsage())
		return eddy.ExitUsage
	}
	cat, err := exercises.Load(exDir)
	if err != nil {
		fmt.Fprintf(stderr, "eddy new: %v\n", err)
		return eddy.ExitUsage
	}
	e := cat.Get(pos[0])
	if e == nil {
		fmt.Fprintf(stderr, "eddy new: no exercise %q; exercises: %s\n", pos[0], strings.Join(cat.IDs(), ", "))
		return eddy.ExitUsage
	}
	dir := e.ID
	if len(pos) == 2 {
		dir = pos[1]
	}
	if root == "" {
		root = maelkitRoot()
	}
	if lang == "go" && root == "" {
		fmt.Fprintln(stderr, "eddy new: cannot find the maelkit checkout; give it with --maelkit DIR")
		return eddy.ExitUsage
	}
	if root != "" {
		if root, err = filepath.Abs(root); err != nil {
			fmt.Fprintf(stderr, "eddy new: %v\n", err)
			return eddy.ExitUsage
		}
	}
	// The README and workflow call this eddy by its absolute path; under
	// go test the executable is the test binary, so the checkout's is named.
	eddyPath, err := os.Executable()
	if err != nil || strings.HasSuffix(eddyPath, ".test") {
		eddyPath = "eddy"
		if root != "" {
			eddyPath = filepath.Join(root, "bin", "eddy")
		}
	}
	files, err := exercises.WriteStarter(e, exercises.StarterOptions{Lang: lang, Dir: dir, Maelkit: root, Eddy: eddyPath})
	if err != nil {
		fmt.Fprintf(stderr, "eddy new: %v\n", err)
		return eddy.ExitUsage
	}
	fmt.Fprintf(stdout, "wrote a %s starter for %s into %s: %s\n\n", lang, e.ID, dir, strings.Join(files, ", "))
	bin := "./" + e.Binary(lang)
	fmt.Fprintf(stdout, "  cd %s\n", dir)
	if lang == "go" {
		fmt.Fprintf(stdout, "  go build -o %s .\n", e.Binary("go"))
	}
	fmt.Fprintf(stdout, "  %s grade --exercise %s --bin %s\n", eddyPath, e.ID, bin)
	return 0
}

// maelkitRoot finds the checkout eddy belongs to: upwards from eddy's own
// path (bin/eddy in a checkout), then from the current directory, the
// first directory whose go.mod declares module maelkit; "" when none.
func maelkitRoot() string {
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, d := range starts {
		for {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isMaelkitMod(b) {
				return d
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return ""
}

func isMaelkitMod(b []byte) bool {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) == 2 && f[0] == "module" {
			return f[1] == "maelkit"
		}
	}
	return false
}
