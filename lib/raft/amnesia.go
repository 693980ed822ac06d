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
//
// A first boot. A node that starts without state and never was sure
// before has no vote or acknowledgement to protect: it may vote at once.
// The question is only whether it is that node or a wiped one, and its
// disk cannot say. Its peers can: every node announces, while unsure, an
// incarnation (Config.Incarnation: drawn afresh on every start without
// state, kept on disk after that), and a peer that hears it records the
// first incarnation it heard of that node, durably, before it answers
// (Greet), and says in its answer whether it had recorded a different one.
// The node layer ends a first boot (FirstBoot) once a majority of the
// cluster other than the node itself, q = n/2+1 peers, answered and none
// had recorded another incarnation; on any answer that had, it is a wiped
// node and waits for every peer (Rejoin, above). Why that is safe: a node
// is sure only after q peers (a first boot) or all of them (a rejoin)
// recorded an incarnation of it, each before answering, and it votes and
// acknowledges only once sure; every set of q peers meets every other set
// of q peers (2q > n), so a wiped node, whose incarnation is new, hears
// "another incarnation" from at least one of any q peers it asks if it
// ever voted or acknowledged anything, unless that peer lost its disk too
// (two disks lost: outside what a single wipe may cost). A node restarted
// with its disk keeps its incarnation, so a kill during a first boot is
// not mistaken for a wipe. The price is where q is every peer: with three
// nodes (q = 2 of 2 peers), or four, a first boot still waits for every
// peer; no counting rule does better there, since a majority that
// includes a wiped node may hold no copy of what it acknowledged.

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
	// Inc is the incarnation of the node's disk (Config.Incarnation).
	Inc uint64 `json:"inc,omitempty"`
}

// Incarnation is the node's disk incarnation (Config.Incarnation, or what
// its disk kept).
func (r *Raft) Incarnation() uint64 { return r.rejoin.Inc }

// Greet records that peer, starting without state, announced incarnation
// inc, and says whether an earlier, different incarnation of it was
// recorded: then peer lost a disk that may have voted or acknowledged
// entries. The record is in the stable state TakeWrites hands out next,
// so an answer sent with that output follows it to disk. An incarnation
// of 0 is none and is not recorded.
func (r *Raft) Greet(peer string, inc uint64) (other bool) {
	if inc == 0 || peer == r.id {
		return false
	}
	first, ok := r.seen[peer]
	if !ok {
		if r.seen == nil {
			r.seen = map[string]uint64{}
		}
		r.seen[peer] = inc
		r.seenDirty = true
		return false
	}
	return first != inc
}

// FirstBoot ends the guard of a node that its peers showed never was sure
// before (see the doc above): it votes from now on. Calling it on a node
// that is sure, or that learned its peers' state through Rejoin (a wiped
// node), does nothing.
func (r *Raft) FirstBoot() {
	if !r.rejoin.Unsure || r.rejoin.Known {
		return
	}
	r.rejoin.Unsure = false
	// Its election timer ran while it could not campaign: a fresh one,
	// lest the peers that learnt of the first boot together all campaign
	// at once and split the vote.
	r.electionElapsed = 0
	r.resetRandomizedTimeout()
	r.cfg.Logger.Info("raft: first boot", "id", r.id)
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
