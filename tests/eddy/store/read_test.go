package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

func mustJSON(t *testing.T, s string) history.JSON {
	t.Helper()
	j, err := history.CanonicalJSON([]byte(s))
	require.NoError(t, err)
	return j
}

// roundTrip writes h and reads it back with shape.
func roundTrip(t *testing.T, h history.History, shape ValueShape) history.History {
	t.Helper()
	r, err := Create(t.TempDir(), "w", start)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.WriteHistory(h))
	got, err := ReadHistory(r.Dir(), shape)
	require.NoError(t, err)
	return got
}

func index(h history.History) history.History {
	for i := range h {
		h[i].Index = int64(i)
		h[i].Time = int64(i) * 1000
	}
	return h
}

// TestReadHistoryRoundTrip: every kind of value eddy records comes back
// as the same Go value from history.jsonl.
func TestReadHistoryRoundTrip(t *testing.T) {
	grudge := history.NewMap()
	grudge.String = true
	grudge.Set("n1", []any{"n2", "n3"}).Set("n2", []any{"n1"})
	data := index(history.History{
		{Type: history.Info, Process: history.Nemesis, F: "start-partition", Value: history.Keyword("majority")},
		{Type: history.Info, Process: history.Nemesis, F: "start-partition", Value: []any{history.Keyword("isolated"), grudge}},
		{Type: history.Invoke, Process: 0, F: "read", Value: []any{int64(3), nil}},
		{Type: history.OK, Process: 0, F: "read", Value: []any{int64(3), int64(-4)}},
		{Type: history.Invoke, Process: 1, F: "cas", Value: []any{int64(3), []any{int64(1), int64(2)}}},
		{Type: history.Fail, Process: 1, F: "cas", Value: []any{int64(3), []any{int64(1), int64(2)}},
			Error: []any{history.Keyword("precondition-failed"), "expected 1"}},
		{Type: history.Invoke, Process: 2, F: "read"},
		{Type: history.OK, Process: 2, F: "read", Value: []any{int64(1), mustJSON(t, `"x"`), mustJSON(t, `{"b":1,"a":2}`), mustJSON(t, `1.5`)}, Final: true},
		{Type: history.Invoke, Process: 3, F: "add", Value: int64(2)},
		{Type: history.Info, Process: 3, F: "add", Value: int64(2), Error: history.Keyword("net-timeout")},
		{Type: history.Invoke, Process: 7, F: "add", Value: int64(2)},
		{Type: history.Info, Process: 7, F: "add", Value: int64(2), Error: "indeterminate: bad reply", Exception: "bad reply"},
		{Type: history.Info, Process: history.Nemesis, F: "stop-partition", Value: history.Keyword("network-healed")},
	})
	require.Equal(t, data, roundTrip(t, data, ShapeData))

	opaque := index(history.History{
		{Type: history.Invoke, Process: 0, F: "echo", Value: "Please echo 5"},
		{Type: history.OK, Process: 0, F: "echo", Value: mustJSON(t, `"Please echo 5"`)},
		{Type: history.Invoke, Process: 0, F: "generate"},
		{Type: history.OK, Process: 0, F: "generate", Value: mustJSON(t, `17`)},
	})
	require.Equal(t, opaque, roundTrip(t, opaque, ShapeOpaque))

	txn := index(history.History{
		{Type: history.Invoke, Process: 0, F: "txn", Value: []any{[]any{history.Keyword("r"), int64(1), nil}, []any{history.Keyword("append"), int64(2), int64(9)}}},
		{Type: history.OK, Process: 0, F: "txn", Value: []any{[]any{history.Keyword("r"), int64(1), []any{int64(1), int64(4)}}, []any{history.Keyword("append"), int64(2), int64(9)}}},
		{Type: history.Invoke, Process: 1, F: "txn", Value: []any{[]any{history.Keyword("r"), int64(1), nil}}},
		{Type: history.OK, Process: 1, F: "txn", Value: []any{[]any{history.Keyword("r"), int64(1), mustJSON(t, `"zero"`)}}},
	})
	require.Equal(t, txn, roundTrip(t, txn, ShapeTxn))

	polled := history.NewMap()
	polled.String = true
	polled.Set("3", []any{[]any{int64(11), int64(6)}, []any{int64(12), mustJSON(t, `"x"`)}}).Set("10", []any{})
	empty := history.NewMap()
	empty.String = true
	kafka := index(history.History{
		{Type: history.Invoke, Process: 0, F: "crash"},
		{Type: history.Info, Process: 0, F: "crash"},
		{Type: history.Invoke, Process: 2, F: "assign", Value: []any{"3", "10"}, Final: true},
		{Type: history.OK, Process: 2, F: "assign", Value: []any{"3", "10"}, Final: true},
		{Type: history.Invoke, Process: 2, F: "send", Value: []any{[]any{history.Keyword("send"), "3", int64(7)}}},
		{Type: history.OK, Process: 2, F: "send", Value: []any{[]any{history.Keyword("send"), "3", []any{int64(12), int64(7)}}}},
		{Type: history.Invoke, Process: 2, F: "poll", Value: []any{[]any{history.Keyword("poll")}}},
		{Type: history.OK, Process: 2, F: "poll", Value: []any{[]any{history.Keyword("poll"), polled}}},
		{Type: history.Invoke, Process: 2, F: "poll", Value: []any{[]any{history.Keyword("poll")}}},
		{Type: history.OK, Process: 2, F: "poll", Value: []any{[]any{history.Keyword("poll"), empty}}},
		{Type: history.Invoke, Process: 1, F: "assign", Value: []any{}},
		{Type: history.Fail, Process: 1, F: "assign", Value: []any{}, Error: history.Keyword("net-timeout")},
	})
	require.Equal(t, kafka, roundTrip(t, kafka, ShapeKafka))
}

func TestReadJournalRoundTrip(t *testing.T) {
	r, err := Create(t.TempDir(), "w", start)
	require.NoError(t, err)
	defer r.Close()
	events := []journal.Event{
		{Time: 1, Kind: journal.Send, ID: 0, Src: "c1", Dest: "n1", Body: json.RawMessage(`{"type":"echo","msg_id":1}`)},
		{Time: 5, Kind: journal.Recv, ID: 0, Src: "c1", Dest: "n1", Body: json.RawMessage(`{"type":"echo","msg_id":1}`)},
	}
	require.NoError(t, r.WriteJournal(events))
	got, err := ReadJournal(r.Dir())
	require.NoError(t, err)
	require.Equal(t, events, got)
}

// TestReadHistoryBadInput: a damaged file is an error naming the line,
// never a panic.
func TestReadHistoryBadInput(t *testing.T) {
	for _, text := range []string{
		`{"index":0,"time":0,"type":"invoke","process":0,"f":"read","value":null}` + "\n" + `{"index":5`,
		`{"index":0,"time":0,"type":"bogus","process":0}`,
		`{"index":1,"time":0,"type":"invoke","process":0}`,
		`{"index":0,"time":0,"type":"invoke","process":"x"}`,
		`{"index":0,"time":0,"type":"ok","process":0,"f":"txn","value":[["r"]]}`,
	} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(text), 0o644))
		_, err := ReadHistory(dir, ShapeTxn)
		require.Error(t, err, text)
		require.Contains(t, err.Error(), "history.jsonl line")
	}
	_, err := ReadHistory(t.TempDir(), ShapeData)
	require.Error(t, err)
}
