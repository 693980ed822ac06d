package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"maelkit/lib/core"
	"maelkit/lib/sim"
)

// testApp is a trivial state machine: the list of applied data, so state
// machine safety is "every node applies the same entry at each index".
type testApp struct {
	applied []string // data of every applied entry, noops included as ""
	base    int64    // index of the snapshot applied entries start after
}

func (a *testApp) snapshot() []byte { return []byte(strings.Join(a.applied, "\n")) }

func (a *testApp) restore(s Snapshot) {
	a.base = 0
	a.applied = nil
	if len(s.Data) > 0 {
		a.applied = strings.Split(string(s.Data), "\n")
	}
	if int64(len(a.applied)) != s.Index {
		panic(fmt.Sprintf("snapshot at %d holds %d entries", s.Index, len(a.applied)))
	}
}

// simNode is a Raft node with its app: the harness that applies what
// Ready commits, checking every invariant, as lib/rsm does in production.
// Clients' proposals and reads are local messages (MsgProp,
// MsgReadIndex); nothing is replied, the checker counts served reads. The
// simulator (sim.NewDurable) makes each Drain's writes durable before it
// sends the messages, and kills the node when they fail.
type simNode struct {
	r   *Raft
	app testApp
	c   *checker
	// compactEvery snapshots the app every so many applied entries (0: never).
	compactEvery int64
	// reads waiting for their index, by context.
	reads map[int64]pendingSimRead
	// unsent is the last Drain's output until the simulator has made its
	// writes durable (the node is still up after the event) or died
	// doing so (failed).
	unsent *drained
	failed bool
	// goodTerm and goodVote are the term and vote of the last output
	// whose writes succeeded: what a restart must find at least.
	goodTerm int64
	goodVote string
	// wiped: the node restarted with an empty disk and has not yet been
	// told what its peers hold (Rejoin); emptied: its disk was emptied
	// while it was down.
	wiped, emptied bool
}

// drained is what one Drain handed the simulator and the checker learns
// only once its writes are durable.
type drained struct {
	committed  []Entry
	term       int64
	vote       string
	withWrites bool
}

type pendingSimRead struct {
	minIndex int64 // the commit index anyone had seen when the read began
	index    int64 // 0 until the ReadState arrives
}

func (n *simNode) Step(_ string, m Message) { _ = n.r.Step(m) }

// Command takes a client's proposal or read as a local message.
func (n *simNode) Command(cmd core.Command[Message]) {
	m := cmd.Body
	m.From, m.Term = "", 0
	_ = n.r.Step(m)
}

func (n *simNode) Tick() { n.r.Tick() }

func (n *simNode) Drain() core.Output[Message, struct{}] {
	rd := n.r.Ready()
	if rd.Snapshot != nil {
		n.app.restore(*rd.Snapshot)
	}
	for _, e := range rd.Committed {
		if int64(len(n.app.applied))+1 != e.Index {
			n.c.fail("%s applies %d after %d", n.r.id, e.Index, len(n.app.applied))
			return core.Output[Message, struct{}]{}
		}
		n.app.applied = append(n.app.applied, string(e.Data))
	}
	for _, rs := range rd.Reads {
		if p, ok := n.reads[rs.Context]; ok {
			p.index = rs.Index
			n.reads[rs.Context] = p
		}
	}
	for ctx, p := range n.reads {
		if p.index > 0 && int64(len(n.app.applied)) >= p.index {
			// Served now: it must see every write committed before it began.
			if int64(len(n.app.applied)) < p.minIndex {
				n.c.fail("%s read ctx=%d served at %d, but %d was committed before it began", n.r.id, ctx, len(n.app.applied), p.minIndex)
			}
			n.c.readsServed++
			delete(n.reads, ctx)
		}
	}
	if last := int64(len(n.app.applied)); n.compactEvery > 0 && last-n.r.log.snap.Index >= n.compactEvery {
		if err := n.r.Compact(last, n.app.snapshot()); err != nil {
			n.c.fail("%s compact: %v", n.r.id, err)
		}
	}
	n.sent()
	n.unsent = &drained{committed: rd.Committed, term: n.r.term, vote: n.r.vote}
	out := core.Output[Message, struct{}]{Writes: n.r.TakeWrites()}
	n.unsent.withWrites = len(out.Writes) > 0
	for _, m := range rd.Messages {
		out.Messages = append(out.Messages, core.Send[Message]{To: m.To, Msg: m})
	}
	return out
}

