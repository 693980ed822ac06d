package raft

// Log replication (§5.3, §5.4): proposals, appends and their answers, the
// commit rule, appends held while a gap is open, snapshots to followers
// behind.

import (
	"cmp"
	"fmt"
	"slices"
)

// Propose asks for data to be appended to the log. ErrProposalDropped means
// it surely was not; nil means it may or may not be committed later.
func (r *Raft) Propose(data []byte) error {
	return r.Step(Message{Type: MsgProp, Entries: []Entry{{Type: EntryNormal, Data: data}}})
}

// Compact replaces the log up to index (which must be the applied index)
// by a snapshot holding data, the state machine's state at index (§7).
func (r *Raft) Compact(index int64, data []byte) error {
	if index != r.log.applied {
		return fmt.Errorf("raft: compact at %d, applied is %d", index, r.log.applied)
	}
	return r.log.compact(index, r.voters, data)
}

func (r *Raft) handlePropose(m Message) error {
	if !r.promotable() || r.leadTransferee != "" || len(m.Entries) == 0 {
		return ErrProposalDropped
	}
	for _, e := range m.Entries {
		if e.Type == EntryConfChange && r.pendingConfIndex > r.log.applied {
			return ErrProposalDropped
		}
	}
	r.appendEntries(m.Entries...)
	for _, e := range m.Entries {
		if e.Type == EntryConfChange {
			r.pendingConfIndex = r.log.lastIndex()
		}
	}
	r.bcastAppend()
	return nil
}

// appendEntries appends entries of the current term to the leader's log.
func (r *Raft) appendEntries(ents ...Entry) {
	li := r.log.lastIndex()
	out := make([]Entry, len(ents))
	for i, e := range ents {
		out[i] = Entry{Term: r.term, Index: li + 1 + int64(i), Type: e.Type, Data: e.Data}
	}
	r.log.append(out...)
	r.prs[r.id].maybeUpdate(r.log.lastIndex())
	r.maybeCommit() // a single voter commits at once
}

// committedInTerm says whether this leader has committed an entry of its
// own term; before that its commit index may lag the true one.
func (r *Raft) committedInTerm() bool {
	t, _ := r.log.term(r.log.committed)
	return t == r.term
}

func (r *Raft) handleAppendResp(m Message, pr *progress) {
	if m.Index > r.log.lastIndex() || m.Index < 0 {
		r.cfg.Logger.Warn("raft: dropping append response past our log", "id", r.id, "msg", m.String())
		return
	}
	if m.Reject && m.LogTerm == 0 && m.Hint > 0 && m.Hint-1 < pr.Match {
		// The follower's log is shorter than what it acknowledged: it
		// lost its disk (amnesia.go), or this is a rejection older than
		// its acknowledgement. Lowering Match is always safe (commit
		// never moves back) and resending is all the stale case costs.
		pr.becomeProbe()
		pr.Match, pr.Next = m.Hint-1, m.Hint
		pr.probeSent = false
		r.sendAppend(m.From, true)
		return
	}
	if m.Reject {
		// Stale rejections (for an append already superseded) are noise.
		if m.Index < pr.Match || (pr.State == progressProbe && m.Index != pr.Next-1) ||
			(pr.State == progressReplicate && m.Index <= pr.Match) {
			r.cfg.Logger.Debug("raft: stale rejection", "id", r.id, "msg", m.String())
			return
		}
		// Fast backtracking: skip the follower's whole conflicting term.
		next := m.Hint
		if m.LogTerm > 0 {
			if last := r.log.lastIndexOfTerm(m.LogTerm); last > 0 {
				next = last + 1
			}
		}
		if pr.State != progressProbe {
			pr.becomeProbe()
		}
		pr.Next = max(pr.Match+1, min(next, m.Index))
		pr.probeSent = false
		r.sendAppend(m.From, true)
		return
	}
	oldPaused := pr.paused(r.cfg.MaxInflight)
	if pr.maybeUpdate(m.Index) {
		switch {
		case pr.State == progressProbe:
			pr.becomeReplicate()
		case pr.State == progressSnapshot && pr.Match >= pr.pendingSnapshot:
			pr.becomeReplicate()
		}
		if r.maybeCommit() {
			r.bcastCommit()
		} else if oldPaused {
			// Tell the follower the commit index it missed while paused.
			r.sendAppend(m.From, true)
		}
		// Keep the window full.
		for r.sendAppend(m.From, false) {
		}
		if m.From == r.leadTransferee && pr.Match == r.log.lastIndex() {
			r.send(Message{To: m.From, Type: MsgTimeoutNow})
		}
	}
}

