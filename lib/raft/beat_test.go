package raft

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A heartbeat answer from a follower in step whose append is merely in
// flight gets no empty append; once the append has been unacknowledged for
// a whole heartbeat period it may be lost, and the answer brings one, which
// the follower rejects until the leader resends what it lacks.
func TestHeartbeatRespResendsOnlyLateAppends(t *testing.T) {
	nw := newNetwork(t, 3, nil)
	nw.campaign("a")
	a := nw.peers["a"]
	nw.cut[[2]string{"a", "b"}] = true // a's appends to b are lost
	require.NoError(t, nw.propose("a", "x"))
	appsToB := func() int {
		n := 0
		for _, m := range msgsOf(a, MsgApp) {
			if m.To == "b" {
				n++
			}
		}
		return n
	}
	beat := func() {
		a.msgs = nil
		require.NoError(t, a.Step(Message{Type: MsgHeartbeatResp, From: "b", To: "a", Term: a.term}))
	}
	beat()
	require.Zero(t, appsToB(), "the append to b was sent less than a period ago")
	a.Tick()
	nw.stabilize()
	beat()
	require.Zero(t, appsToB(), "the append to b was sent less than a period ago")
	a.Tick()
	nw.stabilize()
	beat()
	require.Equal(t, 1, appsToB(), "the append to b has waited a whole period")
	nw.heal()
	a.Tick()
	nw.stabilize()
	nw.tick([]string{"a"}, 3)
	require.Equal(t, []string{"x"}, appliedData(nw.applied["b"]))
}
