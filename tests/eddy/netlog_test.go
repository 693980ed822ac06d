package eddy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/netsim"
)

// --log-net-send and --log-net-recv print Maelstrom's console lines: level,
// the sending or receiving thread, the logger, and the message record.
func TestNetLogLines(t *testing.T) {
	var buf bytes.Buffer
	net, err := netsim.New(netsim.Config{Log: slog.New(newNetLogHandler(&buf)), LogSend: true, LogRecv: true})
	require.NoError(t, err)
	for _, id := range []string{"n1", "c2", "lin-kv"} {
		require.NoError(t, net.Add(id))
	}
	ctx := t.Context()
	_, err = net.Send("c2", "n1", json.RawMessage(`{"type":"echo","echo":"x","msg_id":1}`))
	require.NoError(t, err)
	_, err = net.Recv(ctx, "n1")
	require.NoError(t, err)
	_, err = net.Send("n1", "lin-kv", json.RawMessage(`{"type":"read","key":1,"msg_id":2}`))
	require.NoError(t, err)
	_, err = net.Recv(ctx, "lin-kv")
	require.NoError(t, err)
	require.Equal(t, "INFO\t[c2] maelstrom.net: :send #maelstrom.net.message.Message{:id 0, :src \"c2\", :dest \"n1\", :body {:type \"echo\", :echo \"x\", :msg_id 1}}\n"+
		"INFO\t[n1 stdin] maelstrom.net: :recv #maelstrom.net.message.Message{:id 0, :src \"c2\", :dest \"n1\", :body {:type \"echo\", :echo \"x\", :msg_id 1}}\n"+
		"INFO\t[n1 stdout] maelstrom.net: :send #maelstrom.net.message.Message{:id 1, :src \"n1\", :dest \"lin-kv\", :body {:type \"read\", :key 1, :msg_id 2}}\n"+
		"INFO\t[maelstrom lin-kv] maelstrom.net: :recv #maelstrom.net.message.Message{:id 1, :src \"n1\", :dest \"lin-kv\", :body {:type \"read\", :key 1, :msg_id 2}}\n",
		buf.String())

	// Other records keep their attributes.
	buf.Reset()
	slog.New(newNetLogHandler(&buf)).Warn("queue full", "n", 3, "at", time.Duration(0))
	require.Equal(t, "WARN\t[maelstrom] maelstrom.net: queue full n=3 at=0s\n", buf.String())
}
