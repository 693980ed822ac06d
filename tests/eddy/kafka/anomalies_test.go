package kafka

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/tests/eddy/history"
)

// anomalyCase is a hand-made history with one anomaly (bad) and a
// near-identical one without it (good). bad must report typ; valid is
// bad's expected :valid?. good must report nothing at all.
type anomalyCase struct {
	name  string
	typ   string
	valid bool
	bad   func(b *hb)
	good  func(b *hb)
}

func TestAnomalies(t *testing.T) {
	k := "7"
	cases := []anomalyCase{
		{name: "lost write", typ: "lost-write",
			bad: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 0))).poll(1, pm(k, seq(2, 2))).poll(2, pm(k, seq(2, 2)))
				b.poll(3, pm(k, seq(0, 0)))
			},
			good: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 0))).poll(1, pm(k, seq(1, 2))).poll(2, pm(k, seq(2, 2)))
				b.poll(3, pm(k, seq(0, 0)))
			}},
		{name: "duplicate", typ: "duplicate",
			bad: func(b *hb) {
				b.send(0, ok, k, 0, 1).poll(1, pm(k, seq(0, 0))).poll(2, pm(k, [][2]int64{{1, 1}}))
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).poll(1, pm(k, seq(0, 0))).poll(2, pm(k, [][2]int64{{0, 1}}))
			}},
		{name: "inconsistent offsets", typ: "inconsistent-offsets",
			bad: func(b *hb) {
				b.send(0, ok, k, 0, 1).send(1, ok, k, 0, 2).poll(2, pm(k, [][2]int64{{0, 1}}))
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).send(1, ok, k, 1, 2).poll(2, pm(k, seq(0, 1)))
			}},
		{name: "G1a: a failed send is polled", typ: "G1a",
			bad: func(b *hb) {
				b.send(0, fail, k, 0, 1).poll(1, pm(k, seq(0, 0)))
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).poll(1, pm(k, seq(0, 0)))
			}},
		{name: "internal poll skip", typ: "int-poll-skip",
			bad: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, [][2]int64{{0, 1}, {2, 3}})).poll(2, pm(k, seq(0, 2)))
			},
			good: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 2))).poll(2, pm(k, seq(0, 2)))
			}},
		{name: "internal nonmonotonic poll", typ: "int-nonmonotonic-poll",
			bad: func(b *hb) {
				b.sends(0, k, 2).poll(1, pm(k, [][2]int64{{1, 2}, {0, 1}}))
			},
			good: func(b *hb) {
				b.sends(0, k, 2).poll(1, pm(k, [][2]int64{{0, 1}, {1, 2}}))
			}},
		{name: "poll skip between polls of one process", typ: "poll-skip",
			bad: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 0))).poll(1, pm(k, seq(2, 2))).poll(2, pm(k, seq(0, 2)))
			},
			good: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 0))).poll(1, pm(k, seq(1, 2))).poll(2, pm(k, seq(0, 2)))
			}},
		{name: "poll skip survives an assign that keeps the key", typ: "poll-skip",
			bad: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 0))).assign(1, k, "8").poll(1, pm(k, seq(2, 2)))
				b.poll(2, pm(k, seq(0, 2)))
			},
			good: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 0))).assign(1, "8").assign(1, k).poll(1, pm(k, seq(2, 2)))
				b.poll(2, pm(k, seq(0, 2)))
			}},
		{name: "nonmonotonic poll", typ: "nonmonotonic-poll",
			bad: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 1))).poll(1, pm(k, seq(1, 2)))
			},
			good: func(b *hb) {
				b.sends(0, k, 3).poll(1, pm(k, seq(0, 1))).poll(1, pm(k, seq(2, 2)))
			}},
		{name: "nonmonotonic send", typ: "nonmonotonic-send",
			bad: func(b *hb) {
				b.send(0, ok, k, 1, 1).send(0, ok, k, 0, 2).poll(1, pm(k, [][2]int64{{0, 2}, {1, 1}}))
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).send(0, ok, k, 1, 2).poll(1, pm(k, [][2]int64{{0, 1}, {1, 2}}))
			}},
		{name: "unseen", typ: "unseen",
			bad: func(b *hb) {
				b.sends(0, k, 2).poll(1, pm(k, seq(0, 0)))
			},
			good: func(b *hb) {
				b.sends(0, k, 2).poll(1, pm(k, seq(0, 1)))
			}},
		{name: "G1c-realtime: a poll returns a message sent after it completed", typ: "G1c-realtime",
			bad: func(b *hb) {
				b.poll(1, pm(k, seq(0, 0))).send(0, ok, k, 0, 1)
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).poll(1, pm(k, seq(0, 0)))
			}},
		{name: "G1c-realtime through another process's ops", typ: "G1c-realtime",
			bad: func(b *hb) {
				// 2 polls 1 before 0 sends it, with 3's concurrent poll in
				// between: poll(2) < poll(3) < send(0) in real time.
				b.startPoll(3, pm("9", [][2]int64(nil))).poll(2, pm(k, seq(0, 0))).end(3, ok).send(0, ok, k, 0, 1)
			},
			good: func(b *hb) {
				b.startSend(0, k, 0, 1).poll(2, pm(k, seq(0, 0))).end(0, ok)
			}},
		{name: "G1c-realtime: a process polls what it sends later", typ: "G1c-realtime",
			bad: func(b *hb) {
				b.poll(0, pm(k, seq(0, 0))).send(0, ok, k, 0, 1)
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).poll(0, pm(k, seq(0, 0)))
			}},
		{name: "G1c: two txn ops each poll the other's send", typ: "G1c",
			bad: func(b *hb) {
				b.start(0, FTxn, []any{[]any{kw("send"), "x", kw("a")}, []any{kw("poll")}},
					[]any{[]any{kw("send"), "x", []any{int64(0), kw("a")}}, []any{kw("poll"), pmv("y", 0, kw("b"))}})
				b.start(1, FTxn, []any{[]any{kw("send"), "y", kw("b")}, []any{kw("poll")}},
					[]any{[]any{kw("send"), "y", []any{int64(0), kw("b")}}, []any{kw("poll"), pmv("x", 0, kw("a"))}})
				b.end(0, ok).end(1, ok)
			},
			good: func(b *hb) {
				b.start(0, FTxn, []any{[]any{kw("send"), "x", kw("a")}, []any{kw("poll")}},
					[]any{[]any{kw("send"), "x", []any{int64(0), kw("a")}}, []any{kw("poll"), pm("y", [][2]int64(nil))}})
				b.start(1, FTxn, []any{[]any{kw("send"), "y", kw("b")}, []any{kw("poll")}},
					[]any{[]any{kw("send"), "y", []any{int64(0), kw("b")}}, []any{kw("poll"), pmv("x", 0, kw("a"))}})
				b.end(0, ok).end(1, ok).poll(2, pmv("y", 0, kw("b")))
			}},
		{name: "empty transaction graph: no send or poll succeeded", typ: "empty-transaction-graph",
			bad: func(b *hb) {
				b.send(0, fail, k, 0, 1).assign(1, k).start(2, FPoll, pollInv(), nil).end(2, info)
			},
			good: func(b *hb) {
				b.send(0, ok, k, 0, 1).assign(1, k).poll(1, pm(k, seq(0, 0)))
			}},
		{name: "internal send skip is allowed", typ: "int-send-skip", valid: true,
			bad: func(b *hb) {
				b.start(0, FSend, []any{[]any{kw("send"), k, int64(1)}, []any{kw("send"), k, int64(3)}},
					[]any{[]any{kw("send"), k, []any{int64(0), int64(1)}}, []any{kw("send"), k, []any{int64(2), int64(3)}}}).end(0, ok)
				b.send(1, ok, k, 1, 2).poll(2, pm(k, seq(0, 2)))
			},
			good: func(b *hb) {
				b.start(0, FSend, []any{[]any{kw("send"), k, int64(1)}, []any{kw("send"), k, int64(2)}},
					[]any{[]any{kw("send"), k, []any{int64(0), int64(1)}}, []any{kw("send"), k, []any{int64(1), int64(2)}}}).end(0, ok)
				b.send(1, ok, k, 2, 3).poll(2, pm(k, seq(0, 2)))
			}},
		{name: "internal nonmonotonic send", typ: "int-nonmonotonic-send",
			bad: func(b *hb) {
				b.start(0, FSend, []any{[]any{kw("send"), k, int64(1)}, []any{kw("send"), k, int64(2)}},
					[]any{[]any{kw("send"), k, []any{int64(1), int64(1)}}, []any{kw("send"), k, []any{int64(0), int64(2)}}}).end(0, ok)
				b.poll(2, pm(k, [][2]int64{{0, 2}, {1, 1}}))
			},
			good: func(b *hb) {
				b.start(0, FSend, []any{[]any{kw("send"), k, int64(1)}, []any{kw("send"), k, int64(2)}},
					[]any{[]any{kw("send"), k, []any{int64(0), int64(1)}}, []any{kw("send"), k, []any{int64(1), int64(2)}}}).end(0, ok)
				b.poll(2, pm(k, seq(0, 1)))
			}},
		{name: "precommitted read in a txn op", typ: "precommitted-read",
			bad: func(b *hb) {
				b.start(0, FTxn, []any{[]any{kw("send"), k, int64(1)}, []any{kw("poll")}},
					[]any{[]any{kw("send"), k, []any{int64(0), int64(1)}}, []any{kw("poll"), pm(k, seq(0, 0))}}).end(0, ok)
			},
			good: func(b *hb) {
				b.start(0, FTxn, []any{[]any{kw("send"), k, int64(1)}, []any{kw("poll")}},
					[]any{[]any{kw("send"), k, []any{int64(0), int64(1)}}, []any{kw("poll"), pm(k, [][2]int64(nil))}}).end(0, ok)
				b.poll(1, pm(k, seq(0, 0)))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := newHB()
			c.bad(bad)
			a := Analyze(bad.h)
			res := a.Result()
			types := a.Types()
			require.Contains(t, types, c.typ, "bad history: %v", a.Explain())
			v, _ := res.Get("valid?")
			require.Equal(t, c.valid, v, "bad history: %v", a.Explain())
			if !c.valid {
				require.Contains(t, a.BadTypes(), c.typ)
			}
			got, _ := res.Get(c.typ)
			require.NotNil(t, got)
			ex := a.Explain()
			require.True(t, slices.ContainsFunc(ex, func(s string) bool { return strings.HasPrefix(s, c.typ+": ") }), "%v", ex)

			good := newHB()
			c.good(good)
			g := Analyze(good.h)
			require.Empty(t, g.Types(), "good history: %v", g.Explain())
			gv, _ := g.Result().Get("valid?")
			require.Equal(t, true, gv)
		})
	}
}

