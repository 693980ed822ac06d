package raft

// Durable state (§5, Figure 2 "persistent state on all servers"): what the
// core must find again after a crash, as core.Writes for the driver to make
// durable before it sends the messages of the same output, and how a core
// is rebuilt from what a restart recovers.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"maelkit/lib/core"
)

// persisted is what the core has handed out as writes: the durable term and
// vote, the last log index written and the snapshot index written. With
// raftLog.unstable it lets TakeWrites emit only what changed.
type persisted struct {
	term      int64
	vote      string
	commit    int64
	last      int64
	snapIndex int64
	rejoin    rejoinState
}

// stableState is the encoding of the WriteState value: term, vote, and a
// commit index. The commit index is rewritten only when a membership
// change was applied past it: a restarted node learns the commit index
// again from the leader, and not rewriting it on every commit saves a sync
// per output, but it must restart with the membership it had applied (the
// snapshot holds the membership at its index; the changes after it in the
// log take effect when the commit index passes them), lest it count votes
// in a configuration several changes old.
type stableState struct {
	Term   int64       `json:"term"`
	Vote   string      `json:"vote,omitempty"`
	Commit int64       `json:"commit,omitempty"`
	Rejoin rejoinState `json:"rejoin,omitzero"`
	// Seen: the first incarnation each unsure peer announced (Greet).
	Seen map[string]uint64 `json:"seen,omitempty"`
}

// TakeWrites returns, and forgets, the durable writes that bring the disk
// up to the core's state: term and vote when either changed, a truncation
// when entries already written were replaced, the snapshot when it moved,
// and the entries appended since the last call. The caller must make them
// durable (in order, with a sync) before it sends any message taken with
// Ready since the previous call: a vote granted, a campaign's requests, an
// append's acknowledgement and a leader's appends all depend on them.
//
// A leader counts its own log in the commit quorum before its entries are
// durable, but it cannot commit one without another voter's acknowledgement
// of an append that went out after the sync, so every committed entry is
// durable on the leader too; a single voter commits at once, and its
// replies leave with the writes that back them.
func (r *Raft) TakeWrites() []core.Write {
	var ws []core.Write
	p, l := &r.persisted, &r.log
	// The commit index written must be durable in the log before this
	// output's writes: the state is written first, and the entries below
	// unstable were made durable by the previous output's sync. A change
	// applied past that is written with a later output.
	commit := p.commit
	if safe := min(l.committed, l.unstable-1, p.last); r.confApplied > p.commit && safe >= r.confApplied {
		commit = safe
	}
	if r.term != p.term || r.vote != p.vote || commit != p.commit || r.rejoin != p.rejoin || r.seenDirty {
		b, _ := json.Marshal(stableState{Term: r.term, Vote: r.vote, Commit: commit, Rejoin: r.rejoin, Seen: r.seen})
		ws = append(ws, core.Write{Kind: core.WriteState, Data: b})
		p.term, p.vote, p.commit, p.rejoin = r.term, r.vote, commit, r.rejoin
		r.seenDirty = false
	}
	if cut := l.unstable - 1; cut < p.last {
		ws = append(ws, core.Write{Kind: core.WriteTruncate, Index: uint64(max(cut, 0))})
		p.last = cut
	}
	if l.snap.Index != p.snapIndex {
		ws = append(ws, core.Write{Kind: core.WriteSnapshot, Index: uint64(l.snap.Index), Data: encodeSnapshot(l.snap)})
		p.snapIndex = l.snap.Index
		p.last = max(p.last, l.snap.Index)
	}
	for i := max(l.unstable, l.snap.Index+1, p.last+1); i <= l.lastIndex(); i++ {
		e := l.ents[i-l.snap.Index-1]
		ws = append(ws, core.Write{Kind: core.WriteAppend, Index: uint64(i), Data: encodeEntry(e)})
	}
	p.last = l.lastIndex()
	l.unstable = p.last + 1
	return ws
}

func encodeSnapshot(s Snapshot) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("raft: encode snapshot: %v", err)) // plain data: cannot fail
	}
	return b
}

// encodeEntry is a log record: the term (uvarint), the type, the data. The
// index is the record's number in the log.
func encodeEntry(e Entry) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+1+len(e.Data))
	b = binary.AppendUvarint(b, uint64(e.Term))
	b = append(b, byte(e.Type))
	return append(b, e.Data...)
}

func decodeEntry(index int64, b []byte) (Entry, error) {
	t, n := binary.Uvarint(b)
	if n <= 0 || len(b) == n || t > 1<<62 {
		return Entry{}, fmt.Errorf("raft: bad log record %d", index)
	}
	e := Entry{Term: int64(t), Index: index, Type: EntryType(b[n])}
	if e.Type != EntryNormal && e.Type != EntryConfChange {
		return Entry{}, fmt.Errorf("raft: log record %d has entry type %d", index, e.Type)
	}
	if d := b[n+1:]; len(d) > 0 {
		e.Data = append([]byte(nil), d...)
	}
	return e, nil
}

// FromRecovered turns what a restart recovered into the Durable state to
// build the core from (Config.Durable); nil when rec is Fresh or holds
// nothing (the zero Recovered). An error is state this package did not
// write.
func FromRecovered(rec core.Recovered) (*Durable, error) {
	if rec.Fresh || rec.State == nil && rec.Snapshot == nil && len(rec.Log) == 0 {
		return nil, nil
	}
	d := &Durable{}
	if rec.State != nil {
		var st stableState
		if err := json.Unmarshal(rec.State, &st); err != nil {
			return nil, fmt.Errorf("raft: bad stable state: %w", err)
		}
		if st.Term < 0 || st.Commit < 0 {
			return nil, errors.New("raft: negative term or commit in the stable state")
		}
		d.HardState = HardState{Term: st.Term, Vote: st.Vote, Commit: st.Commit}
		d.Rejoin = st.Rejoin
		d.Seen = st.Seen
	}
	next := int64(1)
	if rec.Snapshot != nil {
		var s Snapshot
		if err := json.Unmarshal(rec.Snapshot.Data, &s); err != nil {
			return nil, fmt.Errorf("raft: bad snapshot: %w", err)
		}
		if s.Index != int64(rec.Snapshot.Index) || s.Index < 0 || s.Term < 0 {
			return nil, fmt.Errorf("raft: snapshot at %d says index %d term %d", rec.Snapshot.Index, s.Index, s.Term)
		}
		d.Snapshot = &s
		next = s.Index + 1
	}
	if len(rec.Log) > 0 && int64(rec.First) != next {
		return nil, fmt.Errorf("raft: log starts at %d, the snapshot ends at %d", rec.First, next-1)
	}
	prev := int64(0)
	if d.Snapshot != nil {
		prev = d.Snapshot.Term
	}
	for i, b := range rec.Log {
		e, err := decodeEntry(next+int64(i), b)
		if err != nil {
			return nil, err
		}
		if e.Term < prev {
			return nil, fmt.Errorf("raft: log record %d has term %d after term %d", e.Index, e.Term, prev)
		}
		prev = e.Term
		d.Entries = append(d.Entries, e)
	}
	if prev > d.HardState.Term {
		// Entries are written with the term that made them; a stable state
		// older than the log cannot come from TakeWrites' order.
		return nil, fmt.Errorf("raft: log holds term %d past the stable term %d", prev, d.HardState.Term)
	}
	if last := next - 1 + int64(len(d.Entries)); d.HardState.Commit > last {
		return nil, fmt.Errorf("raft: commit %d past the last entry %d", d.HardState.Commit, last)
	}
	return d, nil
}
