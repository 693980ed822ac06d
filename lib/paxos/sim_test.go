package paxos

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"maelkit/lib/core"
	"maelkit/lib/regmodel"
	"maelkit/lib/sim"
	"maelkit/lib/storage"
)

// paxosSim is the simulator over paxos cores.
type paxosSim = sim.Sim[Msg, Request, Outcome]

// clientJSON is how a golden trace shows a client's request and its
// answer: {"type":"request"|"reply"|"expired","key":...,"op":{...}}.
type clientJSON struct {
	Type string `json:"type"`
	Key  int64  `json:"key"`
	Op   Op     `json:"op,omitzero"`
}

// describeSim renders the simulator's traffic in its JSON form.
func describeSim(x any) string {
	switch m := x.(type) {
	case Request:
		return sim.JSON(clientJSON{Type: "request", Key: m.Key, Op: m.Op})
	case Outcome:
		typ := "reply"
		if m.Unknown {
			typ = "expired"
		}
		return sim.JSON(clientJSON{Type: typ, Key: m.Key, Op: m.Op})
	}
	return sim.JSON(x)
}

// cloneMsg deep-copies a message so no two nodes share a State's map.
func cloneMsg(m any) any {
	msg := m.(Msg)
	msg.State.Applied = maps.Clone(msg.State.Applied)
	msg.State.Results = maps.Clone(msg.State.Results)
	for k, v := range msg.State.Results {
		msg.State.Results[k] = slices.Clone(v)
	}
	msg.Ops = slices.Clone(msg.Ops)
	msg.Results = slices.Clone(msg.Results)
	msg.Path = slices.Clone(msg.Path)
	if msg.Relay != nil {
		r := *msg.Relay
		r.Msg = cloneMsg(r.Msg).(Msg)
		msg.Relay = &r
	}
	return msg
}

// checker asserts the Paxos invariants after every simulator step:
//   - an acceptor's promise and accepted ballot never decrease, and
//     accepted <= promised (a promised acceptor never accepts lower);
//   - one ballot carries one state;
//   - a chosen state never changes: of two chosen ballots on a key, the
//     higher one's state is built (through From links) on the lower one's.
type checker struct {
	quorum int
	fail   func(format string, args ...any)
	last   map[string]map[int64]AcceptorState
	byBal  map[int64]map[Ballot]AcceptorState
	votes  map[int64]map[Ballot]map[string]bool
	chosen map[int64][]Ballot
}

func newChecker(n int, fail func(string, ...any)) *checker {
	return &checker{
		quorum: n/2 + 1, fail: fail,
		last:   map[string]map[int64]AcceptorState{},
		byBal:  map[int64]map[Ballot]AcceptorState{},
		votes:  map[int64]map[Ballot]map[string]bool{},
		chosen: map[int64][]Ballot{},
	}
}

func sameState(a, b State) bool {
	return a.Exists == b.Exists && a.Value == b.Value && maps.Equal(a.Applied, b.Applied) &&
		maps.EqualFunc(a.Results, b.Results, slices.Equal[[]Result])
}

// onAccept records an acceptance as it happens.
func (k *checker) onAccept(node string, key int64, a AcceptorState) {
	if prev, ok := k.last[node][key]; ok && a.Accepted.Less(prev.Promised) {
		k.fail("%s accepted %v on key %d below its promise %v", node, a.Accepted, key, prev.Promised)
	}
	if k.byBal[key] == nil {
		k.byBal[key] = map[Ballot]AcceptorState{}
		k.votes[key] = map[Ballot]map[string]bool{}
	}
	if prev, ok := k.byBal[key][a.Accepted]; ok {
		if !sameState(prev.State, a.State) || prev.From != a.From {
			k.fail("key %d ballot %v carries two states: %v from %v and %v from %v", key, a.Accepted, prev.State, prev.From, a.State, a.From)
		}
	}
	k.byBal[key][a.Accepted] = a
	if k.votes[key][a.Accepted] == nil {
		k.votes[key][a.Accepted] = map[string]bool{}
	}
	v := k.votes[key][a.Accepted]
	v[node] = true
	if len(v) == k.quorum {
		for _, c := range k.chosen[key] {
			lo, hi := c, a.Accepted
			if hi.Less(lo) {
				lo, hi = hi, lo
			}
			if !k.descends(key, hi, lo) {
				k.fail("key %d: chosen %v (%v) does not descend from chosen %v (%v)", key, hi, k.byBal[key][hi].State, lo, k.byBal[key][lo].State)
			}
		}
		k.chosen[key] = append(k.chosen[key], a.Accepted)
	}
}

