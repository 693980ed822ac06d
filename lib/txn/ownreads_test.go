package txn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
)

// peerNews is a message from a peer's process inc (origin: the peer's id,
// or id@inc when at is set) saying its clock and commit count.
func peerNews(from string, inc int64, at bool, clock, seq int64, have map[string]int64) Message {
	origin := from
	if at {
		origin = OriginKey(from, inc)
	}
	return Message{Type: MessageType, Origin: origin, Inc: inc, Clock: clock, Seq: seq, Have: have}
}

// TestOwnReads: a transaction's reads of registers it wrote return its
// last write; its reads of lists it appended to show its appends after
// the visible prefix when every commit not installed here is bound to a
// higher Lamport time than its own (one node; peers known to be ahead),
// and ignore them otherwise (a peer not heard from, a peer whose clock is
// not above this node's, a dead origin whose missing commits are capped
// at 0), in both the in-memory and the durable core.
func TestOwnReads(t *testing.T) {
	own := []struct{ in, want string }{
		{`[["append",9,5],["r",9,null]]`, `[["append",9,5],["r",9,[5]]]`},
		{`[["r",9,null],["append",9,6],["r",9,null],["append",9,7],["r",9,null]]`,
			`[["r",9,[5]],["append",9,6],["r",9,[5,6]],["append",9,7],["r",9,[5,6,7]]]`},
		{`[["w",8,5],["r",8,null]]`, `[["w",8,5],["r",8,5]]`},
		{`[["r",8,null],["w",8,6],["w",8,7],["r",8,null],["append",9,8],["r",9,null]]`,
			`[["r",8,5],["w",8,6],["w",8,7],["r",8,7],["append",9,8],["r",9,[5,6,7,8]]]`},
	}
	hidden := []struct{ in, want string }{
		{`[["append",9,5],["r",9,null]]`, `[["append",9,5],["r",9,null]]`},
		{`[["append",9,6],["r",9,null],["w",8,5],["r",8,null]]`, `[["append",9,6],["r",9,null],["w",8,5],["r",8,5]]`},
	}
	three := []string{"n0", "n1", "n2"}
	cases := []struct {
		name    string
		nodes   []string
		durable bool // only for the durable core
		// news is what the peers say before the transactions, given this
		// node's clock.
		news  func(c *Core, clock int64)
		steps []struct{ in, want string }
	}{
		{name: "one node", nodes: []string{"n0"}, news: func(*Core, int64) {}, steps: own},
		{name: "peers ahead", nodes: three, steps: own, news: func(c *Core, clock int64) {
			c.Step("n1", peerNews("n1", 1, false, clock+1000, 0, nil))
			c.Step("n2", peerNews("n2", 1, false, clock+1000, 0, nil))
		}},
		{name: "a peer not heard", nodes: three, steps: hidden, news: func(c *Core, clock int64) {
			c.Step("n1", peerNews("n1", 1, false, clock+1000, 0, nil))
		}},
		{name: "peers level", nodes: three, steps: hidden, news: func(c *Core, clock int64) {
			// A commit raises this node's clock to the peers'.
			_, err := c.Txn(Txn{{F: Write, K: 1, Arg: 1}})
			require.NoError(t, err)
			c.Step("n1", peerNews("n1", 1, false, clock+1, 0, nil))
			c.Step("n2", peerNews("n2", 1, false, clock+1, 0, nil))
		}},
		{name: "a dead origin lacking commits", nodes: three, durable: true, steps: hidden, news: func(c *Core, clock int64) {
			// n1@1 shows 3 commits this node lacks, then n1 comes back
			// from an empty disk as n1@2: those commits may still arrive
			// in a snapshot, with any Lamport time above 0.
			c.Step("n1", peerNews("n1", 1, true, clock+1000, 3, map[string]int64{"n1@1": 3}))
			c.Step("n1", peerNews("n1", 2, true, clock+1000, 0, nil))
			c.Step("n2", peerNews("n2", 1, false, clock+1000, 0, nil))
		}},
	}
	for _, durable := range []bool{false, true} {
		for _, tc := range cases {
			if tc.durable && !durable {
				continue
			}
			name := tc.name
			if durable {
				name += "/durable"
			}
			t.Run(name, func(t *testing.T) {
				cfg := Defaults("n0", tc.nodes, 10)
				var c *Core
				var err error
				if durable {
					cfg.Incarnation, cfg.FreshClock = 3, 100
					c, err = NewDurable(cfg, core.Recovered{Fresh: true})
				} else {
					c, err = New(cfg)
				}
				require.NoError(t, err)
				tc.news(c, c.Store().Clock())
				for i, st := range tc.steps {
					done, err := c.Txn(mustTxn(t, st.in))
					require.NoError(t, err)
					require.Equal(t, st.want, done.String(), "step %d", i)
				}
			})
		}
	}
}
