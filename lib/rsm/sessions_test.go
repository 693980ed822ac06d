package rsm

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// Sessions: fresh, duplicate and stale commands; eviction of the session
// applied longest ago; a JSON round trip that keeps everything.
func TestSessions(t *testing.T) {
	s := NewSessions[string](3)
	_, dup, stale := s.Lookup("c1", 1)
	require.False(t, dup)
	require.False(t, stale)
	s.Record("c1", 5, 10, "five")
	prev, dup, stale := s.Lookup("c1", 5)
	require.True(t, dup)
	require.False(t, stale)
	require.Equal(t, "five", prev)
	_, dup, stale = s.Lookup("c1", 4)
	require.False(t, dup)
	require.True(t, stale)
	_, dup, stale = s.Lookup("c1", 6)
	require.False(t, dup || stale)

	for i := range 5 {
		s.Record(fmt.Sprintf("c%d", i+2), 1, int64(20+i), "x")
	}
	require.Equal(t, 3, s.Len())
	require.True(t, s.Has("c6"))
	require.False(t, s.Has("c1"))
	require.False(t, s.Has("c2"))

	data, err := json.Marshal(s)
	require.NoError(t, err)
	back := NewSessions[string](3)
	require.NoError(t, json.Unmarshal(data, back))
	require.Equal(t, s.m, back.m)
	again, err := json.Marshal(back)
	require.NoError(t, err)
	require.Equal(t, data, again, "equal tables encode equally")
	require.NoError(t, json.Unmarshal([]byte("null"), back))
	require.Zero(t, back.Len())
	require.Error(t, json.Unmarshal([]byte(`{"c1":7}`), back))
}
