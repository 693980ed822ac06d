package raft

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// pendingRead is a ReadIndex request at the leader, waiting for a quorum to
// acknowledge read round seq (0: waiting for the leader's first commit in
// its term, before which its commit index may be stale).
type pendingRead struct {
	seq, index int64
	from       string
	ctx        int64
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
		r.log.committed = max(d.HardState.Commit, r.log.snap.Index)
		if r.log.committed > r.log.lastIndex() {
			return nil, fmt.Errorf("raft: durable commit %d past last index %d", r.log.committed, r.log.lastIndex())
		}
	} else {
		r.log.snap.Voters = slices.Clone(cfg.Voters)
	}
	// The application restarts from the snapshot and replays the committed
	// entries after it.
	r.log.applied = r.log.snap.Index
	r.voters = slices.Sorted(slices.Values(r.log.snap.Voters))
	r.voters = slices.Compact(r.voters)
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

// Propose asks for data to be appended to the log. ErrProposalDropped means
// it surely was not; nil means it may or may not be committed later.
func (r *Raft) Propose(data []byte) error {
	return r.Step(Message{Type: MsgProp, Entries: []Entry{{Type: EntryNormal, Data: data}}})
}

// ProposeConfChange asks for a membership change (add or remove one voter).
func (r *Raft) ProposeConfChange(cc ConfChange) error {
	data, err := json.Marshal(cc)
	if err != nil {
		return err
	}
	return r.Step(Message{Type: MsgProp, Entries: []Entry{{Type: EntryConfChange, Data: data}}})
}

// ReadIndex asks for a linearizable read point; a ReadState with ctx comes
// out of Ready once the leader has confirmed it still leads (diss. §6.4).
// No answer may ever come (lost messages, leader change): callers time out.
func (r *Raft) ReadIndex(ctx int64) error {
	return r.Step(Message{Type: MsgReadIndex, Context: ctx})
}

// Campaign starts an election now (a pre-vote first if enabled).
func (r *Raft) Campaign() error { return r.Step(Message{Type: MsgHup}) }

// TransferLeader asks the leader to hand leadership to target.
func (r *Raft) TransferLeader(target string) error {
	return r.Step(Message{Type: MsgTransferLeader, Target: target})
}

// HasReady says whether Ready would return anything.
func (r *Raft) HasReady() bool {
	return len(r.msgs) > 0 || len(r.reads) > 0 || r.snapToApply != nil || r.log.applied < r.log.committed
}

// Ready takes everything produced since the last call (see Ready). Entries
// it returns count as applied: the caller must apply them before the next
// call to Compact.
func (r *Raft) Ready() Ready {
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

// Compact replaces the log up to index (which must be the applied index)
// by a snapshot holding data, the state machine's state at index (§7).
func (r *Raft) Compact(index int64, data []byte) error {
	if index != r.log.applied {
		return fmt.Errorf("raft: compact at %d, applied is %d", index, r.log.applied)
	}
	return r.log.compact(index, r.voters, data)
}

// applyConfChange puts a committed membership change in force.
func (r *Raft) applyConfChange(e Entry) {
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

func (r *Raft) promotable() bool { return slices.Contains(r.voters, r.id) }

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

// Tick advances time by one tick.
func (r *Raft) Tick() {
	if r.state == StateLeader {
		r.tickHeartbeat()
	} else {
		r.tickElection()
	}
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

// Step handles one message, local or from a peer.
func (r *Raft) Step(m Message) error {
	if m.Term == 0 && m.From == "" {
		m.From = r.id
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
	if canVote && r.log.isUpToDate(m.Index, m.LogTerm) {
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
		if pr.Match < r.log.lastIndex() {
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

func (r *Raft) handleAppendResp(m Message, pr *progress) {
	if m.Index > r.log.lastIndex() || m.Index < 0 {
		r.cfg.Logger.Warn("raft: dropping append response past our log", "id", r.id, "msg", m.String())
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
			r.bcastAppend()
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
		r.send(Message{To: m.From, Type: MsgAppResp, Index: last})
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
