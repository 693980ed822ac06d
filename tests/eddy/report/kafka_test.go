package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// kafkaHistory has two acknowledged sends to key "7" at offset 0 and a
// poll that returns the first there, then a send to key "8" at offset 2.
func kafkaHistory() history.History {
	send := func(k string, v int64) any { return []any{[]any{history.Keyword("send"), k, v}} }
	sent := func(k string, off, v int64) any {
		return []any{[]any{history.Keyword("send"), k, []any{off, v}}}
	}
	polled := history.NewMap()
	polled.String = true
	polled.Set("7", []any{[]any{int64(0), int64(1)}})
	poll := []any{[]any{history.Keyword("poll")}}
	h := history.History{
		{Type: history.Invoke, Process: 0, F: "send", Value: send("7", 1)},
		{Type: history.OK, Process: 0, F: "send", Value: sent("7", 0, 1)},
		{Type: history.Invoke, Process: 1, F: "send", Value: send("7", 2)},
		{Type: history.OK, Process: 1, F: "send", Value: sent("7", 0, 2)},
		{Type: history.Invoke, Process: 2, F: "poll", Value: poll},
		{Type: history.OK, Process: 2, F: "poll", Value: []any{[]any{history.Keyword("poll"), polled}}},
		{Type: history.Invoke, Process: 0, F: "send", Value: send("8", 5)},
		{Type: history.OK, Process: 0, F: "send", Value: sent("8", 2, 5)},
	}
	for i := range h {
		h[i].Index, h[i].Time = int64(i), int64(i)*1e6
	}
	return h
}

func TestKafkaSection(t *testing.T) {
	var b strings.Builder
	kafkaSection(&b, kafkaHistory())
	page := b.String()
	require.Contains(t, page, `<ul id="kafka-anomalies">`)
	require.Contains(t, page, esc(`inconsistent-offsets: key "7": offset 0 holds 2 different messages [1 2]: `+
		`1 sent there by process 0's ok send (op 1) and polled there first by process 2's ok poll (op 5)`))
	// Only the key with an anomaly is drawn, its shared offset in red.
	require.Contains(t, page, `<tr><td class="l">7</td><td>1</td><td class="l"><code><b style="color:#a11">0:{1 2}</b> </code></td></tr>`)
	require.NotContains(t, page, `<td class="l">8</td>`)

	// When no anomaly names a key (unseen is a summary), the first keys
	// are drawn, gaps marked.
	b.Reset()
	kafkaSection(&b, kafkaHistory()[6:])
	require.Contains(t, b.String(), `unseen: key &#34;8&#34;: 1 acknowledged messages were never polled`)
	require.Contains(t, b.String(), `<tr><td class="l">8</td><td>1</td><td class="l"><code>… 2:5 </code></td></tr>`)

	// A send and the poll that returns it: nothing to explain.
	good := append(append(history.History{}, kafkaHistory()[:2]...), kafkaHistory()[4:6]...)
	for i := range good {
		good[i].Index = int64(i)
	}
	b.Reset()
	kafkaSection(&b, good)
	require.Contains(t, b.String(), "No anomaly")
	require.Contains(t, b.String(), `<tr><td class="l">7</td><td>1</td><td class="l"><code>0:1 </code></td></tr>`)
}

func TestKafkaReport(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kafka-anomalies.txt"), []byte("x\n"), 0o644))
	in := Input{Results: history.NewMap().Set("valid?", false), History: kafkaHistory(), Workload: "kafka", Nodes: []string{"n0"}}
	require.NoError(t, Write(dir, in))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), `<h2 id="kafka">`)
	require.Contains(t, string(page), `Explanations: <a href="kafka-anomalies.txt">`)

	in.Workload = "lin-kv"
	require.NoError(t, Write(dir, in))
	page, err = os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.NotContains(t, string(page), `<h2 id="kafka">`)
}
