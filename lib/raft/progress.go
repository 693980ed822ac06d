package raft

// progressState is how the leader replicates to one follower.
type progressState uint8

const (
	// probe: the leader does not know where the follower's log matches; it
	// sends one MsgApp per heartbeat interval (or response) and waits.
	progressProbe progressState = iota
	// replicate: the follower is known to match up to Match; the leader
	// streams entries optimistically, bounded by the in-flight window.
	progressReplicate
	// snapshot: a MsgSnap is in flight; nothing else is sent until the
	// follower answers or a heartbeat answer shows it is alive again.
	progressSnapshot
)

// progress is the leader's view of one follower (Figure 2 nextIndex and
// matchIndex, plus flow control).
//
// Invariant: Match < Next.
type progress struct {
	Match, Next int64
	State       progressState
	// probeSent: in probe state, a MsgApp is out and unanswered.
	probeSent bool
	// inflight holds the last index of each MsgApp sent in replicate state
	// and not yet acknowledged, oldest first; its length is bounded by
	// Config.MaxInflight.
	inflight []int64
	// pendingSnapshot is the index of the snapshot in flight.
	pendingSnapshot int64
	// recentActive: heard from since the last check-quorum round.
	recentActive bool
	// readAck is the highest read round this follower acknowledged in the
	// current term.
	readAck int64
	// sentBeat is the last index sent to the follower before each of the
	// leader's last two heartbeat ticks, the latest first: an entry up to
	// sentBeat[1] has been on its way for a heartbeat period at least.
	sentBeat [2]int64
}

func (p *progress) becomeProbe() {
	if p.State == progressSnapshot {
		p.Next = max(p.Match+1, p.pendingSnapshot+1)
	} else {
		p.Next = p.Match + 1
	}
	p.State = progressProbe
	p.probeSent = false
	p.inflight = p.inflight[:0]
	p.pendingSnapshot = 0
}

func (p *progress) becomeReplicate() {
	p.State = progressReplicate
	p.Next = p.Match + 1
	p.probeSent = false
	p.inflight = p.inflight[:0]
}

func (p *progress) becomeSnapshot(index int64) {
	p.State = progressSnapshot
	p.pendingSnapshot = index
	p.inflight = p.inflight[:0]
}

// maybeUpdate records that the follower matches up to n.
func (p *progress) maybeUpdate(n int64) bool {
	updated := false
	if p.Match < n {
		p.Match = n
		updated = true
		p.probeSent = false
	}
	p.Next = max(p.Next, n+1)
	// Free the window slots of every acknowledged append.
	i := 0
	for i < len(p.inflight) && p.inflight[i] <= n {
		i++
	}
	p.inflight = append(p.inflight[:0], p.inflight[i:]...)
	return updated
}

// paused says whether the leader must not send another MsgApp now.
func (p *progress) paused(maxInflight int) bool {
	switch p.State {
	case progressProbe:
		return p.probeSent
	case progressReplicate:
		return len(p.inflight) >= maxInflight
	default:
		return true
	}
}
