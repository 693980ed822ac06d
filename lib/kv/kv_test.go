package kv

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/rsm"
)

func cmd(client string, id int64, op Op, key, a, b string) []byte {
	c := Command{Client: client, ID: id, Op: op, Key: json.RawMessage(key)}
	switch op {
	case OpWrite:
		c.Value = json.RawMessage(a)
	case OpCas:
		c.From, c.To = json.RawMessage(a), json.RawMessage(b)
	}
	data, err := Encode(c)
	if err != nil {
		panic(err)
	}
	return data
}

func TestApply(t *testing.T) {
	tests := []struct {
		name string
		cmds [][]byte
		want Result // of the last command
	}{
		{name: "read missing", cmds: [][]byte{cmd("c1", 1, OpRead, "0", "", "")}, want: Result{Code: KeyNotFound}},
		{name: "write then read", cmds: [][]byte{cmd("c1", 1, OpWrite, "0", "3", ""), cmd("c1", 2, OpRead, "0", "", "")}, want: Result{Value: json.RawMessage("3")}},
		{name: "cas missing", cmds: [][]byte{cmd("c1", 1, OpCas, "0", "1", "2")}, want: Result{Code: KeyNotFound}},
		{name: "cas mismatch", cmds: [][]byte{cmd("c1", 1, OpWrite, "0", "3", ""), cmd("c1", 2, OpCas, "0", "1", "2")}, want: Result{Code: PreconditionFailed}},
		{name: "cas ok", cmds: [][]byte{cmd("c1", 1, OpWrite, "0", "3", ""), cmd("c1", 2, OpCas, "0", "3", "4"), cmd("c1", 3, OpRead, "0", "", "")}, want: Result{Value: json.RawMessage("4")}},
		{name: "keys apart", cmds: [][]byte{cmd("c1", 1, OpWrite, "0", "3", ""), cmd("c1", 2, OpRead, "1", "", "")}, want: Result{Code: KeyNotFound}},
		{name: "big ints exact", cmds: [][]byte{cmd("c1", 1, OpWrite, "9007199254740993", "9007199254740993", ""), cmd("c1", 2, OpRead, "9007199254740993", "", "")}, want: Result{Value: json.RawMessage("9007199254740993")}},
		{name: "spacing ignored", cmds: [][]byte{cmd("c1", 1, OpWrite, " 0", "3 ", ""), cmd("c1", 2, OpCas, "0", " 3", "4")}, want: Result{}},
		{name: "invalid", cmds: [][]byte{[]byte("{")}, want: Result{Code: Invalid}},
		// Dedup: the same request twice applies once and answers the same.
		{name: "duplicate write", cmds: [][]byte{cmd("c1", 1, OpWrite, "0", "1", ""), cmd("c2", 1, OpCas, "0", "1", "2"), cmd("c2", 1, OpCas, "0", "1", "2")}, want: Result{}},
		{name: "duplicate changes nothing", cmds: [][]byte{cmd("c1", 1, OpWrite, "0", "1", ""), cmd("c2", 1, OpWrite, "0", "2", ""), cmd("c1", 1, OpWrite, "0", "1", ""), cmd("c1", 2, OpRead, "0", "", "")}, want: Result{Value: json.RawMessage("2")}},
		{name: "stale skipped", cmds: [][]byte{cmd("c1", 5, OpWrite, "0", "1", ""), cmd("c1", 4, OpWrite, "0", "2", "")}, want: Result{Code: Stale}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			var got any
			for i, c := range tt.cmds {
				got = s.Apply(int64(i+1), c)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// Property: snapshot then restore gives a store that answers every
// command the same as the original, dedup included, and encodes the same.
func TestSnapshotRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		gen := func(i int64) []byte {
			client := fmt.Sprintf("c%d", r.IntN(4))
			k, a, b := fmt.Sprint(r.IntN(3)), fmt.Sprint(r.IntN(5)), fmt.Sprint(r.IntN(5))
			op := []Op{OpRead, OpWrite, OpCas}[r.IntN(3)]
			return cmd(client, i/2+int64(r.IntN(2)), op, k, a, b)
		}
		a := NewStore()
		var i int64
		for ; i < 40; i++ {
			a.Apply(i, gen(i))
		}
		snap, err := a.Snapshot()
		require.NoError(t, err)
		b := NewStore()
		require.NoError(t, b.Restore(snap))
		snap2, err := b.Snapshot()
		require.NoError(t, err)
		require.Equal(t, string(snap), string(snap2), "seed %d", seed)
		for ; i < 80; i++ {
			c := gen(i)
			require.Equal(t, a.Apply(i, c), b.Apply(i, c), "seed %d command %s", seed, c)
		}
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	require.Error(t, NewStore().Restore([]byte("{nope")))
	require.NoError(t, NewStore().Restore(nil))
}

func TestSessionsBounded(t *testing.T) {
	s := NewStore()
	s.sessions = rsm.NewSessions[Result](3)
	for i := range 10 {
		s.Apply(int64(i+1), cmd(fmt.Sprintf("c%d", i), 1, OpWrite, "0", "1", ""))
	}
	require.Equal(t, 3, s.sessions.Len())
	require.True(t, s.sessions.Has("c9"))
	require.False(t, s.sessions.Has("c0"))
}

func TestValidate(t *testing.T) {
	bad := []Command{
		{Op: OpRead, Key: json.RawMessage("0")},
		{Client: "c", Op: OpRead},
		{Client: "c", Op: OpWrite, Key: json.RawMessage("0")},
		{Client: "c", Op: OpCas, Key: json.RawMessage("0"), From: json.RawMessage("1")},
		{Client: "c", Op: "inc", Key: json.RawMessage("0")},
	}
	for _, c := range bad {
		require.Error(t, c.Validate(), "%+v", c)
	}
}

func BenchmarkApply(b *testing.B) {
	s := NewStore()
	cmds := [][]byte{cmd("c1", 1, OpWrite, "0", "1", ""), cmd("c1", 2, OpCas, "0", "1", "2")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := cmds[i%2]
		var cc Command
		_ = json.Unmarshal(c, &cc)
		cc.ID = int64(i + 1)
		data, _ := Encode(cc)
		s.Apply(int64(i+1), data)
	}
}
