package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
)

// Snapshot is a state image covering every log record up to Index.
type Snapshot struct {
	Index uint64
	Data  []byte
}

// snapshot file: the header (kind snapshot, first = Index), then
//
//	80  length u64
//	88  crc u32   (CRC-32C of the payload, seeded with the header's crc)
//	92  payload
const snapHeaderSize = headerSize + 12

func dirOf(path string) string { return filepath.Dir(path) }

// saveSnapshot writes s to path atomically: a temporary file, fsync, rename
// over path, fsync of the directory. A crash at any step leaves path with
// either the previous snapshot or s, whole.
func saveSnapshot(fsys FS, path string, run RunID, s Snapshot) error {
	if len(s.Data) > MaxRecordBytes {
		return fmt.Errorf("storage: snapshot of %d bytes exceeds %d", len(s.Data), MaxRecordBytes)
	}
	h := header{kind: kindSnapshot, run: run, first: s.Index}
	buf := h.encode()
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s.Data)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Update(h.crc, castagnol, s.Data))
	buf = append(buf, s.Data...)

	tmp := path + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	return fsys.SyncDir(dirOf(path))
}

// loadSnapshot reads the snapshot at path; found is false if there is none.
// A snapshot that fails its checks is an error, never "none": the log
// records it covers may be gone already.
func loadSnapshot(fsys FS, path string, run RunID) (s Snapshot, found bool, err error) {
	b, err := fsys.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, err
	}
	s, err = decodeSnapshot(b, run)
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return s, true, nil
}

func decodeSnapshot(b []byte, run RunID) (Snapshot, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return Snapshot{}, err
	}
	if h.kind != kindSnapshot {
		return Snapshot{}, fmt.Errorf("%w: kind %d is not a snapshot", ErrCorrupt, h.kind)
	}
	if h.run != run {
		return Snapshot{}, fmt.Errorf("%w: written by run %v, this is %v", ErrCorrupt, h.run, run)
	}
	if len(b) < snapHeaderSize {
		return Snapshot{}, fmt.Errorf("%w: %d bytes, shorter than a snapshot header", ErrCorrupt, len(b))
	}
	n := binary.LittleEndian.Uint64(b[headerSize:])
	if n != uint64(len(b)-snapHeaderSize) {
		return Snapshot{}, fmt.Errorf("%w: payload of %d bytes, the file holds %d", ErrCorrupt, n, len(b)-snapHeaderSize)
	}
	data := b[snapHeaderSize:]
	if got, want := crc32.Update(h.crc, castagnol, data), binary.LittleEndian.Uint32(b[headerSize+8:]); got != want {
		return Snapshot{}, fmt.Errorf("%w: payload checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	return Snapshot{Index: h.first, Data: data}, nil
}
