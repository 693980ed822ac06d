package journal

import (
	"testing"

	"github.com/anishathalye/porcupine"
	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
	"github.com/stretchr/testify/require"
)

func TestIsClient(t *testing.T) {
	_ = porcupine.Ok
	_ = maelstrom.Crash
	require.True(t, IsClient("c12"))
	require.False(t, IsClient("n1"))
	require.False(t, IsClient("lin-kv"))
	require.False(t, IsClient(""))
}
