package node

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/storage"
)

// durableTally is a tally that persists its sum before acknowledging an
// add: the write and the reply leave in the same Output.
type durableTally struct{ tally }

func (c *durableTally) Command(cmd core.Command[tallyCmd]) {
	c.tally.Command(cmd)
	if b := cmd.Body; !b.Get && !b.Mute {
		c.Persist(core.Write{Kind: core.WriteState, Data: binary.BigEndian.AppendUint64(nil, uint64(c.sum))})
	}
}

func (c *durableTally) Step(from string, m tallyMsg) {
	c.tally.Step(from, m)
	c.Persist(core.Write{Kind: core.WriteState, Data: binary.BigEndian.AppendUint64(nil, uint64(c.sum))})
}

// hostDurableTally hosts a durableTally on n over the store open returns.
func hostDurableTally(n *Node, open func(dir, id string, noSync bool, n *Node) (hostStore, error)) *Host[tallyMsg, tallyCmd, tallyReply] {
	return hostDurableTallyTick(n, open, time.Hour) // ticks are not under test
}

func hostDurableTallyTick(n *Node, open func(dir, id string, noSync bool, n *Node) (hostStore, error), tick time.Duration) *Host[tallyMsg, tallyCmd, tallyReply] {
	h := NewHost(n, HostConfig[tallyMsg, tallyCmd, tallyReply]{
		Durable: func(n *Node, rec core.Recovered) (core.Core[tallyMsg, tallyCmd, tallyReply], error) {
			c := &durableTally{tally{peers: n.Peers()}}
			if len(rec.State) == 8 {
				c.sum = int64(binary.BigEndian.Uint64(rec.State))
			} else if !rec.Fresh {
				return nil, errors.New("bad state")
			}
			return c, nil
		},
		Dir:       "/node",
		Tick:      tick,
		PeerTypes: []string{"tally"},
		Reply: func(r tallyReply) any {
			if r.Get {
				return tallyBody{Type: "get_ok", Sum: r.Sum}
			}
			return tallyBody{Type: "add_ok"}
		},
	})
	h.openStore = open
	HandleCommand(h, "add", func(b struct{ Delta int64 }) (tallyCmd, error) { return tallyCmd{Delta: b.Delta}, nil })
	HandleCommand(h, "get", func(struct{}) (tallyCmd, error) { return tallyCmd{Get: true}, nil })
	return h
}

// gatedStore is a fake store whose Apply waits for the test to open its
// gate, so that the test can look at the output while a write is pending.
type gatedStore struct {
	applying chan []core.Write // Apply announces its writes here
	gate     chan error        // and returns what it receives from here
}

func (g *gatedStore) Recover() (core.Recovered, error) { return core.Recovered{Fresh: true}, nil }
func (g *gatedStore) Close() error                     { return nil }
func (g *gatedStore) Stats() storeStats                { return storeStats{} }
func (g *gatedStore) Apply(ws []core.Write) error {
	g.applying <- ws
	return <-g.gate
}

// TestHostWritesBeforeReplies: while an add's write is pending, neither its
// reply nor its message to the peer has left the node; both leave once the
// write returns. The loop is blocked in Apply, so synctest.Wait sees every
// goroutine idle and the output is final, not merely late.
func TestHostWritesBeforeReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{applying: make(chan []core.Write, 1), gate: make(chan error)}
		h := startNode(t, Config{}, func(n *Node) {
			hostDurableTally(n, func(string, string, bool, *Node) (hostStore, error) { return g, nil })
		})
		h.init("n1", "n1", "n2")
		h.send(`{"src":"c1","dest":"n1","body":{"type":"add","delta":5,"msg_id":2}}`)
		synctest.Wait()
		require.Len(t, g.applying, 1, "the write is being applied")
		require.Empty(t, h.lines, "nothing was sent before the write is durable")
		ws := <-g.applying
		require.Equal(t, []core.Write{{Kind: core.WriteState, Data: binary.BigEndian.AppendUint64(nil, 5)}}, ws)
		g.gate <- nil
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":2}}`,
			`{"src":"n1","dest":"n2","body":{"type":"tally","n":5}}`)
		h.send(`{"src":"c1","dest":"n1","body":{"type":"get","msg_id":3}}`)
		h.expect(`{"src":"n1","dest":"c1","body":{"type":"get_ok","sum":5,"in_reply_to":3}}`)
		h.closeClean()
	})
}

