package raft

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
)

// ErrProposalDropped is returned when a proposal or a read surely did not
// enter the log: no leader is known, a leadership transfer is in progress,
// or a membership change is already pending. A client may be told so
// definitely (Maelstrom error 11).
var ErrProposalDropped = errors.New("raft: proposal dropped")

// Config configures a Raft core.
type Config struct {
	// ID is this node's id; it must be one of Voters (or of the restored
	// snapshot's voters) to ever campaign.
	ID string
	// Voters is the initial membership, used when Durable holds none.
	Voters []string
	// ElectionTick is the election timeout in ticks; each term a follower
	// waits a random number of ticks in [ElectionTick, 2*ElectionTick)
	// (§5.2: randomization splits votes rarely). Larger values survive
	// slower networks, smaller ones fail over faster. Default 10.
	ElectionTick int
	// HeartbeatTick is the leader's heartbeat period in ticks; it must be
	// well below ElectionTick. Default 1.
	HeartbeatTick int
	// PreVote makes a node ask whether it could win before bumping its term,
	// so a node rejoining from a partition does not depose a healthy leader
	// (diss. §9.6).
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a
	// majority for an election timeout, and makes followers that hear from
	// a leader ignore vote requests for that long (leader stickiness).
	CheckQuorum bool
	// MaxInflight bounds the MsgApps in flight to one follower in replicate
	// state. Default 64.
	MaxInflight int
	// MaxEntriesPerMsg bounds the entries of one MsgApp. Default 256.
	MaxEntriesPerMsg int
	// MaxPendingReads bounds the read requests a leader holds. Default 4096.
	MaxPendingReads int
	// ReorderTicks lets a follower hold an append that arrived ahead of the
	// entries it follows (the network reordered two appends) for up to this
	// many ticks, waiting for the gap to fill, instead of rejecting it at
	// once. A rejection sends the leader back to probing, one append per
	// round trip, so on a network that reorders often (Maelstrom's
	// exponential latency) rejecting at once costs far more than waiting.
	// A gap still open after ReorderTicks (the missing append was lost) is
	// rejected then. 0: reject at once, as the paper does.
	ReorderTicks int
	// QuietCommits makes the append a leader sends only to carry a new
	// commit index to a follower in step (nothing left to send it) a
	// quiet one (Message.Quiet): the follower takes the commit index and
	// answers only if it rejects the append. The answer would tell the
	// leader nothing new, and under a steady load of small batches these
	// appends and their answers are about half of all raft messages. Off
	// by default.
	QuietCommits bool
	// LeaseRead lets a leader answer ReadIndex at once, without a heartbeat
	// round, while it holds a lease: a quorum acknowledged a heartbeat it
	// sent less than ElectionTick-LeaseMarginTicks ticks ago. It is safe
	// because, with CheckQuorum (required), those followers refuse votes
	// for ElectionTick ticks after hearing from the leader. Clock
	// assumption: over an election timeout, no node's ticks run more than
	// LeaseMarginTicks slower than the leader's, and a follower does not
	// crash and restart within a lease (a restarted node forgets whom it
	// heard from and may vote at once). Off by default.
	LeaseRead bool
	// LeaseMarginTicks is the drift margin of LeaseRead. Default 2.
	LeaseMarginTicks int
	// Rand draws the randomized election timeouts; required (seeded in tests).
	Rand *rand.Rand
	// Logger gets debug lines for dropped noise; default discards.
	Logger *slog.Logger
	// Durable restores a node that crashed: its persisted state.
	Durable *Durable
	// Unsure starts a node without state that may have lost it (a wiped
	// disk): it votes only after Rejoin (see amnesia.go). Ignored with
	// Durable, which carries its own.
	Unsure bool
	// Incarnation names the life of this node's disk: drawn at random by
	// the caller on a start without state, kept with the guard after
	// that (Durable carries it), announced by an unsure node to its peers
	// so that they can tell its wiped disk from a first boot (amnesia.go).
	// Ignored with Durable.
	Incarnation uint64
}

