package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

func TestAnchors(t *testing.T) {
	require.Equal(t, "why-workload", WhyAnchor("workload"))
	require.Equal(t, "why-workload-results-3-linearizable_", WhyAnchor("workload results 3 linearizable?!"))

	lost := history.NewMap().Set("valid?", false).Set("lost-count", int64(1)).Set("lost", history.List{int64(7)})
	results := history.NewMap().Set("workload", lost).Set("valid?", false)
	require.Equal(t, "#lost", Anchor(results))
	dup := history.NewMap().Set("workload", history.NewMap().Set("valid?", false).Set("duplicated-count", int64(2))).Set("valid?", false)
	require.Equal(t, "#why-workload", Anchor(dup))
	require.Equal(t, "", Anchor(history.NewMap().Set("valid?", true)))
	require.Equal(t, "#quantiles", FigureAnchor("workload/stable-latencies/0.5"))
	require.Equal(t, "#net", FigureAnchor("net/servers/msgs-per-op"))
	require.Equal(t, "#availability", FigureAnchor("availability/ok-fraction"))

	// Value 7 goes client -> n1, n1 -> n2 (never delivered); msg_id 7 of
	// another message is not the value.
	ev := func(kind journal.Kind, id int64, src, dest, body string) journal.Event {
		return journal.Event{Time: id * 1e6, Kind: kind, ID: id, Src: src, Dest: dest, Body: json.RawMessage(body)}
	}
	j := []journal.Event{
		ev(journal.Send, 0, "c1", "n1", `{"type":"broadcast","message":7,"msg_id":1}`),
		ev(journal.Recv, 0, "c1", "n1", `{"type":"broadcast","message":7,"msg_id":1}`),
		ev(journal.Send, 1, "n1", "n2", `{"type":"gossip","values":[5,7],"msg_id":2}`),
		ev(journal.Send, 2, "c2", "n2", `{"type":"read","msg_id":7}`),
		ev(journal.Recv, 2, "c2", "n2", `{"type":"read","msg_id":7}`),
	}
	dir := t.TempDir()
	require.NoError(t, Write(dir, Input{Results: results, Journal: j, Nodes: []string{"n1", "n2"}, Workload: "broadcast"}))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	s := string(page)
	for _, want := range []string{`<h3 id="lost">`, `<a href="#msg-0">c1→n1</a> → <a href="#msg-1">n1→n2 ✕ never delivered</a></li>`,
		`id="msg-0"`, `id="msg-1"`, `id="why-workload"`} {
		require.Contains(t, s, want)
	}
	require.NotContains(t, s, `href="#msg-2"`)

	f := Failure{Path: "workload results 3 linearizable", Figures: []Figure{{Key: "anomaly-types", Value: "[:G1a :G-single :G1]"}}}
	files := []string{"independent/3/linear.html", "independent/30/linear.html", "elle/G1a.txt", "elle/G-single.txt", "elle/G2.txt", "results.edn"}
	require.Equal(t, []string{"independent/3/linear.html", "elle/G1a.txt", "elle/G-single.txt"}, explanations(f, files))
}
