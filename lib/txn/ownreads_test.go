package txn

import (
	"fmt"
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

// TestWaitOwnReads: with Config.WaitOwnReads, a transaction that reads a
// list after appending to it, run while a peer may still commit below its
// version, is committed at once and answered once the horizon reaches its
// version, its read then showing every element below its version (here a
// peer's append that arrived after it ran) followed by its own; other
// transactions are answered at once. Without it, the read ignores its own
// append and the answer is immediate.
func TestWaitOwnReads(t *testing.T) {
	for _, durable := range []bool{false, true} {
		for _, wait := range []bool{false, true} {
			t.Run(fmt.Sprintf("durable=%v/wait=%v", durable, wait), func(t *testing.T) {
				cfg := Defaults("n0", []string{"n0", "n1", "n2"}, 10)
				cfg.WaitOwnReads = wait
				var c *Core
				var err error
				if durable {
					cfg.Incarnation, cfg.FreshClock = 3, 100
					c, err = NewDurable(cfg, core.Recovered{Fresh: true})
				} else {
					c, err = New(cfg)
				}
				require.NoError(t, err)
				clock := c.Store().Clock()
				replies := map[int64]string{}
				drain := func() {
					for _, r := range c.Drain().Replies {
						require.NoError(t, r.Body.Err)
						replies[r.InReplyTo] = r.Body.Txn.String()
					}
				}
				cmd := func(id int64, s string) { c.Command(core.Command[Txn]{Client: "c1", MsgID: id, Body: mustTxn(t, s)}) }
				cmd(1, `[["w",8,1],["r",8,null]]`)                   // version clock+1
				cmd(2, `[["append",9,5],["r",9,null],["r",8,null]]`) // version clock+2
				cmd(3, `[["r",9,null]]`)
				drain()
				require.Equal(t, `[["w",8,1],["r",8,1]]`, replies[1])
				require.Equal(t, `[["r",9,null]]`, replies[3])
				if !wait {
					require.Equal(t, `[["append",9,5],["r",9,null],["r",8,1]]`, replies[2])
					return
				}
				require.NotContains(t, replies, int64(2))
				// n1 appended 4 at clock+1 (below the txn's version): it
				// arrives now, and n1's clock stays below the txn's.
				m := peerNews("n1", 1, false, clock+1, 1, nil)
				m.Entries = []Entry{{Seq: 1, Lamport: clock + 1, WriteSet: WriteSet{Appends: []KV{{K: 9, V: 4}}}}}
				c.Step("n1", m)
				c.Step("n2", peerNews("n2", 1, false, clock+5, 0, nil))
				c.Tick()
				drain()
				require.NotContains(t, replies, int64(2), "the horizon is below the txn's Lamport time")
				c.Step("n1", peerNews("n1", 1, false, clock+5, 1, nil))
				c.Tick()
				drain()
				require.Equal(t, `[["append",9,5],["r",9,[4,5]],["r",8,1]]`, replies[2])
				require.Equal(t, ListValue(4, 5), c.Store().Get(9))
			})
		}
	}
}