// sent tells the checker what the last output applied, now that its
// writes are durable and its messages sent. What a node applied is
// observable only through what it sends, after the writes: a single
// voter's entry applied in an output whose write failed was never
// acknowledged, and the crash forgets it.
func (n *simNode) sent() {
	if n.unsent == nil {
		return
	}
	n.goodTerm, n.goodVote = n.unsent.term, n.unsent.vote
	for _, e := range n.unsent.committed {
		n.c.applied(n.r.id, e)
	}
	n.unsent = nil
}

// checker holds the global view the invariants need.
type checker struct {
	err         string
	leaders     map[int64]string // term -> the leader seen in it
	committed   map[int64]Entry  // index -> the entry first applied there
	maxApplied  int64
	readsServed int
	// commitTerms[i-1] is the term of the leader first seen to commit i.
	commitTerms []int64
}

func newChecker() *checker {
	return &checker{leaders: map[int64]string{}, committed: map[int64]Entry{}}
}

func (c *checker) fail(format string, args ...any) {
	if c.err == "" {
		c.err = fmt.Sprintf(format, args...)
	}
}

// applied checks state machine safety (§5.4.3): no two nodes apply
// different entries at one index.
func (c *checker) applied(id string, e Entry) {
	if prev, ok := c.committed[e.Index]; ok {
		if prev.Term != e.Term || string(prev.Data) != string(e.Data) {
			c.fail("state machine safety: %s applied %v at %d, another node %v", id, e, e.Index, prev)
		}
		return
	}
	c.committed[e.Index] = e
	c.maxApplied = max(c.maxApplied, e.Index)
}

// cluster is a simulated raft cluster with invariant checks.
type cluster struct {
	t     *testing.T
	s     *sim.Sim[Message, Message, struct{}]
	c     *checker
	ids   []string
	cfg   func(id string) Config
	o     clusterOpts
	nodes map[string]*simNode
	props int
	ctx   int64
}

type clusterOpts struct {
	seed         uint64
	n            int
	loss, dup    float64
	latMin       int64
	latMax       int64
	compactEvery int64
	preVote      bool
	checkQuorum  bool
	// voters is the initial number of voters (0: all nodes).
	voters int
	// lease turns LeaseRead on (with checkQuorum); runs then never crash
	// nodes, since the lease assumes no restart within it.
	lease bool
	// reorder is Config.ReorderTicks.
	reorder int
	// quiet is Config.QuietCommits.
	quiet bool
}

func newCluster(t *testing.T, o clusterOpts) *cluster {
	ids := make([]string, o.n)
	for i := range ids {
		ids[i] = "n" + strconv.Itoa(i+1)
	}
	cl := &cluster{t: t, c: newChecker(), ids: ids, nodes: map[string]*simNode{}}
	voters := ids
	if o.voters > 0 {
		voters = ids[:o.voters]
	}
	cl.cfg = func(id string) Config {
		return Config{
			ID: id, Voters: voters, ElectionTick: 10, HeartbeatTick: 1,
			PreVote: o.preVote, CheckQuorum: o.checkQuorum || o.lease, LeaseRead: o.lease,
			MaxInflight: 4, MaxEntriesPerMsg: 8, ReorderTicks: o.reorder, QuietCommits: o.quiet,
			Rand: rand.New(rand.NewPCG(o.seed, uint64(len(id))*7919+uint64(id[len(id)-1]))),
		}
	}
	cl.o = o
	cl.s = sim.NewDurable(sim.Config{
		Seed: o.seed, Nodes: ids, TickMs: 10,
		LatencyMinMs: o.latMin, LatencyMaxMs: o.latMax,
		Loss: o.loss, Duplicate: o.dup,
		Clone: func(m any) any { return cloneMessage(m.(Message)) },
	}, cl.build)
	return cl
}