func (c *Config) validate() error {
	if c.ID == "" {
		return errors.New("raft: Config.ID is empty")
	}
	if c.Rand == nil {
		return errors.New("raft: Config.Rand is nil")
	}
	if c.ElectionTick == 0 {
		c.ElectionTick = 10
	}
	if c.HeartbeatTick == 0 {
		c.HeartbeatTick = 1
	}
	if c.HeartbeatTick < 0 || c.ElectionTick <= c.HeartbeatTick {
		return fmt.Errorf("raft: need 0 < HeartbeatTick (%d) < ElectionTick (%d)", c.HeartbeatTick, c.ElectionTick)
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = 64
	}
	if c.MaxEntriesPerMsg == 0 {
		c.MaxEntriesPerMsg = 256
	}
	if c.MaxPendingReads == 0 {
		c.MaxPendingReads = 4096
	}
	if c.MaxInflight < 0 || c.MaxEntriesPerMsg < 0 || c.MaxPendingReads < 0 || c.ReorderTicks < 0 {
		return errors.New("raft: negative bound in Config")
	}
	if c.LeaseRead && !c.CheckQuorum {
		return errors.New("raft: LeaseRead needs CheckQuorum")
	}
	if c.LeaseMarginTicks == 0 {
		c.LeaseMarginTicks = 2
	}
	if c.LeaseRead && (c.LeaseMarginTicks < 0 || c.LeaseMarginTicks >= c.ElectionTick) {
		return fmt.Errorf("raft: LeaseMarginTicks %d outside [0, ElectionTick)", c.LeaseMarginTicks)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Durable == nil && len(c.Voters) == 0 {
		return errors.New("raft: no Voters and no Durable state")
	}
	return nil
}

// Raft is the consensus core. It is not safe for concurrent use: one owner
// calls Step, Tick and Ready.
type Raft struct {
	cfg   Config
	id    string
	term  int64
	vote  string
	lead  string
	state StateType
	log   raftLog

	// voters is the membership in force (applied), sorted.
	voters []string
	prs    map[string]*progress // leader only
	votes  map[string]bool      // candidate and pre-candidate only

	electionElapsed   int
	heartbeatElapsed  int
	randomizedTimeout int

	leadTransferee string
	// pendingConfIndex: a leader proposes no membership change until this
	// index is applied (one change at a time, diss. §4.1).
	pendingConfIndex int64

	readSeq int64
	// leaderTicks counts ticks since this node became leader; roundTicks
	// maps a heartbeat round to the tick it was sent at (LeaseRead only),
	// pruned to the last election timeout.
	leaderTicks  int64
	roundTicks   map[int64]int64
	pendingReads []pendingRead

	// early holds the current leader's appends that arrived before entries
	// they follow (follower only, ReorderTicks > 0); earlyTicks is how long
	// the oldest gap has been open.
	early      []Message
	earlyTicks int

	msgs        []Message
	reads       []ReadState
	snapToApply *Snapshot

	// persisted is the durable state handed out by TakeWrites;
	// confApplied is the index of the last membership change applied.
	persisted   persisted
	confApplied int64
	// rejoin is the amnesia guard (amnesia.go); seen, the first
	// incarnation each unsure peer announced (Greet), durable with the
	// stable state; seenDirty, a change TakeWrites has not handed out.
	rejoin    rejoinState
	seen      map[string]uint64
	seenDirty bool
}

// New builds a core from cfg, restoring cfg.Durable if set.
func New(cfg Config) (*Raft, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Raft{cfg: cfg, id: cfg.ID}
	if d := cfg.Durable; d != nil {
		if d.Snapshot != nil {
			r.log.snap = cloneSnapshot(*d.Snapshot)
			if len(d.Snapshot.Data) > 0 {
				s := cloneSnapshot(*d.Snapshot)
				r.snapToApply = &s
			}
		}
		if len(r.log.snap.Voters) == 0 {
			r.log.snap.Voters = slices.Clone(cfg.Voters)
		}
		r.log.ents = slices.Clone(d.Entries)
		if len(r.log.ents) > 0 && r.log.ents[0].Index != r.log.snap.Index+1 {
			return nil, fmt.Errorf("raft: durable entries start at %d, snapshot at %d", r.log.ents[0].Index, r.log.snap.Index)
		}
		r.term, r.vote = d.HardState.Term, d.HardState.Vote
		r.rejoin = d.Rejoin
		r.seen = maps.Clone(d.Seen)
		r.log.committed = max(d.HardState.Commit, r.log.snap.Index)
		if r.log.committed > r.log.lastIndex() {
			return nil, fmt.Errorf("raft: durable commit %d past last index %d", r.log.committed, r.log.lastIndex())
		}
	} else {
		r.log.snap.Voters = slices.Clone(cfg.Voters)
		r.rejoin.Unsure = cfg.Unsure
		r.rejoin.Inc = cfg.Incarnation
	}
	// The application restarts from the snapshot and replays the committed
	// entries after it.
	r.log.applied = r.log.snap.Index
	r.voters = slices.Sorted(slices.Values(r.log.snap.Voters))
	r.voters = slices.Compact(r.voters)
	r.log.unstable = r.log.lastIndex() + 1
	r.persisted = persisted{term: r.term, vote: r.vote, commit: r.log.committed,
		last: r.log.lastIndex(), snapIndex: r.log.snap.Index}
	if cfg.Durable == nil {
		// A fresh node writes its guard before anything else.
		r.persisted.rejoin = rejoinState{}
	} else {
		r.persisted.rejoin = r.rejoin
	}
	r.becomeFollower(r.term, "")
	return r, nil
}

// Status is a snapshot of the core's state.
func (r *Raft) Status() Status {
	return Status{
		ID: r.id, Term: r.term, Vote: r.vote, Lead: r.lead, State: r.state,
		Commit: r.log.committed, Applied: r.log.applied, LastIndex: r.log.lastIndex(),
		Voters: slices.Clone(r.voters),
	}
}

// Durable is what a crash must not lose (see the package comment).
func (r *Raft) Durable() Durable {
	s := cloneSnapshot(r.log.snap)
	return Durable{
		HardState: HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed},
		Snapshot:  &s,
		Entries:   slices.Clone(r.log.ents),
		Rejoin:    r.rejoin,
		Seen:      maps.Clone(r.seen),
	}
}

