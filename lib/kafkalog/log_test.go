package kafkalog

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func enc(t *testing.T, c Command) []byte {
	t.Helper()
	b, err := Encode(c)
	require.NoError(t, err)
	return b
}

func send(client string, id int64, key, msg string) Command {
	return Command{Client: client, ID: id, Op: OpSend, Key: key, Msg: json.RawMessage(msg)}
}

func commit(client string, id int64, offs map[string]int64) Command {
	return Command{Client: client, ID: id, Op: OpCommit, Offsets: offs}
}

func TestApply(t *testing.T) {
	cases := []struct {
		name string
		cmds []Command
		want []Result // one per command
		logs map[string][]string
		comm map[string]int64
	}{
		{
			name: "offsets are dense per key, from 0",
			cmds: []Command{send("c1", 1, "a", "10"), send("c1", 2, "b", "20"), send("c2", 1, "a", "11")},
			want: []Result{{Code: OK, Offset: 0}, {Code: OK, Offset: 0}, {Code: OK, Offset: 1}},
			logs: map[string][]string{"a": {"10", "11"}, "b": {"20"}},
		},
		{
			name: "a duplicate gets the first result and appends nothing",
			cmds: []Command{send("c1", 1, "a", "1"), send("c1", 1, "a", "1"), send("c1", 2, "a", "2")},
			want: []Result{{Code: OK}, {Code: OK}, {Code: OK, Offset: 1}},
			logs: map[string][]string{"a": {"1", "2"}},
		},
		{
			name: "an older request than the client's last is stale",
			cmds: []Command{send("c1", 5, "a", "1"), send("c1", 3, "a", "2")},
			want: []Result{{Code: OK}, {Code: Stale}},
			logs: map[string][]string{"a": {"1"}},
		},
		{
			name: "commits only raise offsets",
			cmds: []Command{commit("c1", 1, map[string]int64{"a": 4, "b": 2}), commit("c2", 1, map[string]int64{"a": 3, "c": 0})},
			want: []Result{{Code: OK}, {Code: OK}},
			comm: map[string]int64{"a": 4, "b": 2, "c": 0},
		},
		{
			name: "big integers stay exact",
			cmds: []Command{send("c1", 1, "k", "9007199254740993")},
			want: []Result{{Code: OK}},
			logs: map[string][]string{"k": {"9007199254740993"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := NewLog()
			for i, cmd := range c.cmds {
				require.Equal(t, c.want[i], l.Apply(int64(i+1), enc(t, cmd)), "command %d", i)
			}
			for k, msgs := range c.logs {
				got := l.Poll(map[string]int64{k: 0}, 0)[k]
				require.Len(t, got, len(msgs))
				for i, e := range got {
					require.Equal(t, int64(i), e.Offset)
					require.JSONEq(t, msgs[i], string(e.Msg))
				}
			}
			if c.comm != nil {
				require.Equal(t, c.comm, l.Committed([]string{"a", "b", "c", "zz"}))
			}
		})
	}
}

func TestApplyRefusesInvalid(t *testing.T) {
	l := NewLog()
	for _, data := range []string{
		`not json`, `{}`, `{"c":"c1","id":1,"op":"frob"}`, `{"c":"c1","id":1,"op":"send","k":"a"}`,
		`{"c":"","id":1,"op":"send","k":"a","m":1}`, `{"c":"c1","id":0,"op":"send","k":"a","m":1}`,
		`{"c":"c1","id":1,"op":"commit","o":{"a":-1}}`,
	} {
		require.Equal(t, Result{Code: Invalid}, l.Apply(1, []byte(data)), data)
	}
	require.Empty(t, l.Keys())
	require.Empty(t, l.Committed([]string{"a"}))
}

func TestPoll(t *testing.T) {
	l := NewLog()
	for i := range 5 {
		l.Apply(int64(i+1), enc(t, send("c1", int64(i+1), "a", strconv.Itoa(i))))
	}
	got := l.Poll(map[string]int64{"a": 3, "b": 0}, 0)
	require.Equal(t, map[string][]Entry{"a": {{3, json.RawMessage("3")}, {4, json.RawMessage("4")}}}, got,
		"from offset 3 on; keys without messages are left out")
	require.Len(t, l.Poll(map[string]int64{"a": 0}, 2)["a"], 2, "at most limit per key")
	require.Len(t, l.Poll(map[string]int64{"a": -7}, 0)["a"], 5, "a negative offset reads from 0")
	require.Empty(t, l.Poll(map[string]int64{"a": 99}, 0))
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":[[3,3],[4,4]]}`, string(b), "entries are [offset, msg] pairs")
	var back map[string][]Entry
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, got, back)
	var e Entry
	require.Error(t, json.Unmarshal([]byte(`[1]`), &e))
}

func TestSnapshotRestore(t *testing.T) {
	l := NewLog()
	l.Apply(1, enc(t, send("c1", 1, "a", "7")))
	l.Apply(2, enc(t, commit("c1", 2, map[string]int64{"a": 0})))
	snap, err := l.Snapshot()
	require.NoError(t, err)
	r := NewLog()
	require.NoError(t, r.Restore(snap))
	again, err := r.Snapshot()
	require.NoError(t, err)
	require.Equal(t, string(snap), string(again), "equal logs encode equally")
	require.Equal(t, Result{Code: OK}, r.Apply(3, enc(t, send("c1", 2, "a", "8"))), "the session came along: a duplicate")
	require.Equal(t, 1, r.Len("a"))
	require.Equal(t, Result{Code: OK, Offset: 1}, r.Apply(4, enc(t, send("c1", 3, "a", "8"))))
	require.Error(t, r.Restore([]byte("nope")))
	empty := NewLog()
	require.NoError(t, empty.Restore([]byte(`{}`)))
	require.Equal(t, Result{Code: OK}, empty.Apply(1, enc(t, send("c9", 1, "z", "1"))))
}

