package netsim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogLineIsMaelstromsMessageRecord(t *testing.T) {
	for body, want := range map[string]string{
		`{"type":"echo","echo":"hi \"x\"","msg_id":1}`:             `{:type "echo", :echo "hi \"x\"", :msg_id 1}`,
		`{"type":"txn","txn":[["r",1,null]],"m":{"k":[true,1.5]}}`: `{:type "txn", :txn [["r" 1 nil]], :m {"k" [true 1.5]}}`,
		`{}`:                                   `{}`,
		`{ }`:                                  `{}`,
		`{"a":1,"b":2,"a":3}`:                  `{:a 3, :b 2}`,
		`[1,"x"]`:                              `[1 "x"]`,
		`null`:                                 `nil`,
		``:                                     `nil`,
		`{"in_reply_to":18446744073709551617}`: `{:in_reply_to 18446744073709551617}`,
	} {
		m := Message{ID: 12, Src: "n1", Dest: "c3", Body: json.RawMessage(body)}
		require.Equal(t, `:send #maelstrom.net.message.Message{:id 12, :src "n1", :dest "c3", :body `+want+`}`,
			m.LogLine("send"), body)
	}
	m := Message{ID: 0, Src: "lin-kv", Dest: "n\"0", Body: json.RawMessage(`{"type":"ok"}`)}
	require.Equal(t, `:recv #maelstrom.net.message.Message{:id 0, :src "lin-kv", :dest "n\"0", :body {:type "ok"}}`, m.LogLine("recv"))
}
