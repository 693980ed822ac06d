package services

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// reply is the decoded part of a KV reply the tests look at.
type reply struct {
	Type  string          `json:"type"`
	Code  int64           `json:"code"`
	Text  string          `json:"text"`
	Value json.RawMessage `json:"value"`
}

func call(t *testing.T, s Service, src, format string, args ...any) reply {
	t.Helper()
	raw, err := s.Handle(src, json.RawMessage(fmt.Sprintf(format, args...)))
	require.NoError(t, err)
	var r reply
	require.NoError(t, json.Unmarshal(raw, &r))
	return r
}

func readInt(t *testing.T, r reply) (int64, bool) {
	t.Helper()
	if r.Type == "error" {
		require.Equal(t, int64(20), r.Code, "%+v", r)
		return 0, false
	}
	require.Equal(t, "read_ok", r.Type)
	var v int64
	require.NoError(t, json.Unmarshal(r.Value, &v))
	return v, true
}

// TestSeqKVModel drives seq-kv with random reads, writes and cas from
// several callers and checks every reply against a model holding every
// state ever made: each reply must come from a state no older than what
// the caller already observed and no older than the 32-state window, and
// every change must land on the newest state.
func TestSeqKVModel(t *testing.T) {
	r := testRand(t)
	for trial := range 20 {
		m := &seqKVModel{t: t, s: NewSeqKV(rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))),
			states: []map[int64]int64{{}}, lower: map[string]int{}, lastWrite: map[string]map[int64]int64{}, nextValue: 1}
		callers := []string{"n1", "n2", "n3", "n4"}
		for step := range 400 {
			src := callers[r.IntN(len(callers))]
			if m.lastWrite[src] == nil {
				m.lastWrite[src] = map[int64]int64{}
			}
			st := seqKVStep{step: step, src: src, k: r.Int64N(3), newest: len(m.states) - 1, before: m.s.last}
			st.lo = max(m.lower[src], int(m.s.oldest()))
			st.ctx = fmt.Sprintf("trial %d step %d src %s key %d", trial, step, src, st.k)
			switch r.IntN(3) {
			case 0:
				m.read(st)
			case 1:
				m.write(st)
			case 2:
				// from: a value the key had at some point, or a missing key.
				m.cas(st, r.Int64N(m.nextValue+1))
			}
			require.Equal(t, int64(len(m.states)-1), m.s.last, st.ctx)
		}
		for _, vs := range m.s.keys {
			require.LessOrEqual(t, len(vs), seqKVStates+1, "versions are pruned")
		}
	}
}

// seqKVModel is TestSeqKVModel's model of seq-kv.
type seqKVModel struct {
	t         *testing.T
	s         *SeqKV
	states    []map[int64]int64 // index -> key -> value
	lower     map[string]int    // caller -> lowest index it can be at
	lastWrite map[string]map[int64]int64
	nextValue int64 // values only grow, so states are ordered per key
}

// seqKVStep is one call: its caller and key, and the model before it.
type seqKVStep struct {
	step       int
	src        string
	k          int64
	newest, lo int // the newest state and the oldest a reply may come from
	before     int64
	ctx        string
}

// matching lists the state indices a non-changing reply can come from.
func (m *seqKVModel) matching(st seqKVStep, pred func(kv map[int64]int64) bool) []int {
	var out []int
	for i := st.lo; i <= st.newest; i++ {
		if pred(m.states[i]) {
			out = append(out, i)
		}
	}
	return out
}

func (m *seqKVModel) read(st seqKVStep) {
	got := call(m.t, m.s, st.src, `{"type":"read","key":%d,"msg_id":%d}`, st.k, st.step)
	v, ok := readInt(m.t, got)
	js := m.matching(st, func(kv map[int64]int64) bool {
		cur, has := kv[st.k]
		return has == ok && cur == v
	})
	require.NotEmpty(m.t, js, "%s: read %v,%v from no allowed state", st.ctx, v, ok)
	m.lower[st.src] = js[0]
	require.Equal(m.t, st.before, m.s.last, st.ctx)
	if w, wrote := m.lastWrite[st.src][st.k]; wrote {
		require.True(m.t, ok, "%s: read-your-writes", st.ctx)
		require.GreaterOrEqual(m.t, v, w, "%s: read-your-writes", st.ctx)
	}
}

