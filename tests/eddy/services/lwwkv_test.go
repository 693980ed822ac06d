package services

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// lww-kv never guarantees read-your-writes: a value written once is seen by
// only part of the later reads, forever, and reads only ever return values
// that were written.
func TestLWWKVNoReadYourWrites(t *testing.T) {
	s := NewLWWKV(testRand(t))
	require.Equal(t, "write_ok", call(t, s, "n1", `{"type":"write","key":"k","value":7}`).Type)
	seen, missed := 0, 0
	for range 200 {
		v, ok := readInt(t, call(t, s, "n1", `{"type":"read","key":"k"}`))
		if ok {
			require.Equal(t, int64(7), v)
			seen++
		} else {
			missed++
		}
	}
	require.Positive(t, seen)
	require.Positive(t, missed, "a read hit the replica that never got the write")
}

func TestLWWKVOnlyWrittenValues(t *testing.T) {
	r := testRand(t)
	s := NewLWWKV(r)
	written := map[int64]map[int64]bool{}
	misses := 0
	for i := range 2000 {
		k := r.Int64N(4)
		src := fmt.Sprintf("n%d", r.IntN(3))
		if r.IntN(3) == 0 {
			call(t, s, src, `{"type":"write","key":%d,"value":%d}`, k, i)
			if written[k] == nil {
				written[k] = map[int64]bool{}
			}
			written[k][int64(i)] = true
			continue
		}
		v, ok := readInt(t, call(t, s, src, `{"type":"read","key":%d}`, k))
		if !ok {
			if len(written[k]) > 0 {
				misses++
			}
			continue
		}
		require.True(t, written[k][v], "read %d for key %d, never written", v, k)
	}
	// The two replicas never converge, but with writes spread over both
	// they each end up holding every key; divergence shows in values.
	diverged := 0
	for k := range int64(4) {
		a, aok := s.replicas[0][fmt.Sprint(`i`, k)]
		b, bok := s.replicas[1][fmt.Sprint(`i`, k)]
		if aok && bok && a.key != b.key {
			diverged++
		}
	}
	require.Positive(t, diverged, "replicas do not converge")
}
