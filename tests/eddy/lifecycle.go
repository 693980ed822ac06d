package eddy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"maelkit/tests/eddy/history"
	"maelkit/tests/eddy/process"
)

// nodeProc is one node: its current process (an incarnation; a kill ends
// one, a restart begins the next) and what the nemesis did to it.
type nodeProc struct {
	id      string
	crashed atomic.Bool // an incarnation exited before teardown, not killed by the nemesis

	mu     sync.Mutex // guards the fields below and serializes kill, start, pause, resume
	p      *process.Proc
	inc    *incarnation
	count  int  // incarnations started
	dead   bool // killed by the nemesis, not restarted yet
	paused bool
}

// incarnation is one process of a node, with its pumps.
type incarnation struct {
	p      *process.Proc
	cancel context.CancelFunc // stops its pumpIn
	killed atomic.Bool        // by the nemesis: its exit is not a crash
	silent atomic.Bool        // Maelstrom stopped reading its output
}

// proc is the node's current (or last) process.
func (n *nodeProc) proc() *process.Proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// spawn starts a new incarnation of n: a fresh process of the binary in
// the node's own directory, and its pumps. Caller holds n.mu (or owns n
// alone, at start-up).
func (r *runner) spawn(n *nodeProc) error {
	cfg := r.processConfig(n.id)
	n.count++
	if n.count > 1 {
		// Each incarnation keeps its own stderr log: node-logs/<id>.<k>.log.
		cfg.StderrPath = filepath.Join(filepath.Dir(cfg.StderrPath), fmt.Sprintf("%s.%d.log",
			strings.TrimSuffix(filepath.Base(cfg.StderrPath), ".log"), n.count))
	}
	p, err := process.Start(n.id, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.bgCtx)
	inc := &incarnation{p: p, cancel: cancel}
	n.p, n.inc = p, inc
	r.bg.Add(3)
	go r.pumpOut(n, inc)
	go r.pumpIn(ctx, n, inc)
	go r.watch(n, inc)
	return nil
}

// node returns the node with id, or nil.
func (r *runner) node(id string) *nodeProc {
	for _, n := range r.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// What the DB answers the nemesis for each node, recorded in the history
// as the completion's value (Maelstrom's DB answers keywords too; these
// names are eddy's).
const (
	kwKilled         history.Keyword = "killed"
	kwStarted        history.Keyword = "started"
	kwAlreadyRunning history.Keyword = "already-running"
	kwPaused         history.Keyword = "paused"
	kwResumed        history.Keyword = "resumed"
	kwNotRunning     history.Keyword = "not-running"
	kwStartFailed    history.Keyword = "start-failed"
	kwInitFailed     history.Keyword = "init-failed"
)

// nodeDB is the runner as the nemesis's DB: Jepsen's db/Kill and db/Pause
// on node processes.
type nodeDB struct{ r *runner }

// Kill SIGKILLs the node's process group. From then on the network drops
// messages to it, and what was queued for it is lost. With
// --kill-wipes-disk its directory is emptied.
func (d nodeDB) Kill(id string) history.Keyword {
	r := d.r
	n := r.node(id)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		return kwNotRunning
	}
	inc := n.inc
	inc.killed.Store(true)
	_ = r.net.SetDown(id, true)
	inc.cancel()
	if err := inc.p.Kill(); err != nil {
		r.log.Warn("kill", "node", id, "err", err)
	}
	n.dead, n.paused = true, false
	if r.o.KillWipesDisk {
		if err := emptyDir(r.nodeDir(id)); err != nil {
			fmt.Fprintf(r.store.Log(), "WARN wiping %s's directory: %v\n", id, err)
		}
	}
	return kwKilled
}

// Start restarts a killed node: a fresh process of the same binary, same
// id, same directory, a fresh network queue, and init again with the same
// node id and node ids. A running node is left alone.
func (d nodeDB) Start(id string) history.Keyword {
	r := d.r
	n := r.node(id)
	n.mu.Lock()
	if !n.dead {
		n.mu.Unlock()
		return kwAlreadyRunning
	}
	if err := r.spawn(n); err != nil {
		n.mu.Unlock()
		fmt.Fprintf(r.out, "WARN could not restart node %s: %v\n", id, err)
		return kwStartFailed
	}
	n.dead = false
	_ = r.net.SetDown(id, false)
	n.mu.Unlock()
	if err := r.sendInit(id, r.nextClientID()); err != nil {
		fmt.Fprintf(r.out, "WARN restarted node %s: %v\n", id, err)
		return kwInitFailed
	}
	return kwStarted
}

// Pause stops the node's process group (SIGSTOP).
func (d nodeDB) Pause(id string) history.Keyword {
	n := d.r.node(id)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		return kwNotRunning
	}
	if err := n.p.Pause(); err != nil {
		d.r.log.Warn("pause", "node", id, "err", err)
	}
	n.paused = true
	return kwPaused
}

// Resume continues the node's process group (SIGCONT).
func (d nodeDB) Resume(id string) history.Keyword {
	n := d.r.node(id)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		return kwNotRunning
	}
	if err := n.p.Resume(); err != nil {
		d.r.log.Warn("resume", "node", id, "err", err)
	}
	n.paused = false
	return kwResumed
}

// emptyDir removes everything inside dir, keeping dir itself.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
