package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/nemesis"
)

func TestFaultSpans(t *testing.T) {
	sec := int64(1e9)
	killed := history.NewMap().Set("n1", history.Keyword("killed"))
	paused := history.NewMap()
	h := history.History{
		nemesis.NodeInvoke(nemesis.FKill, nemesis.OneNode),
		{Type: history.Info, Process: history.Nemesis, F: nemesis.FKill, Value: killed},
		nemesis.StartInvoke(nemesis.Majority),
		nemesis.NodeInvoke(nemesis.FPause, nemesis.MinorityThirdNodes),
		{Type: history.Info, Process: history.Nemesis, F: nemesis.FPause, Value: paused},
		nemesis.NodeInvoke(nemesis.FStartNode, nemesis.AllNodes),
		nemesis.StopInvoke(),
		nemesis.NodeInvoke(nemesis.FResume, nemesis.AllNodes),
		{Type: history.Info, Process: history.Nemesis, F: nemesis.FStartPacket, Value: nemesis.PacketValue(0.1, 0)},
		{Type: history.Invoke, Process: 0, F: "read"},
	}
	for i := range h {
		h[i].Index, h[i].Time = int64(i), int64(i)*sec
	}
	spans := partitions(h)
	require.Len(t, spans, 4)
	byKind := map[string]span{}
	for _, s := range spans {
		byKind[s.kind] = s
	}
	require.Equal(t, span{from: 0, to: 5, kind: "kill", colour: "#E9A4A0", label: "kill n1"}, byKind["kill"])
	require.Equal(t, span{from: 2, to: 6, kind: "partition", colour: "#E9DCA0", label: "partition majority"}, byKind["partition"])
	require.Equal(t, span{from: 3, to: 7, kind: "pause", colour: "#A0B1E9", label: "pause (no node)"}, byKind["pause"])
	require.Equal(t, "packet", spans[3].kind)
	require.Equal(t, 9.0, spans[3].to, "an open span lasts to the end of the history")
	require.Equal(t, "#D1E8A0", spans[3].colour)

	legend := legendFor(spans)
	require.Len(t, legend, 7)
	require.Equal(t, [2]string{"#E9A4A0", "kill"}, legend[4])

	svg := latencyRaw(nil, spans, h)
	for _, c := range []string{"#E9DCA0", "#E9A4A0", "#A0B1E9", "#D1E8A0"} {
		require.True(t, strings.Contains(svg, `fill="`+c+`"`), c)
	}
}
