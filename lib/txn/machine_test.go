package txn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/rsm"
)

func mustCommand(t *testing.T, client string, id int64, tx Txn) []byte {
	t.Helper()
	data, err := EncodeCommand(Command{Client: client, ID: id, Txn: tx})
	require.NoError(t, err)
	return data
}

// TestMachineDedup: a command applies once per (client, id); its duplicate
// gets the same completed txn; an older one is stale; bad data is invalid;
// nothing but a fresh command changes the state.
func TestMachineDedup(t *testing.T) {
	m := NewMachine()
	w1 := mustCommand(t, "c1", 1, Txn{{F: Read, K: 1}, {F: Append, K: 1, Arg: 10}})
	w2 := mustCommand(t, "c1", 2, Txn{{F: Append, K: 1, Arg: 11}, {F: Read, K: 1}})
	other := mustCommand(t, "c2", 1, Txn{{F: Append, K: 1, Arg: 20}})

	steps := []struct {
		data    []byte
		outcome Outcome
		want    string // completed txn, when Applied
		list    []int64
	}{
		{data: w1, outcome: Applied, want: `[["r",1,null],["append",1,10]]`, list: []int64{10}},
		{data: w1, outcome: Applied, want: `[["r",1,null],["append",1,10]]`, list: []int64{10}}, // duplicate
		{data: other, outcome: Applied, want: `[["append",1,20]]`, list: []int64{10, 20}},
		{data: w2, outcome: Applied, want: `[["append",1,11],["r",1,[10,20,11]]]`, list: []int64{10, 20, 11}},
		{data: w2, outcome: Applied, want: `[["append",1,11],["r",1,[10,20,11]]]`, list: []int64{10, 20, 11}},
		{data: w1, outcome: Stale, list: []int64{10, 20, 11}},
		{data: []byte("{"), outcome: Invalid, list: []int64{10, 20, 11}},
		{data: mustCommand(t, "", 3, Txn{{F: Read, K: 1}}), outcome: Invalid, list: []int64{10, 20, 11}},
		{data: []byte(`{"c":"c3","id":1}`), outcome: Invalid, list: []int64{10, 20, 11}},
	}
	for i, st := range steps {
		res := m.Apply(int64(i+1), st.data).(Result)
		require.Equal(t, st.outcome, res.Outcome, "step %d", i)
		if st.outcome == Applied {
			require.Equal(t, st.want, res.Txn.String(), "step %d", i)
		}
		require.Equal(t, st.list, m.Store().Get(1).List, "step %d", i)
	}
	// The result is a copy: changing it does not change a later duplicate.
	res := m.Apply(20, w2).(Result)
	res.Txn[1].Result.List[0] = 99
	require.Equal(t, `[["append",1,11],["r",1,[10,20,11]]]`, m.Apply(21, w2).(Result).Txn.String())
}

// TestMachineQuery: a query reads the applied state and changes nothing,
// even when it holds writes.
func TestMachineQuery(t *testing.T) {
	m := NewMachine()
	m.Apply(1, mustCommand(t, "c1", 1, Txn{{F: Write, K: 1, Arg: 5}}))
	before, err := m.Snapshot()
	require.NoError(t, err)
	require.Equal(t, `[["r",1,5],["w",1,6],["r",1,6],["r",2,null]]`,
		m.Query(Txn{{F: Read, K: 1}, {F: Write, K: 1, Arg: 6}, {F: Read, K: 1}, {F: Read, K: 2}}).String())
	after, err := m.Snapshot()
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))
}

// TestMachineSnapshot (property): after random commands, duplicates and
// stale copies, a machine restored from a snapshot equals the original and
// answers every further command, duplicates included, alike.
func TestMachineSnapshot(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		a := NewMachine()
		var log [][]byte
		ids := map[string]int64{}
		gen := func() []byte {
			if len(log) > 0 && r.IntN(4) == 0 {
				return log[r.IntN(len(log))] // a duplicate or a stale copy
			}
			c := fmt.Sprintf("c%d", r.IntN(4))
			ids[c]++
			var tx Txn
			for range 1 + r.IntN(3) {
				switch r.IntN(3) {
				case 0:
					tx = append(tx, Mop{F: Read, K: r.Int64N(4)})
				case 1:
					tx = append(tx, Mop{F: Write, K: r.Int64N(4), Arg: r.Int64N(100)})
				default:
					tx = append(tx, Mop{F: Append, K: 4 + r.Int64N(4), Arg: r.Int64N(100)})
				}
			}
			d := mustCommand(t, c, ids[c], tx)
			log = append(log, d)
			return d
		}
		var index int64
		for range 50 {
			index++
			a.Apply(index, gen())
		}
		snap, err := a.Snapshot()
		require.NoError(t, err)
		b := NewMachine()
		require.NoError(t, b.Restore(snap))
		snapB, err := b.Snapshot()
		require.NoError(t, err)
		require.Equal(t, string(snap), string(snapB), "seed %d", seed)
		for range 50 {
			index++
			d := gen()
			require.Equal(t, a.Apply(index, d), b.Apply(index, d), "seed %d index %d", seed, index)
		}
		require.True(t, a.Store().Equal(b.Store()), "seed %d", seed)
	}
	m := NewMachine()
	require.Error(t, m.Restore([]byte("{")))
	require.Error(t, m.Restore([]byte(`{"store":{"keys":[1],"cells":[]}}`)))
	require.NoError(t, m.Restore(nil))
	require.Zero(t, m.Store().Len())
}

// TestMachineEvict: past the bound, the session applied longest ago goes.
func TestMachineEvict(t *testing.T) {
	m := NewMachine()
	m.sessions = rsm.NewSessions[Txn](2)
	for i, c := range []string{"c1", "c2", "c3"} {
		m.Apply(int64(i+1), mustCommand(t, c, 1, Txn{{F: Write, K: 1, Arg: int64(i)}}))
	}
	require.Equal(t, 2, m.sessions.Len())
	require.False(t, m.sessions.Has("c1"))
}

// BenchmarkMachineApply: decode and apply one fresh three-op command
// (encoding it is not timed).
func BenchmarkMachineApply(b *testing.B) {
	m := NewMachine()
	for i := range b.N {
		b.StopTimer()
		d, err := EncodeCommand(Command{Client: fmt.Sprintf("c%d", i%10), ID: int64(i + 1), Txn: Txn{{F: Read, K: int64(i % 7)}, {F: Write, K: int64(i % 5), Arg: int64(i)}, {F: Read, K: int64(i % 3)}}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res := m.Apply(int64(i+1), d).(Result); res.Outcome != Applied {
			b.Fatal("not applied")
		}
	}
}