// TestHostExitsOnWriteError: a failed write sends none of its Output and
// ends the process with a non-zero status.
func TestHostExitsOnWriteError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{applying: make(chan []core.Write, 1), gate: make(chan error, 1)}
		var exits []int
		h := startNode(t, Config{}, func(n *Node) {
			host := hostDurableTally(n, func(string, string, bool, *Node) (hostStore, error) { return g, nil })
			host.exit = func(code int) { exits = append(exits, code) }
		})
		h.init("n1", "n1", "n2")
		g.gate <- errors.New("disk full")
		h.send(`{"src":"c1","dest":"n1","body":{"type":"add","delta":5,"msg_id":2}}`)
		synctest.Wait()
		require.Len(t, g.applying, 1)
		require.Equal(t, []int{1}, exits)
		rest, err := h.close()
		require.NoError(t, err)
		require.Empty(t, rest, "no reply and no message after a failed write")
	})
}

// TestHostRecoversAfterKill: a node killed after its replies comes back,
// with a fresh init, with every acknowledged add, whether the process died
// (the page cache survives) or the machine lost power (only synced bytes
// do); a wiped disk starts from zero.
func TestHostRecoversAfterKill(t *testing.T) {
	for _, fault := range []string{"kill", "power-loss", "wipe"} {
		t.Run(fault, func(t *testing.T) {
			disk := storage.NewSimDisk(1)
			run := storage.RunID{ParentPID: 1}
			open := func(dir, id string, _ bool, _ *Node) (hostStore, error) {
				s, err := storage.OpenConfig(storage.Config{Dir: dir, NodeID: id, FS: disk, Run: &run})
				if err != nil {
					return nil, err
				}
				return diskStore{s: s}, nil
			}
			h := startNode(t, Config{}, func(n *Node) { hostDurableTally(n, open) })
			h.init("n1", "n1")
			h.send(`{"src":"c1","dest":"n1","body":{"type":"add","delta":5,"msg_id":2}}`,
				`{"src":"c1","dest":"n1","body":{"type":"add","delta":3,"msg_id":3}}`)
			h.expect(`{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":2}}`,
				`{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":3}}`)
			h.closeClean()
			want := 8
			switch fault {
			case "kill":
				disk.Kill()
			case "power-loss":
				disk.Crash()
			case "wipe":
				disk.Kill()
				disk = storage.NewSimDisk(2)
				want = 0
			}
			h = startNode(t, Config{}, func(n *Node) { hostDurableTally(n, open) })
			h.init("n1", "n1")
			h.send(`{"src":"c1","dest":"n1","body":{"type":"get","msg_id":2}}`)
			if want == 0 {
				h.expect(`{"src":"n1","dest":"c1","body":{"type":"get_ok","in_reply_to":2}}`)
			} else {
				h.expect(`{"src":"n1","dest":"c1","body":{"type":"get_ok","sum":8,"in_reply_to":2}}`)
			}
			h.closeClean()
		})
	}
}

// TestHostNoSyncWritesFiles: without fsync the store still writes its
// files, and a later open of the same directory reads them back.
func TestHostNoSyncWritesFiles(t *testing.T) {
	dir := t.TempDir()
	n, err := New(Config{Logger: testLogger(t, 0)})
	require.NoError(t, err)
	st, err := openStore(dir, "n1", true, n)
	require.NoError(t, err)
	require.NoError(t, st.Apply([]core.Write{{Kind: core.WriteState, Data: []byte("x")}}))
	require.NoError(t, st.Close())
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, names)
	st, err = openStore(dir, "n1", false, n)
	require.NoError(t, err)
	rec, err := st.Recover()
	require.NoError(t, err)
	require.Equal(t, []byte("x"), rec.State)
	require.NoError(t, st.Close())
}

// TestHostBuildOpensNoStore: a core built with Build (it persists
// nothing) makes the host open no store.
func TestHostBuildOpensNoStore(t *testing.T) {
	var host *Host[tallyMsg, tallyCmd, tallyReply]
	h := startNode(t, Config{}, func(n *Node) {
		host = hostTally(n, false)
		host.openStore = func(string, string, bool, *Node) (hostStore, error) {
			t.Error("a Build core opened a store")
			return nil, errors.New("no store")
		}
	})
	h.init("n1", "n1")
	require.Nil(t, host.store)
	h.closeClean()
}

