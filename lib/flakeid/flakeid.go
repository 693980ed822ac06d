// Package flakeid makes ids that are unique across nodes and across restarts
// of a node, without coordination: "<node>-<boot>-<seq>", where node is the
// Maelstrom node id, boot a 64-bit token drawn from crypto/rand once per
// process (16 hex digits, fixed width) and seq a per-process counter from 0
// (decimal).
//
// Why it is unique: Parse inverts Next (boot has a fixed width and seq has
// no '-', so reading from the right is unambiguous even when node ids
// contain '-'), so two ids are equal only if node, boot and seq all are.
// Distinct nodes differ in node; two runs of one node differ in boot
// (unless two random 64-bit tokens collide: about b²/2⁶⁵ for b boots);
// one run never repeats seq. Ids are all JSON strings, so Maelstrom's
// unique-ids checker can order them to compute its range.
package flakeid

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// bootHexLen is the fixed width of the boot token in an id.
const bootHexLen = 16

// Generator hands out the ids of one process of one node. It is not safe
// for concurrent use: a node's event loop owns it.
type Generator struct {
	prefix []byte // "<node>-<boot>-"
	seq    uint64
	buf    []byte
}

// New returns a generator for nodeID with a fresh random boot token.
func New(nodeID string) (*Generator, error) {
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("flakeid: boot token: %w", err)
	}
	return NewWithBoot(nodeID, binary.LittleEndian.Uint64(b[:]))
}

// NewWithBoot returns a generator with a chosen boot token, for tests and
// for callers that persist their own.
func NewWithBoot(nodeID string, boot uint64) (*Generator, error) {
	if nodeID == "" {
		return nil, errors.New("flakeid: empty node id")
	}
	prefix := make([]byte, 0, len(nodeID)+bootHexLen+2)
	prefix = append(prefix, nodeID...)
	prefix = append(prefix, '-')
	prefix = appendHex(prefix, boot)
	prefix = append(prefix, '-')
	return &Generator{prefix: prefix}, nil
}

func appendHex(dst []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[(v>>uint(shift))&0xf])
	}
	return dst
}

// Next returns the next id. It panics after 2⁶⁴-1 ids rather than wrap
// around and repeat one (centuries at any real rate).
func (g *Generator) Next() string {
	if g.seq == math.MaxUint64 {
		panic(fmt.Sprintf("flakeid: sequence exhausted for prefix %q", g.prefix))
	}
	g.buf = append(g.buf[:0], g.prefix...)
	g.buf = strconv.AppendUint(g.buf, g.seq, 10)
	g.seq++
	return string(g.buf)
}

// Parse splits an id made by Next into its parts.
func Parse(id string) (nodeID string, boot, seq uint64, err error) {
	last := strings.LastIndexByte(id, '-')
	if last < 0 {
		return "", 0, 0, fmt.Errorf("flakeid: %q has no sequence", id)
	}
	seqText := id[last+1:]
	if seqText == "" || (len(seqText) > 1 && seqText[0] == '0') || strings.ContainsAny(seqText, "+-") {
		return "", 0, 0, fmt.Errorf("flakeid: %q has a non-canonical sequence", id)
	}
	if seq, err = strconv.ParseUint(seqText, 10, 64); err != nil {
		return "", 0, 0, fmt.Errorf("flakeid: %q: %w", id, err)
	}
	rest := id[:last]
	if len(rest) < bootHexLen+2 || rest[len(rest)-bootHexLen-1] != '-' {
		return "", 0, 0, fmt.Errorf("flakeid: %q has no boot token", id)
	}
	bootText := rest[len(rest)-bootHexLen:]
	if strings.ToLower(bootText) != bootText {
		return "", 0, 0, fmt.Errorf("flakeid: %q has a non-canonical boot token", id)
	}
	if boot, err = strconv.ParseUint(bootText, 16, 64); err != nil {
		return "", 0, 0, fmt.Errorf("flakeid: %q: %w", id, err)
	}
	return rest[:len(rest)-bootHexLen-1], boot, seq, nil
}
