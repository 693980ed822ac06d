package txn

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMopJSON(t *testing.T) {
	cases := []struct {
		in   string
		want Mop
		out  string // "" means in
		err  bool
	}{
		{in: `["r",1,null]`, want: Mop{F: Read, K: 1}},
		{in: `["r",-3,7]`, want: Mop{F: Read, K: -3, Result: IntValue(7)}},
		{in: `["r",2,[1,2,3]]`, want: Mop{F: Read, K: 2, Result: ListValue(1, 2, 3)}},
		{in: `["r",2,[]]`, want: Mop{F: Read, K: 2, Result: ListValue()}},
		{in: `["w",9007199254740993,9223372036854775807]`, want: Mop{F: Write, K: 9007199254740993, Arg: 9223372036854775807}},
		{in: `["append", 4 , 5]`, want: Mop{F: Append, K: 4, Arg: 5}, out: `["append",4,5]`},
		{in: `["x",1,null]`, err: true},
		{in: `["r",1.5,null]`, err: true},
		{in: `["w",1,null]`, err: true},
		{in: `["w",1,"2"]`, err: true},
		{in: `["r",1]`, err: true},
		{in: `{"f":"r"}`, err: true},
		{in: `["r",1,[1,"a"]]`, err: true},
		{in: `[1,1,1]`, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var m Mop
			err := json.Unmarshal([]byte(tc.in), &m)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			out := tc.out
			if out == "" {
				out = tc.in
			}
			require.Equal(t, out, string(b))
		})
	}
}

func mustTxn(t *testing.T, s string) Txn {
	t.Helper()
	var tx Txn
	require.NoError(t, json.Unmarshal([]byte(s), &tx))
	return tx
}

// TestApply runs transactions one after the other on one store, as a
// replicated log would, and checks each completed transaction.
func TestApply(t *testing.T) {
	s := NewStore()
	steps := []struct{ in, want string }{
		{`[["r",1,null]]`, `[["r",1,null]]`},
		{`[["w",1,5],["r",1,null],["w",1,6],["r",1,null]]`, `[["w",1,5],["r",1,5],["w",1,6],["r",1,6]]`},
		{`[["r",1,null],["r",2,null]]`, `[["r",1,6],["r",2,null]]`},
		{`[["append",2,1],["r",2,null],["append",2,2],["r",2,null]]`, `[["append",2,1],["r",2,[1]],["append",2,2],["r",2,[1,2]]]`},
		{`[["append",2,3],["r",2,null],["r",3,null]]`, `[["append",2,3],["r",2,[1,2,3]],["r",3,null]]`},
		{`[]`, `[]`},
	}
	for i, st := range steps {
		got := s.Apply(mustTxn(t, st.in))
		require.Equal(t, st.want, got.String(), "step %d", i)
	}
	require.Equal(t, IntValue(6), s.Get(1), "the last write of a txn wins; the intermediate 5 is gone")
	require.Equal(t, int64(3), s.Clock(), "three writing transactions, three versions")
}

// TestExecuteDoesNotInstall: executing alone changes nothing, and the write
// set keeps only the final write per register.
func TestExecuteDoesNotInstall(t *testing.T) {
	s := NewStore()
	done, ws := s.Execute(mustTxn(t, `[["w",1,1],["w",2,2],["w",1,3],["append",4,1],["append",4,2]]`))
	require.Len(t, done, 5)
	require.Equal(t, WriteSet{Writes: []KV{{K: 1, V: 3}, {K: 2, V: 2}}, Appends: []KV{{K: 4, V: 1}, {K: 4, V: 2}}}, ws)
	require.Equal(t, Value{}, s.Get(1))
	require.Zero(t, s.Len())
}

func TestVersionOrder(t *testing.T) {
	vs := []Version{{Lamport: 1, Node: "n0"}, {Lamport: 1, Node: "n1"}, {Lamport: 2, Node: "n0"}, {Lamport: 10, Node: ""}}
	for i := range vs {
		for j := range vs {
			require.Equal(t, i < j, vs[i].Less(vs[j]), "%v < %v", vs[i], vs[j])
		}
	}
}

