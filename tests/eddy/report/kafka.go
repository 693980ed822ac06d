package report

import (
	"fmt"
	"strings"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/kafka"
)

// Bounds of the kafka section, so that a long run's page stays readable;
// kafka-anomalies.txt has every explanation.
const (
	maxKafkaLines   = 200 // anomaly explanations shown
	maxKafkaKeys    = 24  // keys whose log is drawn
	maxKafkaOffsets = 64  // offsets drawn per key
)

// kafkaSection writes a kafka run's anomalies, each explained (the ops, the
// key, the offsets), and the logs of the keys they involve (or of the
// first keys when there is none): offset → the messages seen there.
func kafkaSection(b *strings.Builder, h history.History) {
	a := kafka.Analyze(h)
	b.WriteString("<h2 id=\"kafka\">Kafka logs and anomalies</h2>\n")
	lines := a.Explain()
	if len(lines) == 0 {
		b.WriteString("<p>No anomaly: every key's log is consistent with every send and poll.</p>\n")
	} else {
		fmt.Fprintf(b, "<p>%d anomalies (every one in <a href=\"kafka-anomalies.txt\">kafka-anomalies.txt</a>; ops are history indexes):</p>\n<ul id=\"kafka-anomalies\">", len(lines))
		for _, l := range lines[:min(len(lines), maxKafkaLines)] {
			fmt.Fprintf(b, "<li><code>%s</code></li>", esc(l))
		}
		if len(lines) > maxKafkaLines {
			fmt.Fprintf(b, "<li>… %d more</li>", len(lines)-maxKafkaLines)
		}
		b.WriteString("</ul>\n")
	}
	keys := kafkaKeys(a)
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(b, "<p class=\"muted\">Logs of %d of %d keys as the checker built them from sends and polls, offset: message; red: several messages at one offset; … marks offsets that hold nothing.</p>\n", len(keys), len(a.Keys()))
	b.WriteString("<table id=\"kafka-logs\"><tr><th class=\"l\">key</th><th>offsets</th><th class=\"l\">log</th></tr>")
	for _, k := range keys {
		log := a.Log(k)
		fmt.Fprintf(b, "<tr><td class=\"l\">%s</td><td>%d</td><td class=\"l\"><code>", esc(k), len(log))
		prev := int64(-1)
		for i, e := range log {
			if i == maxKafkaOffsets {
				fmt.Fprintf(b, " … %d more offsets", len(log)-i)
				break
			}
			if e.Offset > prev+1 {
				b.WriteString("… ")
			}
			prev = e.Offset
			text := fmt.Sprintf("%d:%s", e.Offset, kafkaValues(e.Values))
			if len(e.Values) > 1 {
				fmt.Fprintf(b, "<b style=\"color:#a11\">%s</b> ", esc(text))
			} else {
				b.WriteString(esc(text) + " ")
			}
		}
		b.WriteString("</code></td></tr>")
	}
	b.WriteString("</table>\n")
}

// kafkaKeys picks the keys to draw: those named by anomalies, in order of
// first mention, else the first keys.
func kafkaKeys(a *kafka.Analysis) []string {
	var keys []string
	seen := map[string]bool{}
	for _, t := range a.Types() {
		for _, c := range a.Cases(t) {
			if k, ok := c.Key(); ok && !seen[k] && a.Log(k) != nil {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		keys = a.Keys()
	}
	return keys[:min(len(keys), maxKafkaKeys)]
}

// kafkaValues prints the messages at one offset: one message as itself,
// several as a set.
func kafkaValues(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		s, err := edn.Marshal(v)
		if err != nil {
			s = []byte(fmt.Sprint(v))
		}
		parts[i] = string(s)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "{" + strings.Join(parts, " ") + "}"
}