// Entries returns a copy of the log entries the core holds (after its
// snapshot), for invariant checks.
func (r *Raft) Entries() (snapIndex, snapTerm int64, ents []Entry) {
	return r.log.snap.Index, r.log.snap.Term, slices.Clone(r.log.ents)
}

func cloneSnapshot(s Snapshot) Snapshot {
	s.Voters = slices.Clone(s.Voters)
	s.Data = slices.Clone(s.Data)
	return s
}

// HasReady says whether Ready would return anything.
func (r *Raft) HasReady() bool {
	return len(r.msgs) > 0 || len(r.reads) > 0 || r.snapToApply != nil || r.log.applied < r.log.committed
}

// Ready takes everything produced since the last call (see Ready). Entries
// it returns count as applied: the caller must apply them before the next
// call to Compact.
func (r *Raft) Ready() Ready {
	r.checkRejoined()
	rd := Ready{
		HardState: HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed},
		Messages:  r.msgs,
		Reads:     r.reads,
		Lead:      r.lead,
		State:     r.state,
	}
	r.msgs, r.reads = nil, nil
	if r.snapToApply != nil {
		rd.Snapshot = r.snapToApply
		r.snapToApply = nil
		r.log.applied = max(r.log.applied, rd.Snapshot.Index)
	}
	if r.log.applied < r.log.committed {
		rd.Committed = r.log.slice(r.log.applied+1, r.log.committed+1, int(r.log.committed-r.log.applied))
		for _, e := range rd.Committed {
			r.log.applied = e.Index
			if e.Type == EntryConfChange {
				r.applyConfChange(e)
			}
		}
	}
	return rd
}

func (r *Raft) quorum() int { return len(r.voters)/2 + 1 }

// send queues a message, stamping From and, except for forwarded local
// messages and vote traffic that sets its own, Term.
func (r *Raft) send(m Message) {
	m.From = r.id
	switch m.Type {
	case MsgProp, MsgReadIndex:
		m.Term = 0 // forwarded local messages stay termless, as in etcd
	case MsgPreVote, MsgPreVoteResp, MsgVote, MsgVoteResp:
		if m.Term == 0 {
			panic(fmt.Sprintf("raft: %s without a term", m.Type))
		}
	default:
		m.Term = r.term
	}
	r.msgs = append(r.msgs, m)
}

// Tick advances time by one tick.
func (r *Raft) Tick() {
	if r.state == StateLeader {
		r.tickHeartbeat()
	} else {
		r.tickElection()
	}
}