// TestHostDropsCommandsAfterStall: a command that waited in the pipe while
// the loop was stopped longer than stallMax gets no answer (its client may
// have closed), and neither does the command whose write the loop was in
// when it stopped, though its write stands; one read after the grace gets
// its answer, the very next line. The loop is stopped here by a write that
// does not return, and virtual time passes.
func TestHostDropsCommandsAfterStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{applying: make(chan []core.Write, 1), gate: make(chan error)}
		h := startNode(t, Config{}, func(n *Node) {
			hostDurableTallyTick(n, func(string, string, bool, *Node) (hostStore, error) { return g, nil }, 10*time.Millisecond)
		})
		h.init("n1", "n1")
		h.send(`{"src":"c1","dest":"n1","body":{"type":"add","delta":5,"msg_id":2}}`)
		<-g.applying
		h.send(`{"src":"c2","dest":"n1","body":{"type":"get","msg_id":3}}`)
		time.Sleep(stallMax + time.Second)
		g.gate <- nil
		synctest.Wait()
		require.Empty(t, h.lines, "a reply more than stallMax after its command was sent")
		time.Sleep(2 * stallGrace)
		h.send(`{"src":"c3","dest":"n1","body":{"type":"get","msg_id":4}}`)
		h.expect(`{"src":"n1","dest":"c3","body":{"type":"get_ok","sum":5,"in_reply_to":4}}`)
		h.closeClean()
	})
}

// TestHostDropsBacklogReadAfterGrace: after a stall, the commands of a
// backlog that takes longer than stallGrace to read are all left
// unanswered, and the grace counts from when the backlog has been read.
// The backlog is more than a burst (burstMax lines): the loop handles one
// burst, its peer message's write blocks the drain while virtual time
// passes beyond stallGrace, then the loop reads the rest, whose commands
// must go unanswered too. A command read right after that is still in the
// grace; one read after the grace is answered, and its answer is the very
// next line, so no command of the backlog was answered.
func TestHostDropsBacklogReadAfterGrace(t *testing.T) {
	const backlog = burstMax + 50
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{applying: make(chan []core.Write, 1), gate: make(chan error)}
		h := startNode(t, Config{}, func(n *Node) {
			hostDurableTallyTick(n, func(string, string, bool, *Node) (hostStore, error) { return g, nil }, 10*time.Millisecond)
		})
		h.init("n1", "n1", "n2")
		h.send(addLine(2, 5))
		<-g.applying // the loop stops here
		time.Sleep(stallMax + time.Second)
		h.send(`{"src":"n2","dest":"n1","body":{"type":"tally","n":1}}`)
		for i := range backlog {
			h.sendf(`{"src":"c2","dest":"n1","body":{"type":"get","msg_id":%d}}`, 10+i)
		}
		synctest.Wait() // all of it waits in the inbox
		g.gate <- nil
		// The add waited out the stall in its write: its message to the
		// peer leaves, its reply does not.
		h.expect(`{"src":"n1","dest":"n2","body":{"type":"tally","n":5}}`)
		<-g.applying // the first burst's drain: the peer's tally
		time.Sleep(2 * stallGrace)
		g.gate <- nil
		synctest.Wait() // the rest of the backlog is read
		require.Empty(t, h.lines, "a command of the backlog was answered")
		h.send(`{"src":"c3","dest":"n1","body":{"type":"get","msg_id":2}}`)
		synctest.Wait()
		require.Empty(t, h.lines, "a command read within the grace was answered")
		time.Sleep(2 * stallGrace)
		h.send(`{"src":"c4","dest":"n1","body":{"type":"get","msg_id":3}}`)
		h.expect(`{"src":"n1","dest":"c4","body":{"type":"get_ok","sum":6,"in_reply_to":3}}`)
		h.closeClean()
	})
}

// gateStore holds each Apply until the test opens the gate, then applies
// to the store under it.
type gateStore struct {
	hostStore
	applying chan []core.Write // Apply announces its writes here
	gate     chan error        // and applies them once it receives nil
}

func (g *gateStore) Apply(ws []core.Write) error {
	g.applying <- ws
	if err := <-g.gate; err != nil {
		return err
	}
	return g.hostStore.Apply(ws)
}