// descends reports whether the state at hi is built on the state at lo.
func (k *checker) descends(key int64, hi, lo Ballot) bool {
	for range 1 << 20 {
		if hi == lo {
			return true
		}
		if hi.Less(lo) {
			return false
		}
		a, ok := k.byBal[key][hi]
		if !ok {
			return false
		}
		if !a.From.Less(hi) {
			k.fail("key %d: ballot %v built on %v, not lower", key, hi, a.From)
			return false
		}
		hi = a.From
	}
	return false
}

// scan checks every live acceptor's monotonicity against the last step,
// across restarts too: what a node recovers from its disk is at least
// what it had when it last sent anything; a key absent from a node's
// acceptors stands at the node's floor (Core.acceptor).
func (k *checker) scan(nodes map[string]*diskNode) {
	for _, id := range slices.Sorted(maps.Keys(nodes)) {
		if nodes[id].dead {
			continue
		}
		st := nodes[id].core.Storage()
		if k.last[id] == nil {
			k.last[id] = map[int64]AcceptorState{}
		}
		for key, a := range st.Acceptors {
			if a.Promised.Less(a.Accepted) {
				k.fail("%s key %d: accepted %v above promised %v", id, key, a.Accepted, a.Promised)
			}
			if prev, ok := k.last[id][key]; ok {
				if a.Promised.Less(prev.Promised) || a.Accepted.Less(prev.Accepted) {
					k.fail("%s key %d went back: %+v after %+v", id, key, *a, prev)
				}
			}
			k.last[id][key] = *a
		}
		floor := nodes[id].core.floor
		for key, prev := range k.last[id] {
			if st.Acceptors[key] != nil {
				continue
			}
			if prev.Accepted.IsZero() && !floor.Less(prev.Promised) {
				// A key the node only promised its floor on, held in
				// memory after a prepare or accept it refused: the floor
				// is on disk, and the key comes back with it on demand.
				delete(k.last[id], key)
				continue
			}
			k.fail("%s forgot key %d: %+v", id, key, prev)
		}
	}
}

// journal is the simulator's journal for a run: the scenario's, and with
// debug every trace line logged as well.
func journal(keep func(string), debug func(string, ...any)) func(string) {
	if debug == nil {
		return keep
	}
	return func(l string) {
		if keep != nil {
			keep(l)
		}
		debug("%s", l)
	}
}

// scenario shapes one simulated run.
type scenario struct {
	nodes      int
	clients    int
	keys       int64
	durationMs int64
	loss, dup  float64
	latMaxMs   int64
	latMeanMs  int64 // if positive, exponential latencies of this mean, up to latMaxMs
	faults     bool  // partitions and crash-restarts during the run
	// diskFaults makes crashes hit the disk too: a power loss (unsynced
	// writes dropped or torn), or a death between a write and its fsync,
	// as well as the process deaths of faults alone.
	diskFaults bool
	// amnesia makes some crashes wipe the node's disk (eddy's
	// --kill-wipes-disk), one node at a time: a wiped node is not wiped
	// again, nor another one, until every node has recovered.
	amnesia bool
	// blankStart starts every node on a blank disk, as a cluster's first
	// start does (Fresh: each recovers before serving) instead of one
	// known to be new.
	blankStart bool
	// compactMin, if positive, is Config.Limits.CompactMin.
	compactMin int
	fastOff    bool
	thrifty    bool
	forward    bool
	relay      bool
	oneWay     bool // faults include random one-way cuts
	// clientNodes, if set, are the only nodes clients talk to.
	clientNodes []string
	// rotateMs, if positive, moves the keys on every rotateMs: clients use
	// keys now/rotateMs + [0, keys), as Maelstrom's lin-kv retires keys.
	rotateMs int64
	// thinkMaxMs, if positive, bounds a client's pause between operations
	// (default thinkMaxMs).
	thinkMaxMs int64
	// schedule, if set, applies faults itself (called before every event).
	schedule func(s *paxosSim, now int64)
	debug    func(string, ...any) // logs every delivery and client event
	// journal, if set, receives every line of the simulator's trace, each
	// message as its JSON form.
	journal func(string)
}

