package raft

import "fmt"

// raftLog is the in-memory log: a snapshot standing for every entry up to
// snap.Index, then ents.
//
// Invariants: ents[i].Index == snap.Index+1+i, terms never decrease along
// the log, snap.Index <= applied <= committed <= lastIndex().
type raftLog struct {
	snap      Snapshot // Data may be nil for the initial empty snapshot
	ents      []Entry
	committed int64
	// applied is the last index handed to the application through Ready
	// (a snapshot handed out counts as applied up to its index).
	applied int64
	// unstable is the first index whose entry may differ from what was
	// last handed out as writes (Raft.TakeWrites).
	unstable int64
}

func (l *raftLog) firstIndex() int64 { return l.snap.Index + 1 }

func (l *raftLog) lastIndex() int64 { return l.snap.Index + int64(len(l.ents)) }

func (l *raftLog) lastTerm() int64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term is the term of the entry at i; ok is false when i was compacted
// away (below the snapshot) or is past the end.
func (l *raftLog) term(i int64) (int64, bool) {
	switch {
	case i == l.snap.Index:
		return l.snap.Term, true
	case i < l.snap.Index || i > l.lastIndex():
		return 0, false
	default:
		return l.ents[i-l.snap.Index-1].Term, true
	}
}

func (l *raftLog) matchTerm(i, t int64) bool {
	lt, ok := l.term(i)
	return ok && lt == t
}

// isUpToDate is the election restriction of §5.4.1: a log ending in
// (lastTerm, lastIndex) is at least as up to date as ours.
func (l *raftLog) isUpToDate(lastIndex, lastTerm int64) bool {
	return lastTerm > l.lastTerm() || (lastTerm == l.lastTerm() && lastIndex >= l.lastIndex())
}

// slice returns entries [lo, hi) capped at max entries; lo must be >= firstIndex.
func (l *raftLog) slice(lo, hi int64, max int) []Entry {
	if lo < l.firstIndex() || hi > l.lastIndex()+1 || lo > hi {
		panic(fmt.Sprintf("raft: slice [%d,%d) out of [%d,%d]", lo, hi, l.firstIndex(), l.lastIndex()))
	}
	if hi-lo > int64(max) {
		hi = lo + int64(max)
	}
	off := l.snap.Index + 1
	return append([]Entry(nil), l.ents[lo-off:hi-off]...)
}

// append adds entries after truncating any conflicting suffix. It never
// truncates committed entries: that would break state machine safety.
func (l *raftLog) append(ents ...Entry) {
	if len(ents) == 0 {
		return
	}
	after := ents[0].Index - 1
	if after < l.committed {
		panic(fmt.Sprintf("raft: truncating committed entries: after=%d committed=%d", after, l.committed))
	}
	if after > l.lastIndex() {
		panic(fmt.Sprintf("raft: gap in log: after=%d last=%d", after, l.lastIndex()))
	}
	l.ents = append(l.ents[:after-l.snap.Index], ents...)
	l.unstable = min(l.unstable, after+1)
}

// maybeAppend handles the entries of a MsgApp whose previous entry is
// (index, logTerm) (§5.3): it reports the last index now known to match the
// leader's log, and false if the previous entry does not match.
func (l *raftLog) maybeAppend(index, logTerm, commit int64, ents []Entry) (int64, bool) {
	if !l.matchTerm(index, logTerm) {
		return 0, false
	}
	lastNew := index + int64(len(ents))
	// Skip entries we already have (a duplicate or reordered MsgApp must not
	// truncate entries that a later MsgApp already appended).
	for i, e := range ents {
		if e.Index <= l.snap.Index {
			continue // covered by our snapshot: committed, so identical
		}
		if !l.matchTerm(e.Index, e.Term) {
			l.append(ents[i:]...)
			break
		}
	}
	l.commitTo(min(commit, lastNew))
	return lastNew, true
}

func (l *raftLog) commitTo(c int64) {
	if c > l.committed {
		if c > l.lastIndex() {
			panic(fmt.Sprintf("raft: commit %d past last index %d", c, l.lastIndex()))
		}
		l.committed = c
	}
}

// conflictHint is the fast-backtracking hint for a rejected MsgApp whose
// previous entry is at index: the term we hold there (0 if our log is too
// short) and the first index of that term in our log, so the leader can
// skip a whole term per round trip instead of one entry.
func (l *raftLog) conflictHint(index int64) (term, first int64) {
	if index > l.lastIndex() {
		return 0, l.lastIndex() + 1
	}
	t, ok := l.term(index)
	if !ok {
		return 0, l.firstIndex()
	}
	first = index
	for first-1 > l.snap.Index {
		pt, _ := l.term(first - 1)
		if pt != t {
			break
		}
		first--
	}
	return t, first
}

// lastIndexOfTerm is the last index holding term t, 0 if none.
func (l *raftLog) lastIndexOfTerm(t int64) int64 {
	for i := l.lastIndex(); i > l.snap.Index; i-- {
		lt, _ := l.term(i)
		if lt == t {
			return i
		}
		if lt < t {
			return 0
		}
	}
	return 0
}

// compact replaces entries up to index by a snapshot with data.
func (l *raftLog) compact(index int64, voters []string, data []byte) error {
	if index <= l.snap.Index {
		return nil
	}
	if index > l.applied {
		return fmt.Errorf("raft: compact %d past applied %d", index, l.applied)
	}
	t, _ := l.term(index)
	l.ents = append([]Entry(nil), l.ents[index-l.snap.Index:]...)
	l.snap = Snapshot{Index: index, Term: t, Voters: append([]string(nil), voters...), Data: data}
	return nil
}

// restore replaces the whole log by a snapshot received from the leader.
func (l *raftLog) restore(s Snapshot) {
	l.snap = s
	l.ents = nil
	l.committed = s.Index
	l.unstable = s.Index + 1
	// applied moves when the snapshot is handed out in Ready.
}
