package linkhealth

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var cfg3 = Config{Relay: true, Quorum: 2, SilenceTicks: 10, ProbeTicks: 100, RelayTicks: 200}

func newTable(t *testing.T, cfg Config) *Table {
	t.Helper()
	tb, err := New("n0", []string{"n2", "n1", "n0", "n1"}, cfg)
	require.NoError(t, err)
	require.Equal(t, []string{"n1", "n2"}, tb.Peers())
	return tb
}

// tickTo advances the table to tick n.
func tickTo(tb *Table, n int64) {
	for now := tb.Now() + 1; now <= n; now++ {
		tb.Tick(now)
	}
}

// silent makes peer leave a request unanswered until it is suspected.
func silent(tb *Table, peer string) {
	tb.Send(peer, Request)
	tickTo(tb, tb.Now()+tb.cfg.SilenceTicks)
}

// TestDecisions: the link table's view and routes of node n0 (peers n1,
// n2; a majority is two) after a script of events.
func TestDecisions(t *testing.T) {
	type send struct {
		to   string
		kind Kind
		want Route
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		script func(tb *Table)
		sends  []send
		twoWay []string
		hears  []string // peers n0 says it hears
	}{
		{
			name:   "no events: every message direct",
			script: func(*Table) {},
			sends:  []send{{"n1", Request, Route{Direct: true}}, {"n2", Other, Route{Direct: true}}, {"n2", Answer, Route{Direct: true}}},
			twoWay: []string{"n1", "n2"},
		},
		{
			name: "slow answer: answered within the silence, nothing suspected",
			script: func(tb *Table) {
				tb.Send("n1", Request)
				tickTo(tb, 9)
				tb.Heard("n1")
				tb.Answered("n1")
				tickTo(tb, 50)
			},
			sends:  []send{{"n1", Request, Route{Direct: true}}},
			twoWay: []string{"n1", "n2"},
		},
		{
			name: "late answer: suspected at the silence, cleared by the answer",
			script: func(tb *Table) {
				silent(tb, "n1")
				require.Equal(t, []string{"n2"}, tb.TwoWay())
				tb.Heard("n1")
				tb.HearsMe("n1", true)
				tb.Answered("n1")
			},
			sends:  []send{{"n1", Request, Route{Direct: true}}},
			twoWay: []string{"n1", "n2"},
			hears:  []string{"n1"},
		},
		{
			name: "one peer cut, a majority two-way: no relaying",
			script: func(tb *Table) {
				silent(tb, "n1")
				tickTo(tb, 300)
			},
			sends:  []send{{"n1", Request, Route{Direct: true}}, {"n1", Other, Route{Direct: true}}},
			twoWay: []string{"n2"},
		},
		{
			name: "relaying off: direct always, says it hears no one",
			cfg:  Config{Quorum: 2},
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				tb.Heard("n1")
				tb.Asked("n1", "n2", false)
			},
			sends:  []send{{"n1", Request, Route{Direct: true}}, {"n1", Answer, Route{Direct: true}}},
			twoWay: []string{"n1", "n2"},
		},
		{
			// The three-node one-way ring at n0: n0 reaches n1 and hears
			// n2; n1's messages to n0 and n0's to n2 are lost.
			name: "one-way ring, a fresh suspicion: direct too, and a probe",
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				tb.Heard("n2")          // n2 -> n0 works
				tb.HearsMe("n1", true)  // n1 said so, through n2
				tb.HearsMe("n2", false) // n2 does not hear n0
			},
			sends: []send{
				// The first send to each is a probe: direct, and the answer
				// both ways.
				{"n1", Request, Route{Direct: true, AskVia: "n2", AskDirect: true}},
				{"n2", Request, Route{Direct: true, Via: "n1"}},
				// Still fresh: direct as well.
				{"n2", Other, Route{Direct: true, Via: "n1"}},
			},
			twoWay: nil,
			hears:  []string{"n2"},
		},
		{
			name: "one-way ring, an old suspicion: around the broken direction only",
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				tb.Send("n1", Other) // the probes
				tb.Send("n2", Other)
				tickTo(tb, 50)
				tb.Heard("n2")
				tb.HearsMe("n1", true)
				tb.Answered("n1")
				tb.Answered("n2")
			},
			sends: []send{
				{"n1", Request, Route{Direct: true, AskVia: "n2"}},
				{"n2", Request, Route{Via: "n1"}},
				{"n2", Other, Route{Via: "n1"}},
				// Answers go where the peer's request asked.
				{"n2", Answer, Route{Direct: true}},
			},
			hears: []string{"n2"},
		},
		{
			name: "one-way ring: the next probe after ProbeTicks goes direct too",
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				tb.Send("n2", Other) // the probe, at tick 20
				tickTo(tb, 119)
				tb.HearsMe("n1", true)
				require.Equal(t, Route{Via: "n1"}, tb.Send("n2", Other), "before the probe is due")
				tickTo(tb, 120)
			},
			sends: []send{{"n2", Other, Route{Direct: true, Via: "n1"}}, {"n2", Other, Route{Via: "n1"}}},
		},
		{
			name: "heal: a direct message and its hears clear the flags",
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				tickTo(tb, 200)
				tb.Heard("n2")
				tb.HearsMe("n2", true)
			},
			sends:  []send{{"n1", Request, Route{Direct: true}}, {"n2", Request, Route{Direct: true}}},
			twoWay: []string{"n2"},
			hears:  []string{"n2"},
		},
		{
			name: "cut off from everyone: only probes try a relay",
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				require.Equal(t, Route{Direct: true, Via: "n2", AskVia: "n2", AskDirect: true}, tb.Send("n1", Request), "the probe")
				tickTo(tb, 60)
			},
			sends: []send{
				{"n1", Request, Route{Direct: true}},
				{"n2", Request, Route{Direct: true, Via: "n1", AskVia: "n1", AskDirect: true}}, // n2's first probe
				{"n2", Request, Route{Direct: true}},
			},
		},
		{
			name: "a relay is used while it said lately it hears this node",
			script: func(tb *Table) {
				silent(tb, "n1")
				silent(tb, "n2")
				tb.HearsMe("n1", true) // at tick 20
				tb.Send("n2", Other)   // the probe
				tickTo(tb, 119)
				require.Equal(t, Route{Via: "n1"}, tb.Send("n2", Other))
				tickTo(tb, 221) // n1's word is too old
			},
			// The probe tries n1 as any peer; then no relay is known.
			sends: []send{{"n2", Other, Route{Direct: true, Via: "n1"}}, {"n2", Other, Route{Direct: true}}},
		},
		{
			name: "answers follow the latest ask; a bad via is ignored",
			script: func(tb *Table) {
				tb.Asked("n1", "n2", true)
				tb.Asked("n2", "n0", false)
			},
			sends: []send{{"n1", Answer, Route{Direct: true, Via: "n2"}}, {"n2", Answer, Route{Direct: true}}},
		},
		{
			name:   "an unknown peer: direct",
			script: func(*Table) {},
			sends:  []send{{"n9", Request, Route{Direct: true}}},
			twoWay: []string{"n1", "n2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg3
			if tc.cfg != (Config{}) {
				cfg = tc.cfg
			}
			tb := newTable(t, cfg)
			tc.script(tb)
			for i, s := range tc.sends {
				require.Equal(t, s.want, tb.Send(s.to, s.kind), "send %d to %s", i, s.to)
			}
			if tc.twoWay != nil || tc.sends == nil {
				require.Equal(t, tc.twoWay, tb.TwoWay())
			}
			var hears []string
			for _, p := range tb.Peers() {
				if tb.Hears(p) {
					hears = append(hears, p)
				}
			}
			require.Equal(t, tc.hears, hears)
		})
	}
}

