package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk formats. Every file starts with a header; integers are little
// endian; checksums are CRC-32C (Castagnoli, hardware-accelerated on amd64
// and arm64).
//
//	header (80 bytes):
//	  0  magic "mkstore\x01"  (the last byte is the format version)
//	  8  kind  u32           (kindLog, kindSnapshot)
//	 12  reserved u32        (zero)
//	 16  run identity        (RunID: boot id [16], parent pid u64,
//	                          parent start u64, dir dev u64, dir inode u64)
//	 64  first u64           (log: index of the first record; snapshot: index)
//	 72  crc u32             (of bytes 0..72)
//	 76  reserved u32        (zero)
//
//	log record (8 bytes + payload), repeated to the end of the file:
//	  0  length u32
//	  4  crc u32             (chained: CRC-32C of length and payload,
//	                          seeded with the previous record's crc, the
//	                          first record's with the header's crc)
//	  8  payload
//
// Chaining makes a record valid only where it was written: a stale record
// that resurfaces after a truncation (the truncation was not synced, its
// bytes were) follows a different predecessor and fails its check, so
// recovery stops there instead of splicing an old suffix onto a new log.
const (
	headerSize    = 80
	recHeaderSize = 8

	kindLog      = 1
	kindSnapshot = 2

	// MaxRecordBytes bounds one record's payload (and a snapshot's). A
	// length field above it is corruption, never an allocation.
	MaxRecordBytes = 64 << 20
)

var (
	magic     = [8]byte{'m', 'k', 's', 't', 'o', 'r', 'e', 1}
	castagnol = crc32.MakeTable(crc32.Castagnoli)

	// ErrCorrupt reports damage that recovery must not repair silently: a
	// bad file header or a snapshot whose checksum fails. (A bad log tail is
	// a torn write and is truncated, not reported.)
	ErrCorrupt = errors.New("storage: corrupt file")
)

// header is the decoded file header.
type header struct {
	kind  uint32
	run   RunID
	first uint64
	crc   uint32 // the header's own checksum, seeding the record chain
}

func (h *header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b[0:8], magic[:])
	binary.LittleEndian.PutUint32(b[8:], h.kind)
	copy(b[16:32], h.run.BootID[:])
	binary.LittleEndian.PutUint64(b[32:], uint64(h.run.ParentPID))
	binary.LittleEndian.PutUint64(b[40:], h.run.ParentStart)
	binary.LittleEndian.PutUint64(b[48:], h.run.DirDev)
	binary.LittleEndian.PutUint64(b[56:], h.run.DirIno)
	binary.LittleEndian.PutUint64(b[64:], h.first)
	h.crc = crc32.Checksum(b[:72], castagnol)
	binary.LittleEndian.PutUint32(b[72:], h.crc)
	return b
}

// decodeHeader parses and checks the header at the start of b.
func decodeHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: %d bytes, shorter than a header", ErrCorrupt, len(b))
	}
	if [8]byte(b[0:8]) != magic {
		return header{}, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[0:8])
	}
	if got, want := binary.LittleEndian.Uint32(b[72:]), crc32.Checksum(b[:72], castagnol); got != want {
		return header{}, fmt.Errorf("%w: header checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	// Reserved bytes are zero in this version: one file has one encoding.
	if binary.LittleEndian.Uint32(b[12:]) != 0 || binary.LittleEndian.Uint32(b[76:]) != 0 {
		return header{}, fmt.Errorf("%w: reserved header bytes set", ErrCorrupt)
	}
	h := header{
		kind:  binary.LittleEndian.Uint32(b[8:]),
		first: binary.LittleEndian.Uint64(b[64:]),
		crc:   binary.LittleEndian.Uint32(b[72:]),
	}
	h.run.BootID = [16]byte(b[16:32])
	h.run.ParentPID = int64(binary.LittleEndian.Uint64(b[32:]))
	h.run.ParentStart = binary.LittleEndian.Uint64(b[40:])
	h.run.DirDev = binary.LittleEndian.Uint64(b[48:])
	h.run.DirIno = binary.LittleEndian.Uint64(b[56:])
	return h, nil
}

// appendRecord appends the encoding of payload, chained after prev, to dst
// and returns it with the record's crc.
func appendRecord(dst []byte, prev uint32, payload []byte) ([]byte, uint32) {
	var lb [4]byte
	binary.LittleEndian.PutUint32(lb[:], uint32(len(payload)))
	crc := crc32.Update(prev, castagnol, lb[:])
	crc = crc32.Update(crc, castagnol, payload)
	dst = append(dst, lb[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	return append(dst, payload...), crc
}

// decodeRecord reads the record at the start of b, chained after prev. It
// returns the payload (aliasing b), the record's crc and its encoded size,
// or ok=false if b does not start with a complete, valid record.
func decodeRecord(b []byte, prev uint32) (payload []byte, crc uint32, size int, ok bool) {
	if len(b) < recHeaderSize {
		return nil, 0, 0, false
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	if n > MaxRecordBytes || uint64(n) > uint64(len(b)-recHeaderSize) {
		return nil, 0, 0, false
	}
	payload = b[recHeaderSize : recHeaderSize+int(n)]
	crc = crc32.Update(prev, castagnol, b[0:4])
	crc = crc32.Update(crc, castagnol, payload)
	if crc != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, 0, false
	}
	return payload, crc, recHeaderSize + int(n), true
}

// scanned is what a log file holds up to its first bad record.
type scanned struct {
	hdr     header
	ends    []int64  // ends[i]: file offset just past record first+i
	crcs    []uint32 // crcs[i]: chain value after record first+i
	payload [][]byte // aliasing the file's bytes
	valid   int64    // length of the valid prefix (header and whole records)
}

// scanLog decodes a log file: the header must be valid; records are read up
// to the first one that is short, too long or fails its checksum, and
// everything from there on is the torn tail.
func scanLog(b []byte) (scanned, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return scanned{}, err
	}
	if h.kind != kindLog {
		return scanned{}, fmt.Errorf("%w: kind %d is not a log", ErrCorrupt, h.kind)
	}
	s := scanned{hdr: h, valid: headerSize}
	prev := h.crc
	for off := int64(headerSize); ; {
		p, crc, size, ok := decodeRecord(b[off:], prev)
		if !ok {
			break
		}
		off += int64(size)
		s.ends = append(s.ends, off)
		s.crcs = append(s.crcs, crc)
		s.payload = append(s.payload, p)
		s.valid = off
		prev = crc
	}
	return s, nil
}
