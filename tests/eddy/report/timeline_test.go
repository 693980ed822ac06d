package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

var boxRE = regexp.MustCompile(`<div class="op (\w+)" id="i(\d+)" style="width:100;left:(\d+);top:(\d+);height:(\d+)"`)

type box struct {
	typ                      string
	index, left, top, height int
}

func boxes(t *testing.T, page []byte) []box {
	t.Helper()
	var out []box
	for _, m := range boxRE.FindAllStringSubmatch(string(page), -1) {
		n := func(s string) int {
			var x int
			for _, c := range s {
				x = x*10 + int(c-'0')
			}
			return x
		}
		out = append(out, box{m[1], n(m[2]), n(m[3]), n(m[4]), n(m[5])})
	}
	return out
}

func tlHistory() history.History {
	h := history.History{
		{Type: history.Invoke, Process: 0, F: "write", Value: []any{int64(1), int64(3)}},
		{Type: history.Info, Process: history.Nemesis, F: "start-partition", Value: history.Keyword("majority")},
		{Type: history.Invoke, Process: 1, F: "read", Value: []any{int64(2), nil}},
		{Type: history.OK, Process: 0, F: "write", Value: []any{int64(1), int64(3)}},
		{Type: history.Fail, Process: 1, F: "read", Value: []any{int64(2), nil}, Error: []any{history.Keyword("key-does-not-exist"), "no"}},
		{Type: history.Invoke, Process: 2, F: "cas", Value: []any{int64(1), []any{int64(3), int64(4)}}},
		{Type: history.Info, Process: 2, F: "cas", Value: []any{int64(1), []any{int64(3), int64(4)}}, Error: history.Keyword("net-timeout")},
		{Type: history.Invoke, Process: 3, F: "read", Value: []any{int64(1), nil}}, // never completes
	}
	for i := range h {
		h[i].Index = int64(i)
		h[i].Time = int64(i) * 2_000_000
	}
	return h
}

// TestTimeline: Jepsen's layout: a column per process with the nemesis
// first, boxes from invocation to completion in event rows, an :info box
// to the end, open invocations left out.
func TestTimeline(t *testing.T) {
	page := Timeline("lin-kv", tlHistory(), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	got := boxes(t, page)
	require.Equal(t, []box{
		{"info", 1, 0, 16, 16},       // nemesis: a lone info, column 0
		{"ok", 3, 106, 0, 48},        // process 0, rows 0..3
		{"fail", 4, 212, 32, 32},     // process 1, rows 2..4
		{"info", 6, 318, 80, 16 * 4}, // process 2, from row 5 to the end (len 8 + 1 - 5)
	}, got)
	s := string(page)
	require.Contains(t, s, "<h1>lin-kv</h1>")
	require.Contains(t, s, "0 write [1 3]")
	require.Contains(t, s, "1 read [2 nil]")
	require.Contains(t, s, "Dur: 4 ms")
	require.Contains(t, s, "Err: [:key-does-not-exist &#34;no&#34;]")
	require.Contains(t, s, "Wall-clock Time: 2026-01-02T03:04:05.006Z")
	require.Contains(t, s, `href="#i3"`)
	require.NotContains(t, s, "truncation-warning\">")
}

func TestTimelineLimit(t *testing.T) {
	var h history.History
	for i := 0; i < TimelineOpLimit+5; i++ {
		h = append(h, history.Op{Index: int64(len(h)), Type: history.Invoke, Process: 0, F: "read"},
			history.Op{Index: int64(len(h) + 1), Type: history.OK, Process: 0, F: "read"})
	}
	page := string(Timeline("big", h, time.Time{}))
	require.Equal(t, TimelineOpLimit, strings.Count(page, `<div class="op `))
	require.Contains(t, page, "Showing only 10000 of 10005 operations")
	require.NotContains(t, page, "Wall-clock")
}

// TestWriteTimelines: lin-kv gets one timeline per key, with unwrapped
// values and the nemesis ops in each.
func TestWriteTimelines(t *testing.T) {
	files := map[string]string{}
	write := func(name string, data []byte) error { files[name] = string(data); return nil }
	require.NoError(t, WriteTimelines(write, "lin-kv", tlHistory(), time.Time{}, true))
	require.Len(t, files, 3)
	k1 := files["independent/1/timeline.html"]
	require.Contains(t, k1, "<h1>lin-kv key 1</h1>")
	require.Contains(t, k1, "0 write 3<")
	require.Contains(t, k1, "2 cas [3 4]")
	require.Contains(t, k1, "start-partition")
	require.NotContains(t, k1, "1 read")
	require.Len(t, boxes(t, []byte(k1)), 3)
	require.Contains(t, files["independent/2/timeline.html"], "1 read </div>")

	files = map[string]string{}
	require.NoError(t, WriteTimelines(write, "echo", tlHistory(), time.Time{}, false))
	require.Len(t, files, 1)
	require.Contains(t, files, "timeline.html")
}

// TestReportShowsWarnings: eddy-only findings appear in the page as
// warnings, also when the run is valid, and the timeline is linked.
func TestReportShowsWarnings(t *testing.T) {
	dir := t.TempDir()
	wl := history.NewMap().Set("valid?", true).Set("eddy-only", []any{
		history.NewMap().Set("anomaly", history.Keyword("garbage-read")).Set("count", int64(3)).
			Set("explanation", "a value nobody wrote"),
	})
	res := history.NewMap().Set("workload", wl).Set("valid?", true)
	require.Equal(t, []Warning{{Path: "workload", Anomaly: "garbage-read", Explanation: "a value nobody wrote", Count: 3, Details: ":count 3"}}, Warnings(res))
	require.NoError(t, WriteTimelines(func(name string, data []byte) error {
		return os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}, "txn-rw-register", tlHistory(), time.Time{}, false))
	require.NoError(t, Write(dir, Input{Results: res, History: tlHistory(), Workload: "txn-rw-register"}))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	s := string(page)
	require.Contains(t, s, "Warnings (eddy only)")
	require.Contains(t, s, "<b>garbage-read</b> a value nobody wrote")
	require.Contains(t, s, `<a href="timeline.html">timeline.html</a>`)
	require.Contains(t, s, `class="verdict valid"`)
}