// TestSnapshotExact: a snapshot taken at any point of a random run of
// sends (messages of every JSON kind, escapes and big integers included),
// commits, duplicates and stale requests restores into a Log that answers
// every later command, poll and list exactly as the original does, and
// encodes to the same bytes: every log, committed offset and client
// session comes along.
func TestSnapshotExact(t *testing.T) {
	msgs := []string{`1`, `-0`, `9007199254740993`, `-12345678901234567890`, `1.5e300`, `"<a&b>"`,
		`"\u00e9\u2028\ud83d\ude00"`, `"tab\tquote\"backslash\\"`, `null`, `true`, `[]`, `{}`,
		`{"z":[1,{"y":null}],"a":"x"}`, `[1, 2 ,3]`}
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		var cmds []Command
		ids := map[string]int64{}
		for range 1 + r.IntN(200) {
			c := fmt.Sprintf("c%d", r.IntN(5))
			switch k := r.IntN(10); {
			case k < 6:
				ids[c]++
				cmds = append(cmds, send(c, ids[c], strconv.Itoa(r.IntN(4)), msgs[r.IntN(len(msgs))]))
			case k < 8:
				ids[c]++
				cmds = append(cmds, commit(c, ids[c], map[string]int64{strconv.Itoa(r.IntN(4)): r.Int64N(1 << 53)}))
			case k < 9 && len(cmds) > 0:
				cmds = append(cmds, cmds[r.IntN(len(cmds))]) // a duplicate or a stale request
			default:
				ids[c] += 1 + r.Int64N(3) // a request that never reached the log
			}
		}
		at := r.IntN(len(cmds) + 1)
		orig := NewLog()
		for i, cmd := range cmds[:at] {
			orig.Apply(int64(i+1), enc(t, cmd))
		}
		snap, err := orig.Snapshot()
		require.NoError(t, err)
		restored := NewLog()
		require.NoError(t, restored.Restore(snap))
		again, err := restored.Snapshot()
		require.NoError(t, err)
		require.Equal(t, string(snap), string(again), "round %d: restore then snapshot", round)
		for i, cmd := range cmds[at:] {
			idx := int64(at + i + 1)
			data := enc(t, cmd)
			require.Equal(t, orig.Apply(idx, data), restored.Apply(idx, data), "round %d, command %d after the snapshot", round, at+i)
		}
		keys := []string{"0", "1", "2", "3", "none"}
		from := map[string]int64{"0": 0, "1": 0, "2": 0, "3": 0, "none": 0}
		require.Equal(t, orig.Poll(from, 0), restored.Poll(from, 0), "round %d", round)
		require.Equal(t, orig.Committed(keys), restored.Committed(keys), "round %d", round)
		a, err := orig.Snapshot()
		require.NoError(t, err)
		b, err := restored.Snapshot()
		require.NoError(t, err)
		require.Equal(t, string(a), string(b), "round %d: the final states", round)
	}
}

// TestSnapshotBounded: a snapshot holds the messages (the final poll of
// Maelstrom's kafka reads every key from offset 0, so none may go) and a
// bounded session table: its size grows with the messages, not with the
// commands, duplicates or commits applied.
func TestSnapshotBounded(t *testing.T) {
	l := NewLog()
	idx := int64(0)
	apply := func(c Command) {
		idx++
		l.Apply(idx, enc(t, c))
	}
	for i := range 1000 {
		apply(send("c1", int64(2*i+1), "k", "1234567"))
		apply(commit("c1", int64(2*i+2), map[string]int64{"k": int64(i)}))
	}
	one, err := l.Snapshot()
	require.NoError(t, err)
	require.Less(t, len(one), 1000*len(`"1234567",`)+200, "a message costs its bytes and a comma")
	for i := range 1000 {
		apply(send("c1", 1, "k", "1")) // duplicates and stale requests
		apply(commit("c2", int64(i+1), map[string]int64{"k": int64(i)}))
	}
	two, err := l.Snapshot()
	require.NoError(t, err)
	require.Less(t, len(two), len(one)+100, "duplicates and commits add nothing but a session")
}

// TestRestoreRefusesHoles: a snapshot without a session table or logs
// restores to an empty one (a later Apply must not crash), and garbage is
// an error that leaves the Log as it was.
func TestRestoreRefusesHoles(t *testing.T) {
	for _, s := range []string{`{"logs":null,"committed":null,"sessions":null}`, `{"logs":{"k":null}}`} {
		l := NewLog()
		require.NoError(t, l.Restore([]byte(s)), s)
		require.Equal(t, Result{Code: OK}, l.Apply(1, enc(t, send("c1", 1, "k", "5"))), s)
		require.Equal(t, Result{Code: OK}, l.Apply(2, enc(t, send("c1", 1, "k", "5"))), "%s: a duplicate", s)
		require.Equal(t, 1, l.Len("k"), s)
	}
	l := NewLog()
	l.Apply(1, enc(t, send("c1", 1, "k", "5")))
	for _, bad := range []string{`[]`, `{"logs":{"k":[1,}`, `{"logs":{"k":5}}`, `{"committed":{"k":"x"}}`} {
		require.Error(t, l.Restore([]byte(bad)), bad)
		require.Equal(t, 1, l.Len("k"), bad)
	}
}