// TestNewChecksBounds: relaying needs positive bounds.
func TestNewChecksBounds(t *testing.T) {
	_, err := New("n0", []string{"n1"}, Config{Relay: true, Quorum: 2})
	require.Error(t, err)
	_, err = New("n0", []string{"n1"}, Config{})
	require.NoError(t, err)
}

// TestPassOn: a relay passes on the sender's own message, between two
// of its peers.
func TestPassOn(t *testing.T) {
	tb := newTable(t, cfg3)
	require.True(t, tb.PassOn("n1", "n1", "n2"))
	require.False(t, tb.PassOn("n1", "n2", "n2"), "not the sender's own")
	require.False(t, tb.PassOn("n1", "n1", "n1"), "back to the sender")
	require.False(t, tb.PassOn("n1", "n1", "n9"), "not a peer")
	off := newTable(t, Config{})
	require.False(t, off.PassOn("n1", "n1", "n2"))
}

// ring is three tables on a network where a message takes one tick and
// some directions are cut: each node sends each peer a request every
// tick, the peer answers as the request asks, every message carries
// Hears, and relays pass messages on. It counts the answers each node
// gets.
type ring struct {
	ids    []string
	tables map[string]*Table
	cut    map[[2]string]bool // [from, to]: messages lost
	queue  []wire
	now    int64
}

type wire struct {
	from, to string // this hop
	origin   string // who sent it, for whom: to, unless relayed
	dest     string
	answer   bool
	hears    bool
	askVia   string
	askDir   bool
}

