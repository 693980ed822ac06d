package raft

import (
	"fmt"
	"strings"
)

// MsgType says what a Message is. Local messages (Hup, Prop, ReadIndex from
// the application, TransferLeader) carry term 0 and never cross the network
// except Prop and ReadIndex, which a follower forwards to its leader.
type MsgType uint8

// Message types, local ones first.
const (
	MsgHup            MsgType = iota + 1 // local: start an election (or a pre-vote)
	MsgBeat                              // local: leader, send heartbeats now
	MsgProp                              // propose entries (local, or forwarded to the leader)
	MsgReadIndex                         // ask for a read index (local, or forwarded to the leader)
	MsgReadIndexResp                     // leader to follower: the read index for Context
	MsgTransferLeader                    // local: move leadership to Target
	MsgTimeoutNow                        // leader to transferee: campaign now, skipping pre-vote
	MsgPreVote                           // pre-candidate asks for a pre-vote for Term
	MsgPreVoteResp                       // answer to MsgPreVote
	MsgVote                              // candidate asks for a vote (§5.2 RequestVote)
	MsgVoteResp                          // answer to MsgVote
	MsgApp                               // AppendEntries (§5.3)
	MsgAppResp                           // answer to MsgApp
	MsgHeartbeat                         // empty AppendEntries carrying commit and a read round
	MsgHeartbeatResp                     // answer to MsgHeartbeat
	MsgSnap                              // InstallSnapshot (§7)
)

var msgNames = [...]string{
	MsgHup: "hup", MsgBeat: "beat", MsgProp: "prop", MsgReadIndex: "readindex",
	MsgReadIndexResp: "readindex-resp", MsgTransferLeader: "transfer",
	MsgTimeoutNow: "timeoutnow", MsgPreVote: "prevote", MsgPreVoteResp: "prevote-resp",
	MsgVote: "vote", MsgVoteResp: "vote-resp", MsgApp: "app", MsgAppResp: "app-resp",
	MsgHeartbeat: "heartbeat", MsgHeartbeatResp: "heartbeat-resp", MsgSnap: "snap",
}

func (t MsgType) String() string {
	if int(t) < len(msgNames) && msgNames[t] != "" {
		return msgNames[t]
	}
	return fmt.Sprintf("msg(%d)", uint8(t))
}

// EntryType says how an entry is applied.
type EntryType uint8

// Entry types.
const (
	EntryNormal     EntryType = iota // application data (empty data: a leader's no-op)
	EntryConfChange                  // a membership change, Data is an encoded ConfChange
)

// Entry is one log entry.
type Entry struct {
	Term  int64     `json:"t"`
	Index int64     `json:"i"`
	Type  EntryType `json:"y,omitempty"`
	Data  []byte    `json:"d,omitempty"`
}

func (e Entry) String() string {
	s := fmt.Sprintf("%d/%d", e.Term, e.Index)
	switch {
	case e.Type == EntryConfChange:
		s += " conf:" + string(e.Data)
	case len(e.Data) == 0:
		s += " noop"
	default:
		d := string(e.Data)
		if len(d) > 40 {
			d = d[:40] + "…"
		}
		s += " " + d
	}
	return s
}

// ConfChangeType is the kind of a single-server membership change.
type ConfChangeType uint8

// Membership changes: add or remove one voter at a time (diss. §4.1).
const (
	ConfAddNode ConfChangeType = iota + 1
	ConfRemoveNode
)

// ConfChange adds or removes one voter.
type ConfChange struct {
	Type ConfChangeType `json:"type"`
	Node string         `json:"node"`
}

// Snapshot is the state machine's state up to and including Index, with
// the configuration in force there.
type Snapshot struct {
	Index  int64    `json:"i"`
	Term   int64    `json:"t"`
	Voters []string `json:"v"`
	Data   []byte   `json:"d,omitempty"`
}

// HardState is what must be on disk before a message of the same Ready is
// sent: the current term, the vote in it, and the commit index (the last is
// an optimisation: it can be recomputed, but persisting it saves a replay).
type HardState struct {
	Term   int64  `json:"term"`
	Vote   string `json:"vote"`
	Commit int64  `json:"commit"`
}

