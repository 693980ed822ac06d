package journal

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsClient(t *testing.T) {
	require.True(t, IsClient("c12"))
	require.False(t, IsClient("n1"))
	require.False(t, IsClient("lin-kv"), "services are server traffic")
	require.False(t, IsClient(""))
	e := Event{Src: "n1", Dest: "c3"}
	require.True(t, e.ClientTraffic())
	e = Event{Src: "n1", Dest: "seq-kv"}
	require.False(t, e.ClientTraffic())
}
