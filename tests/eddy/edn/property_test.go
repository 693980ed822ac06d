package edn

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

var seedFlag = flag.Uint64("seed", 0, "seed for property tests (0: time-based)")

func testSeed(t *testing.T) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with -seed=%d", seed)
		}
	})
	return seed
}

// randString mixes plain text, escapes, unicode and the odd invalid byte.
func randString(r *rand.Rand) string {
	parts := []string{"a", "Z", " ", "\"", "\\", "\n", "\t", "\r", "\f", "\b", "\x01", "\x7f", "é", "✓", "😀", "\u2028", "\xff", ",", ":", "{", "}", "[", "#"}
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

func randKey(r *rand.Rand) string {
	keys := []string{"valid?", "count", "ok-count", "msgs-per-op", "n1", "by-f", "a b", "", "0.5", "1", "x:y"}
	if r.IntN(4) == 0 {
		return randString(r)
	}
	return keys[r.IntN(len(keys))]
}

func randJSON(r *rand.Rand, depth int) string {
	switch n := r.IntN(9); {
	case depth > 3 || n < 3:
		scalars := []string{"null", "true", "false", "0", "-12", "1.50", "2e10", "-0.5E-3", `"x"`, `"\u00e9\n"`, `"\ud83d\ude00"`}
		return scalars[r.IntN(len(scalars))]
	case n < 6:
		var items []string
		for range r.IntN(4) {
			items = append(items, randJSON(r, depth+1))
		}
		return "[" + strings.Join(items, ", ") + "]"
	default:
		var items []string
		for i := range r.IntN(4) {
			k, _ := json.Marshal(randString(r) + strconv.Itoa(i))
			items = append(items, string(k)+":"+randJSON(r, depth+1))
		}
		return "{" + strings.Join(items, ",") + "}"
	}
}

func randValue(r *rand.Rand, depth int) any {
	n := r.IntN(16)
	if depth > 3 {
		n %= 10
	}
	switch n {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.Int64() - math.MaxInt64/2
	case 3:
		return randString(r)
	case 4:
		return history.Keyword(randKey(r))
	case 5:
		fs := []float64{0, 0.5, 1, -2.25, 1e-4, 1e7, 123456789.125, 1e300, 5e-324, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}
		if r.IntN(2) == 0 {
			return history.Float(fs[r.IntN(len(fs))])
		}
		return history.Float(r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-15)))
	case 6, 7:
		return history.JSON(randJSON(r, depth))
	case 8:
		return int64(r.IntN(10))
	case 9:
		return []int64{r.Int64N(5), -r.Int64N(5)}
	case 10, 11:
		xs := []any{}
		for range r.IntN(5) {
			xs = append(xs, randValue(r, depth+1))
		}
		if n == 11 {
			return history.List(xs)
		}
		return xs
	default:
		m := history.NewMap()
		switch r.IntN(3) {
		case 0:
			m.String = true
		case 1:
			m.NumKeys = true
		}
		for range r.IntN(6) {
			m.Set(randKey(r), randValue(r, depth+1))
		}
		return m
	}
}

// TestRoundTripProperty prints random values as EDN (flat and pretty) and
// JSON, reads them back and compares with the value's meaning.
func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 1))
	for i := range 3000 {
		v := randValue(r, 0)
		want := normValue(v)

		flat, err := Marshal(v)
		require.NoError(t, err)
		require.NotContains(t, string(flat), "\n", "flat EDN must be one line")
		got, rest, err := readEDN(string(flat))
		require.NoError(t, err, "case %d: %s", i, flat)
		require.Empty(t, strings.TrimSpace(rest))
		require.Equal(t, want, got, "case %d: %s", i, flat)

		pretty, err := PrettyMarshal(v)
		require.NoError(t, err)
		got, rest, err = readEDN(string(pretty))
		require.NoError(t, err, "case %d: %s", i, pretty)
		require.Empty(t, strings.TrimSpace(rest))
		require.Equal(t, want, got, "case %d: %s", i, pretty)

		js, err := MarshalJSON(v)
		require.NoError(t, err)
		require.True(t, json.Valid(js), "case %d: %s", i, js)
		require.NotContains(t, string(js), "\n")
		dec := json.NewDecoder(strings.NewReader(string(js)))
		dec.UseNumber()
		var back any
		require.NoError(t, dec.Decode(&back))
		require.Equal(t, normJSONTree(jsonExpect(v)), normJSONTree(back), "case %d: %s", i, js)
	}
}