// Message is everything raft nodes say to each other, one struct for all
// types as in etcd: the fields that matter depend on Type.
type Message struct {
	Type MsgType `json:"y"`
	From string  `json:"f"`
	To   string  `json:"o"`
	Term int64   `json:"t,omitempty"`
	// LogTerm and Index: for MsgApp the entry preceding Entries; for votes
	// the candidate's last entry; for a rejected MsgAppResp Index is the
	// rejected previous index and LogTerm the follower's term there (0 when
	// its log is too short); for an accepted MsgAppResp Index is the last
	// index known to match the leader's log.
	LogTerm int64   `json:"lt,omitempty"`
	Index   int64   `json:"i,omitempty"`
	Entries []Entry `json:"e,omitempty"`
	Commit  int64   `json:"c,omitempty"`
	Reject  bool    `json:"r,omitempty"`
	// Context correlates a read: the ReadIndex request id, or the read round
	// a heartbeat belongs to.
	Context int64 `json:"x,omitempty"`
	// Hint is, in a rejected MsgAppResp, the first index of the conflicting
	// term LogTerm in the follower's log (or its last index + 1 when its log
	// is too short): fast backtracking (§5.3, the paragraph on optimizing).
	Hint     int64     `json:"h,omitempty"`
	Snapshot *Snapshot `json:"s,omitempty"`
	// Force marks a vote asked after MsgTimeoutNow: voters drop stickiness.
	Force bool `json:"force,omitempty"`
	// Target names the transferee of MsgTransferLeader.
	Target string `json:"target,omitempty"`
	// Quiet marks a MsgApp without entries that only carries the commit
	// index (Config.QuietCommits): accepted, it gets no MsgAppResp.
	Quiet bool `json:"q,omitempty"`
}

// String is a compact one-line form for traces:
// "n1->n2 app term=3 index=7 logterm=2 commit=6 entries=[3/8 noop]".
func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s->%s %s term=%d", m.From, m.To, m.Type, m.Term)
	if m.Index != 0 || m.LogTerm != 0 {
		fmt.Fprintf(&b, " index=%d logterm=%d", m.Index, m.LogTerm)
	}
	if m.Commit != 0 {
		fmt.Fprintf(&b, " commit=%d", m.Commit)
	}
	switch {
	case m.Reject && m.Type == MsgAppResp:
		fmt.Fprintf(&b, " reject hint=%d", m.Hint)
	case m.Reject:
		b.WriteString(" reject")
	}
	if m.Context != 0 {
		fmt.Fprintf(&b, " ctx=%d", m.Context)
	}
	if m.Force {
		b.WriteString(" force")
	}
	if m.Quiet {
		b.WriteString(" quiet")
	}
	if m.Target != "" {
		fmt.Fprintf(&b, " target=%s", m.Target)
	}
	if len(m.Entries) > 0 {
		b.WriteString(" entries=[")
		for i, e := range m.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.String())
		}
		b.WriteString("]")
	}
	if m.Snapshot != nil {
		fmt.Fprintf(&b, " snap=%d/%d", m.Snapshot.Term, m.Snapshot.Index)
	}
	return b.String()
}

// ReadState says that a read requested with Context may be served once the
// state machine has applied Index.
type ReadState struct {
	Index   int64
	Context int64
}

// StateType is a node's role.
type StateType uint8

// Roles.
const (
	StateFollower StateType = iota
	StatePreCandidate
	StateCandidate
	StateLeader
)

func (s StateType) String() string {
	if names := [...]string{"follower", "pre-candidate", "candidate", "leader"}; int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Ready is everything the core produced since the last Ready. The caller
// must persist HardState, Entries and Snapshot (if it persists anything)
// before sending Messages, then restore Snapshot (if any) and apply
// Committed in order, then serve ReadStates once applied reaches their
// index.
type Ready struct {
	HardState HardState
	Snapshot  *Snapshot // a snapshot received from the leader, to restore
	Committed []Entry   // entries to apply, in order
	Messages  []Message
	Reads     []ReadState
	Lead      string
	State     StateType
}

// Durable is the state a node keeps across a crash: restored through
// Config.Durable it brings the node back where it was.
type Durable struct {
	HardState HardState
	Snapshot  *Snapshot
	Entries   []Entry
	// Rejoin is the amnesia guard of a node that started without state.
	Rejoin rejoinState
	// Seen is the first incarnation each peer announced while unsure.
	Seen map[string]uint64
}

// Status is a read-only view for tests, logs and the node layer.
type Status struct {
	ID        string
	Term      int64
	Vote      string
	Lead      string
	State     StateType
	Commit    int64
	Applied   int64
	LastIndex int64
	Voters    []string
}