func (m *seqKVModel) write(st seqKVStep) {
	got := call(m.t, m.s, st.src, `{"type":"write","key":%d,"value":%d,"msg_id":%d}`, st.k, m.nextValue, st.step)
	require.Equal(m.t, "write_ok", got.Type)
	next := maps.Clone(m.states[st.newest])
	next[st.k] = m.nextValue
	m.states = append(m.states, next)
	require.Equal(m.t, st.before+1, m.s.last, st.ctx)
	m.lower[st.src] = len(m.states) - 1
	m.lastWrite[st.src][st.k] = m.nextValue
	m.nextValue++
}

func (m *seqKVModel) cas(st seqKVStep, from int64) {
	got := call(m.t, m.s, st.src, `{"type":"cas","key":%d,"from":%d,"to":%d,"msg_id":%d}`, st.k, from, m.nextValue, st.step)
	switch {
	case got.Type == "cas_ok":
		require.Equal(m.t, st.before+1, m.s.last, st.ctx)
		require.Equal(m.t, from, m.states[st.newest][st.k], "%s: cas_ok needs from on the newest state", st.ctx)
		next := maps.Clone(m.states[st.newest])
		next[st.k] = m.nextValue
		m.states = append(m.states, next)
		m.lower[st.src] = len(m.states) - 1
		m.lastWrite[st.src][st.k] = m.nextValue
		m.nextValue++
	case m.s.last == st.before+1:
		// Succeeded on a stale state, re-run on the newest and
		// failed there: the newest state is appended unchanged.
		m.states = append(m.states, maps.Clone(m.states[st.newest]))
		m.lower[st.src] = len(m.states) - 1
		cur, has := m.states[st.newest][st.k]
		if has {
			require.Equal(m.t, int64(22), got.Code, st.ctx)
			require.Equal(m.t, fmt.Sprintf("current value %d is not %d", cur, from), got.Text, st.ctx)
		} else {
			require.Equal(m.t, int64(20), got.Code, st.ctx)
		}
	default:
		// Failed on the state it picked.
		require.Equal(m.t, st.before, m.s.last, st.ctx)
		var js []int
		if got.Code == 20 {
			js = m.matching(st, func(kv map[int64]int64) bool { _, has := kv[st.k]; return !has })
		} else {
			require.Equal(m.t, int64(22), got.Code, st.ctx)
			var cur int64
			_, err := fmt.Sscanf(got.Text, "current value %d is not", &cur)
			require.NoError(m.t, err)
			require.NotEqual(m.t, from, cur, st.ctx)
			js = m.matching(st, func(kv map[int64]int64) bool { v, has := kv[st.k]; return has && v == cur })
		}
		require.NotEmpty(m.t, js, "%s: %+v from no allowed state", st.ctx, got)
		m.lower[st.src] = js[0]
	}
}

// A reader that never writes can only move to states older than the
// newest, so right after another node's first write it still sees nothing.
func TestSeqKVFreshCallerSeesEmptyState(t *testing.T) {
	r := testRand(t)
	s := NewSeqKV(r)
	require.Equal(t, "write_ok", call(t, s, "n1", `{"type":"write","key":"k","value":1,"msg_id":1}`).Type)
	for i := range 50 {
		_, ok := readInt(t, call(t, s, "n2", `{"type":"read","key":"k","msg_id":%d}`, i))
		require.False(t, ok, "n2 is stuck on the empty state until it writes")
	}
	// Write-to-refresh: any state-changing write brings n2 up to date.
	require.Equal(t, "write_ok", call(t, s, "n2", `{"type":"write","key":"scratch-n2","value":1,"msg_id":100}`).Type)
	v, ok := readInt(t, call(t, s, "n2", `{"type":"read","key":"k","msg_id":101}`))
	require.True(t, ok)
	require.Equal(t, int64(1), v)
	// A write of the value already there changes nothing: no refresh.
	require.Equal(t, "write_ok", call(t, s, "n1", `{"type":"write","key":"k","value":2,"msg_id":2}`).Type)
	require.Equal(t, "write_ok", call(t, s, "n2", `{"type":"write","key":"scratch-n2","value":1,"msg_id":102}`).Type)
	v, _ = readInt(t, call(t, s, "n2", `{"type":"read","key":"k","msg_id":103}`))
	require.Equal(t, int64(1), v, "a no-op write does not refresh")
}

