package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

var testRun = RunID{BootID: [16]byte{1, 2, 3}, ParentPID: 42, ParentStart: 4242, DirDev: 7, DirIno: 99}

// encodeLog builds a log file image holding recs from index first.
func encodeLog(run RunID, first uint64, recs ...[]byte) []byte {
	h := header{kind: kindLog, run: run, first: first}
	b := h.encode()
	prev := h.crc
	for _, r := range recs {
		b, prev = appendRecord(b, prev, r)
	}
	return b
}

func TestHeaderRoundTrip(t *testing.T) {
	h := header{kind: kindSnapshot, run: testRun, first: 1 << 40}
	b := h.encode()
	require.Len(t, b, headerSize)
	got, err := decodeHeader(b)
	require.NoError(t, err)
	require.Equal(t, h, got)
}

func TestHeaderDamage(t *testing.T) {
	good := (&header{kind: kindLog, run: testRun, first: 1}).encode()
	for i := range headerSize {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		_, err := decodeHeader(b)
		require.ErrorIs(t, err, ErrCorrupt, "byte %d flipped", i)
	}
	_, err := decodeHeader(good[:headerSize-1])
	require.ErrorIs(t, err, ErrCorrupt)
}

// TestScanTornTail cuts a three-record log at every length: the records
// wholly inside the cut are kept, and nothing else.
func TestScanTornTail(t *testing.T) {
	recs := [][]byte{[]byte("alpha"), {}, bytes.Repeat([]byte("z"), 300)}
	full := encodeLog(testRun, 5, recs...)
	ends := []int{headerSize + 8 + 5, headerSize + 8 + 5 + 8, len(full)}
	for cut := headerSize; cut <= len(full); cut++ {
		s, err := scanLog(full[:cut])
		require.NoError(t, err)
		want := 0
		for want < len(ends) && ends[want] <= cut {
			want++
		}
		require.Len(t, s.payload, want, "cut at %d", cut)
		for i := range want {
			require.Equal(t, recs[i], s.payload[i])
		}
		wantValid := int64(headerSize)
		if want > 0 {
			wantValid = int64(ends[want-1])
		}
		require.Equal(t, wantValid, s.valid)
		require.Equal(t, uint64(5), s.hdr.first)
	}
}

func TestScanStopsAtDamage(t *testing.T) {
	recs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	full := encodeLog(testRun, 1, recs...)
	starts := []int{headerSize, headerSize + 11, headerSize + 22}
	cases := []struct {
		name string
		mod  func(b []byte)
		keep int
	}{
		{"payload bit of record 2", func(b []byte) { b[starts[1]+8] ^= 1 }, 1},
		{"crc of record 1", func(b []byte) { b[starts[0]+4] ^= 0x80 }, 0},
		{"length of record 3 too long", func(b []byte) { binary.LittleEndian.PutUint32(b[starts[2]:], 1000) }, 2},
		{"length of record 2 huge", func(b []byte) { binary.LittleEndian.PutUint32(b[starts[1]:], 0xffffffff) }, 1},
		{"zeroed tail", func(b []byte) { clear(b[starts[2]:]) }, 2},
		{"records swapped", func(b []byte) {
			r1 := bytes.Clone(b[starts[0]:starts[1]])
			copy(b[starts[0]:], b[starts[1]:starts[2]])
			copy(b[starts[1]:], r1)
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(full)
			c.mod(b)
			s, err := scanLog(b)
			require.NoError(t, err)
			require.Len(t, s.payload, c.keep)
		})
	}
}

// TestChainRejectsSplice: a record is valid only after its own predecessor,
// so the suffix of an older log generation never joins a newer prefix.
func TestChainRejectsSplice(t *testing.T) {
	old := encodeLog(testRun, 1, []byte("a"), []byte("b"), []byte("c"))
	newer := encodeLog(testRun, 1, []byte("a"), []byte("B"))
	// The newer log, then the old log's third record where it used to be.
	spliced := append(bytes.Clone(newer), old[len(newer):]...)
	s, err := scanLog(spliced)
	require.NoError(t, err)
	require.Len(t, s.payload, 2)
	require.Equal(t, []byte("B"), s.payload[1])
}

func TestSnapshotDecodeDamage(t *testing.T) {
	d := NewSimDisk(1)
	require.NoError(t, saveSnapshot(d, "/d/s", testRun, Snapshot{Index: 9, Data: []byte("state")}))
	good, err := d.ReadFile("/d/s")
	require.NoError(t, err)
	s, err := decodeSnapshot(good, testRun)
	require.NoError(t, err)
	require.Equal(t, Snapshot{Index: 9, Data: []byte("state")}, s)
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 4
		_, err := decodeSnapshot(b, testRun)
		require.ErrorIs(t, err, ErrCorrupt, "byte %d flipped", i)
	}
	for n := range len(good) {
		_, err := decodeSnapshot(good[:n], testRun)
		require.ErrorIs(t, err, ErrCorrupt, "cut at %d", n)
	}
	other := testRun
	other.ParentPID++
	_, err = decodeSnapshot(good, other)
	require.ErrorIs(t, err, ErrCorrupt)
}

// FuzzScanLog feeds arbitrary bytes after a valid header (and arbitrary
// whole files) to the log decoder: it must never panic, never read a record
// past the input, and what it accepts must re-encode to exactly the bytes it
// accepted.
//
//	go test -run '^$' -fuzz '^FuzzScanLog$' -fuzztime 10s ./lib/storage/
func FuzzScanLog(f *testing.F) {
	f.Add(encodeLog(testRun, 1, []byte("x"), []byte("yy")), false)
	f.Add([]byte{}, false)
	f.Add(encodeLog(testRun, 3, bytes.Repeat([]byte{0}, 40)), true)
	f.Add([]byte("\x05\x00\x00\x00\x00\x00\x00\x00hello"), true)
	hdr := (&header{kind: kindLog, run: testRun, first: 1}).encode()
	f.Fuzz(func(t *testing.T, data []byte, prefixHeader bool) {
		b := data
		if prefixHeader {
			b = append(bytes.Clone(hdr), data...)
		}
		s, err := scanLog(b)
		if err != nil {
			require.True(t, errors.Is(err, ErrCorrupt), "error %v", err)
			return
		}
		require.LessOrEqual(t, s.valid, int64(len(b)))
		re := encodeLog(s.hdr.run, s.hdr.first, s.payload...)
		require.Equal(t, b[:s.valid], re, fmt.Sprintf("%d records", len(s.payload)))
		require.Len(t, s.ends, len(s.payload))
		if len(s.ends) > 0 {
			require.Equal(t, s.valid, s.ends[len(s.ends)-1])
		}
	})
}

// FuzzDecodeSnapshot: arbitrary snapshot files never panic, and an accepted
// one re-encodes to the same bytes.
func FuzzDecodeSnapshot(f *testing.F) {
	d := NewSimDisk(1)
	if err := saveSnapshot(d, "/d/s", testRun, Snapshot{Index: 3, Data: []byte("abc")}); err != nil {
		f.Fatal(err)
	}
	good, err := d.ReadFile("/d/s")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:headerSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSnapshot(b, testRun)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		d := NewSimDisk(1)
		require.NoError(t, saveSnapshot(d, "/d/s", testRun, s))
		again, err := d.ReadFile("/d/s")
		require.NoError(t, err)
		require.Equal(t, b, again)
	})
}