// TestAssignDropsTracking: an assign that no longer holds a key forgets the
// process's position in it, so polling it again from the start is fine.
func TestAssignDropsTracking(t *testing.T) {
	b := newHB().sends(0, "1", 2)
	b.poll(1, pm("1", seq(0, 1))).assign(1, "2").assign(1, "1").poll(1, pm("1", seq(0, 1)))
	require.Empty(t, Analyze(b.h).Types())

	b = newHB().sends(0, "1", 2)
	b.poll(1, pm("1", seq(0, 1))).assign(1, "1", "2").poll(1, pm("1", seq(0, 1)))
	require.Equal(t, []string{"nonmonotonic-poll"}, Analyze(b.h).Types())
}

// TestInfoSends: an :ok send below the highest polled offset that no poll
// returned is lost; an :info send nobody read proves nothing and is not.
func TestInfoSends(t *testing.T) {
	b := newHB().send(0, ok, "1", 0, 1).send(1, info, "1", 0, 2).send(2, ok, "1", 1, 3)
	b.poll(3, pm("1", [][2]int64{{1, 3}}))
	a := Analyze(b.h)
	// Message 1 (ok, offset 0) is lost below the polled offset 1; the :info
	// send of 2 has no known offset and is not.
	lost := a.Cases("lost-write")
	require.Len(t, lost, 1)
	v, _ := lost[0].Map().Get("value")
	require.Equal(t, int64(1), v)
	causes, _ := a.Result().Get("info-txn-causes")
	require.Equal(t, history.List{kw("net-timeout")}, causes)
}

// TestInconsistentOffsetsNamesTheOps: the explanation says which send and
// which poll put each message at the shared offset.
func TestInconsistentOffsetsNamesTheOps(t *testing.T) {
	b := newHB()
	b.send(0, ok, "7", 0, 1).send(1, ok, "7", 0, 2).poll(2, pm("7", [][2]int64{{0, 1}}))
	a := Analyze(b.h)
	cs := a.Cases("inconsistent-offsets")
	require.Len(t, cs, 1)
	require.Equal(t, `key "7": offset 0 holds 2 different messages [1 2]: `+
		`1 sent there by process 0's ok send (op 1) and polled there first by process 2's ok poll (op 5); `+
		`2 sent there by process 1's ok send (op 3)`, cs[0].Text)
}
