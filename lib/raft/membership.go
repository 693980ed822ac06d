package raft

// Membership changes (§4.1): one server at a time, applied when committed.

import (
	"encoding/json"
	"slices"
)

// ProposeConfChange asks for a membership change (add or remove one voter).
func (r *Raft) ProposeConfChange(cc ConfChange) error {
	data, err := json.Marshal(cc)
	if err != nil {
		return err
	}
	return r.Step(Message{Type: MsgProp, Entries: []Entry{{Type: EntryConfChange, Data: data}}})
}

// applyConfChange puts a committed membership change in force.
func (r *Raft) applyConfChange(e Entry) {
	r.confApplied = e.Index
	var cc ConfChange
	if err := json.Unmarshal(e.Data, &cc); err != nil || cc.Node == "" {
		r.cfg.Logger.Warn("raft: bad conf change entry", "entry", e.String(), "err", err)
		return
	}
	switch cc.Type {
	case ConfAddNode:
		if slices.Contains(r.voters, cc.Node) {
			return
		}
		r.voters = append(r.voters, cc.Node)
		slices.Sort(r.voters)
		if r.state == StateLeader {
			r.prs[cc.Node] = &progress{Next: r.log.lastIndex() + 1}
		}
	case ConfRemoveNode:
		i := slices.Index(r.voters, cc.Node)
		if i < 0 {
			return
		}
		r.voters = slices.Delete(r.voters, i, i+1)
		if r.state == StateLeader {
			delete(r.prs, cc.Node)
			if cc.Node == r.id {
				// A removed leader stops leading; the rest elect a new one.
				r.becomeFollower(r.term, "")
				return
			}
			// The quorum shrank: entries may now be committed.
			if r.maybeCommit() {
				r.bcastAppend()
			}
		}
	}
}

// promotable says whether the node may campaign and lead: a voter that
// is not rejoining after a start without state.
func (r *Raft) promotable() bool { return slices.Contains(r.voters, r.id) && !r.rejoin.Unsure }
