package raft

// Leader election (§5.2): timeouts, pre-vote and votes, the state
// transitions, check-quorum, and leadership transfer.

import (
	"fmt"
)

// Campaign starts an election now (a pre-vote first if enabled).
func (r *Raft) Campaign() error { return r.Step(Message{Type: MsgHup}) }

// TransferLeader asks the leader to hand leadership to target.
func (r *Raft) TransferLeader(target string) error {
	return r.Step(Message{Type: MsgTransferLeader, Target: target})
}

func (r *Raft) resetRandomizedTimeout() {
	r.randomizedTimeout = r.cfg.ElectionTick + r.cfg.Rand.IntN(r.cfg.ElectionTick)
}

func (r *Raft) reset(term int64) {
	if term != r.term {
		r.term = term
		r.vote = ""
	}
	r.lead = ""
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.resetRandomizedTimeout()
	r.leadTransferee = ""
	r.votes = map[string]bool{}
	r.prs = nil
	r.pendingReads = nil
	r.leaderTicks = 0
	r.roundTicks = nil
	r.early = nil
	r.earlyTicks = 0
}

func (r *Raft) becomeFollower(term int64, lead string) {
	r.reset(term)
	r.lead = lead
	r.state = StateFollower
}

func (r *Raft) becomePreCandidate() {
	// A pre-candidate keeps its term and vote: it only asks (diss. §9.6).
	r.votes = map[string]bool{}
	r.lead = ""
	r.state = StatePreCandidate
	r.electionElapsed = 0
	r.resetRandomizedTimeout()
}

func (r *Raft) becomeCandidate() {
	if r.state == StateLeader {
		panic("raft: leader becoming candidate")
	}
	r.reset(r.term + 1)
	r.vote = r.id
	r.state = StateCandidate
}

func (r *Raft) becomeLeader() {
	if r.state != StateCandidate {
		panic(fmt.Sprintf("raft: %s becoming leader", r.state))
	}
	r.reset(r.term)
	r.lead = r.id
	r.state = StateLeader
	r.prs = map[string]*progress{}
	for _, v := range r.voters {
		r.prs[v] = &progress{Next: r.log.lastIndex() + 1}
	}
	r.prs[r.id].Match = r.log.lastIndex()
	// A no-op of the new term (§8): entries of earlier terms only commit
	// once an entry of this term does (§5.4.2), and reads wait for it.
	r.appendEntries(Entry{Type: EntryNormal})
	// Conservatively block membership changes until everything in the log
	// at election time is applied.
	r.pendingConfIndex = r.log.lastIndex()
	r.cfg.Logger.Debug("raft: became leader", "id", r.id, "term", r.term)
	r.bcastAppend()
}

func (r *Raft) tickElection() {
	r.tickEarly()
	r.electionElapsed++
	if r.promotable() && r.electionElapsed >= r.randomizedTimeout {
		r.electionElapsed = 0
		_ = r.Step(Message{Type: MsgHup})
	}
}

func (r *Raft) tickHeartbeat() {
	r.heartbeatElapsed++
	r.electionElapsed++
	if r.electionElapsed >= r.cfg.ElectionTick {
		r.electionElapsed = 0
		if r.cfg.CheckQuorum && !r.quorumActive() {
			r.cfg.Logger.Debug("raft: leader lost its quorum, stepping down", "id", r.id, "term", r.term)
			r.becomeFollower(r.term, "")
			return
		}
		// A transfer that did not finish in an election timeout is abandoned.
		r.leadTransferee = ""
	}
	r.leaderTicks++
	if r.heartbeatElapsed >= r.cfg.HeartbeatTick {
		r.heartbeatElapsed = 0
		if r.cfg.LeaseRead {
			// Every heartbeat is a new round, so acks renew the lease.
			r.newRound()
		}
		for _, pr := range r.prs {
			pr.sentBeat = [2]int64{pr.Next - 1, pr.sentBeat[0]}
		}
		r.bcastHeartbeat(r.readSeq)
	}
}

// quorumActive says whether a majority was heard from since the last
// check, and starts a new check.
func (r *Raft) quorumActive() bool {
	active := 0
	for _, v := range r.voters {
		if v == r.id {
			active++
			continue
		}
		if r.prs[v].recentActive {
			active++
		}
		r.prs[v].recentActive = false
	}
	return active >= r.quorum()
}