func newRing(t *testing.T) *ring {
	r := &ring{ids: []string{"n0", "n1", "n2"}, tables: map[string]*Table{}, cut: map[[2]string]bool{}}
	for _, id := range r.ids {
		tb, err := New(id, r.ids, cfg3)
		require.NoError(t, err)
		r.tables[id] = tb
	}
	return r
}

// send routes one message of origin for dest.
func (r *ring) send(origin, dest string, kind Kind) {
	tb := r.tables[origin]
	rt := tb.Send(dest, kind)
	w := wire{origin: origin, dest: dest, answer: kind == Answer, hears: tb.Hears(dest), askVia: rt.AskVia, askDir: rt.AskDirect}
	if rt.Direct {
		w.from, w.to = origin, dest
		r.queue = append(r.queue, w)
	}
	if rt.Via != "" {
		w.from, w.to = origin, rt.Via
		r.queue = append(r.queue, w)
	}
}

// step delivers what was sent last tick, then every node sends its
// requests; it returns the answers delivered, by the node they answer.
func (r *ring) step() map[string]int {
	r.now++
	for _, id := range r.ids {
		r.tables[id].Tick(r.now)
	}
	answers := map[string]int{}
	q := r.queue
	r.queue = nil
	for _, w := range q {
		if r.cut[[2]string{w.from, w.to}] {
			continue
		}
		tb := r.tables[w.to]
		if w.to != w.dest { // a relay
			tb.Heard(w.from)
			if tb.PassOn(w.from, w.origin, w.dest) {
				w.from, w.to = w.to, w.dest
				r.queue = append(r.queue, w)
			}
			continue
		}
		if w.from == w.origin {
			tb.Heard(w.origin)
		} else {
			tb.Heard(w.from) // the relay's own link works
		}
		tb.HearsMe(w.origin, w.hears)
		if w.answer {
			tb.Answered(w.origin)
			answers[w.dest]++
			continue
		}
		tb.Asked(w.origin, w.askVia, w.askDir)
		r.send(w.to, w.origin, Answer)
	}
	for _, id := range r.ids {
		for _, p := range r.ids {
			if p != id {
				r.send(id, p, Request)
			}
		}
	}
	return answers
}

// TestOneWayRing: the three tables, connected, then the one-way ring
// (n0 reaches n1, n1 n2, n2 n0; every other direction cut): after the
// silence and a few round trips, every node gets answers from both peers
// every tick again, each through the third node where a direction is
// broken, and does not send direct copies down its broken direction
// except for the probes. Then the heal: within a probe period every link
// works both ways again, and nothing is relayed.
func TestOneWayRing(t *testing.T) {
	r := newRing(t)
	for range 20 {
		r.step()
	}
	for _, id := range r.ids {
		require.Len(t, r.tables[id].TwoWay(), 2, "%s: connected", id)
	}
	r.cut[[2]string{"n1", "n0"}] = true
	r.cut[[2]string{"n2", "n1"}] = true
	r.cut[[2]string{"n0", "n2"}] = true
	for range 3 * cfg3.SilenceTicks {
		r.step()
	}
	for range 50 {
		got := r.step()
		for _, id := range r.ids {
			require.Equal(t, 2, got[id], "tick %d: answers for %s", r.now, id)
		}
		for _, w := range r.queue {
			if r.cut[[2]string{w.from, w.to}] {
				require.True(t, w.from == w.origin && w.to == w.dest, "tick %d: only direct copies go down a cut: %+v", r.now, w)
			}
		}
	}
	require.Equal(t, []string{"n2"}, hearsOf(r.tables["n0"]), "n0 hears n2 only")
	require.True(t, r.tables["n0"].Reaches("n1"))
	require.False(t, r.tables["n0"].Reaches("n2"))

	// Down a cut direction only the probes go: once per ProbeTicks per
	// peer and kind of traffic.
	lost := 0
	for range cfg3.ProbeTicks {
		r.step()
		for _, w := range r.queue {
			if r.cut[[2]string{w.from, w.to}] {
				lost++
			}
		}
	}
	require.Positive(t, lost, "probes try the cut directions")
	require.LessOrEqual(t, lost, 3*2, "one probe per cut direction, requests and answers")

	clear(r.cut)
	for range cfg3.ProbeTicks + 3*cfg3.SilenceTicks {
		r.step()
	}
	for _, id := range r.ids {
		require.Len(t, r.tables[id].TwoWay(), 2, "%s after the heal", id)
	}
	r.step()
	for _, w := range r.queue {
		require.Equal(t, w.origin, w.from, "nothing relayed after the heal")
		require.Equal(t, w.dest, w.to)
	}
}

func hearsOf(tb *Table) []string {
	var out []string
	for _, p := range tb.Peers() {
		if tb.Hears(p) {
			out = append(out, p)
		}
	}
	return out
}
