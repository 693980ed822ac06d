package eddy

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// TestNotes: each note is printed once, repeats are counted, and the :eddy
// key holds only the non-empty lists, or is absent.
func TestNotes(t *testing.T) {
	var console bytes.Buffer
	n := newNotes(&console)
	empty := history.NewMap()
	n.set(empty)
	_, ok := empty.Get("eddy")
	require.False(t, ok)

	n.limit("n1 flood", "node n1: flood")
	n.limit("n1 flood", "node n1: flood, again")
	n.limit("n2 flood", "node n2: flood")
	require.Equal(t, "eddy limit: node n1: flood\neddy limit: node n2: flood\n", console.String())
	res := history.NewMap()
	n.set(res)
	e, ok := res.Get("eddy")
	require.True(t, ok)
	m := e.(*history.Map)
	require.Equal(t, []string{"limits"}, m.Keys())
	l, _ := m.Get("limits")
	require.Equal(t, []any{"node n1: flood (2 times)", "node n2: flood"}, l)

	n.warn("src", "forged")
	n.set(res)
	e, _ = res.Get("eddy")
	w, _ := e.(*history.Map).Get("warnings")
	require.Equal(t, []any{"forged"}, w)
}
