package sim

import (
	"fmt"
	"testing"
)

// Chaos is a random schedule of client operations, partitions and node
// deaths for a simulator built with NewDurable, drawn from the simulator's
// own random source so that a seed replays it. Each event is, in these
// proportions: an operation (28 in 40), a random two-way partition (2), a
// heal (2), a death by process death or power loss, or a wiped disk (2), a
// death armed inside the node's next few disk operations (2), a recovery
// of a dead node (4; drawn on a node that is up, nothing happens).
type Chaos struct {
	// UntilMs ends the schedule once virtual time reaches it.
	UntilMs int64
	// GapMaxMs bounds the virtual time run between two events, drawn in
	// [0, GapMaxMs).
	GapMaxMs int64
	// Op issues the i-th event's client operation (i counts events from
	// 1) on node id, which may be down. It may draw from the simulator's
	// random source.
	Op func(i int64, id string)
	// Check runs after time passes, after an operation and after a
	// recovery, with what just happened; it fails the test on a broken
	// invariant. Nil: no checks.
	Check func(event string)
	// Replicated, if set, allows wiped disks: half the deaths drawn heal
	// the network first and wait (at most WipeWaitMs) for Replicated(id),
	// and wipe the node's disk if it holds. A node whose state no peer
	// holds would lose what it acknowledged with its disk, which no
	// protocol can bring back; the test is about what a Fresh node does
	// next. Nil: no disk is wiped.
	Replicated func(id string) bool
}

// WipeWaitMs bounds how long Chaos waits for a node's state to reach a
// peer before it wipes the node's disk.
const WipeWaitMs = 10000

// RunChaos runs ch until virtual time reaches ch.UntilMs. It returns the
// first error a recovery gave (the node stays down).
func (s *Sim[P, C, R]) RunChaos(ch Chaos) error {
	s.mustDurable("RunChaos")
	r := s.r
	nodes := s.cfg.Nodes
	check := func(event string) {
		if ch.Check != nil {
			ch.Check(event)
		}
	}
	for i := int64(1); s.now < ch.UntilMs; i++ {
		s.RunFor(r.Int64N(ch.GapMaxMs))
		check("time passing")
		id := nodes[r.IntN(len(nodes))]
		switch k := r.IntN(40); {
		case k < 28:
			ch.Op(i, id)
			check("operation on " + id)
		case k < 30:
			a, b := RandomSplit(r, nodes)
			s.Partition(a, b)
		case k < 32:
			s.Heal()
		case k < 34:
			if !s.down[id] {
				s.chaosKill(ch, id)
			}
		case k < 36:
			if !s.down[id] {
				s.FailAfter(id, r.IntN(3), Fault(1+r.IntN(2)))
			}
		default:
			if s.down[id] {
				if _, err := s.Recover(id); err != nil {
					return err
				}
				check("recover " + id)
			}
		}
	}
	return nil
}

// chaosKill kills node id by process death or power loss, or, when ch
// allows it and id's state has reached a peer, by wiping its disk.
func (s *Sim[P, C, R]) chaosKill(ch Chaos, id string) {
	f := Fault(1 + s.r.IntN(2))
	if ch.Replicated != nil && s.r.IntN(2) == 0 {
		s.Heal()
		if s.RunUntil(func() bool { return ch.Replicated(id) }, WipeWaitMs) {
			f = DiskWipe
		}
	}
	s.Fail(id, f)
}

// RecoverAll ends a fault schedule: it recovers every dead node, disarms
// every armed fault and heals the network. It returns the first error a
// recovery gave.
func (s *Sim[P, C, R]) RecoverAll() error {
	s.mustDurable("RecoverAll")
	for _, id := range s.cfg.Nodes {
		if s.down[id] {
			if _, err := s.Recover(id); err != nil {
				return err
			}
		}
		s.FailAfter(id, -1, 0)
	}
	s.Heal()
	return nil
}

// Faults counts the deaths of durable nodes over one run or several.
type Faults struct {
	// Runs is the number of runs counted (1 for one simulator's).
	Runs int64
	// Deaths counts nodes killed, by Fail or by a fault armed with
	// FailAfter; MidWrite counts those of them that died inside an
	// Output's writes.
	Deaths, MidWrite int64
	// Wipes counts the disks wiped (DiskWipe).
	Wipes int64
}

// Faults returns the faults of this run so far.
func (s *Sim[P, C, R]) Faults() Faults {
	f := s.faults
	f.Runs = 1
	return f
}

// Add counts another run's faults in.
func (f *Faults) Add(g Faults) {
	f.Runs += g.Runs
	f.Deaths += g.Deaths
	f.MidWrite += g.MidWrite
	f.Wipes += g.Wipes
}

func (f Faults) String() string {
	return fmt.Sprintf("%d runs, %d deaths (%d mid-write), %d disks wiped", f.Runs, f.Deaths, f.MidWrite, f.Wipes)
}

// LogFaults logs a scenario's faults and fails the test if no node died:
// a crash test whose nodes never die tests nothing.
func LogFaults(tb testing.TB, scenario string, f Faults) {
	tb.Helper()
	tb.Logf("%s: %v", scenario, f)
	if f.Deaths == 0 {
		tb.Errorf("%s: no node died over %d runs", scenario, f.Runs)
	}
}