// TestInstallConverges is the property replication rests on: installing
// the same write sets in any order, any number of times, gives the same
// store (last writer wins per register, version order per list).
func TestInstallConverges(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		type commit struct {
			ws WriteSet
			v  Version
		}
		var commits []commit
		for i := range 30 {
			var ws WriteSet
			for range 1 + r.IntN(4) {
				kv := KV{K: r.Int64N(5), V: r.Int64N(100)}
				if r.IntN(2) == 0 {
					ws.Writes = append(ws.Writes, kv)
				} else {
					ws.Appends = append(ws.Appends, KV{K: kv.K + 10, V: kv.V})
				}
			}
			// Distinct versions, as Core guarantees.
			commits = append(commits, commit{ws: ws, v: Version{Lamport: 1 + r.Int64N(10), Node: string(rune('a' + i))}})
		}
		a, b := NewStore(), NewStore()
		for _, c := range commits {
			a.Install(c.ws, c.v)
		}
		for _, i := range r.Perm(len(commits)) {
			b.Install(commits[i].ws, commits[i].v)
			if r.IntN(3) == 0 { // duplicates
				b.Install(commits[i].ws, commits[i].v)
			}
		}
		require.True(t, a.Equal(b), "seed %d", seed)
		// Lists are in version order.
		for k := int64(10); k < 15; k++ {
			c := a.keys[k]
			if c == nil {
				continue
			}
			for i := 1; i < len(c.List); i++ {
				require.True(t, c.List[i-1].less(c.List[i]), "seed %d key %d", seed, k)
			}
		}
	}
}

// TestListHorizon: with a horizon, a transaction sees each list cut at
// the horizon (a prefix of its version order) and not its own appends;
// Get still sees everything.
func TestListHorizon(t *testing.T) {
	s := NewStore()
	s.Install(WriteSet{Appends: []KV{{K: 1, V: 10}, {K: 1, V: 11}}}, Version{Lamport: 1, Node: "n1"})
	s.Install(WriteSet{Appends: []KV{{K: 1, V: 30}}, Writes: []KV{{K: 2, V: 5}}}, Version{Lamport: 3, Node: "n0"})
	s.Install(WriteSet{Appends: []KV{{K: 1, V: 20}}}, Version{Lamport: 2, Node: "n2"})
	cases := []struct {
		horizon int64
		want    string
	}{
		{horizon: 0, want: `[["r",1,null],["append",1,40],["r",1,null],["r",2,5]]`},
		{horizon: 1, want: `[["r",1,[10,11]],["append",1,40],["r",1,[10,11]],["r",2,5]]`},
		{horizon: 2, want: `[["r",1,[10,11,20]],["append",1,40],["r",1,[10,11,20]],["r",2,5]]`},
		{horizon: 9, want: `[["r",1,[10,11,20,30]],["append",1,40],["r",1,[10,11,20,30]],["r",2,5]]`},
	}
	for _, tc := range cases {
		s.SetListHorizon(tc.horizon, false)
		done, _ := s.Execute(mustTxn(t, `[["r",1,null],["append",1,40],["r",1,null],["r",2,null]]`))
		require.Equal(t, tc.want, done.String(), "horizon %d", tc.horizon)
	}
	require.Equal(t, ListValue(10, 11, 20, 30), s.Get(1))
}

func TestSnapshotRestore(t *testing.T) {
	s := NewStore()
	s.Apply(mustTxn(t, `[["w",1,5],["append",2,1],["append",2,2]]`))
	s.Install(WriteSet{Writes: []KV{{K: 3, V: 9}}}, Version{Lamport: 7, Node: "n1"})
	b, err := s.Snapshot()
	require.NoError(t, err)
	r := NewStore()
	require.NoError(t, r.Restore(b))
	require.True(t, s.Equal(r))
	require.Equal(t, int64(7), r.Clock())
	require.Equal(t, ListValue(1, 2), r.Get(2))
	// The restored store goes on like the original.
	require.Equal(t, s.Apply(mustTxn(t, `[["append",2,3],["r",2,null]]`)), r.Apply(mustTxn(t, `[["append",2,3],["r",2,null]]`)))
	require.True(t, s.Equal(r))

	for _, bad := range []string{`nope`, `{"clock":1,"keys":[1],"cells":[]}`,
		`{"clock":1,"keys":[1],"cells":[{"regVer":{"l":0},"list":[{"ver":{"l":2},"i":0,"v":1},{"ver":{"l":1},"i":0,"v":2}]}]}`} {
		require.Error(t, NewStore().Restore([]byte(bad)), bad)
	}
}

func BenchmarkApply(b *testing.B) {
	s := NewStore()
	r := rand.New(rand.NewPCG(1, 2))
	txns := make([]Txn, 1024)
	for i := range txns {
		for range 4 {
			k := r.Int64N(10)
			switch r.IntN(2) {
			case 0:
				txns[i] = append(txns[i], Mop{F: Read, K: k})
			default:
				txns[i] = append(txns[i], Mop{F: Write, K: k, Arg: int64(i)})
			}
		}
	}
	b.ResetTimer()
	for i := range b.N {
		s.Apply(txns[i%len(txns)])
	}
}
