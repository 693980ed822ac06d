package raft

import (
	"math/rand/v2"
	"testing"
)

// Bad input never panics: a core fed random messages from its peers (any
// type, term, index, entries) keeps running. Seeded; the seed is printed.
func TestRandomMessagesNeverPanic(t *testing.T) {
	n := uint64(1000)
	if raceEnabled || testing.Short() {
		n = 200
	}
	for seed := uint64(1); seed <= n; seed++ {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("seed %d: panic: %v", seed, p)
				}
			}()
			r := rand.New(rand.NewPCG(seed, 2))
			ids := []string{"a", "b", "c"}
			c := newTestRaft(t, "a", ids, func(c *Config) { c.PreVote = seed%2 == 0; c.CheckQuorum = seed%3 == 0 })
			for range 300 {
				if r.IntN(4) == 0 {
					c.Tick()
					c.Ready()
					continue
				}
				m := Message{
					Type:    MsgType(1 + r.IntN(int(MsgSnap))),
					From:    ids[1+r.IntN(2)],
					To:      "a",
					Term:    r.Int64N(6),
					LogTerm: r.Int64N(6) - 1,
					Index:   r.Int64N(12) - 1,
					Commit:  r.Int64N(12) - 1,
					Reject:  r.IntN(2) == 0,
					Hint:    r.Int64N(12) - 1,
					Context: r.Int64N(5),
				}
				for i := range r.IntN(4) {
					m.Entries = append(m.Entries, Entry{Term: r.Int64N(6), Index: m.Index + 1 + int64(i) + r.Int64N(2)})
				}
				if m.Type == MsgSnap && r.IntN(2) == 0 {
					m.Snapshot = &Snapshot{Index: r.Int64N(12), Term: r.Int64N(6), Voters: ids}
				}
				_ = c.Step(m)
				c.Ready()
			}
		}()
	}
}