// maybeCommit applies the commit rule of §5.4.2: the highest index a
// quorum holds commits if its entry is of the current term.
func (r *Raft) maybeCommit() bool {
	matches := make([]int64, 0, len(r.voters))
	for _, v := range r.voters {
		matches = append(matches, r.prs[v].Match)
	}
	slices.Sort(matches)
	slices.Reverse(matches)
	mci := matches[r.quorum()-1]
	if mci <= r.log.committed {
		return false
	}
	if t, _ := r.log.term(mci); t != r.term {
		return false
	}
	first := !r.committedInTerm()
	r.log.commitTo(mci)
	if first {
		r.startWaitingReads()
	}
	return true
}

func (r *Raft) bcastAppend() {
	for _, v := range r.voters {
		if v != r.id {
			r.sendAppend(v, true)
		}
	}
}

// bcastCommit tells every follower the new commit index: with the
// entries it lacks, or, with QuietCommits, in a quiet append to a
// follower in step that has nothing left to receive.
func (r *Raft) bcastCommit() {
	for _, v := range r.voters {
		if v == r.id {
			continue
		}
		pr := r.prs[v]
		if r.cfg.QuietCommits && pr != nil && pr.State == progressReplicate &&
			pr.Next > r.log.lastIndex() && !pr.paused(r.cfg.MaxInflight) {
			if prevTerm, ok := r.log.term(pr.Next - 1); ok {
				r.send(Message{To: v, Type: MsgApp, Index: pr.Next - 1, LogTerm: prevTerm, Commit: r.log.committed, Quiet: true})
				continue
			}
		}
		r.sendAppend(v, true)
	}
}

func (r *Raft) bcastHeartbeat(round int64) {
	for _, v := range r.voters {
		if v == r.id {
			continue
		}
		// A follower may only learn a commit index it is known to hold.
		commit := min(r.prs[v].Match, r.log.committed)
		r.send(Message{To: v, Type: MsgHeartbeat, Commit: commit, Context: round})
	}
}

// sendAppend sends the follower the entries it lacks, or the snapshot when
// they were compacted away; it reports whether it sent anything.
func (r *Raft) sendAppend(to string, sendIfEmpty bool) bool {
	pr := r.prs[to]
	if pr == nil || pr.paused(r.cfg.MaxInflight) {
		return false
	}
	prev := pr.Next - 1
	prevTerm, ok := r.log.term(prev)
	if !ok {
		s := cloneSnapshot(r.log.snap)
		r.send(Message{To: to, Type: MsgSnap, Snapshot: &s})
		pr.becomeSnapshot(s.Index)
		return true
	}
	ents := r.log.slice(pr.Next, r.log.lastIndex()+1, r.cfg.MaxEntriesPerMsg)
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	r.send(Message{To: to, Type: MsgApp, Index: prev, LogTerm: prevTerm, Entries: ents, Commit: r.log.committed})
	switch pr.State {
	case progressReplicate:
		if n := len(ents); n > 0 {
			last := ents[n-1].Index
			pr.Next = last + 1
			pr.inflight = append(pr.inflight, last)
		}
	case progressProbe:
		pr.probeSent = true
	}
	return true
}

