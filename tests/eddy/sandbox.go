package eddy

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"maelkit/tests/eddy/process"
)

// sandbox is how a run confines its nodes (README "Sandbox"). As root,
// each node runs as its own uid (its directory 0700 and its own, the run's
// folder closed to others while nodes run), in its own PID namespace (its
// descendants die with it), network and IPC namespaces (no talk around
// the simulated network), in its own cgroup (memory and process count
// bounded for all its processes together, frozen by Pause). Without root,
// a user namespace gives the PID namespace and, where eddy's cgroup is
// writable, the cgroups still apply; what cannot be had is a warning.
type sandbox struct {
	limits  Limits
	budget  *process.Budget
	off     bool // --no-sandbox
	pidns   bool
	userns  bool
	cgroups *process.Cgroups
	nodeCg  map[string]*process.Cgroup
	lease   *process.UIDLease
	uids    map[string]uint32
	bin     string              // the binary as the nodes run it
	events  map[string][2]int64 // per node: OOM kills, refused forks, read at teardown
	// storeMode is the run folder's mode before it was closed to the
	// nodes' uids; 0 when it was not changed.
	storeMode os.FileMode
}

// nodeGID is the group of every node's uid: a group no user is in.
const nodeGID = 3_499_999

// setupSandbox prepares the sandbox for the run's nodes; their working
// directories exist once it returns. What it cannot provide is a warning.
func (r *runner) setupSandbox() error {
	sb := &sandbox{limits: r.o.limits(r.defaultLimits()), bin: r.o.Bin,
		nodeCg: map[string]*process.Cgroup{}, uids: map[string]uint32{}, events: map[string][2]int64{}}
	r.sb = sb
	sb.budget = process.NewBudget(sb.limits.MaxOutputBytes)
	for _, id := range r.res.nodes {
		if err := os.Mkdir(r.nodeDir(id), 0o700); err != nil {
			return err
		}
	}
	if r.o.NoSandbox {
		sb.off = true
		r.notes.warn("sandbox", "--no-sandbox: nodes run as eddy's own processes; their descendants may outlive the run and they can read and write everything eddy can")
		return nil
	}
	root := os.Geteuid() == 0
	cg, err := process.NewCgroups()
	if err != nil {
		what := "memory is bounded per process (RLIMIT_AS), Pause signals each process"
		if root {
			what += ", and processes per node uid (RLIMIT_NPROC)"
		} else {
			what += ", and the process count is not bounded"
		}
		why := strings.ReplaceAll(err.Error(), "\n", "; ")
		r.notes.warn("cgroups", fmt.Sprintf("no cgroups for the nodes (%s): %s", why, what))
	} else {
		sb.cgroups = cg
		lim := process.CgroupLimits{MemoryBytes: sb.limits.MemoryLimitBytes, Procs: sb.limits.MaxProcs}
		for _, id := range r.res.nodes {
			n, err := cg.Node(id, lim)
			if err != nil {
				return err
			}
			sb.nodeCg[id] = n
		}
	}
	if !root {
		sb.userns, sb.pidns = true, true
		if err := probeNamespaces(); err != nil {
			sb.userns, sb.pidns = false, false
			r.notes.warn("pidns", fmt.Sprintf("no user, PID and network namespaces (%v): a node's descendants that leave its process group may outlive the run, and nodes can talk over the host's network", err))
		}
		r.notes.warn("uids", "eddy is not root: nodes run as your user, so a node can read and write the other nodes' directories, the run's store and the grader's output; run eddy as root for a uid per node")
		return nil
	}
	sb.pidns = true
	lease, err := process.LeaseUIDs(len(r.res.nodes))
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	sb.lease = lease
	// Nodes may pass through the run's temporary directory, into their own
	// one only.
	if err := os.Chmod(r.tempDir, 0o711); err != nil {
		return err
	}
	for i, id := range r.res.nodes {
		uid := lease.UIDs[i]
		sb.uids[id] = uid
		if err := os.Chown(r.nodeDir(id), int(uid), nodeGID); err != nil {
			return err
		}
	}
	if sb.bin, err = reachableBin(r.o.Bin, r.tempDir); err != nil {
		return err
	}
	if st, err := os.Stat(r.store.Dir()); err == nil {
		sb.storeMode = st.Mode().Perm()
		if err := os.Chmod(r.store.Dir(), 0o700); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) defaultLimits() Limits {
	if r.o.Grading {
		return GradeLimits
	}
	return DefaultLimits
}

// sandboxConfig fills the parts of node id's process config that the
// sandbox decides.
func (r *runner) sandboxConfig(id string, c *process.Config) {
	sb := r.sb
	if sb == nil {
		return
	}
	c.Budget = sb.budget
	c.MaxStderrBytes = sb.limits.MaxStderrBytes
	c.OnLimit = func(kind, msg string) { r.notes.limit(id+" "+kind, fmt.Sprintf("node %s: %s", id, msg)) }
	if sb.off {
		return
	}
	c.Bin = sb.bin
	c.Env = process.MinimalEnv(r.nodeDir(id))
	c.Sandbox = process.Sandbox{PIDNamespace: sb.pidns, NetNamespace: sb.pidns, UserNamespace: sb.userns,
		UID: sb.uids[id], Cgroup: sb.nodeCg[id]}
	if c.Sandbox.UID != 0 {
		c.Sandbox.GID = nodeGID
	}
	if c.Sandbox.Cgroup != nil {
		c.MemoryLimitBytes = 0 // the cgroup bounds the node as a whole
	} else {
		c.MemoryLimitBytes = sb.limits.MemoryLimitBytes
		c.Sandbox.MaxProcs = sb.limits.MaxProcs
	}
}

// closeSandbox runs after every node was killed: it records the bounds the
// nodes' cgroups hit, removes the cgroups, frees the uids and reopens the
// run folder.
func (r *runner) closeSandbox() {
	sb := r.sb
	if sb == nil {
		return
	}
	for _, id := range r.res.nodes {
		if n := sb.nodeCg[id]; n != nil {
			r.noteCgroupEvents(id, n)
			if err := n.Remove(); err != nil {
				r.notes.warn("cgroup "+id, fmt.Sprintf("node %s: %v", id, err))
			}
		}
	}
	if sb.cgroups != nil {
		if err := sb.cgroups.Remove(); err != nil {
			r.notes.warn("cgroups", fmt.Sprintf("removing the run's cgroups: %v", err))
		}
	}
	if sb.lease != nil {
		sb.lease.Release()
	}
	if sb.storeMode != 0 {
		_ = os.Chmod(r.store.Dir(), sb.storeMode)
	}
	sb.nodeCg, sb.cgroups, sb.lease = map[string]*process.Cgroup{}, nil, nil
}

// noteCgroupEvents turns the counters of node id's cgroup into limits.
func (r *runner) noteCgroupEvents(id string, n *process.Cgroup) {
	oom, forks := n.Events()
	r.sb.events[id] = [2]int64{oom, forks}
	if oom > 0 {
		r.notes.limit(id+" memory", fmt.Sprintf("node %s: the memory bound of %d MiB (all its processes together) was reached: %d process(es) killed by the kernel",
			id, r.sb.limits.MemoryLimitBytes>>20, oom))
	}
	if forks > 0 {
		r.notes.limit(id+" procs", fmt.Sprintf("node %s: the bound of %d processes was reached: %d fork(s) refused",
			id, r.sb.limits.MaxProcs, forks))
	}
}

// cgroupReason explains a node's crash by its cgroup's counters as
// teardown read them, if they say anything ("" otherwise).
func (r *runner) cgroupReason(id string) string {
	if r.sb == nil {
		return ""
	}
	ev := r.sb.events[id]
	oom, forks := ev[0], ev[1]
	switch {
	case oom > 0:
		return fmt.Sprintf(" (its memory bound of %d MiB was reached: the kernel killed %d of its processes)", r.sb.limits.MemoryLimitBytes>>20, oom)
	case forks > 0:
		return fmt.Sprintf(" (its bound of %d processes was reached: %d forks refused)", r.sb.limits.MaxProcs, forks)
	}
	return ""
}

// reachableBin returns bin if a node's uid can execute it where it is
// (every directory on its path searchable by others, the file executable
// and readable by others), or else a copy in dir/bin that it can.
func reachableBin(bin, dir string) (string, error) {
	abs, err := process.CheckBin(bin)
	if err != nil {
		return "", err
	}
	if othersCanRun(abs) {
		return abs, nil
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(binDir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(binDir, filepath.Base(abs))
	src, err := os.Open(abs)
	if err != nil {
		return "", err
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, src); err != nil {
		_ = out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return dst, nil
}

func othersCanRun(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o005 != 0o005 {
		return false
	}
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == "/" || d == "." {
			return true
		}
	}
}

// probeNamespaces starts /bin/true in new user, PID, network and IPC
// namespaces, which some kernels forbid to unprivileged users.
func probeNamespaces() error {
	attr := &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{Sys: attr})
	if err != nil {
		return err
	}
	_, err = p.Wait()
	return err
}
