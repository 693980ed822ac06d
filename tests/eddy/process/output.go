package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"
)

// readBufBytes is the stdout read buffer; lines longer than this are
// assembled across reads (up to MaxLineBytes).
const readBufBytes = 64 << 10

// readStdout splits stdout into lines, enforces the line and rate bounds,
// feeds the tail ring and delivers lines until end of file. It closes Lines
// when done.
func (p *Proc) readStdout() {
	defer close(p.outDone)
	defer close(p.lines)
	sr := &stdoutReader{p: p, maxLine: p.cfg.MaxLineBytes, rate: newRateWindow(p.cfg.MaxOutputBytesPerSec, time.Now)}
	r := bufio.NewReaderSize(p.stdout, readBufBytes)
	for {
		chunk, err := r.ReadSlice('\n')
		sr.chunk(chunk, err == nil)
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		// End of file, or the pipe was closed by Kill.
		sr.end()
		return
	}
}

// stdoutReader is readStdout's state between reads.
type stdoutReader struct {
	p       *Proc
	maxLine int
	rate    *rateWindow

	line      []byte // the current line so far, when it spans reads
	lineBytes int    // length of the current line so far (also when over-long)
	overLong  bool   // the current line passed maxLine and is being discarded
	head      []byte // the start of an over-long line, for the tail
	killed    bool   // Kill was called and the consumer is behind: drop what does not fit
	broke     bool   // the run's Budget ran out while this node was printing
}

// deliver blocks while the consumer is behind, except after Kill: then it
// delivers only what fits in the buffer and drops the rest.
func (sr *stdoutReader) deliver(l Line) {
	select {
	case sr.p.lines <- l:
		return
	default:
	}
	if sr.killed {
		return
	}
	select {
	case sr.p.lines <- l:
	case <-sr.p.killed:
		sr.killed = true
	}
}

// chunk takes one read: a whole line's end when complete (its newline
// included), else a part of a line.
func (sr *stdoutReader) chunk(chunk []byte, complete bool) {
	data := chunk
	if complete {
		data = chunk[:len(chunk)-1]
	}
	if sr.lineBytes+len(data) > sr.maxLine && !sr.overLong {
		// Keep the beginning for the tail, forget the rest as it comes.
		sr.head = append(sr.head[:0], sr.line[:min(len(sr.line), TailLineBytes)]...)
		sr.head = append(sr.head, data[:min(len(data), TailLineBytes-len(sr.head))]...)
		sr.overLong, sr.line = true, nil
	}
	sr.lineBytes += len(data)
	if !sr.overLong && (!complete || len(sr.line) > 0) {
		sr.line = append(sr.line, data...)
	}
	if complete {
		sr.complete(data)
		sr.line, sr.lineBytes, sr.overLong = nil, 0, false
	}
}

// complete delivers a finished line (data is its last read, aliasing the
// read buffer), or says why it is not delivered.
func (sr *stdoutReader) complete(data []byte) {
	p, line, n := sr.p, sr.line, sr.lineBytes
	if report := sr.rate.add(int64(n) + 1); report != "" {
		sr.deliver(Line{Problem: report, Kind: KindFlood})
	}
	inBudget := p.cfg.Budget.take(int64(n) + 1)
	switch {
	case !inBudget:
		p.tail.add(whole(line, sr.head), n)
		if !sr.broke {
			sr.broke = true
			sr.deliver(Line{Kind: KindBudget, Problem: budgetSpent(p.cfg.Budget)})
		}
	case sr.overLong:
		p.tail.add(sr.head, n)
		sr.deliver(Line{Kind: KindLineLength, Problem: fmt.Sprintf("line of %d bytes exceeds the %d-byte limit: dropped", n, sr.maxLine)})
	case !sr.rate.allows():
		p.tail.add(whole(line, data), n)
		sr.rate.drop(int64(n) + 1)
	default:
		p.tail.add(whole(line, data), n)
		if line == nil {
			line = make([]byte, len(data)) // data aliases the read buffer
			copy(line, data)
		}
		sr.deliver(Line{Data: line})
	}
}

// end reports a last line without newline and the rate window's last
// report.
func (sr *stdoutReader) end() {
	if sr.lineBytes > 0 || sr.overLong {
		sr.p.tail.add(whole(sr.line, sr.head), sr.lineBytes)
		sr.deliver(Line{Kind: KindPartial, Problem: fmt.Sprintf("partial last line of %d bytes without a trailing newline: never delivered", sr.lineBytes)})
	}
	if report := sr.rate.flush(); report != "" {
		sr.deliver(Line{Problem: report, Kind: KindFlood})
	}
}

// budgetSpent is the one report of a spent Budget, for stdout and stderr
// alike.
func budgetSpent(b *Budget) string {
	return fmt.Sprintf("the run's total of %d MiB of node output (stdout and stderr, all nodes) is spent: its output is dropped from then on", b.Limit()>>20)
}

// whole returns the complete current line: the assembled one, or the last
// chunk when the line fit in a single read.
func whole(line, data []byte) []byte {
	if line != nil {
		return line
	}
	return data
}

