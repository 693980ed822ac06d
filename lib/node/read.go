package node

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"

	maelstrom "github.com/jepsen-io/maelstrom/demo/go"
)

const (
	// readBufBytes is the bufio.Reader size: lines up to this length are
	// decoded straight from its buffer without a copy.
	readBufBytes = 64 << 10
	// accKeepBytes caps the line accumulator kept between lines, so that one
	// huge line does not pin its memory for the rest of the run.
	accKeepBytes = 1 << 20
)

// lineReader splits input into lines of at most maxBytes bytes (not counting
// the newline). Longer lines are skipped in fragments, never buffered whole.
type lineReader struct {
	br       *bufio.Reader
	maxBytes int
	acc      []byte
	// onDrop is told the length of every skipped line.
	onDrop func(lenBytes int64)
}

func newLineReader(r io.Reader, maxBytes int, onDrop func(int64)) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, readBufBytes), maxBytes: maxBytes, onDrop: onDrop}
}

// next returns the next line without its newline; the slice is valid until
// the next call. At the end of input it returns the last, unterminated line
// (possibly empty) together with the reader's error (io.EOF).
func (r *lineReader) next() ([]byte, error) {
	if cap(r.acc) > accKeepBytes {
		r.acc = nil
	}
	r.acc = r.acc[:0]
	dropped := int64(-1) // bytes of an over-long line skipped so far; -1 when not skipping
	for {
		frag, err := r.br.ReadSlice('\n')
		if dropped < 0 {
			lineBytes := len(r.acc) + len(frag)
			if err == nil {
				lineBytes-- // the newline is not part of the line
			}
			if lineBytes > r.maxBytes {
				dropped = int64(len(r.acc))
				r.acc = r.acc[:0]
			}
		}
		if dropped >= 0 {
			dropped += int64(len(frag))
			switch {
			case err == nil:
				r.onDrop(dropped - 1)
				dropped = -1
			case errors.Is(err, bufio.ErrBufferFull):
			default:
				r.onDrop(dropped)
				return nil, err
			}
			continue
		}
		switch {
		case err == nil:
			frag = frag[:len(frag)-1]
			if len(r.acc) == 0 {
				return frag, nil // the common case: no copy
			}
			r.acc = append(r.acc, frag...)
			return r.acc, nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.acc = append(r.acc, frag...)
		default:
			r.acc = append(r.acc, frag...)
			return r.acc, err
		}
	}
}

// header holds the reserved body fields that drive dispatch, for
// encoding/json uses (typeOf). code and text are read only from "error"
// bodies (see errorOf), so that a custom message with, say, a string "code"
// field is not rejected.
type header struct {
	Type      string `json:"type"`
	MsgID     int64  `json:"msg_id"`
	InReplyTo int64  `json:"in_reply_to"`
}

// errorBody is the wire shape of an error reply. Code is never omitted:
// code 0 (timeout) is a real code.
type errorBody struct {
	Type string `json:"type"`
	Code int    `json:"code"`
	Text string `json:"text,omitempty"`
}

// errorOf returns the error an "error" reply carries, whatever its code,
// including 0; nil for any other type.
func errorOf(rep *Request) error {
	if rep.Type != "error" {
		return nil
	}
	var b errorBody
	// Best effort: a malformed code or text still leaves an error reply.
	_ = json.Unmarshal(rep.Body, &b)
	return maelstrom.NewRPCError(b.Code, b.Text)
}
