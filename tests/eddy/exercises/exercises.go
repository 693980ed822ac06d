// Package exercises is the book's exercises as data: per chapter, each
// exercise's statement, workload and commands, the grading suite and its
// levels (correct, then fault-tolerant, then efficient, each decided by the
// suite's scenarios), the reference binary that solves it, a known-wrong
// variant and hints. The catalog is JSON files (data/, embedded), and a
// teacher's directory given at run time adds or replaces exercises by id,
// so an exercise is added without recompiling eddy.
//
// It also writes starters (starter.go) and keeps a student's progress
// (progress.go).
package exercises

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"maelkit/tests/eddy/grade"
)

//go:embed data
var embedded embed.FS

// DirEnv names the environment variable that points at a teacher's
// exercise directory when no --dir is given.
const DirEnv = "EDDY_EXERCISES"

// Chapter is one chapter of the book, in order.
type Chapter struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Pending names exercises or levels that are not in the catalog yet
	// because what they need (a workload, a nemesis) is still being built.
	Pending []string `json:"pending,omitempty"`
}

// Level is one step of an exercise: it is reached when every scenario it
// names passes.
type Level struct {
	Name      string   `json:"name"`
	Title     string   `json:"title"`
	Scenarios []string `json:"scenarios"`
	// Figures says in words which figures decide the level.
	Figures string `json:"figures"`
}

// Binary is a program and its arguments.
type Binary struct {
	Bin  string   `json:"bin"` // a name under the checkout's bin/, or a path
	Args []string `json:"args,omitempty"`
}

// Wrong is a known-wrong solution: it must fail Scenario with a reason
// that contains Reason.
type Wrong struct {
	Bin      string   `json:"bin"`
	Args     []string `json:"args,omitempty"`
	Scenario string   `json:"scenario"`
	Reason   string   `json:"reason"`
	Mistake  string   `json:"mistake"`
	// FullLength says the mistake shows reliably only over the
	// scenario's whole time limit (a kill must meet state that no peer
	// holds yet): the walk, which shortens runs, runs this one at its full
	// length in its long mode.
	FullLength bool `json:"full_length,omitempty"`
}

// Exercise is one exercise of the catalog.
type Exercise struct {
	ID        string   `json:"id"`
	Chapter   string   `json:"chapter"`
	Order     int      `json:"order"`
	Title     string   `json:"title"`
	Statement string   `json:"statement"`
	Workload  string   `json:"workload"`
	Commands  []string `json:"commands"`
	Messages  []string `json:"messages,omitempty"`
	// Suite names a built-in suite (tests/eddy/grade/suites); SuiteFile a
	// suite file relative to the directory the exercise came from.
	Suite     string  `json:"suite,omitempty"`
	SuiteFile string  `json:"suite_file,omitempty"`
	Levels    []Level `json:"levels"`
	Reference Binary  `json:"reference"`
	Wrong     []Wrong `json:"wrong,omitempty"`
	Starter   string  `json:"starter"`
	// StarterFails is the first scenario the starter fails (where the
	// student's work is missing); StarterPasses are scenarios the starter
	// passes as it is (the work it already does).
	StarterFails  string   `json:"starter_fails"`
	StarterPasses []string `json:"starter_passes,omitempty"`
	Hints         []string `json:"hints,omitempty"`

	// suite is the parsed suite, loaded with the exercise.
	suite *grade.Suite
	// From is where the exercise was read ("built-in" or a file).
	From string `json:"-"`
}

// LoadedSuite is the exercise's suite.
func (e *Exercise) LoadedSuite() *grade.Suite { return e.suite }

// Catalog is every chapter and exercise.
type Catalog struct {
	Chapters  []Chapter
	Exercises []*Exercise
}