// cloneMessage deep-copies a message: no memory shared between "machines".
func cloneMessage(m Message) Message {
	m.Entries = slices.Clone(m.Entries)
	for i := range m.Entries {
		m.Entries[i].Data = slices.Clone(m.Entries[i].Data)
	}
	if m.Snapshot != nil {
		s := cloneSnapshot(*m.Snapshot)
		m.Snapshot = &s
	}
	return m
}

// settle tells the checker what the nodes' last outputs applied, once the
// simulator made their writes durable; a node that died in its writes
// sent nothing and is marked failed. It runs after every simulator call
// that may drain a node (an event, a command, a recovery).
func (cl *cluster) settle() {
	for _, id := range cl.ids {
		n := cl.nodes[id]
		switch {
		case n.unsent == nil:
		case !cl.s.Down(id):
			n.sent()
		case n.unsent.withWrites:
			n.failed, n.unsent = true, nil
		default:
			n.unsent = nil
		}
	}
}

// crash kills a node: the process dies (its disk keeps every write, the
// page cache survives) or the machine loses power (every unsynced write is
// dropped or torn), drawn at random.
func (cl *cluster) crash(id string) {
	cl.s.Fail(id, sim.Fault(1+cl.s.Rand().IntN(2)))
}

// failDisk makes node id's disk fail after k more operations: its next
// output's writes fail part way (between a write and its sync, or within a
// snapshot's save), the node sends nothing and dies by process death or
// power loss, drawn at random.
func (cl *cluster) failDisk(id string, k int) {
	cl.s.FailAfter(id, k, sim.Fault(1+cl.s.Rand().IntN(2)))
}

// wipe kills a node and empties its disk (amnesia); its restart is unsure
// until its peers' state reaches it (see rejoin).
func (cl *cluster) wipe(id string) {
	simWipes++
	cl.s.Fail(id, sim.DiskWipe)
	cl.nodes[id].wiped, cl.nodes[id].emptied = true, true
}

// rejoin hands every wiped node that is up what its peers hold, once all
// of them are up: the largest term and the most up-to-date log among
// them, as lib/raftnode's raft_hello gathers it.
func (cl *cluster) rejoin() {
	for _, id := range cl.ids {
		n := cl.nodes[id]
		if !n.wiped || cl.s.Down(id) {
			continue
		}
		var floor, index, term int64
		all := true
		for _, p := range cl.ids {
			if p == id {
				continue
			}
			if cl.s.Down(p) {
				all = false
				break
			}
			pr := cl.nodes[p].r
			floor = max(floor, pr.term)
			if li, lt := pr.LastEntry(); lt > term || lt == term && li > index {
				index, term = li, lt
			}
		}
		if all {
			n.r.Rejoin(floor, index, term)
			n.wiped = false
			simRejoins++
		}
	}
}

// simWipes and simRejoins count the disks wiped and the rejoins begun
// over the simulations of a test binary, which must exercise them.
var simWipes, simRejoins int

// unsure says whether some node lost its disk and has not caught up yet.
func (cl *cluster) unsure() bool {
	for _, id := range cl.ids {
		if n := cl.nodes[id]; n.wiped || n.r.Unsure() {
			return true
		}
	}
	return false
}

// restart brings a crashed node back from what its disk kept (build).
func (cl *cluster) restart(id string) {
	if _, err := cl.s.Recover(id); err != nil {
		cl.fatal("restart %s: %v", id, err)
	}
	cl.settle()
}

