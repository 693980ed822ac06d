package raft

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// network delivers messages between cores synchronously, in order, as
// etcd's tests do: no clock, no loss unless a test cuts a link.
type network struct {
	t     *testing.T
	peers map[string]*Raft
	ids   []string
	cut   map[[2]string]bool // from,to -> dropped
	// applied collects every entry each node applied.
	applied map[string][]Entry
	reads   map[string][]ReadState
	log     []string // delivered messages, for golden traces
	noLog   bool     // benchmarks: skip the trace
}

func newTestRaft(t *testing.T, id string, ids []string, mod func(*Config)) *Raft {
	t.Helper()
	cfg := Config{ID: id, Voters: ids, ElectionTick: 10, HeartbeatTick: 1, Rand: rand.New(rand.NewPCG(1, uint64(len(id))+uint64(id[len(id)-1])))}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newNetwork(t *testing.T, n int, mod func(*Config)) *network {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = string(rune('a' + i))
	}
	nw := &network{t: t, peers: map[string]*Raft{}, ids: ids, cut: map[[2]string]bool{}, applied: map[string][]Entry{}, reads: map[string][]ReadState{}}
	for _, id := range ids {
		nw.peers[id] = newTestRaft(t, id, ids, mod)
	}
	return nw
}

// drain takes every node's Ready, recording applied entries, and returns
// the messages.
func (nw *network) drain() []Message {
	var msgs []Message
	for _, id := range nw.ids {
		rd := nw.peers[id].Ready()
		nw.applied[id] = append(nw.applied[id], rd.Committed...)
		nw.reads[id] = append(nw.reads[id], rd.Reads...)
		msgs = append(msgs, rd.Messages...)
	}
	return msgs
}

// stabilize delivers messages until none are left (bounded).
func (nw *network) stabilize() {
	nw.t.Helper()
	for range 10_000 {
		msgs := nw.drain()
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			nw.deliver(m)
		}
	}
	nw.t.Fatal("network did not stabilize")
}

func (nw *network) deliver(m Message) {
	if nw.cut[[2]string{m.From, m.To}] {
		nw.log = append(nw.log, "drop "+m.String())
		return
	}
	if !nw.noLog {
		nw.log = append(nw.log, m.String())
	}
	p := nw.peers[m.To]
	if p == nil {
		return
	}
	_ = p.Step(m)
}

func (nw *network) isolate(id string) {
	for _, o := range nw.ids {
		if o != id {
			nw.cut[[2]string{id, o}] = true
			nw.cut[[2]string{o, id}] = true
		}
	}
}

func (nw *network) heal() { nw.cut = map[[2]string]bool{} }

// campaign makes id start an election and lets the network settle.
func (nw *network) campaign(id string) {
	_ = nw.peers[id].Campaign()
	nw.stabilize()
}

func (nw *network) propose(id, data string) error {
	err := nw.peers[id].Propose([]byte(data))
	nw.stabilize()
	return err
}

// tick ticks every node n times, settling the network after each.
func (nw *network) tick(ids []string, n int) {
	for range n {
		for _, id := range ids {
			nw.peers[id].Tick()
		}
		nw.stabilize()
	}
}

func msgsOf(r *Raft, typ MsgType) []Message {
	var out []Message
	for _, m := range r.msgs {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

func appliedData(ents []Entry) []string {
	var out []string
	for _, e := range ents {
		if len(e.Data) > 0 {
			out = append(out, string(e.Data))
		}
	}
	return out
}

func logTerms(r *Raft) []int64 {
	var out []int64
	for _, e := range r.log.ents {
		out = append(out, e.Term)
	}
	return out
}

var _ = slices.Clone[[]int]
