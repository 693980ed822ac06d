// Package store writes a run's results directory the way Maelstrom lays it
// out, so that people and scripts find things where Maelstrom puts them:
//
//	<root>/<workload>/<yyyyMMddTHHmmss.SSS±zzzz>/
//	    jepsen.log          the console log
//	    results.edn         the results map, pretty-printed as Maelstrom does
//	    results.json        the same map as JSON
//	    history.edn         one Jepsen op map per line
//	    history.txt         process, type, f, value, error; tab-separated
//	    history.jsonl       one op per line as JSON (eddy's addition)
//	    net-journal.jsonl   every send and delivery (eddy's form of net-journal/)
//	    test.json           the run's options and seed
//	    node-logs/<id>.log  each node's stderr
//	<root>/latest, <root>/current, <root>/<workload>/latest -> the run directory
//
// Writes are buffered: a million-event history is written in about a second.
package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/journal"
)

// DefaultRoot is Maelstrom's store directory, relative to the working
// directory.
const DefaultRoot = "store"

// timestampLayout is Jepsen's basic ISO 8601 form, yyyyMMddTHHmmss.SSS±zzzz.
const timestampLayout = "20060102T150405.000-0700"

// maxCollisions bounds the suffixes tried when runs start in the same
// millisecond.
const maxCollisions = 1000

// bufferBytes is the write buffer of each history and journal file.
const bufferBytes = 1 << 20

// Run is one results directory. Its methods may be called from several
// goroutines.
type Run struct {
	dir string
	log *lockedFile
}