// handleAppend is the receiver side of AppendEntries (§5.3).
func (r *Raft) handleAppend(m Message) {
	// A malformed append (from a buggy or lying peer) must not corrupt the
	// log: entries follow m.Index contiguously, with terms up to m.Term.
	for i, e := range m.Entries {
		if e.Index != m.Index+1+int64(i) || e.Term > m.Term || e.Term < m.LogTerm || (i > 0 && e.Term < m.Entries[i-1].Term) {
			r.cfg.Logger.Warn("raft: dropping malformed append", "id", r.id, "msg", m.String())
			return
		}
	}
	if m.Index < 0 {
		return
	}
	if m.Index < r.log.committed {
		r.send(Message{To: m.From, Type: MsgAppResp, Index: r.log.committed})
		return
	}
	if last, ok := r.log.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries); ok {
		if !m.Quiet || len(m.Entries) > 0 {
			r.send(Message{To: m.From, Type: MsgAppResp, Index: last})
		}
		r.earlyTicks = 0
		return
	}
	if r.cfg.ReorderTicks > 0 && m.Index > r.log.lastIndex() && len(r.early) < r.cfg.MaxInflight {
		// Ahead of a gap: most likely an earlier append is still on its
		// way. Hold it (see Config.ReorderTicks).
		r.early = append(r.early, m)
		return
	}
	r.rejectAppend(m)
}

// rejectAppend answers an append that does not match our log with where it
// diverges (§5.3).
func (r *Raft) rejectAppend(m Message) {
	term, first := r.log.conflictHint(m.Index)
	r.send(Message{To: m.From, Type: MsgAppResp, Index: m.Index, LogTerm: term, Hint: first, Reject: true})
}

// replayEarly steps the held appends that now follow our log, oldest
// first, until none does.
func (r *Raft) replayEarly() {
	for {
		i := -1
		for j, e := range r.early {
			if e.Index <= r.log.lastIndex() && (i < 0 || e.Index < r.early[i].Index) {
				i = j
			}
		}
		if i < 0 {
			break
		}
		m := r.early[i]
		r.early = slices.Delete(r.early, i, i+1)
		r.handleAppend(m)
	}
	if len(r.early) == 0 {
		r.earlyTicks = 0
	}
}

// tickEarly gives up on a gap open for ReorderTicks: the append that would
// fill it was lost, so the held append nearest our log is rejected (the
// leader then probes and resends) and the others are dropped.
func (r *Raft) tickEarly() {
	if len(r.early) == 0 {
		return
	}
	r.earlyTicks++
	if r.earlyTicks < r.cfg.ReorderTicks {
		return
	}
	first := slices.MinFunc(r.early, func(a, b Message) int { return cmp.Compare(a.Index, b.Index) })
	r.early, r.earlyTicks = nil, 0
	r.rejectAppend(first)
}

func (r *Raft) handleHeartbeat(m Message) {
	r.log.commitTo(min(m.Commit, r.log.lastIndex()))
	r.send(Message{To: m.From, Type: MsgHeartbeatResp, Context: m.Context})
	if r.rejoin.Unsure && m.Commit > r.log.lastIndex() {
		// A node that lost its disk lacks entries the leader may think it
		// holds (its match index is from before): say how short the log
		// is, so the leader lowers the match and sends them again.
		li := r.log.lastIndex()
		r.send(Message{To: m.From, Type: MsgAppResp, Index: li, Reject: true, Hint: li + 1})
	}
}

// handleSnapshot is the receiver side of InstallSnapshot (§7).
func (r *Raft) handleSnapshot(m Message) {
	s := m.Snapshot
	if s == nil {
		return
	}
	switch {
	case s.Index <= r.log.committed:
		// Nothing new.
	case r.log.matchTerm(s.Index, s.Term):
		// We hold the snapshot's last entry: the log up to it matches.
		r.log.commitTo(s.Index)
	default:
		c := cloneSnapshot(*s)
		r.log.restore(c)
		r.voters = slices.Sorted(slices.Values(c.Voters))
		r.snapToApply = &c
	}
	r.send(Message{To: m.From, Type: MsgAppResp, Index: r.log.committed})
}
