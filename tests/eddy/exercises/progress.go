package exercises

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"maelkit/tests/eddy/grade"
)

// ProgressFile is the file, in the student's directory (where eddy grade
// runs), that keeps the best result per exercise.
const ProgressFile = ".eddy-progress.json"

// Progress is the student's results, by exercise id.
type Progress struct {
	Version   int                  `json:"version"`
	Exercises map[string]*Standing `json:"exercises"`
}

// Standing is an exercise's best and latest attempt.
type Standing struct {
	Best Attempt `json:"best"`
	Last Attempt `json:"last"`
}

// Attempt is one eddy grade run summarised against the levels.
type Attempt struct {
	Time    time.Time `json:"time"`
	Bin     string    `json:"bin"`
	Pass    bool      `json:"pass"` // every required scenario that ran passed
	Reached int       `json:"reached"`
	// Levels is each level's result in order; a level that did not run
	// (--scenario chose others) has ran false.
	Levels []LevelResult `json:"levels"`
	// Failing is the first level that ran and failed, with the scenario's
	// deciding figure.
	Failing  string `json:"failing,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Figure   string `json:"figure,omitempty"`
}

// AttemptOf summarises a scorecard for the exercise.
func AttemptOf(e *Exercise, card *grade.Scorecard, now time.Time) Attempt {
	a := Attempt{Time: now.UTC(), Bin: card.Bin, Pass: card.Pass, Levels: e.Evaluate(card)}
	counting := true
	for _, l := range a.Levels {
		if counting && l.Pass {
			a.Reached++
		} else {
			counting = false
		}
		if l.Ran && !l.Pass && a.Failing == "" {
			a.Failing, a.Scenario = l.Name, l.Failed
			for _, s := range card.Scenarios {
				if s.Name == l.Failed {
					a.Figure = fmt.Sprintf("%s = %s, target %s %s", s.Decider.Figure, s.Decider.Value, s.Decider.Op, s.Decider.Target)
				}
			}
		}
	}
	return a
}

// ReadProgress reads the progress file; a missing file is empty progress.
func ReadProgress(path string) (*Progress, error) {
	p := &Progress{Version: 1, Exercises: map[string]*Standing{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.Exercises == nil {
		p.Exercises = map[string]*Standing{}
	}
	return p, nil
}

// Record adds an attempt: it becomes the latest, and the best when it
// reached more levels than the best so far (the newer one on a tie).
func (p *Progress) Record(id string, a Attempt) {
	s := p.Exercises[id]
	if s == nil {
		p.Exercises[id] = &Standing{Best: a, Last: a}
		return
	}
	s.Last = a
	if a.Reached >= s.Best.Reached {
		s.Best = a
	}
}

// Write saves the progress file atomically (a temporary file renamed).
func (p *Progress) Write(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".eddy-progress-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Status is the one-line state of an exercise for a student: "not
// started", "done" or the failing level with its deciding figure.
func Status(e *Exercise, p *Progress) string {
	s := p.Exercises[e.ID]
	if s == nil {
		return "not started"
	}
	b := s.Best
	var passed []string
	for _, l := range b.Levels {
		if l.Pass {
			passed = append(passed, l.Name)
		}
	}
	if b.Reached == len(e.Levels) {
		return "done (every level)"
	}
	if b.Reached > 0 && b.Reached >= e.requiredLevels() {
		return fmt.Sprintf("done (levels %s; next: %s)", strings.Join(passed, " "), e.Levels[b.Reached].Name)
	}
	if b.Failing != "" {
		return fmt.Sprintf("level %s failing: %s %s", b.Failing, b.Scenario, b.Figure)
	}
	return fmt.Sprintf("level %s not graded yet", e.Levels[b.Reached].Name)
}

// requiredLevels counts the leading levels that hold a required scenario:
// an exercise is done once they all pass.
func (e *Exercise) requiredLevels() int {
	n := 0
	for i, l := range e.Levels {
		for _, name := range l.Scenarios {
			for _, sc := range e.suite.Scenarios {
				if sc.Name == name && sc.IsRequired() {
					n = i + 1
				}
			}
		}
	}
	return n
}
