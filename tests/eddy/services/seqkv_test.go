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
		s := NewSeqKV(rand.New(rand.NewPCG(r.Uint64(), r.Uint64())))
		states := []map[int64]int64{{}} // index -> key -> value
		lower := map[string]int{}       // caller -> lowest index it can be at
		lastWrite := map[string]map[int64]int64{}
		nextValue := int64(1) // values only grow, so states are ordered per key
		callers := []string{"n1", "n2", "n3", "n4"}
		for step := range 400 {
			src := callers[r.IntN(len(callers))]
			if lastWrite[src] == nil {
				lastWrite[src] = map[int64]int64{}
			}
			k := r.Int64N(3)
			newest := len(states) - 1
			before := s.last
			// candidates lists the state indices a non-changing reply can
			// come from.
			lo := max(lower[src], int(s.oldest()))
			matching := func(pred func(m map[int64]int64) bool) []int {
				var out []int
				for i := lo; i <= newest; i++ {
					if pred(states[i]) {
						out = append(out, i)
					}
				}
				return out
			}
			ctx := fmt.Sprintf("trial %d step %d src %s key %d", trial, step, src, k)
			switch op := r.IntN(3); op {
			case 0:
				got := call(t, s, src, `{"type":"read","key":%d,"msg_id":%d}`, k, step)
				v, ok := readInt(t, got)
				js := matching(func(m map[int64]int64) bool {
					cur, has := m[k]
					return has == ok && cur == v
				})
				require.NotEmpty(t, js, "%s: read %v,%v from no allowed state", ctx, v, ok)
				lower[src] = js[0]
				require.Equal(t, before, s.last, ctx)
				if w, wrote := lastWrite[src][k]; wrote {
					require.True(t, ok, "%s: read-your-writes", ctx)
					require.GreaterOrEqual(t, v, w, "%s: read-your-writes", ctx)
				}
			case 1:
				got := call(t, s, src, `{"type":"write","key":%d,"value":%d,"msg_id":%d}`, k, nextValue, step)
				require.Equal(t, "write_ok", got.Type)
				next := maps.Clone(states[newest])
				next[k] = nextValue
				states = append(states, next)
				require.Equal(t, before+1, s.last, ctx)
				lower[src] = len(states) - 1
				lastWrite[src][k] = nextValue
				nextValue++
			case 2:
				// from: a value the key had at some point, or a missing key.
				from := r.Int64N(nextValue + 1)
				got := call(t, s, src, `{"type":"cas","key":%d,"from":%d,"to":%d,"msg_id":%d}`, k, from, nextValue, step)
				switch {
				case got.Type == "cas_ok":
					require.Equal(t, before+1, s.last, ctx)
					require.Equal(t, from, states[newest][k], "%s: cas_ok needs from on the newest state", ctx)
					next := maps.Clone(states[newest])
					next[k] = nextValue
					states = append(states, next)
					lower[src] = len(states) - 1
					lastWrite[src][k] = nextValue
					nextValue++
				case s.last == before+1:
					// Succeeded on a stale state, re-run on the newest and
					// failed there: the newest state is appended unchanged.
					states = append(states, maps.Clone(states[newest]))
					lower[src] = len(states) - 1
					cur, has := states[newest][k]
					if has {
						require.Equal(t, int64(22), got.Code, ctx)
						require.Equal(t, fmt.Sprintf("current value %d is not %d", cur, from), got.Text, ctx)
					} else {
						require.Equal(t, int64(20), got.Code, ctx)
					}
				default:
					// Failed on the state it picked.
					require.Equal(t, before, s.last, ctx)
					var js []int
					if got.Code == 20 {
						js = matching(func(m map[int64]int64) bool { _, has := m[k]; return !has })
					} else {
						require.Equal(t, int64(22), got.Code, ctx)
						var cur int64
						_, err := fmt.Sscanf(got.Text, "current value %d is not", &cur)
						require.NoError(t, err)
						require.NotEqual(t, from, cur, ctx)
						js = matching(func(m map[int64]int64) bool { v, has := m[k]; return has && v == cur })
					}
					require.NotEmpty(t, js, "%s: %+v from no allowed state", ctx, got)
					lower[src] = js[0]
				}
			}
			require.Equal(t, int64(len(states)-1), s.last, ctx)
		}
		for _, vs := range s.keys {
			require.LessOrEqual(t, len(vs), seqKVStates+1, "versions are pruned")
		}
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
