package report

import (
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