// simStore opens node stores on disk.
func simStore(disk *storage.SimDisk) func(dir, id string, _ bool, _ *Node) (hostStore, error) {
	run := storage.RunID{ParentPID: 1}
	return func(dir, id string, _ bool, _ *Node) (hostStore, error) {
		s, err := storage.OpenConfig(storage.Config{Dir: dir, NodeID: id, FS: disk, Run: &run})
		if err != nil {
			return nil, err
		}
		return diskStore{s: s}, nil
	}
}

// addLine is client c1's add of delta with msg_id id; addedOK its answer.
func addLine(id, delta int) string {
	return fmt.Sprintf(`{"src":"c1","dest":"n1","body":{"type":"add","delta":%d,"msg_id":%d}}`, delta, id)
}

func addedOK(id int) string {
	return fmt.Sprintf(`{"src":"n1","dest":"c1","body":{"type":"add_ok","in_reply_to":%d}}`, id)
}

// TestHostGroupCommit: the adds that arrive while a sync is in progress
// are all handed to the core before the next drain and share one sync (the
// stable value written once, for the last sum); none of their replies or
// messages leaves before that sync, and then all do, in order.
func TestHostGroupCommit(t *testing.T) {
	const burst = 20
	synctest.Test(t, func(t *testing.T) {
		disk := storage.NewSimDisk(1)
		g := &gateStore{applying: make(chan []core.Write, 1), gate: make(chan error)}
		h := startNode(t, Config{}, func(n *Node) {
			hostDurableTally(n, func(dir, id string, noSync bool, n *Node) (hostStore, error) {
				st, err := simStore(disk)(dir, id, noSync, n)
				g.hostStore = st
				return g, err
			})
		})
		h.init("n1", "n1", "n2")
		h.send(addLine(2, 1))
		<-g.applying // the first add's sync is in progress
		for i := range burst {
			h.send(addLine(3+i, 1))
		}
		synctest.Wait()
		require.Empty(t, h.lines, "nothing leaves before its sync")
		g.gate <- nil
		h.expect(addedOK(2), `{"src":"n1","dest":"n2","body":{"type":"tally","n":1}}`)

		ws := <-g.applying
		require.Equal(t, []core.Write{{Kind: core.WriteState, Data: binary.BigEndian.AppendUint64(nil, 1+burst)}}, ws,
			"the burst is one Output: one write of the last sum")
		synctest.Wait()
		require.Empty(t, h.lines, "no reply of the burst before its sync")
		before := disk.Stats().Syncs
		g.gate <- nil
		for i := range burst {
			h.expect(addedOK(3 + i))
		}
		for range burst {
			h.expect(`{"src":"n1","dest":"n2","body":{"type":"tally","n":1}}`)
		}
		require.Equal(t, int64(1), disk.Stats().Syncs-before, "one sync for the whole burst")
		h.closeClean()
	})
}

// TestHostGroupCommitCrash: a power loss at each disk operation of a
// burst's commit, between its write and its sync included, loses no
// acknowledged add, sends nothing of the burst, and leaves at most the
// burst's adds unacknowledged on disk: the restarted node holds the
// acknowledged sum, or that plus the whole burst, nothing in between.
func TestHostGroupCommitCrash(t *testing.T) {
	const burst = 5
	for step := 0; ; step++ {
		done := false
		t.Run(fmt.Sprint("step ", step), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				disk := storage.NewSimDisk(uint64(step))
				g := &gateStore{applying: make(chan []core.Write, 1), gate: make(chan error)}
				var exits []int
				h := startNode(t, Config{}, func(n *Node) {
					host := hostDurableTally(n, func(dir, id string, noSync bool, n *Node) (hostStore, error) {
						st, err := simStore(disk)(dir, id, noSync, n)
						g.hostStore = st
						return g, err
					})
					host.exit = func(code int) { exits = append(exits, code) }
				})
				h.init("n1", "n1")
				h.send(addLine(2, 100))
				<-g.applying
				g.gate <- nil
				h.expect(addedOK(2)) // acknowledged: 100
				h.send(addLine(3, 100))
				<-g.applying
				for i := range burst {
					h.send(addLine(4+i, 1))
				}
				synctest.Wait()
				g.gate <- nil
				h.expect(addedOK(3)) // acknowledged: 200

				<-g.applying // the burst's commit
				before := disk.Stats()
				disk.FailAfter(step)
				g.gate <- nil
				synctest.Wait()
				if len(exits) == 0 {
					done = true // the commit needs fewer operations: all steps tried
					h.expect(addedOK(4), addedOK(5), addedOK(6), addedOK(7), addedOK(8))
					h.closeClean()
					return
				}
				after := disk.Stats()
				t.Logf("crashed after %d writes and %d syncs of the commit", after.Writes-before.Writes, after.Syncs-before.Syncs)
				rest, err := h.close()
				require.NoError(t, err)
				require.Empty(t, rest, "nothing of the burst was sent")
				disk.Crash()

				h = startNode(t, Config{}, func(n *Node) { hostDurableTally(n, simStore(disk)) })
				h.init("n1", "n1")
				h.send(`{"src":"c1","dest":"n1","body":{"type":"get","msg_id":9}}`)
				var got struct {
					Body struct{ Sum int64 }
				}
				require.NoError(t, json.Unmarshal([]byte(h.recv()), &got))
				require.Contains(t, []int64{200, 200 + burst}, got.Body.Sum)
				h.closeClean()
			})
		})
		if done || t.Failed() {
			require.Greater(t, step, 1, "the commit took more than one disk operation")
			return
		}
	}
}

