package edn

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

func counts(valid bool, n, ok, fail, info int64) *history.Map {
	return kwMap("valid?", valid, "count", n, "ok-count", ok, "fail-count", fail, "info-count", info)
}

// TestPrettyMaelstromEcho lays out the results of a Maelstrom echo run and
// compares with what Maelstrom prints for it.
func TestPrettyMaelstromEcho(t *testing.T) {
	valid := kwMap("valid?", true)
	stats := counts(true, 27, 27, 0, 0)
	stats.Set("by-f", kwMap("echo", counts(true, 27, 27, 0, 0)))
	results := kwMap(
		"perf", kwMap("latency-graph", valid, "rate-graph", valid, "valid?", true),
		"timeline", valid,
		"exceptions", valid,
		"stats", stats,
		"availability", kwMap("valid?", true, "ok-fraction", history.Float(1)),
		"net", kwMap(
			"all", kwMap("send-count", int64(56), "recv-count", int64(56), "msg-count", int64(56), "msgs-per-op", history.Float(2.074074)),
			"clients", kwMap("send-count", int64(56), "recv-count", int64(56), "msg-count", int64(56)),
			"servers", kwMap("send-count", int64(0), "recv-count", int64(0), "msg-count", int64(0), "msgs-per-op", history.Float(0)),
			"valid?", true),
		"workload", kwMap("valid?", true, "errors", nil),
		"valid?", true,
	)
	want := `{:perf {:latency-graph {:valid? true},
        :rate-graph {:valid? true},
        :valid? true},
 :timeline {:valid? true},
 :exceptions {:valid? true},
 :stats {:valid? true,
         :count 27,
         :ok-count 27,
         :fail-count 0,
         :info-count 0,
         :by-f {:echo {:valid? true,
                       :count 27,
                       :ok-count 27,
                       :fail-count 0,
                       :info-count 0}}},
 :availability {:valid? true, :ok-fraction 1.0},
 :net {:all {:send-count 56,
             :recv-count 56,
             :msg-count 56,
             :msgs-per-op 2.074074},
       :clients {:send-count 56, :recv-count 56, :msg-count 56},
       :servers {:send-count 0,
                 :recv-count 0,
                 :msg-count 0,
                 :msgs-per-op 0.0},
       :valid? true},
 :workload {:valid? true, :errors nil},
 :valid? true}
`
	got, err := PrettyMarshal(results)
	require.NoError(t, err)
	require.Equal(t, want, string(got))

	var w bytes.Buffer
	require.NoError(t, PrettyWrite(&w, results))
	require.Equal(t, want, w.String())
}

func TestPrettyShapes(t *testing.T) {
	long := make([]any, 0, 30)
	for i := range 30 {
		long = append(long, int64(i))
	}
	cases := []struct {
		name string
		in   any
		want string
	}{
		{name: "scalar", in: int64(3), want: "3\n"},
		{name: "short map", in: kwMap("a", int64(1)), want: "{:a 1}\n"},
		{name: "empty map", in: history.NewMap(), want: "{}\n"},
		{name: "long vector", in: kwMap("lost", history.List(long)), want: "{:lost (0\n        1\n        2\n" + func() string {
			var b strings.Builder
			for i := 3; i < 30; i++ {
				b.WriteString("        ")
				b.WriteString(strings.TrimSpace(string(must(Marshal(int64(i))))))
				if i < 29 {
					b.WriteString("\n")
				}
			}
			return b.String()
		}() + ")}\n"},
		{name: "json object laid out", in: kwMap("value", history.JSON(`{"aaaaaaaaaaaaaaaa":[1,2,3],"bbbbbbbbbbbbbbbbbbbb":"cccccccccccccccccccccc","d":null}`)),
			want: "{:value {\"aaaaaaaaaaaaaaaa\" [1 2 3],\n         \"bbbbbbbbbbbbbbbbbbbb\" \"cccccccccccccccccccccc\",\n         \"d\" nil}}\n"},
		{name: "num keys", in: kwMap("stable-latencies", numMap("0", int64(0), "0.5", int64(120), "0.95", int64(340), "0.99", int64(410), "1", int64(512))),
			want: "{:stable-latencies {0 0, 0.5 120, 0.95 340, 0.99 410, 1 512}}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PrettyMarshal(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestPrettyLinesFitWhenTheyCan(t *testing.T) {
	// Every line that holds a whole flat value must fit the width: only a
	// map key plus an atom that is itself too long may overflow.
	m := history.NewMap()
	for i := range 40 {
		inner := history.NewMap()
		for j := range i % 7 {
			inner.Set("key-"+string(rune('a'+j)), int64(j*1000))
		}
		m.Set("entry-"+string(rune('a'+i%26))+string(rune('a'+i/26)), inner)
	}
	got, err := PrettyMarshal(m)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		require.LessOrEqual(t, len(line), prettyWidth+2, "line %q", line) // +2: closing braces
	}
	again, err := PrettyMarshal(m)
	require.NoError(t, err)
	require.Equal(t, got, again, "deterministic")
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
