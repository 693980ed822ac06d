package node

import (
	"bytes"
	"io"
	"sync/atomic"
)

// bufKeepBytes caps the output buffers recycled between the loop and the
// writer, so that one huge batch does not pin its memory.
const bufKeepBytes = 1 << 20

// reader decodes stdin on its own goroutine and feeds the loop. It touches
// no node state: only the immutable config and the logger.
type reader struct {
	n     *Node
	inbox chan<- *Request
	quit  <-chan struct{}
	errc  chan error // the read error that ended input (not EOF); capacity 1
	// waiting is set while a read of stdin is in progress, when every
	// complete line read before it has gone to the inbox; the loop reads it
	// (Node.inputDrained).
	waiting atomic.Bool
}

// Read reads stdin, marking the reader as waiting meanwhile.
func (r *reader) Read(p []byte) (int, error) {
	r.waiting.Store(true)
	k, err := r.n.cfg.In.Read(p)
	r.waiting.Store(false)
	return k, err
}

func (r *reader) run() {
	defer close(r.inbox)
	log := r.n.log
	lr := newLineReader(r, r.n.cfg.LineMaxBytes, func(lenBytes int64) {
		log.Warn("dropped over-long input line", "bytes", lenBytes, "max", r.n.cfg.LineMaxBytes)
	})
	for {
		line, err := lr.next()
		if len(bytes.TrimSpace(line)) > 0 {
			req, derr := decodeLine(line)
			switch {
			case derr != nil:
				log.Warn("dropped input line", "err", derr, "line", truncate(line, 200))
			default:
				select {
				case r.inbox <- req:
				case <-r.quit:
					return
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				r.errc <- err
			}
			return
		}
	}
}

// writer writes output batches on its own goroutine, so the loop never waits
// on stdout unless a full batch is pending (backpressure). Batches are handed
// over whole, one Write each; the buffer comes back through free for reuse.
type writer struct {
	w    io.Writer
	in   chan []byte   // batches; closed by Run
	free chan []byte   // one recycled buffer
	errc chan error    // the first write error
	done chan struct{} // closed when run returns
}

func newWriter(w io.Writer) *writer {
	return &writer{w: w, in: make(chan []byte), free: make(chan []byte, 1), errc: make(chan error, 1), done: make(chan struct{})}
}

func (w *writer) run() {
	defer close(w.done)
	failed := false
	for buf := range w.in {
		if !failed {
			if _, err := w.w.Write(buf); err != nil {
				failed = true
				w.errc <- err // capacity 1, sent once
			}
		}
		if cap(buf) <= bufKeepBytes {
			select {
			case w.free <- buf[:0]:
			default:
			}
		}
	}
}

// spare returns an empty buffer for the next batch.
func (w *writer) spare() []byte {
	select {
	case b := <-w.free:
		return b
	default:
		return nil
	}
}

// err returns the write error, if any, once the writer has finished.
func (w *writer) err() error {
	select {
	case err := <-w.errc:
		return err
	default:
		return nil
	}
}

func truncate(b []byte, max int) string {
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "..."
}
