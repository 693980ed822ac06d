package main

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/paxos"
	"maelkit/lib/storage"
)

// newDurable builds a one-node durableCore on a simulated disk.
func newDurable(t *testing.T, disk *storage.SimDisk, fail func(error)) *durableCore {
	t.Helper()
	run := storage.RunID{DirIno: 1}
	st, err := storage.OpenConfig(storage.Config{Dir: "/d", NodeID: "n0", FS: disk, Run: &run})
	require.NoError(t, err)
	rec, err := storage.Recover(st)
	require.NoError(t, err)
	c, err := paxos.New(paxos.Config{ID: "n0", Nodes: []string{"n0"}, Rand: rand.New(rand.NewPCG(1, 1)), Recovered: rec})
	require.NoError(t, err)
	return &durableCore{Core: c, store: st, fail: fail}
}

func write(d *durableCore, id, key, value int64) {
	d.Command(core.Command[paxos.Request]{Client: "c1", MsgID: id, Body: paxos.Request{Key: key, Op: paxos.Op{F: paxos.OpWrite, Value: value}}})
}

// TestDrainSyncsBeforeReplies: the reply a Drain hands out is already on
// disk (it survives a power loss right after), and a disk that fails
// stops the node with nothing handed out.
func TestDrainSyncsBeforeReplies(t *testing.T) {
	disk := storage.NewSimDisk(1)
	d := newDurable(t, disk, func(err error) { t.Fatalf("unexpected disk failure: %v", err) })
	write(d, 1, 5, 42)
	out := d.Drain()
	require.Len(t, out.Replies, 1)
	require.Empty(t, out.Writes, "the writes were applied, not handed on")
	disk.Crash() // power loss right after the reply went out
	d2 := newDurable(t, disk, nil)
	require.Equal(t, int64(42), d2.Storage().Acceptors[5].State.Value, "the acknowledged write survived")

	var failed error
	d2.fail = func(err error) { failed = err }
	disk.FailAfter(0)
	write(d2, 2, 5, 43)
	out = d2.Drain()
	require.Error(t, failed, "a disk error stops the node")
	require.True(t, out.Empty(), "and nothing is sent")
}
