package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// TestFailuresListEddyNotes: the bounds eddy hit and its warnings come
// after the failing checkers, one figure per note, and only when present.
func TestFailuresListEddyNotes(t *testing.T) {
	results := history.NewMap().Set("valid?", false).
		Set("workload", history.NewMap().Set("valid?", false).Set("lost-count", int64(3)))
	require.Len(t, Failures(results), 1)

	results.Set("eddy", history.NewMap().
		Set("limits", []any{"node n1: output dropped", "node n2: forks refused"}).
		Set("warnings", []any{"node n1 forged src"}))
	fs := Failures(results)
	require.Len(t, fs, 3)
	require.Equal(t, "workload", fs[0].Path)
	require.Equal(t, "eddy limits", fs[1].Path)
	require.Equal(t, []Figure{{Key: "1", Value: "node n1: output dropped"}, {Key: "2", Value: "node n2: forks refused"}}, fs[1].Figures)
	require.Equal(t, "eddy warnings", fs[2].Path)
	require.Equal(t, []Figure{{Key: "1", Value: "node n1 forged src"}}, fs[2].Figures)
}

// TestFailuresNameStrictFindings: a checker that fails only because a
// strict run counts its eddy-only findings names them by anomaly and
// count, and its why section links to the warnings that explain them.
func TestFailuresNameStrictFindings(t *testing.T) {
	wl := history.NewMap().Set("valid?", false).Set("failures", []any{}).Set("eddy-only", []any{
		history.NewMap().Set("anomaly", history.Keyword("forgotten-key")).Set("count", int64(53)).
			Set("explanation", "a key read as missing after an acknowledged write").Set("cases", []any{}),
		history.NewMap().Set("anomaly", history.Keyword("garbage-read")),
	})
	res := history.NewMap().Set("workload", wl).Set("valid?", false)
	fs := Failures(res)
	require.Len(t, fs, 1)
	require.Contains(t, fs[0].Figures, Figure{Key: "eddy-only", Value: "forgotten-key (count 53), garbage-read"})
	require.Equal(t, "#why-workload", Anchor(res))

	dir := t.TempDir()
	require.NoError(t, Write(dir, Input{Results: res, History: tlHistory(), Workload: "lin-kv"}))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	s := string(page)
	require.Contains(t, s, `<code>forgotten-key (count 53), garbage-read</code> (see <a href="#warnings">Warnings</a>`)
	require.Contains(t, s, `<table id="warnings">`)
	require.Contains(t, s, "<b>forgotten-key</b> a key read as missing after an acknowledged write")
}