// client is one simulated client: at most one operation outstanding.
type client struct {
	id      string
	busy    bool
	op      Op
	key     int64
	node    string
	call    int64
	sentMs  int64
	nextMs  int64
	history []porcupine.Operation
	done    int
}

// troubleOp is an operation answered unavailable or left unknown
// (run end excluded): the node asked and when.
type troubleOp struct {
	node   string
	sentMs int64
}

// runResult is what a run yields for assertions.
type runResult struct {
	ops, ok, unknown int
	open             int            // unknown because the run ended first
	unavailable      int            // definite CodeUnavailable answers
	troubleAt        map[string]int // the trouble ops counted by the node asked
	trouble          []troubleOp    // the same outcomes one by one
	latMaxMs         int64
	sent             int64
	hash             uint64
	tailDone         []int // per client, operations finished in the liveness phase
	history          []porcupine.Operation
	wiped            int // disks wiped (scenario.amnesia)
	crashes          int // crashes of every kind
	midWrite         int // deaths within a drain's writes (a failed Apply)
	stuck            int // nodes still recovering at the end
}

const (
	simTickMs          = 5
	clientTimeoutMs    = 1000
	livenessMs         = 5000
	faultEveryMeanMs   = 400
	thinkMaxMs         = 20
	eventBoundPerRunMs = 20000 // events per virtual ms, a runaway guard
)

// runScenario runs one seeded simulation and checks the invariants on
// every step; fail reports (with the seed) through t.
func runScenario(t *testing.T, seed uint64, sc scenario) runResult {
	t.Helper()
	p := newPaxosRun(t, seed, sc)
	for steps := int64(0); p.s.Now() < p.end+livenessMs && !p.failed; steps++ {
		if steps > (p.end+livenessMs)*eventBoundPerRunMs {
			t.Fatalf("seed %d: runaway simulation", seed)
		}
		p.step()
	}
	return p.result()
}

// paxosRun is one seeded simulation of runScenario: the cluster on its
// simulated disks, the clients, and what the run has yielded so far.
type paxosRun struct {
	t      *testing.T
	seed   uint64
	sc     scenario
	ids    []string
	s      *paxosSim
	chk    *checker
	failed bool
	disks  map[string]*storage.SimDisk
	nodes  map[string]*diskNode
	boots  map[string]uint64
	down   map[string]bool
	// retransmit and roundTimeout are the cores' round timing in ticks
	// (0: the defaults).
	retransmit, roundTimeout int64
	r                        *rand.Rand // the workload's and the faults' own stream
	clients                  []*client
	byID                     map[string]*client
	think                    int64 // a client's longest pause between operations
	clock                    int64 // a strictly increasing event counter: porcupine's time
	res                      runResult
	nextOpID                 int64
	wiped                    int // disks wiped
	nextFault                int64
	end                      int64 // the end of the faults and the start of the liveness phase
	liveFrom                 int64 // when the liveness phase began (MaxInt64 before)
}

