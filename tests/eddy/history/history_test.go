package history

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCanonicalJSON(t *testing.T) {
	for in, want := range map[string]JSON{
		`{"b":1, "a":[1, 2.50, "x"]}`: `{"a":[1,2.50,"x"],"b":1}`,
		`9007199254740993`:            `9007199254740993`,
		` null `:                      `null`,
		`"\u00e9"`:                    `"é"`,
	} {
		got, err := CanonicalJSON([]byte(in))
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{``, `{`, `1 2`, `[1,]`} {
		_, err := CanonicalJSON([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestKeyIsJSONValueEquality(t *testing.T) {
	require.Equal(t, Key(int64(5)), Key(JSON("5")), "an int64 equals the JSON integer")
	require.NotEqual(t, Key(JSON("1")), Key(JSON("1.0")), "1 and 1.0 differ, as in Maelstrom")
	require.NotEqual(t, Key("1"), Key(int64(1)))
	require.NotEqual(t, Key(Keyword("a")), Key("a"))
	require.Equal(t, Key([]any{int64(1), "a"}), Key(List{int64(1), "a"}))
	require.Equal(t, Key(nil), Key(JSON("null")))
	require.Panics(t, func() { Key(3.5) }, "floats are not history values")
}

func TestInt(t *testing.T) {
	n, ok := Int(JSON("9007199254740993"))
	require.True(t, ok)
	require.Equal(t, int64(9007199254740993), n)
	_, ok = Int(JSON("1.0"))
	require.False(t, ok)
	_, ok = Int("3")
	require.False(t, ok)
}

func TestPairSkipsNemesisAndOpenOps(t *testing.T) {
	h := History{
		{Index: 0, Type: Invoke, Process: 0, F: "read"},
		{Index: 1, Type: Info, Process: Nemesis, F: "start-partition"},
		{Index: 2, Type: Invoke, Process: 1, F: "read"},
		{Index: 3, Type: OK, Process: 0, F: "read"},
		{Index: 4, Type: Info, Process: Nemesis, F: "start-partition"},
	}
	require.Equal(t, map[int64]int64{0: 3, 2: -1}, h.Pair())
}

func TestMapKeepsOrder(t *testing.T) {
	m := NewMap().Set("z", 1).Set("a", 2).Set("z", 3)
	require.Equal(t, []string{"z", "a"}, m.Keys())
	v, _ := m.Get("z")
	require.Equal(t, 3, v)
	require.Equal(t, 2, m.Len())
}
