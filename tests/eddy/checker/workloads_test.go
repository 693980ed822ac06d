package checker

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// generated records ok generate ops returning ids (as JSON unless the id
// is already a history value).
func generated(ids ...any) history.History {
	b := newHB()
	for i, id := range ids {
		if s, ok := id.(string); ok {
			id = history.JSON(s)
		}
		b.inv(int64(i), int64(i%3), "generate", nil).ok(int64(i), int64(i%3), "generate", id)
	}
	return b.h
}

func TestUniqueIDs(t *testing.T) {
	t.Run("unique integers, numeric range", func(t *testing.T) {
		h := generated("9", "10", "100")
		h = append(h, newHB().inv(50, 5, "generate", nil).info(51, 5, "generate", nil).h...)
		for i := range h {
			h[i].Index = int64(i)
		}
		r := UniqueIDs(h)
		require.Equal(t, []string{"valid?", "attempted-count", "acknowledged-count", "duplicated-count", "duplicated", "range"}, r.Keys())
		require.Equal(t, true, get(t, r, "valid?"))
		require.Equal(t, int64(4), get(t, r, "attempted-count"))
		require.Equal(t, int64(3), get(t, r, "acknowledged-count"))
		require.Equal(t, int64(0), get(t, r, "duplicated-count"))
		requireSame(t, []any{history.JSON("9"), history.JSON("100")}, get(t, r, "range"))
	})
	t.Run("duplicates", func(t *testing.T) {
		r := UniqueIDs(generated("5", "7", "5", "5", "7", "8"))
		require.Equal(t, false, get(t, r, "valid?"))
		require.Equal(t, int64(2), get(t, r, "duplicated-count"))
		d := get(t, r, "duplicated").(*history.Map)
		require.True(t, d.NumKeys)
		require.Equal(t, []string{"5", "7"}, d.Keys())
		require.Equal(t, int64(3), get(t, d, "5"))
		require.Equal(t, int64(2), get(t, d, "7"))
	})
	t.Run("1 and 1.0 are different ids", func(t *testing.T) {
		r := UniqueIDs(generated("1", "1.0"))
		require.Equal(t, true, get(t, r, "valid?"))
		requireSame(t, []any{history.JSON("1"), history.JSON("1.0")}, get(t, r, "range"))
	})
	t.Run("strings, lexical range", func(t *testing.T) {
		r := UniqueIDs(generated(`"n1-10"`, `"n1-9"`, `"n0-3"`, `"n1-9"`))
		require.Equal(t, false, get(t, r, "valid?"))
		requireSame(t, []any{history.JSON(`"n0-3"`), history.JSON(`"n1-9"`)}, get(t, r, "range"))
		d := get(t, r, "duplicated").(*history.Map)
		require.True(t, d.String)
		require.Equal(t, []string{"n1-9"}, d.Keys())
	})
	for name, ids := range map[string][]any{
		"mixed numbers and strings": {"1", `"a"`},
		"objects":                   {`{"a":1}`, `{"a":2}`},
		"arrays":                    {"[1]", "[2]"},
		"booleans":                  {"true", "false"},
		"null":                      {"null"},
	} {
		t.Run(name+" is unknown", func(t *testing.T) {
			r := UniqueIDs(generated(ids...))
			require.Equal(t, Unknown, get(t, r, "valid?"))
			require.Contains(t, get(t, r, "error"), "range")
		})
	}
	t.Run("no ops", func(t *testing.T) {
		r := UniqueIDs(nil)
		require.Equal(t, true, get(t, r, "valid?"))
		requireSame(t, []any{nil, nil}, get(t, r, "range"))
	})
	t.Run("at most 48 duplicates shown, the most duplicated, then greater ids", func(t *testing.T) {
		var ids []any
		for i := range 60 {
			n := 2
			if i < 5 {
				n = 3 // ids 0..4 are the most duplicated
			}
			for range n {
				ids = append(ids, fmt.Sprint(i))
			}
		}
		r := UniqueIDs(generated(ids...))
		require.Equal(t, int64(60), get(t, r, "duplicated-count"))
		d := get(t, r, "duplicated").(*history.Map)
		var want []string
		for i := range 5 {
			want = append(want, fmt.Sprint(i))
		}
		for i := 17; i < 60; i++ { // the 43 greatest of the count-2 ids
			want = append(want, fmt.Sprint(i))
		}
		require.Equal(t, want, d.Keys())
	})
}

func TestEcho(t *testing.T) {
	reply := func(echo string, msgID int64) history.JSON {
		return history.JSON(fmt.Sprintf(`{"echo":%q,"in_reply_to":%d,"type":"echo_ok"}`, echo, msgID))
	}
	t.Run("valid", func(t *testing.T) {
		h := newHB().inv(0, 0, "echo", "Please echo 5").ok(1, 0, "echo", reply("Please echo 5", 1)).
			inv(2, 1, "echo", "Please echo 7").ok(3, 1, "echo", history.NewMap().Set("echo", "Please echo 7")).h
		r := Echo(h)
		require.Equal(t, []string{"valid?", "errors"}, r.Keys())
		require.Equal(t, true, get(t, r, "valid?"))
		require.Empty(t, get(t, r, "errors"))
	})
	t.Run("altered payload, missing echo, error and missing completions", func(t *testing.T) {
		h := newHB().
			inv(0, 0, "echo", "Please echo 5").ok(1, 0, "echo", reply("Please echo 6", 1)).
			inv(2, 0, "echo", "Please echo 5").ok(3, 0, "echo", history.JSON(`{"in_reply_to":2,"type":"echo_ok"}`)).
			inv(4, 0, "echo", "Please echo 5").info(5, 0, "echo", "Please echo 5").
			inv(6, 1, "echo", "Please echo 9").h
		r := Echo(h)
		require.Equal(t, false, get(t, r, "valid?"))
		errs := get(t, r, "errors").(history.List)
		require.Len(t, errs, 4)
		requireSame(t, []any{"Expected a message with :echo", "Please echo 5", "But received", reply("Please echo 6", 1)}, errs[0])
		requireSame(t, []any{"Expected a message with :echo", "Please echo 5", "But received", "Please echo 5"}, errs[2])
		requireSame(t, []any{"Expected a message with :echo", "Please echo 9", "But received", nil}, errs[3])
	})
	t.Run("escaped payload still matches", func(t *testing.T) {
		h := newHB().inv(0, 0, "echo", "a<b>&\"c\"").
			ok(1, 0, "echo", history.JSON(`{"echo":"a\u003cb>&\"c\"","type":"echo_ok"}`)).h
		require.Equal(t, true, get(t, Echo(h), "valid?"))
	})
}
