package raft

// Amnesia: a node restarted with an empty disk (eddy's --kill-wipes-disk)
// while the cluster remembers it. It may have voted in a term and
// acknowledged entries that counted toward a commit, and it remembers
// neither: voting again, with an empty log, could elect a second leader in
// a term or a leader missing committed entries. So a node that cannot tell
// a first boot from a wiped disk starts unsure (Config.Unsure): it
// neither campaigns nor grants votes or pre-votes, until the node layer
// tells it what its peers hold (Rejoin) and its log has caught up with
// that; it ignores every message of a term below the largest term its
// peers hold (or every one, before it knows that term), then replicates
// from the leader like any follower.
//
// Why it is enough, for a wipe of this node alone: a term t it voted in was
// won or lost by a candidate that holds t durably, and an entry it helped
// commit is held by the rest of that majority. Every majority of the
// cluster without this node meets both sets, so once the peers' replies
// cover one (the node layer waits for all of them), the largest term
// reported is at least t, and the most up-to-date log reported holds the
// entry. The node then refuses votes in terms up to that floor for good,
// and votes again only once its own log (written by a legitimate leader)
// is at least as up to date as that log, hence holds the entry too. If a
// majority loses its disks at once, nothing can recover what only they
// held.

// rejoinState is a node's amnesia guard; the zero value is a node that is
// sure of its state.
type rejoinState struct {
	Unsure bool `json:"unsure,omitempty"`
	// Known: Floor and the target log (Index, Term) came from the peers.
	Known bool `json:"known,omitempty"`
	// Floor: no vote is granted in a term up to it.
	Floor int64 `json:"floor,omitempty"`
	Index int64 `json:"index,omitempty"`
	Term  int64 `json:"lterm,omitempty"`
}

// Unsure says whether the node is still rejoining after a start without
// state: it does not vote yet.
func (r *Raft) Unsure() bool { return r.rejoin.Unsure }

// Rejoin tells an unsure node what its peers hold: the largest term among
// them and the most up-to-date log (last index and its term). It votes
// again once its log is at least as up to date. Calling it on a node that
// is sure does nothing.
func (r *Raft) Rejoin(floor, lastIndex, lastTerm int64) {
	if !r.rejoin.Unsure {
		return
	}
	r.rejoin.Known = true
	r.rejoin.Floor = max(r.rejoin.Floor, floor)
	if lastTerm > r.rejoin.Term || lastTerm == r.rejoin.Term && lastIndex > r.rejoin.Index {
		r.rejoin.Index, r.rejoin.Term = lastIndex, lastTerm
	}
	r.checkRejoined()
}

// checkRejoined ends the unsure state once the peers' state is known and
// the log caught up with it.
func (r *Raft) checkRejoined() {
	rj := &r.rejoin
	li, lt := r.LastEntry()
	if rj.Unsure && rj.Known && (lt > rj.Term || lt == rj.Term && li >= rj.Index) {
		rj.Unsure = false
		r.cfg.Logger.Info("raft: rejoined after a start without state", "id", r.id,
			"floor", rj.Floor, "index", r.log.lastIndex())
	}
}

// hears says whether an unsure node takes a message of term: not before
// it knows the floor, nor below it. A node that lost its term would adopt
// a stale leader's, and its acknowledgements would let that leader commit
// entries or confirm reads over a newer leader's: it would count for a
// majority it may not be part of.
func (rj rejoinState) hears(term int64) bool {
	return !rj.Unsure || rj.Known && term >= rj.Floor
}

// mayVote says whether the amnesia guard lets the node grant a vote or a
// pre-vote for term.
func (r *Raft) mayVote(term int64) bool { return !r.rejoin.Unsure && term > r.rejoin.Floor }

// LastEntry is the index and term of the last log entry (the snapshot's
// when the log after it is empty).
func (r *Raft) LastEntry() (index, term int64) { return r.log.lastIndex(), r.log.lastTerm() }
