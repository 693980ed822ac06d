package sim

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"maelkit/lib/core"
	"maelkit/lib/testenv"
)

// journal is a toy durable core: a client's value is appended to its log
// and acknowledged in the same Output (so after it is durable); its state is
// the count of records, rewritten whole with each append.
type journal struct {
	core.Outbox[int, int]
	vals []int
}

func newJournal(_ string, rec core.Recovered) core.Core[int, int, int] {
	j := &journal{}
	for _, b := range rec.Log {
		j.vals = append(j.vals, int(binary.BigEndian.Uint64(b)))
	}
	if rec.State != nil && int(binary.BigEndian.Uint64(rec.State)) < len(j.vals) {
		// The count is written after the record in one Output: a torn
		// group can keep the record and lose the count, never the reverse.
		// Its Output drops the extra records from the disk too.
		j.vals = j.vals[:binary.BigEndian.Uint64(rec.State)]
		j.Persist(core.Write{Kind: core.WriteTruncate, Index: uint64(len(j.vals))})
	}
	return j
}

func (j *journal) Step(string, int) {}
func (j *journal) Tick()            {}
func (j *journal) Command(cmd core.Command[int]) {
	j.vals = append(j.vals, cmd.Body)
	j.Persist(core.Write{Kind: core.WriteAppend, Index: uint64(len(j.vals)), Data: binary.BigEndian.AppendUint64(nil, uint64(cmd.Body))})
	j.Persist(core.Write{Kind: core.WriteState, Data: binary.BigEndian.AppendUint64(nil, uint64(len(j.vals)))})
	j.Reply(cmd.Client, cmd.MsgID, cmd.Body)
}
func (j *journal) Drain() core.Output[int, int] { return j.Take() }

// Every acknowledged value survives any fault but a wiped disk, at any
// point, including one inside the writes of an Output (which then
// acknowledges nothing).
func TestDurableKeepsAcknowledged(t *testing.T) {
	for _, seed := range Seeds(t, testenv.Pick(50, 1000)) {
		s := NewDurable(Config{Seed: seed, Nodes: []string{"n0"}, TickMs: 10}, newJournal)
		r := s.Rand()
		var acked []int
		for i := range 200 {
			switch r.IntN(6) {
			case 0:
				s.Fail("n0", Fault(1+r.IntN(2)))
				_, err := s.Recover("n0")
				require.NoError(t, err, "seed %d", seed)
			case 1:
				s.FailAfter("n0", r.IntN(4), Fault(1+r.IntN(2)))
			}
			s.Command("n0", core.Command[int]{Client: "c", MsgID: int64(i), Body: i})
			for _, rep := range s.Replies() {
				acked = append(acked, rep.Body)
			}
			if s.Down("n0") {
				_, err := s.Recover("n0")
				require.NoError(t, err, "seed %d", seed)
			}
			s.FailAfter("n0", -1, 0)
			j := s.Core("n0").(*journal)
			have := map[int]bool{}
			for _, v := range j.vals {
				have[v] = true
			}
			for _, v := range acked {
				require.True(t, have[v], "seed %d: acknowledged %d lost after event %d", seed, v, i)
			}
		}
	}
}

// A fault at each step of an Output's writes in turn: until the writes are
// all done and synced the node dies with no reply; once it replies, the
// value survives a power loss.
func TestDurableMidWriteSendsNothing(t *testing.T) {
	for n := 0; ; n++ {
		require.Less(t, n, 100, "the writes never completed")
		s := NewDurable(Config{Seed: uint64(n), Nodes: []string{"n0"}, TickMs: 10}, newJournal)
		s.FailAfter("n0", n, PowerLoss)
		s.Command("n0", core.Command[int]{Client: "c", MsgID: 1, Body: 7})
		replies := s.Replies()
		if len(replies) == 0 {
			require.True(t, s.Down("n0"), "n=%d", n)
			_, err := s.Recover("n0")
			require.NoError(t, err, "n=%d", n)
			continue
		}
		s.Fail("n0", PowerLoss)
		_, err := s.Recover("n0")
		require.NoError(t, err)
		require.Equal(t, []int{7}, s.Core("n0").(*journal).vals, "n=%d", n)
		require.Positive(t, n, "at least one write precedes the reply")
		return
	}
}

func TestDiskWipeRestartsFresh(t *testing.T) {
	s := NewDurable(Config{Seed: 1, Nodes: []string{"n0"}, TickMs: 10}, newJournal)
	s.Command("n0", core.Command[int]{Client: "c", MsgID: 1, Body: 7})
	require.Len(t, s.Replies(), 1)
	s.Fail("n0", PowerLoss)
	rec, err := s.Recover("n0")
	require.NoError(t, err)
	require.False(t, rec.Fresh)
	s.Fail("n0", DiskWipe)
	rec, err = s.Recover("n0")
	require.NoError(t, err)
	require.True(t, rec.Fresh)
	require.Empty(t, s.Core("n0").(*journal).vals)
}

func TestDurableSameSeedSameTrace(t *testing.T) {
	run := func(seed uint64) uint64 {
		s := NewDurable(Config{Seed: seed, Nodes: []string{"n0"}, TickMs: 10}, newJournal)
		for i := range 50 {
			if i%7 == 3 {
				s.FailAfter("n0", i%3, PowerLoss)
			}
			s.Command("n0", core.Command[int]{Client: "c", MsgID: int64(i), Body: i})
			if s.Down("n0") {
				_, _ = s.Recover("n0")
			}
		}
		return s.TraceHash()
	}
	require.Equal(t, run(3), run(3))
}