// copyStderr copies stderr to the log file (up to MaxStderrBytes) and to the
// tail ring, until end of file. It owns and closes the log file.
func (p *Proc) copyStderr() {
	defer close(p.errDone)
	buf := make([]byte, 32<<10)
	var (
		written int64
		capped  bool
		cur     []byte // current line for the tail, cut to TailLineBytes
		curLen  int
	)
	for {
		n, err := p.stderr.Read(buf)
		chunk := buf[:n]
		if !capped && n > 0 && !p.cfg.Budget.take(int64(n)) {
			capped = true
			msg := budgetSpent(p.cfg.Budget)
			if p.logf != nil {
				if _, werr := fmt.Fprintf(p.logf, "\n[eddy: %s]\n", msg); werr != nil && p.logErr == nil {
					p.logErr = werr
				}
			}
			if p.cfg.OnLimit != nil {
				p.cfg.OnLimit(KindBudget, msg)
			}
		}
		if p.logf != nil && !capped && n > 0 {
			room := p.cfg.MaxStderrBytes - written
			part := chunk
			if int64(len(part)) > room {
				part = part[:room]
			}
			if _, werr := p.logf.Write(part); werr != nil && p.logErr == nil {
				p.logErr = werr
			}
			written += int64(len(part))
			if int64(len(chunk)) > room {
				capped = true
				note := fmt.Sprintf("\n[eddy: stderr exceeded %d bytes; the rest is not logged]\n", p.cfg.MaxStderrBytes)
				if _, werr := p.logf.WriteString(note); werr != nil && p.logErr == nil {
					p.logErr = werr
				}
				if p.cfg.OnLimit != nil {
					p.cfg.OnLimit(KindStderr, fmt.Sprintf("stderr exceeded %d bytes; the rest is not logged", p.cfg.MaxStderrBytes))
				}
			}
		}
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			piece := chunk
			if i >= 0 {
				piece = chunk[:i]
			}
			if room := TailLineBytes - len(cur); room > 0 {
				cur = append(cur, piece[:min(room, len(piece))]...)
			}
			curLen += len(piece)
			if i < 0 {
				break
			}
			p.tail.add(cur, curLen)
			if p.cfg.OnStderrLine != nil {
				p.cfg.OnStderrLine(string(cur))
			}
			cur, curLen = cur[:0], 0
			chunk = chunk[i+1:]
		}
		if err != nil {
			break
		}
	}
	if curLen > 0 {
		p.tail.add(cur, curLen)
	}
	if p.logf != nil {
		if err := p.logf.Close(); err != nil && p.logErr == nil {
			p.logErr = err
		}
	}
}

// rateWindow implements the stdout throughput bound in fixed one-second
// windows. It is owned by the stdout reader goroutine.
type rateWindow struct {
	limit        int64
	now          func() time.Time
	start        time.Time
	bytes        int64 // read in the current window
	droppedLines int64 // dropped in the current window
	droppedBytes int64
}

func newRateWindow(limit int64, now func() time.Time) *rateWindow {
	return &rateWindow{limit: limit, now: now, start: now()}
}

// add counts n bytes read. When a new window starts and the previous one
// dropped lines, it returns the report for the previous window.
func (w *rateWindow) add(n int64) string {
	report := ""
	if t := w.now(); t.Sub(w.start) >= time.Second {
		report = w.flush()
		w.start, w.bytes = t, 0
	}
	w.bytes += n
	return report
}

// allows reports whether the window still has room for the line just added.
func (w *rateWindow) allows() bool { return w.bytes <= w.limit }

func (w *rateWindow) drop(n int64) {
	w.droppedLines++
	w.droppedBytes += n
}

// flush returns the report of dropped output, if any, and resets it.
func (w *rateWindow) flush() string {
	if w.droppedLines == 0 {
		return ""
	}
	s := fmt.Sprintf("output flood: dropped %d lines (%d bytes) beyond %d bytes/s", w.droppedLines, w.droppedBytes, w.limit)
	w.droppedLines, w.droppedBytes = 0, 0
	return s
}

// ring keeps the last lines of output in fixed, reused slots, so recording
// a line costs a copy of at most maxBytes and no allocation once warm.
type ring struct {
	mu       sync.Mutex
	maxBytes int
	slots    []ringSlot
	next     int // slot to write next
	n        int // slots in use
}

type ringSlot struct {
	data    []byte // at most maxBytes
	fullLen int    // length of the original line
}

func newRing(lines, maxBytes int) *ring {
	return &ring{maxBytes: maxBytes, slots: make([]ringSlot, lines)}
}

// add records a line; data may be longer than the bound (it is cut) or
// shorter than fullLen (it was already cut).
func (r *ring) add(data []byte, fullLen int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.slots[r.next]
	s.data = append(s.data[:0], data[:min(len(data), r.maxBytes)]...)
	s.fullLen = fullLen
	r.next = (r.next + 1) % len(r.slots)
	r.n = min(r.n+1, len(r.slots))
}

// last returns up to n lines, oldest first; cut lines end with a note.
func (r *ring) last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = max(0, min(n, r.n))
	out := make([]string, 0, n)
	for i := range n {
		s := &r.slots[(r.next-n+i+len(r.slots))%len(r.slots)]
		line := string(s.data)
		if s.fullLen > len(s.data) {
			line += fmt.Sprintf(" [... %d bytes in all]", s.fullLen)
		}
		out = append(out, line)
	}
	return out
}