func newPaxosRun(t *testing.T, seed uint64, sc scenario) *paxosRun {
	if sim.Replaying() && sc.debug == nil {
		sc.debug = t.Logf // replaying a seed: log every delivery
	}
	var describe func(any) string // fmt's %v unless the trace is kept
	if sc.journal != nil || sc.debug != nil {
		describe = describeSim
	}
	p := &paxosRun{t: t, seed: seed, sc: sc, ids: make([]string, sc.nodes),
		disks: map[string]*storage.SimDisk{}, nodes: map[string]*diskNode{}, boots: map[string]uint64{}, down: map[string]bool{},
		res: runResult{troubleAt: map[string]int{}}, end: sc.durationMs, liveFrom: math.MaxInt64, think: thinkMaxMs}
	for i := range p.ids {
		p.ids[i] = fmt.Sprintf("n%d", i)
	}
	p.chk = newChecker(sc.nodes, p.fail)
	// On lossy networks retransmit after about a mean round trip, and
	// give a round several retransmissions before calling it failed.
	if sc.loss > 0 {
		p.retransmit = sc.latMaxMs/simTickMs + 1
		p.roundTimeout = max(20, 5*p.retransmit)
	}
	p.s = sim.New(sim.Config{
		Seed: seed, Nodes: p.ids, TickMs: simTickMs,
		LatencyMinMs: 1, LatencyMaxMs: sc.latMaxMs, LatencyMeanMs: sc.latMeanMs,
		Loss: sc.loss, Duplicate: sc.dup, Clone: cloneMsg,
		Journal: journal(sc.journal, sc.debug), Describe: describe,
	}, p.build)
	p.r = rand.New(rand.NewPCG(seed, 77))
	p.clients = make([]*client, sc.clients)
	p.byID = map[string]*client{}
	for i := range p.clients {
		p.clients[i] = &client{id: fmt.Sprintf("c%d", i+1)}
		p.byID[p.clients[i].id] = p.clients[i]
	}
	if sc.thinkMaxMs > 0 {
		p.think = sc.thinkMaxMs
	}
	p.nextFault = int64(p.r.IntN(faultEveryMeanMs * 2))
	return p
}

// fail reports the run's first broken invariant, with the last events.
func (p *paxosRun) fail(format string, args ...any) {
	if p.failed {
		return
	}
	p.failed = true
	trace := ""
	if p.s != nil {
		trace = strings.Join(p.s.Trace(), "\n")
	}
	p.t.Errorf("seed %d: %s\nlast events:\n%s", p.seed, fmt.Sprintf(format, args...), trace)
}

// build makes node id's core from what its disk kept.
func (p *paxosRun) build(id string) core.Core[Msg, Request, Outcome] {
	if p.disks[id] == nil {
		p.disks[id] = storage.NewSimDisk(diskSeed(p.seed, id))
	}
	st, rec, err := openDisk(p.disks[id], id)
	if err != nil {
		p.t.Fatalf("seed %d: %s's disk: %v", p.seed, id, err)
	}
	if p.boots[id] == 0 && !p.sc.blankStart {
		rec.Fresh = false // a disk known to be new: no lost promises
	}
	p.boots[id]++
	sc := p.sc
	c, err := New(Config{
		ID: id, Nodes: p.ids, Recovered: rec, Amnesia: true, Incarnation: int64(p.boots[id]),
		Rand:    rand.New(rand.NewPCG(p.seed, uint64(len(id))*1000+uint64(id[len(id)-1])+p.boots[id]<<20)),
		Rounds:  RoundConfig{DisableFastPath: sc.fastOff, RetransmitTicks: p.retransmit, TimeoutTicks: p.roundTimeout},
		Thrifty: ThriftyConfig{On: sc.thrifty},
		Forward: ForwardConfig{On: sc.forward},
		Relay:   RelayConfig{On: sc.relay},
		Limits:  LimitConfig{CompactMin: sc.compactMin},
	})
	if err != nil {
		p.t.Fatalf("seed %d: %v", p.seed, err)
	}
	if old := p.nodes[id]; old != nil {
		old.survivors(c)
	}
	d := &diskNode{core: c, store: st, onAccept: p.chk.onAccept}
	c.onAccept = d.hook
	p.nodes[id] = d
	return d
}

// step runs one round of the run: the liveness phase's start, faults,
// clients' operations, one simulator event, and the checks after it.
func (p *paxosRun) step() {
	now := p.s.Now()
	if now >= p.end && p.liveFrom == math.MaxInt64 {
		p.startLiveness(now)
	}
	if p.sc.schedule != nil && now < p.end {
		p.sc.schedule(p.s, now)
	}
	if p.sc.faults && now >= p.nextFault && now < p.end {
		p.fault(now)
	}
	for _, c := range p.clients {
		if c.busy && now-c.sentMs > clientTimeoutMs {
			p.finish(c, regmodel.Output{}, true)
		}
		if !c.busy && now >= c.nextMs && (now < p.end || now >= p.liveFrom) {
			p.invoke(c, now)
		}
	}
	p.s.Step()
	for _, id := range p.ids {
		if p.nodes[id] != nil && p.nodes[id].dead && !p.down[id] {
			p.res.midWrite++
			p.crash(id, true) // died mid-write: the power-loss model keeps only what was synced
		}
	}
	p.chk.scan(p.nodes)
	for _, r := range p.s.Replies() {
		c := p.byID[r.To]
		if c == nil || !c.busy || r.Body.Op.ID != c.op.ID {
			continue // a late answer to an abandoned operation
		}
		if r.Body.Unknown {
			p.finish(c, regmodel.Output{}, true)
		} else {
			p.finish(c, regmodel.Output{Code: r.Body.Op.Code, Value: r.Body.Op.Value}, false)
		}
	}
}

