package raft

// Read-only queries (§6.4): ReadIndex with a heartbeat round per batch of
// reads, or a leader lease.

import (
	"slices"
)

// pendingRead is a ReadIndex request at the leader, waiting for a quorum to
// acknowledge read round seq (0: waiting for the leader's first commit in
// its term, before which its commit index may be stale).
type pendingRead struct {
	seq, index int64
	from       string
	ctx        int64
}

// ReadIndex asks for a linearizable read point; a ReadState with ctx comes
// out of Ready once the leader has confirmed it still leads (diss. §6.4).
// No answer may ever come (lost messages, leader change): callers time out.
func (r *Raft) ReadIndex(ctx int64) error {
	return r.Step(Message{Type: MsgReadIndex, Context: ctx})
}

// handleReadIndex starts a ReadIndex round (diss. §6.4): record the commit
// index, then confirm with a heartbeat round that we still lead.
func (r *Raft) handleReadIndex(m Message) error {
	if len(r.pendingReads) >= r.cfg.MaxPendingReads {
		return ErrProposalDropped
	}
	if len(r.voters) == 1 && r.committedInTerm() {
		r.respondRead(m.From, r.log.committed, m.Context)
		return nil
	}
	pr := pendingRead{from: m.From, ctx: m.Context}
	if r.committedInTerm() && r.inLease() {
		r.respondRead(m.From, r.log.committed, m.Context)
		return nil
	}
	if r.committedInTerm() {
		r.newRound()
		pr.seq, pr.index = r.readSeq, r.log.committed
		r.pendingReads = append(r.pendingReads, pr)
		r.bcastHeartbeat(r.readSeq)
		return nil
	}
	r.pendingReads = append(r.pendingReads, pr) // seq 0: waits for the no-op
	return nil
}

// startWaitingReads gives the reads that waited for the first commit of the
// term a read round.
func (r *Raft) startWaitingReads() {
	started := false
	for i := range r.pendingReads {
		if r.pendingReads[i].seq == 0 {
			if !started {
				r.newRound()
				started = true
			}
			r.pendingReads[i].seq, r.pendingReads[i].index = r.readSeq, r.log.committed
		}
	}
	if started {
		if len(r.voters) == 1 {
			r.releaseReads()
			return
		}
		r.bcastHeartbeat(r.readSeq)
	}
}

// newRound starts a heartbeat round, noting when for the lease.
func (r *Raft) newRound() {
	r.readSeq++
	if !r.cfg.LeaseRead {
		return
	}
	if r.roundTicks == nil {
		r.roundTicks = map[int64]int64{}
	}
	r.roundTicks[r.readSeq] = r.leaderTicks
	for round, at := range r.roundTicks {
		if at < r.leaderTicks-int64(r.cfg.ElectionTick) {
			delete(r.roundTicks, round)
		}
	}
}

// inLease says whether LeaseRead may answer now: a quorum acknowledged a
// round sent recently enough, and no transfer is handing leadership away.
func (r *Raft) inLease() bool {
	if !r.cfg.LeaseRead || r.leadTransferee != "" {
		return false
	}
	acks := make([]int64, 0, len(r.voters))
	for _, v := range r.voters {
		if v == r.id {
			acks = append(acks, r.readSeq)
		} else {
			acks = append(acks, r.prs[v].readAck)
		}
	}
	slices.Sort(acks)
	slices.Reverse(acks)
	sent, ok := r.roundTicks[acks[r.quorum()-1]]
	return ok && r.leaderTicks < sent+int64(r.cfg.ElectionTick-r.cfg.LeaseMarginTicks)
}

// releaseReads answers the reads whose round a quorum acknowledged. Rounds
// are numbered in order, so acknowledged ones form a prefix.
func (r *Raft) releaseReads() {
	n := 0
	for _, pr := range r.pendingReads {
		if pr.seq == 0 {
			break
		}
		acks := 0
		for _, v := range r.voters {
			if v == r.id || r.prs[v].readAck >= pr.seq {
				acks++
			}
		}
		if acks < r.quorum() {
			break
		}
		r.respondRead(pr.from, pr.index, pr.ctx)
		n++
	}
	r.pendingReads = r.pendingReads[n:]
}

func (r *Raft) respondRead(to string, index, ctx int64) {
	if to == r.id {
		r.reads = append(r.reads, ReadState{Index: index, Context: ctx})
		return
	}
	r.send(Message{To: to, Type: MsgReadIndexResp, Index: index, Context: ctx})
}
