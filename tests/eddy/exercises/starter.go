package exercises

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed starters ci
var templates embed.FS

// starterFile maps a starter kind to its template's name (the counters
// share one).
var starterFile = map[string]string{
	"echo": "echo", "unique-ids": "unique-ids", "broadcast": "broadcast", "g-set": "g-set",
	"g-counter": "counter", "pn-counter": "counter", "kafka": "kafka", "lin-kv": "lin-kv", "txn": "txn",
}

// StarterKinds lists the starter kinds an exercise may name.
func StarterKinds() []string {
	var out []string
	for k := range starterFile {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Langs are the starter languages.
var Langs = []string{"go", "python"}

// StarterOptions say where a starter goes and what it refers to.
type StarterOptions struct {
	Lang string // "go" or "python"
	Dir  string // created; it must not exist or be empty
	// Maelkit is the checkout's root (the directory of maelkit's go.mod):
	// a Go starter's go.mod replaces module maelkit with it.
	Maelkit string
	// Eddy is the eddy binary the starter's README and scripts call.
	Eddy string
}

// Binary is the file name of the student's node in a starter directory.
func (e *Exercise) Binary(lang string) string {
	if lang == "python" {
		return e.ID + ".py"
	}
	return e.ID
}

// WriteStarter writes the starter for e and returns the files written,
// relative to o.Dir.
func WriteStarter(e *Exercise, o StarterOptions) ([]string, error) {
	if !slices.Contains(Langs, o.Lang) {
		return nil, fmt.Errorf("--lang must be one of %s", strings.Join(Langs, ", "))
	}
	if ents, err := os.ReadDir(o.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty", o.Dir)
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	kind := starterFile[e.Starter]
	subst := strings.NewReplacer("{{ID}}", e.ID, "{{TITLE}}", e.Title, "{{BIN}}", e.Binary(o.Lang),
		"{{EDDY}}", o.Eddy, "{{MAELKIT}}", o.Maelkit, "{{LANG}}", o.Lang, "{{WORKLOAD}}", e.Workload)
	switch o.Lang {
	case "go":
		src, err := templates.ReadFile("starters/go/" + kind + ".go.tmpl")
		if err != nil {
			return nil, err
		}
		files["main.go"] = []byte(subst.Replace(string(src)))
		mod, sum, err := goModule(e.ID, o.Maelkit)
		if err != nil {
			return nil, err
		}
		files["go.mod"], files["go.sum"] = mod, sum
	case "python":
		rt, err := templates.ReadFile("starters/python/runtime.py")
		if err != nil {
			return nil, err
		}
		body, err := templates.ReadFile("starters/python/" + kind + ".py")
		if err != nil {
			return nil, err
		}
		head := fmt.Sprintf("#!/usr/bin/env python3\n# A starter for the %s exercise (%s). It runs as is; the places marked\n# TODO are the exercise.\n", e.ID, e.Title)
		files[e.Binary("python")] = []byte(head + string(rt) + string(body))
	}
	files["README.md"] = []byte(starterReadme(e, o))
	files[".gitignore"] = []byte(e.Binary("go") + "\ngrade-out/\nstore/\n")
	wf, err := templates.ReadFile("ci/classroom.yml")
	if err != nil {
		return nil, err
	}
	files[".github/workflows/grade.yml"] = []byte(subst.Replace(string(wf)))

	var names []string
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(abs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".py") {
			mode = 0o755
		}
		if err := os.WriteFile(p, files[name], mode); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// goModule is a starter's go.mod and go.sum: module maelkit is required
// and replaced by the local checkout, and maelkit's own requirements and
// checksums are carried over so that the first build needs nothing the
// checkout's build did not.
func goModule(id, maelkit string) (mod, sum []byte, err error) {
	if maelkit == "" {
		return nil, nil, errors.New("the maelkit checkout is unknown (--maelkit DIR)")
	}
	gomod, err := os.ReadFile(filepath.Join(maelkit, "go.mod"))
	if err != nil {
		return nil, nil, fmt.Errorf("maelkit checkout: %w", err)
	}
	goLine, requires, err := parseGoMod(gomod)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(maelkit, "go.mod"), err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "module student/%s\n\n%s\n\nrequire maelkit v0.0.0\n\n", id, goLine)
	if len(requires) > 0 {
		b.WriteString("require (\n")
		for _, r := range requires {
			fmt.Fprintf(&b, "\t%s\n", r)
		}
		b.WriteString(")\n\n")
	}
	b.WriteString("// maelkit is not published: it is this local checkout. Point the path\n// elsewhere with: go mod edit -replace maelkit=/path/to/maelkit\n")
	fmt.Fprintf(&b, "replace maelkit => %s\n", maelkit)
	sum, err = os.ReadFile(filepath.Join(maelkit, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	return b.Bytes(), sum, nil
}

// parseGoMod returns the go directive and every required module ("path
// version", indirect ones marked so) of a go.mod.
func parseGoMod(b []byte) (goLine string, requires []string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	inBlock := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "module ") && strings.TrimSpace(strings.TrimPrefix(line, "module ")) != "maelkit":
			return "", nil, fmt.Errorf("not maelkit's go.mod: %s", line)
		case strings.HasPrefix(line, "go "):
			goLine = line
		case line == "require (":
			inBlock = true
		case inBlock && line == ")":
			inBlock = false
		case inBlock && line != "":
			requires = append(requires, line)
		case strings.HasPrefix(line, "require "):
			requires = append(requires, strings.TrimPrefix(line, "require "))
		}
	}
	if goLine == "" {
		return "", nil, errors.New("no go directive")
	}
	return goLine, requires, sc.Err()
}

func starterReadme(e *Exercise, o StarterOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n", e.Title, e.Statement)
	if len(e.Messages) > 0 {
		b.WriteString("Messages:\n\n")
		for _, m := range e.Messages {
			fmt.Fprintf(&b, "- `%s`\n", m)
		}
		b.WriteString("\n")
	}
	b.WriteString("The starter runs as is and fails the exercise only where your work is missing: look for TODO.\n\n")
	bin := "./" + e.Binary(o.Lang)
	b.WriteString("## Build, test, grade\n\n```sh\n")
	if o.Lang == "go" {
		fmt.Fprintf(&b, "go build -o %s .\n", e.Binary("go"))
	}
	for _, c := range e.Commands {
		fmt.Fprintf(&b, "%s\n", strings.Replace(strings.Replace(c, "eddy ", o.Eddy+" ", 1), "BIN", bin, 1))
	}
	fmt.Fprintf(&b, "%s grade --exercise %s --bin %s\n```\n\n", o.Eddy, e.ID, bin)
	fmt.Fprintf(&b, "`eddy grade` runs the exercise's suite and remembers your best result in `%s`; `%s exercises` shows it. Each failing scenario names the figure that decided it and links the place in the run's `report.html` that shows why.\n\n", ProgressFile, o.Eddy)
	b.WriteString("## Levels\n\n")
	for _, l := range e.Levels {
		fmt.Fprintf(&b, "- **%s, %s** (scenarios %s): %s\n", l.Name, l.Title, strings.Join(l.Scenarios, ", "), l.Figures)
	}
	if len(e.Hints) > 0 {
		b.WriteString("\n## Hints\n\n")
		for _, h := range e.Hints {
			fmt.Fprintf(&b, "- %s\n", h)
		}
	}
	if o.Lang == "go" {
		fmt.Fprintf(&b, "\n## Module\n\nThe node runs on maelkit's runtime, `maelkit/lib/node` (its API: `go doc -all maelkit/lib/node` here). maelkit is not published, so `go.mod` requires `maelkit v0.0.0` and replaces it with the checkout at `%s`; if you move either, `go mod edit -replace maelkit=/path/to/maelkit`.\n", o.Maelkit)
	}
	b.WriteString("\n## CI\n\n`.github/workflows/grade.yml` grades every push on GitHub Actions (a GitHub Classroom assignment): it checks out maelkit, builds eddy, runs the same `eddy grade` and publishes a JUnit report.\n")
	return b.String()
}

// CIRecipe returns one of the GitHub Actions workflows: "classroom.yml"
// (a student's repository; eddy new writes it into every starter) or
// "teacher-matrix.yml" (a teacher's repository of submissions).
func CIRecipe(name string) ([]byte, error) {
	return templates.ReadFile("ci/" + name)
}