// hup starts an election: a pre-vote round first unless transfer says the
// leader itself asked us to take over.
func (r *Raft) hup(transfer bool) {
	if r.state == StateLeader || !r.promotable() {
		return
	}
	if r.cfg.PreVote && !transfer {
		r.campaign(true, false)
	} else {
		r.campaign(false, transfer)
	}
}

func (r *Raft) campaign(pre, force bool) {
	var term int64
	var typ MsgType
	if pre {
		r.becomePreCandidate()
		term, typ = r.term+1, MsgPreVote
	} else {
		r.becomeCandidate()
		term, typ = r.term, MsgVote
	}
	if r.poll(r.id, true) == voteWon {
		r.onWin(pre)
		return
	}
	for _, v := range r.voters {
		if v == r.id {
			continue
		}
		r.send(Message{To: v, Type: typ, Term: term, Index: r.log.lastIndex(), LogTerm: r.log.lastTerm(), Force: force})
	}
}

func (r *Raft) onWin(pre bool) {
	if pre {
		r.campaign(false, false)
	} else {
		r.becomeLeader()
	}
}

type voteResult uint8

const (
	votePending voteResult = iota
	voteWon
	voteLost
)

func (r *Raft) poll(from string, granted bool) voteResult {
	if _, seen := r.votes[from]; !seen {
		r.votes[from] = granted
	}
	yes, no := 0, 0
	for _, v := range r.voters {
		g, ok := r.votes[v]
		switch {
		case !ok:
		case g:
			yes++
		default:
			no++
		}
	}
	switch {
	case yes >= r.quorum():
		return voteWon
	case no >= len(r.voters)-r.quorum()+1:
		return voteLost
	}
	return votePending
}

// handleVote answers RequestVote (§5.2, §5.4.1) and pre-votes.
func (r *Raft) handleVote(m Message) {
	resp := MsgVoteResp
	if m.Type == MsgPreVote {
		resp = MsgPreVoteResp
	}
	canVote := r.vote == m.From ||
		(r.vote == "" && r.lead == "") ||
		(m.Type == MsgPreVote && m.Term > r.term)
	if canVote && r.mayVote(m.Term) && r.log.isUpToDate(m.Index, m.LogTerm) {
		r.send(Message{To: m.From, Type: resp, Term: m.Term})
		if m.Type == MsgVote {
			r.electionElapsed = 0
			r.vote = m.From
		}
		return
	}
	if r.term == 0 {
		return // nothing to tell: a termless answer would be dropped anyway
	}
	r.send(Message{To: m.From, Type: resp, Term: r.term, Reject: true})
}

func (r *Raft) stepCandidate(m Message) error {
	myResp := MsgVoteResp
	if r.state == StatePreCandidate {
		myResp = MsgPreVoteResp
	}
	switch m.Type {
	case MsgProp, MsgReadIndex:
		return ErrProposalDropped
	case MsgApp:
		r.becomeFollower(m.Term, m.From)
		r.handleAppend(m)
	case MsgHeartbeat:
		r.becomeFollower(m.Term, m.From)
		r.handleHeartbeat(m)
	case MsgSnap:
		r.becomeFollower(m.Term, m.From)
		r.handleSnapshot(m)
	case myResp:
		switch r.poll(m.From, !m.Reject) {
		case voteWon:
			r.onWin(r.state == StatePreCandidate)
		case voteLost:
			r.becomeFollower(r.term, "")
		}
	default:
		r.cfg.Logger.Debug("raft: candidate ignores", "id", r.id, "msg", m.String())
	}
	return nil
}

// handleTransfer starts a leadership transfer (diss. §3.10): bring the
// target up to date, then tell it to campaign at once.
func (r *Raft) handleTransfer(target string) {
	if target == r.id || r.prs[target] == nil || r.leadTransferee == target {
		return
	}
	r.leadTransferee = target
	r.electionElapsed = 0 // the transfer must finish within an election timeout
	if r.prs[target].Match == r.log.lastIndex() {
		r.send(Message{To: target, Type: MsgTimeoutNow})
	} else {
		r.sendAppend(target, true)
	}
}