// Get returns the exercise with id, or nil.
func (c *Catalog) Get(id string) *Exercise {
	for _, e := range c.Exercises {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// IDs lists every exercise id in catalog order.
func (c *Catalog) IDs() []string {
	var out []string
	for _, e := range c.Exercises {
		out = append(out, e.ID)
	}
	return out
}

// ForSuite returns the exercises graded by suite s (same workload and
// scenario names), so a grade run without --exercise still records
// progress when exactly one exercise matches.
func (c *Catalog) ForSuite(s *grade.Suite) []*Exercise {
	var out []*Exercise
	for _, e := range c.Exercises {
		if e.suite.Workload == s.Workload && sameScenarios(e.suite, s) {
			out = append(out, e)
		}
	}
	return out
}

func sameScenarios(a, b *grade.Suite) bool {
	if len(a.Scenarios) != len(b.Scenarios) {
		return false
	}
	for i := range a.Scenarios {
		if a.Scenarios[i].Name != b.Scenarios[i].Name {
			return false
		}
	}
	return true
}

// maxFileBytes bounds a catalog file a teacher's directory may hold.
const maxFileBytes = 1 << 20

// Load reads the embedded catalog and, when dir is not empty, the
// teacher's directory on top of it: dir/chapters.json (optional) replaces
// the chapters, and every dir/exercises/*.json adds an exercise or
// replaces the built-in one with the same id.
func Load(dir string) (*Catalog, error) {
	data, err := fs.Sub(embedded, "data")
	if err != nil {
		return nil, err
	}
	c := &Catalog{}
	if err := c.read(data, "built-in"); err != nil {
		return nil, err
	}
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("exercises: %s is not a directory", dir)
		}
		if err := c.read(os.DirFS(dir), dir); err != nil {
			return nil, err
		}
	}
	return c, c.validate()
}

func readSmall(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxFileBytes)
	}
	return b, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (c *Catalog) read(fsys fs.FS, from string) error {
	if b, err := readSmall(fsys, "chapters.json"); err == nil {
		var ch struct {
			Chapters []Chapter `json:"chapters"`
		}
		if err := decodeStrict(b, &ch); err != nil {
			return fmt.Errorf("exercises: %s: chapters.json: %w", from, err)
		}
		c.Chapters = ch.Chapters
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("exercises: %s: %w", from, err)
	}
	names, err := fs.Glob(fsys, "exercises/*.json")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		where := filepath.Join(from, name)
		b, err := readSmall(fsys, name)
		if err != nil {
			return fmt.Errorf("exercises: %s: %w", where, err)
		}
		var e Exercise
		if err := decodeStrict(b, &e); err != nil {
			return fmt.Errorf("exercises: %s: %w", where, err)
		}
		e.From = where
		if err := e.loadSuite(fsys); err != nil {
			return fmt.Errorf("exercises: %s: %w", where, err)
		}
		if i := slices.IndexFunc(c.Exercises, func(x *Exercise) bool { return x.ID == e.ID }); i >= 0 {
			c.Exercises[i] = &e
		} else {
			c.Exercises = append(c.Exercises, &e)
		}
	}
	return nil
}

func (e *Exercise) loadSuite(fsys fs.FS) error {
	var err error
	switch {
	case e.Suite != "" && e.SuiteFile != "":
		return errors.New("suite and suite_file are exclusive")
	case e.Suite != "":
		e.suite, err = grade.Builtin(e.Suite)
	case e.SuiteFile != "":
		if !fs.ValidPath(e.SuiteFile) {
			return fmt.Errorf("suite_file %q must be a relative path inside the exercise directory", e.SuiteFile)
		}
		var b []byte
		if b, err = readSmall(fsys, e.SuiteFile); err == nil {
			e.suite, err = grade.Parse(b)
		}
	default:
		return errors.New("suite or suite_file is required")
	}
	return err
}