// Create makes a new run directory for workload under root ("" means
// DefaultRoot), named after start, with node-logs/ and jepsen.log, and
// points the latest/current symlinks at it. Two runs that start in the same
// millisecond get distinct directories (the later one gains a -N suffix).
func Create(root, workload string, start time.Time) (*Run, error) {
	if root == "" {
		root = DefaultRoot
	}
	if workload == "" || workload == "." || workload == ".." || strings.ContainsAny(workload, `/\`) {
		return nil, fmt.Errorf("store: invalid workload name %q", workload)
	}
	parent := filepath.Join(root, workload)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	base := start.Format(timestampLayout)
	name := base
	for i := 1; ; i++ {
		err := os.Mkdir(filepath.Join(parent, name), 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > maxCollisions {
			return nil, fmt.Errorf("store: %w", err)
		}
		name = base + "-" + strconv.Itoa(i)
	}
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(filepath.Join(dir, "node-logs"), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "jepsen.log"), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	links := []struct{ at, target string }{
		{at: filepath.Join(root, "latest"), target: filepath.Join(workload, name)},
		{at: filepath.Join(root, "current"), target: filepath.Join(workload, name)},
		{at: filepath.Join(parent, "latest"), target: name},
	}
	for _, l := range links {
		if err := replaceSymlink(l.target, l.at, name); err != nil {
			f.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return &Run{dir: dir, log: &lockedFile{f: f}}, nil
}

// replaceSymlink points at to target (relative to at's directory) in one
// step: a fresh link under a name unique to this run is renamed over the
// old one, so readers never find the link missing.
func replaceSymlink(target, at, unique string) error {
	tmp := filepath.Join(filepath.Dir(at), "."+filepath.Base(at)+".tmp-"+unique)
	_ = os.Remove(tmp) // left over from a crashed run with the same name
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, at); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// Dir is the run directory.
func (r *Run) Dir() string { return r.dir }

// NodeLogPath is where node id's stderr goes: node-logs/<id>.log. Characters
// that could leave the directory are replaced by '_'.
func (r *Run) NodeLogPath(id string) string {
	return filepath.Join(r.dir, "node-logs", safeName(id)+".log")
}

func safeName(id string) string {
	b := []byte(id)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || strings.Trim(s, ".") == "" {
		return "_" + s
	}
	return s
}

// Log is jepsen.log, the console log. Each Write is appended whole, so
// concurrent writers' lines do not interleave. After Close it fails with
// os.ErrClosed.
func (r *Run) Log() io.Writer { return r.log }

// Close closes jepsen.log. The other files are complete when their Write
// method returns. Close is idempotent.
func (r *Run) Close() error { return r.log.close() }

// Path returns the path of a file inside the run directory, for artifacts
// this package does not write itself (plots, timeline.html, messages.svg).
// name must be a local relative path.
func (r *Run) Path(name string) (string, error) {
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("store: %q is not a path inside the run directory", name)
	}
	return filepath.Join(r.dir, name), nil
}

// WriteFile writes data to name inside the run directory, creating parent
// directories as needed (independent/<key>/..., elle/...).
func (r *Run) WriteFile(name string, data []byte) error {
	p, err := r.Path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// WriteResults writes results.edn (laid out as Maelstrom prints it) and
// results.json (the same keys, indented).
func (r *Run) WriteResults(results *history.Map) error {
	if results == nil {
		return errors.New("store: nil results")
	}
	ednText, err := edn.PrettyMarshal(results)
	if err != nil {
		return fmt.Errorf("store: results.edn: %w", err)
	}
	jsonText, err := edn.MarshalJSONIndent(results)
	if err != nil {
		return fmt.Errorf("store: results.json: %w", err)
	}
	if err := r.WriteFile("results.edn", ednText); err != nil {
		return err
	}
	return r.WriteFile("results.json", jsonText)
}

// WriteTest writes test.json: v (the run's options, seed, ...) as
// encoding/json renders it, indented.
func (r *Run) WriteTest(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("store: test.json: %w", err)
	}
	return r.WriteFile("test.json", append(b, '\n'))
}

// opFormat is one of the per-op history files.
type opFormat struct {
	name   string
	append func(dst []byte, op *history.Op) ([]byte, error)
}

// WriteHistory writes history.edn, history.txt and history.jsonl, one op
// per line, each file by its own goroutine. An op whose value cannot be
// printed fails the whole call, naming the op.
func (r *Run) WriteHistory(h history.History) error {
	formats := []opFormat{
		{name: "history.edn", append: edn.AppendOpEDN},
		{name: "history.txt", append: edn.AppendOpText},
		{name: "history.jsonl", append: edn.AppendOpJSON},
	}
	errs := make([]error, len(formats))
	var wg sync.WaitGroup
	for i, f := range formats {
		wg.Go(func() {
			errs[i] = r.writeLines(f.name, len(h), func(dst []byte, j int) ([]byte, error) {
				out, err := f.append(dst, &h[j])
				if err != nil {
					return out, fmt.Errorf("op %d: %w", h[j].Index, err)
				}
				return out, nil
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// WriteJournal writes net-journal.jsonl, one event per line:
//
//	{"time":123,"type":"send","id":0,"src":"c1","dest":"n1","body":{...}}
//
// A body that is not valid JSON is written as a JSON string of its bytes,
// so that the file always parses.
func (r *Run) WriteJournal(events []journal.Event) error {
	return r.writeLines("net-journal.jsonl", len(events), func(dst []byte, i int) ([]byte, error) {
		return appendEvent(dst, &events[i])
	})
}

func appendEvent(dst []byte, e *journal.Event) ([]byte, error) {
	dst = append(dst, `{"time":`...)
	dst = strconv.AppendInt(dst, e.Time, 10)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, e.Kind.String()...)
	dst = append(dst, `","id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"src":`...)
	dst, err := edn.AppendJSON(dst, e.Src)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `,"dest":`...)
	if dst, err = edn.AppendJSON(dst, e.Dest); err != nil {
		return dst, err
	}
	dst = append(dst, `,"body":`...)
	dst = appendBody(dst, e.Body)
	return append(dst, '}'), nil
}

// appendBody appends body compacted (one line), null when empty, or as a
// string when it is not JSON.
func appendBody(dst, body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return append(dst, "null"...)
	}
	n := len(dst)
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, body); err == nil {
		return buf.Bytes()
	}
	out, _ := edn.AppendJSON(buf.Bytes()[:n], string(body)) // a string never fails
	return out
}

// writeLines writes n lines to name, line i produced by appendLine.
func (r *Run) writeLines(name string, n int, appendLine func(dst []byte, i int) ([]byte, error)) error {
	p := filepath.Join(r.dir, name)
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	w := bufio.NewWriterSize(f, bufferBytes)
	var line []byte
	for i := range n {
		if line, err = appendLine(line[:0], i); err != nil {
			f.Close()
			return fmt.Errorf("store: %s: %w", name, err)
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return fmt.Errorf("store: %s: %w", name, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("store: %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: %s: %w", name, err)
	}
	return nil
}

// lockedFile serializes writes to the console log.
type lockedFile struct {
	mu sync.Mutex
	f  *os.File // nil once closed
}

func (l *lockedFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	return l.f.Write(p)
}

func (l *lockedFile) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