// TestLastStates: a state write is dropped when the next write replaces
// it, kept when a log write follows it; a list with nothing to drop comes
// back as it is.
func TestLastStates(t *testing.T) {
	st := func(b byte) core.Write { return core.Write{Kind: core.WriteState, Data: []byte{b}} }
	app := func(i uint64) core.Write { return core.Write{Kind: core.WriteAppend, Index: i} }
	require.Equal(t, []core.Write{st(2), app(1), st(4)}, lastStates([]core.Write{st(1), st(2), app(1), st(3), st(4)}))
	require.Equal(t, []core.Write{app(1), st(1), app(2)}, lastStates([]core.Write{app(1), st(1), app(2)}))
	require.Equal(t, []core.Write{st(3)}, lastStates([]core.Write{st(1), st(2), st(3)}))
	ws := []core.Write{st(1), app(1)}
	require.Same(t, &ws[0], &lastStates(ws)[0], "no copy when nothing is dropped")
}

// TestHostStoreCountsFileWork: the store's counters see every fsync of a
// file and of a directory and every byte written (what strace of the node
// would count), and no fsync without sync.
func TestHostStoreCountsFileWork(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprint("noSync=", noSync), func(t *testing.T) {
			n, err := New(Config{Logger: testLogger(t, 0)})
			require.NoError(t, err)
			st, err := openStore(t.TempDir(), "n1", noSync, n)
			require.NoError(t, err)
			before := st.Stats()
			require.NoError(t, st.Apply([]core.Write{
				{Kind: core.WriteState, Data: []byte("x")},
				{Kind: core.WriteAppend, Index: 1, Data: []byte("a")},
				{Kind: core.WriteAppend, Index: 2, Data: []byte("b")},
			}))
			after := st.Stats()
			logged := after.log.BytesWritten + after.state.BytesWritten - before.log.BytesWritten - before.state.BytesWritten
			require.Equal(t, logged, after.files.Bytes-before.files.Bytes, "bytes written")
			require.Equal(t, int64(2), after.log.Syncs+after.state.Syncs-before.log.Syncs-before.state.Syncs,
				"one sync of the stable value, one of the log")
			if noSync {
				require.Zero(t, after.files.Fsyncs)
				require.Zero(t, after.files.DirFsyncs)
			} else {
				require.Equal(t, int64(2), after.files.Fsyncs-before.files.Fsyncs)
				require.Zero(t, after.files.DirFsyncs-before.files.DirFsyncs)
			}
			// A snapshot: its file, the log's rewrite, and their directory.
			require.NoError(t, st.Apply([]core.Write{{Kind: core.WriteSnapshot, Index: 2, Data: []byte("s")}}))
			snap := st.Stats()
			if !noSync {
				require.Equal(t, int64(2), snap.files.Fsyncs-after.files.Fsyncs, "the snapshot's and the log rewrite's")
				require.Equal(t, int64(2), snap.files.DirFsyncs-after.files.DirFsyncs)
			}
			require.Greater(t, snap.files.Bytes, after.files.Bytes)
			require.NoError(t, st.Close())
		})
	}
}