// validate checks every exercise against its chapter and suite, and sorts
// the exercises by chapter, then order, then id.
func (c *Catalog) validate() error {
	chapter := map[string]int{}
	for i, ch := range c.Chapters {
		if ch.ID == "" {
			return fmt.Errorf("exercises: chapter %d has no id", i+1)
		}
		chapter[ch.ID] = i
	}
	for _, e := range c.Exercises {
		if err := e.validate(chapter); err != nil {
			return fmt.Errorf("exercises: %s: %w", e.From, err)
		}
	}
	slices.SortStableFunc(c.Exercises, func(a, b *Exercise) int {
		if d := chapter[a.Chapter] - chapter[b.Chapter]; d != 0 {
			return d
		}
		if d := a.Order - b.Order; d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return nil
}

func (e *Exercise) validate(chapter map[string]int) error {
	if e.ID == "" || strings.ContainsAny(e.ID, " /\\") || strings.HasPrefix(e.ID, ".") {
		return errors.New("id must be non-empty, without spaces or slashes")
	}
	if _, ok := chapter[e.Chapter]; !ok {
		return fmt.Errorf("chapter %q is not in chapters.json", e.Chapter)
	}
	if e.Title == "" || e.Statement == "" {
		return errors.New("title and statement are required")
	}
	if e.Workload != e.suite.Workload {
		return fmt.Errorf("workload %s, but the suite is for %s", e.Workload, e.suite.Workload)
	}
	if len(e.Levels) == 0 {
		return errors.New("no levels")
	}
	has := func(name string) bool {
		return slices.ContainsFunc(e.suite.Scenarios, func(s grade.Scenario) bool { return s.Name == name })
	}
	for _, l := range e.Levels {
		if l.Name == "" || len(l.Scenarios) == 0 {
			return fmt.Errorf("level %q needs a name and scenarios", l.Name)
		}
		for _, s := range l.Scenarios {
			if !has(s) {
				return fmt.Errorf("level %s: the suite has no scenario %q", l.Name, s)
			}
		}
	}
	for _, w := range e.Wrong {
		if !has(w.Scenario) {
			return fmt.Errorf("wrong %s: the suite has no scenario %q", w.Bin, w.Scenario)
		}
		if w.Bin == "" || w.Reason == "" {
			return errors.New("a wrong variant needs bin and reason")
		}
	}
	for _, s := range append([]string{e.StarterFails}, e.StarterPasses...) {
		if !has(s) {
			return fmt.Errorf("starter: the suite has no scenario %q", s)
		}
	}
	if e.Reference.Bin == "" {
		return errors.New("reference.bin is required")
	}
	if !slices.Contains(StarterKinds(), e.Starter) {
		return fmt.Errorf("starter %q is not one of %s", e.Starter, strings.Join(StarterKinds(), ", "))
	}
	return nil
}

// Evaluate scores a scorecard against the exercise's levels: for each
// level, whether it ran (every scenario graded) and passed.
func (e *Exercise) Evaluate(card *grade.Scorecard) []LevelResult {
	return levelResults(e.Levels, card)
}

// LevelResult is one level of one grading.
type LevelResult struct {
	Name   string `json:"name"`
	Ran    bool   `json:"ran"`
	Pass   bool   `json:"pass"`
	Failed string `json:"failed,omitempty"` // the first failing scenario
}

func levelResults(levels []Level, card *grade.Scorecard) []LevelResult {
	byName := map[string]*grade.ScenarioResult{}
	for i := range card.Scenarios {
		byName[card.Scenarios[i].Name] = &card.Scenarios[i]
	}
	var out []LevelResult
	for _, l := range levels {
		r := LevelResult{Name: l.Name, Ran: true, Pass: true}
		for _, s := range l.Scenarios {
			sr, ok := byName[s]
			switch {
			case !ok:
				r.Ran, r.Pass = false, false
			case !sr.Pass:
				r.Pass = false
				if r.Failed == "" {
					r.Failed = s
				}
			}
		}
		out = append(out, r)
	}
	return out
}
