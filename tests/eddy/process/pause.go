package process

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Pause stops the child and everything it spawned, as Maelstrom's pause
// nemesis does: by freezing its cgroup when there is a freezer, else with
// SIGSTOP to every process of its PID namespace or cgroup, else to its
// process group. A paused node reads nothing, so its stdin pipe fills and
// eddy's writer for it blocks until Resume or Kill. Pausing a process that
// already exited is not an error.
func (p *Proc) Pause() error { return p.stopAll(true) }

// Resume continues a paused child (thaws its cgroup, or SIGCONT to every
// process paused). Resuming a running or exited process is not an error:
// Maelstrom's resume goes to every node.
func (p *Proc) Resume() error { return p.stopAll(false) }

func (p *Proc) stopAll(stop bool) error {
	sig := syscall.SIGCONT
	if stop {
		sig = syscall.SIGSTOP
	}
	cg := p.cfg.Sandbox.Cgroup
	if cg != nil && cg.set.CanFreeze() {
		if err := cg.freeze(stop); err != nil {
			return fmt.Errorf("process %s: freeze=%v: %w", p.id, stop, err)
		}
		return nil
	}
	var pids []int
	switch {
	case p.pidNS != "":
		pids = namespacePids(p.pidNS)
	case cg != nil:
		pids = cg.Procs()
	}
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) && len(pids) == 0 {
		return fmt.Errorf("process %s: %v to process group %d: %w", p.id, sig, p.pid, err)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
	return nil
}

// namespacePids lists the processes whose PID namespace is ns (as
// /proc/<pid>/ns/pid reads, "pid:[inode]").
func namespacePids(ns string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}
