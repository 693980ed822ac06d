package process

import (
	"errors"
	"fmt"
	"syscall"
)

// Pause stops the child and everything it spawned (SIGSTOP to its process
// group), as Maelstrom's pause nemesis does. A paused node reads nothing, so
// its stdin pipe fills and eddy's writer for it blocks until Resume or Kill.
// Pausing a process that already exited is not an error.
func (p *Proc) Pause() error { return p.signalGroup(syscall.SIGSTOP) }

// Resume continues a paused child (SIGCONT to its process group). Resuming
// a running or exited process is not an error: Maelstrom's resume goes to
// every node.
func (p *Proc) Resume() error { return p.signalGroup(syscall.SIGCONT) }

func (p *Proc) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process %s: %v to process group %d: %w", p.id, sig, p.pid, err)
	}
	return nil
}