// build makes node id's core from what its disk kept: at the start, and
// on every restart after checking that nothing it made durable was lost.
func (cl *cluster) build(id string, rec core.Recovered) core.Core[Message, Message, struct{}] {
	d, err := FromRecovered(rec)
	if err != nil {
		cl.fatal("restart %s: %v", id, err)
	}
	if d == nil {
		d = &Durable{}
	}
	n := &simNode{c: cl.c, compactEvery: cl.o.compactEvery, reads: map[int64]pendingSimRead{},
		goodTerm: d.HardState.Term, goodVote: d.HardState.Vote}
	cfg := cl.cfg(id)
	if old := cl.nodes[id]; old != nil {
		cl.checkRecovered(id, old, rec, d)
		n.wiped = old.wiped
		cfg.Unsure = old.wiped && rec.Fresh
	}
	if !rec.Fresh {
		cfg.Durable = d
	}
	if n.r, err = New(cfg); err != nil {
		cl.fatal("restart %s: %v", id, err)
	}
	cl.nodes[id] = n
	return n
}

// checkRecovered checks what a restart of old found on its disk: after a
// crash between two outputs, exactly the core's term, vote, snapshot and
// log; after a failed write, at least the term and vote of its last
// successful output; after a wiped disk, nothing.
func (cl *cluster) checkRecovered(id string, old *simNode, rec core.Recovered, d *Durable) {
	hs := d.HardState
	switch want := old.r.Durable(); {
	case old.emptied:
		if !rec.Fresh {
			cl.fatal("restart %s: a wiped disk recovered state", id)
		}
	case old.failed:
		if hs.Term < old.goodTerm || hs.Term == old.goodTerm && old.goodVote != "" && hs.Vote != old.goodVote {
			cl.fatal("restart %s after a failed write: term %d vote %q, but it had sent with term %d vote %q",
				id, hs.Term, hs.Vote, old.goodTerm, old.goodVote)
		}
	default:
		if hs.Term != want.HardState.Term || hs.Vote != want.HardState.Vote {
			cl.fatal("restart %s: recovered term %d vote %q, want %d %q", id, hs.Term, hs.Vote, want.HardState.Term, want.HardState.Vote)
		}
		si, st := int64(0), int64(0)
		if d.Snapshot != nil {
			si, st = d.Snapshot.Index, d.Snapshot.Term
		}
		if si != want.Snapshot.Index || st != want.Snapshot.Term || len(d.Entries) != len(want.Entries) {
			cl.fatal("restart %s: recovered snapshot %d/%d and %d entries, want %d/%d and %d",
				id, st, si, len(d.Entries), want.Snapshot.Term, want.Snapshot.Index, len(want.Entries))
		}
		for i, e := range d.Entries {
			w := want.Entries[i]
			if e.Index != w.Index || e.Term != w.Term || e.Type != w.Type || string(e.Data) != string(w.Data) {
				cl.fatal("restart %s: recovered entry %v, want %v", id, e, w)
			}
		}
	}
}

func (cl *cluster) propose(to string) {
	cl.props++
	cl.s.Command(to, core.Command[Message]{Client: "c1", MsgID: int64(cl.props),
		Body: Message{Type: MsgProp, Entries: []Entry{{Data: []byte("v" + strconv.Itoa(cl.props))}}}})
	cl.settle()
}

func (cl *cluster) read(to string) {
	cl.ctx++
	cl.nodes[to].reads[cl.ctx] = pendingSimRead{minIndex: cl.c.maxApplied}
	cl.s.Command(to, core.Command[Message]{Client: "c1", MsgID: cl.ctx, Body: Message{Type: MsgReadIndex, Context: cl.ctx}})
	cl.settle()
}

// step runs one event and checks every invariant.
func (cl *cluster) step() bool {
	ok := cl.s.Step()
	cl.settle()
	cl.check()
	cl.rejoin()
	return ok
}

func (cl *cluster) fatal(format string, args ...any) {
	cl.t.Helper()
	if cl.s == nil { // building the first cores
		cl.t.Fatalf("%s", fmt.Sprintf(format, args...))
	}
	trace := cl.s.Trace()
	if len(trace) > 60 {
		trace = trace[len(trace)-60:]
	}
	cl.t.Fatalf("seed %d: %s\nlast events:\n%s", cl.s.Seed(), fmt.Sprintf(format, args...), strings.Join(trace, "\n"))
}