// startLiveness begins the liveness phase: heal everything, restart the
// dead, and demand that every client makes progress.
func (p *paxosRun) startLiveness(now int64) {
	p.liveFrom = now
	p.s.Heal()
	for _, d := range p.disks {
		d.FailAfter(-1) // no death pending: the liveness phase wants every node up
	}
	p.restartDown()
}

func (p *paxosRun) restartDown() {
	for _, id := range slices.Sorted(maps.Keys(p.down)) {
		p.s.Restart(id, p.build(id))
		delete(p.down, id)
	}
}

// fault draws the next fault and when the one after it comes: a heal, an
// isolated node, a partition (or one-way cuts), a crash, or the restart of
// every dead node.
func (p *paxosRun) fault(now int64) {
	r, ids := p.r, p.ids
	p.nextFault = now + int64(r.IntN(faultEveryMeanMs*2))
	kind := r.IntN(5)
	if p.sc.diskFaults {
		// Crash-restarts are the point: half the faults, twice as often.
		p.nextFault = now + int64(r.IntN(faultEveryMeanMs))
		if r.IntN(2) == 0 {
			kind = 3 + r.IntN(2)
		}
	}
	switch kind {
	case 0:
		p.s.Heal()
	case 1:
		p.s.Isolate(ids[r.IntN(len(ids))])
	case 2:
		if p.sc.oneWay && r.IntN(2) == 0 {
			// Links that work one way only: each direction cut with
			// probability 1/3.
			p.s.Heal()
			for _, a := range ids {
				for _, b := range ids {
					if a != b && r.IntN(3) == 0 {
						p.s.Cut(a, b)
					}
				}
			}
			break
		}
		p.s.Partition(sim.RandomSplit(r, ids))
	case 3:
		// Crash a node, keeping a majority up.
		if len(p.down) < (p.sc.nodes-1)/2 {
			if id := ids[r.IntN(len(ids))]; !p.down[id] {
				p.kill(id)
			}
		}
	case 4:
		p.restartDown()
	}
}

// kill crashes node id: its process alone, or, with disk faults, its
// disk too (a power loss, a death within its next disk operations, or
// with amnesia a wiped disk).
func (p *paxosRun) kill(id string) {
	r := p.r
	if !p.sc.diskFaults {
		p.crash(id, false)
		return
	}
	if p.sc.amnesia && r.IntN(2) == 0 && !p.anyRecovering() {
		p.crash(id, true)
		p.disks[id] = storage.NewSimDisk(diskSeed(p.seed, id) + p.boots[id])
		p.chk.last[id] = nil // its state is gone: it relearns it
		p.wiped++
		return
	}
	switch r.IntN(3) {
	case 0:
		p.crash(id, false)
	case 1:
		p.crash(id, true)
	default:
		// Die within the next few disk operations: between a write and
		// its fsync, or mid-snapshot.
		p.disks[id].FailAfter(r.IntN(4))
	}
}

func (p *paxosRun) anyRecovering() bool {
	for _, id := range p.ids {
		if d := p.nodes[id]; d != nil && (p.down[id] || d.core.recovering) {
			return true
		}
	}
	return false
}

// crash kills a node's process; with powerLoss its disk loses what was
// not synced as well.
func (p *paxosRun) crash(id string, powerLoss bool) {
	p.res.crashes++
	p.s.Crash(id)
	p.nodes[id].dead = true
	if powerLoss {
		p.disks[id].Crash()
	} else {
		p.disks[id].Kill()
	}
	p.down[id] = true
}