// A cas that would succeed on the newest state fails with 22 (or 20)
// against the stale state a caller is on; refreshing fixes it.
func TestSeqKVStaleCasFails(t *testing.T) {
	r := testRand(t)
	codes := map[int64]int{}
	for trial := range 200 {
		s := NewSeqKV(rand.New(rand.NewPCG(r.Uint64(), uint64(trial))))
		call(t, s, "n1", `{"type":"write","key":"c","value":0}`)
		call(t, s, "n1", `{"type":"cas","key":"c","from":0,"to":1}`)
		got := call(t, s, "n2", `{"type":"cas","key":"c","from":1,"to":2}`)
		require.Equal(t, "error", got.Type, "n2 is at state 0 or 1, never at the newest")
		codes[got.Code]++
		if got.Code == 22 {
			require.Equal(t, "current value 0 is not 1", got.Text)
		}
		call(t, s, "n2", `{"type":"write","key":"scratch-n2","value":%d}`, trial)
		require.Equal(t, "cas_ok", call(t, s, "n2", `{"type":"cas","key":"c","from":1,"to":2}`).Type)
	}
	require.Positive(t, codes[20], "some stale cas saw the empty state")
	require.Positive(t, codes[22], "some stale cas saw the old value")
}

// Only the last 32 states are kept: a caller that fell behind observes
// states no older than the window.
func TestSeqKVWindow(t *testing.T) {
	s := NewSeqKV(testRand(t))
	call(t, s, "n1", `{"type":"write","key":"old","value":1}`)
	for i := range 99 {
		call(t, s, "n1", `{"type":"write","key":"other","value":%d}`, i)
	}
	require.Equal(t, int64(100), s.last)
	for i := range 100 {
		v, ok := readInt(t, call(t, s, fmt.Sprintf("fresh%d", i), `{"type":"read","key":"old"}`))
		require.True(t, ok, "the empty state fell out of the window")
		require.Equal(t, int64(1), v)
		v, ok = readInt(t, call(t, s, fmt.Sprintf("fresh%d", i), `{"type":"read","key":"other"}`))
		require.True(t, ok)
		require.GreaterOrEqual(t, v, int64(100-seqKVStates-1))
		require.Less(t, v, int64(99), "never the newest for a caller behind it")
	}
	require.Len(t, s.keys[`"other"`], seqKVStates, "pruned to what the window can see")
}

func TestSeqKVDeterministic(t *testing.T) {
	seed := testRand(t).Uint64()
	trace := func() []string {
		s := NewSeqKV(rand.New(rand.NewPCG(seed, 7)))
		r := rand.New(rand.NewPCG(seed, 8))
		var out []string
		for i := range 300 {
			body := fmt.Sprintf(`{"type":"read","key":%d,"msg_id":%d}`, r.IntN(3), i)
			if r.IntN(3) == 0 {
				body = fmt.Sprintf(`{"type":"write","key":%d,"value":%d,"msg_id":%d}`, r.IntN(3), i, i)
			}
			got, err := s.Handle(fmt.Sprintf("n%d", r.IntN(3)), json.RawMessage(body))
			require.NoError(t, err)
			out = append(out, string(got))
		}
		return out
	}
	require.Equal(t, trace(), trace())
}