// check verifies election safety, log matching and leader completeness
// (Figure 3) on the current state, and state machine safety through the
// checker.
func (cl *cluster) check() {
	cl.t.Helper()
	if cl.c.err != "" {
		cl.fatal("%s", cl.c.err)
	}
	for _, id := range cl.ids {
		r := cl.nodes[id].r
		if r.state != StateLeader {
			continue
		}
		// Election safety (§5.2): at most one leader per term.
		if prev, ok := cl.c.leaders[r.term]; ok && prev != id {
			cl.fatal("election safety: %s and %s both lead term %d", prev, id, r.term)
		}
		cl.c.leaders[r.term] = id
		for i := int64(len(cl.c.commitTerms)) + 1; i <= r.log.committed; i++ {
			cl.c.commitTerms = append(cl.c.commitTerms, r.term)
		}
	}
	for _, id := range cl.ids {
		r := cl.nodes[id].r
		if r.state != StateLeader {
			continue
		}
		// Leader completeness (§5.4): a leader holds every entry committed
		// in an earlier term. Its log may lack entries that became committed
		// only through a later term's leader (it is a stale leader then).
		for i := r.log.firstIndex(); i <= int64(len(cl.c.commitTerms)); i++ {
			if cl.c.commitTerms[i-1] >= r.term {
				continue
			}
			e, ok := cl.c.committed[i]
			if !ok {
				continue // committed, not applied anywhere yet
			}
			if t, ok := r.log.term(i); !ok || t != e.Term {
				cl.fatal("leader completeness: leader %s term %d lacks committed %v", id, r.term, e)
			}
		}
	}
	// Log matching (§5.3): same index and term means same prefix.
	for i, a := range cl.ids {
		for _, b := range cl.ids[i+1:] {
			if err := logsMatch(&cl.nodes[a].r.log, &cl.nodes[b].r.log); err != nil {
				cl.fatal("log matching %s vs %s: %v", a, b, err)
			}
		}
	}
}

func logsMatch(a, b *raftLog) error {
	lo := max(a.firstIndex(), b.firstIndex())
	hi := min(a.lastIndex(), b.lastIndex())
	agree := false
	for i := hi; i >= lo; i-- {
		ta, _ := a.term(i)
		tb, _ := b.term(i)
		if ta == tb {
			agree = true
		}
		if !agree {
			continue
		}
		ea, eb := a.ents[i-a.snap.Index-1], b.ents[i-b.snap.Index-1]
		if ea.Term != eb.Term || string(ea.Data) != string(eb.Data) || ea.Type != eb.Type {
			return fmt.Errorf("agree past %d but differ at %d: %v vs %v", hi, i, ea, eb)
		}
	}
	return nil
}

// runFor advances time, checking after every event.
func (cl *cluster) runFor(ms int64) {
	end := cl.s.Now() + ms
	for cl.s.Now() < end {
		if !cl.step() {
			break
		}
	}
}

// runUntil steps until done holds or limitMs of virtual time passed.
func (cl *cluster) runUntil(done func() bool, limitMs int64) bool {
	end := cl.s.Now() + limitMs
	for !done() {
		if cl.s.Now() > end || !cl.step() {
			return done()
		}
	}
	return true
}

func (cl *cluster) leader() string {
	var lead string
	var term int64 = -1
	for _, id := range cl.ids {
		r := cl.nodes[id].r
		if r.state == StateLeader && !cl.s.Down(id) && r.term > term {
			lead, term = id, r.term
		}
	}
	return lead
}

// waitLeader runs until some live node leads; it fails the test otherwise.
func (cl *cluster) waitLeader(limitMs int64) string {
	cl.t.Helper()
	if !cl.runUntil(func() bool { return cl.leader() != "" }, limitMs) {
		cl.fatal("no leader within %d ms", limitMs)
	}
	return cl.leader()
}