// invoke has client c start a random operation at a random node.
func (p *paxosRun) invoke(c *client, now int64) {
	r, sc := p.r, p.sc
	p.nextOpID++
	c.key = int64(r.IntN(int(sc.keys)))
	if sc.rotateMs > 0 {
		c.key += now / sc.rotateMs
	}
	c.op = Op{ID: p.nextOpID}
	switch r.IntN(3) {
	case 0:
		c.op.F = OpRead
	case 1:
		c.op.F, c.op.Value = OpWrite, int64(r.IntN(5))
	default:
		c.op.F, c.op.From, c.op.To = OpCas, int64(r.IntN(5)), int64(r.IntN(5))
	}
	if len(sc.clientNodes) > 0 {
		c.node = sc.clientNodes[r.IntN(len(sc.clientNodes))]
	} else {
		c.node = p.ids[r.IntN(len(p.ids))]
	}
	c.busy, c.sentMs = true, now
	p.clock++
	c.call = p.clock
	if sc.debug != nil {
		sc.debug("t=%d clock=%d %s invoke %+v key %d at %s", now, p.clock, c.id, c.op, c.key, c.node)
	}
	p.s.Command(c.node, core.Command[Request]{Client: c.id, MsgID: c.op.ID, Body: Request{Key: c.key, Op: c.op}})
}

// finish records the end of client c's operation: its output, or unknown.
func (p *paxosRun) finish(c *client, out regmodel.Output, unknown bool) {
	s, res, sc := p.s, &p.res, p.sc
	p.clock++
	in := regmodel.Input{Key: c.key, F: c.op.F, Value: c.op.Value, From: c.op.From, To: c.op.To}
	ret := p.clock
	res.ops++
	if unknown {
		res.unknown++
		if s.Now() < p.end+livenessMs {
			res.trouble = append(res.trouble, troubleOp{node: c.node, sentMs: c.sentMs})
		}
		out.Unknown = true
		ret = math.MaxInt64
		if c.op.F == OpRead {
			c.busy = false
			return // an unknown read constrains nothing
		}
	} else if out.Code == CodeUnavailable {
		// Definitely not done: nothing to check.
		res.unavailable++
		res.trouble = append(res.trouble, troubleOp{node: c.node, sentMs: c.sentMs})
		if sc.debug != nil {
			sc.debug("t=%d %s unavailable %+v at %s", s.Now(), c.id, c.op, c.node)
		}
		c.busy = false
		c.nextMs = s.Now() + p.r.Int64N(p.think)
		return
	} else {
		res.ok++
		res.latMaxMs = max(res.latMaxMs, s.Now()-c.sentMs)
		if s.Now() >= p.liveFrom {
			c.done++
		}
	}
	if sc.debug != nil {
		sc.debug("t=%d clock=%d %s done %+v -> %+v unknown=%v", s.Now(), p.clock, c.id, c.op, out, unknown)
	}
	c.history = append(c.history, porcupine.Operation{ClientId: 0, Input: in, Call: c.call, Output: out, Return: ret})
	c.busy = false
	c.nextMs = s.Now() + p.r.Int64N(p.think)
}

// result closes the run's open operations, gathers its figures and checks
// its history for linearizability.
func (p *paxosRun) result() runResult {
	res := &p.res
	for _, c := range p.clients {
		if c.busy {
			p.finish(c, regmodel.Output{}, true) // still open: it may yet take effect
			res.open++
		}
	}
	for i, c := range p.clients {
		for j := range c.history {
			c.history[j].ClientId = i
		}
		res.history = append(res.history, c.history...)
		res.tailDone = append(res.tailDone, c.done)
	}
	for _, op := range res.trouble {
		res.troubleAt[op.node]++
	}
	res.sent = p.s.Sent
	res.wiped = p.wiped
	for _, id := range p.ids {
		if !p.down[id] && p.nodes[id].core.recovering {
			res.stuck++
		}
	}
	res.hash = p.s.TraceHash()
	if !p.failed {
		out, info := porcupine.CheckOperationsVerbose(regmodel.Model(), res.history, 30*time.Second)
		if out != porcupine.Ok {
			path := fmt.Sprintf("%s/paxos-seed-%d.html", p.t.TempDir(), p.seed)
			_ = porcupine.VisualizePath(regmodel.Model(), info, path)
			p.t.Errorf("seed %d: history not linearizable (%v), see %s", p.seed, out, path)
		}
	}
	return *res
}