// Step handles one message, local or from a peer.
func (r *Raft) Step(m Message) error {
	if m.Term == 0 && m.From == "" {
		m.From = r.id
	}
	if m.Term > 0 && !r.rejoin.hears(m.Term) {
		r.cfg.Logger.Debug("raft: rejoining, ignoring a term that may be stale", "id", r.id, "msg", m.String())
		return nil
	}
	switch {
	case m.Term == 0:
		// Local, or a proposal or read forwarded by a follower; anything
		// else without a term is malformed.
		local := m.From == r.id && (m.Type == MsgHup || m.Type == MsgBeat || m.Type == MsgTransferLeader)
		if !local && m.Type != MsgProp && m.Type != MsgReadIndex {
			r.cfg.Logger.Debug("raft: dropping termless message", "id", r.id, "msg", m.String())
			return nil
		}
	case m.Term > r.term:
		if m.Type == MsgPreVote || m.Type == MsgVote {
			// Leader stickiness: while we hear from a leader, nobody else
			// can win, so a vote request is a disruptive node's (diss. §9.6).
			inLease := r.cfg.CheckQuorum && r.lead != "" && r.electionElapsed < r.cfg.ElectionTick
			if inLease && !m.Force {
				r.cfg.Logger.Debug("raft: ignoring vote request in lease", "id", r.id, "msg", m.String())
				return nil
			}
		}
		switch {
		case m.Type == MsgPreVote:
			// A pre-vote never changes our term.
		case m.Type == MsgPreVoteResp && !m.Reject:
			// The term we asked for; it becomes ours if we win.
		case m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap:
			r.becomeFollower(m.Term, m.From)
		default:
			r.becomeFollower(m.Term, "")
		}
	case m.Term < r.term:
		switch {
		case (r.cfg.CheckQuorum || r.cfg.PreVote) && (m.Type == MsgApp || m.Type == MsgHeartbeat):
			// A stale leader: tell it our term so it steps down. Without
			// this, a node that bumped its term in a partition could never
			// get the old leader's messages accepted nor win itself (pre-vote
			// keeps everyone else's term lower).
			r.send(Message{To: m.From, Type: MsgAppResp})
		case m.Type == MsgPreVote:
			r.send(Message{To: m.From, Type: MsgPreVoteResp, Term: r.term, Reject: true})
		default:
			r.cfg.Logger.Debug("raft: dropping stale message", "id", r.id, "term", r.term, "msg", m.String())
		}
		return nil
	}

	switch m.Type {
	case MsgHup:
		r.hup(false)
		return nil
	case MsgPreVote, MsgVote:
		r.handleVote(m)
		return nil
	}
	switch r.state {
	case StateLeader:
		return r.stepLeader(m)
	case StateFollower:
		return r.stepFollower(m)
	default:
		return r.stepCandidate(m)
	}
}

func (r *Raft) stepFollower(m Message) error {
	switch m.Type {
	case MsgProp, MsgReadIndex:
		// Only our own requests are forwarded: a forwarded one reaching a
		// follower is dropped, so requests never bounce between nodes.
		if r.lead == "" || m.From != r.id {
			return ErrProposalDropped
		}
		m.To = r.lead
		r.send(m)
	case MsgApp:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleAppend(m)
		r.replayEarly()
	case MsgHeartbeat:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleHeartbeat(m)
	case MsgSnap:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleSnapshot(m)
		r.replayEarly() // a snapshot may close the gap as well
	case MsgTransferLeader:
		if r.lead != "" && m.From == r.id {
			m.To = r.lead
			r.send(m)
		}
	case MsgTimeoutNow:
		r.hup(true)
	case MsgReadIndexResp:
		r.reads = append(r.reads, ReadState{Index: m.Index, Context: m.Context})
	default:
		r.cfg.Logger.Debug("raft: follower ignores", "id", r.id, "msg", m.String())
	}
	return nil
}

// behind says whether a follower that answered a heartbeat needs an
// append: it lacks entries and either some were never sent to it, or it
// is not in replicate state, or one was sent a whole heartbeat period ago
// or more and is still unacknowledged. An empty append to a follower in
// step whose appends are merely in flight would be answered and tell the
// leader nothing; one that has waited a period may have been lost, and if
// it was the last, nothing else would resend it: the empty append makes
// the follower reject and the leader probe.
func (r *Raft) behind(pr *progress) bool {
	li := r.log.lastIndex()
	if pr.Match >= li {
		return false
	}
	return pr.Next <= li || pr.State != progressReplicate || pr.Match < pr.sentBeat[1]
}

func (r *Raft) stepLeader(m Message) error {
	switch m.Type {
	case MsgBeat:
		r.bcastHeartbeat(r.readSeq)
		return nil
	case MsgProp:
		return r.handlePropose(m)
	case MsgReadIndex:
		return r.handleReadIndex(m)
	case MsgTransferLeader:
		r.handleTransfer(m.Target)
		return nil
	}
	pr := r.prs[m.From]
	if pr == nil {
		r.cfg.Logger.Debug("raft: leader ignores message from non-member", "id", r.id, "msg", m.String())
		return nil
	}
	switch m.Type {
	case MsgAppResp:
		pr.recentActive = true
		r.handleAppendResp(m, pr)
	case MsgHeartbeatResp:
		pr.recentActive = true
		pr.probeSent = false
		switch {
		case pr.State == progressSnapshot:
			// The snapshot or its answer may be lost: probe again.
			pr.becomeProbe()
		case pr.State == progressReplicate && len(pr.inflight) >= r.cfg.MaxInflight:
			// Appends may be lost (or the follower restarted): free a slot
			// so one goes out; a rejection then turns this into a probe.
			pr.inflight = pr.inflight[1:]
		}
		if r.behind(pr) {
			r.sendAppend(m.From, true)
		}
		if m.Context > pr.readAck {
			pr.readAck = m.Context
			r.releaseReads()
		}
	default:
		r.cfg.Logger.Debug("raft: leader ignores", "id", r.id, "msg", m.String())
	}
	return nil
}
