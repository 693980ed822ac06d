package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cgroups is one run's cgroup tree: a directory named after the run under
// eddy's own cgroup, in each hierarchy used, with one child per node. It
// bounds the memory and the number of processes of each node as a whole
// (every process a node forks counts), freezes a node for Pause, and lists
// a node's processes for Kill, whatever they did to their process group.
//
// On cgroup v1 (memory, pids and freezer controllers, each mounted on its
// own) a child is placed by moving the forking thread into the node's
// cgroups for the fork; on cgroup v2 (memory and pids enabled for eddy's
// cgroup) by clone3's CLONE_INTO_CGROUP. Either way the child starts inside
// its cgroup, so not even its first fork escapes the bounds.
type Cgroups struct {
	v2   bool
	dirs []string // the run's directory in each hierarchy (v1: memory, pids, freezer; v2: one)
	mnts []string // v1: the mount point of each hierarchy, parallel to dirs
	// v1 only: which of dirs holds each controller ("" when absent).
	memory, pids, freezer string
}

// Cgroup is one node's cgroup.
type Cgroup struct {
	set  *Cgroups
	name string
	dirs []string // the node's directory in each hierarchy, parallel to set.dirs
	fd   int      // v2: an open descriptor of the node's directory, for CLONE_INTO_CGROUP
}

// CgroupLimits are the bounds of each node's cgroup; zero means none.
type CgroupLimits struct {
	MemoryBytes int64
	Procs       int64
}

// cgroupPrefix starts the name of every run's cgroup directory.
const cgroupPrefix = "eddy-"

// NewCgroups creates the run's cgroup tree, named after eddy's pid and a
// random suffix, removing first the trees of eddy processes that no longer
// exist (left by a kill -9). It returns an error saying why no usable
// cgroup was found; the caller then falls back to rlimits and warns.
func NewCgroups() (*Cgroups, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	self, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s%d-%08x", cgroupPrefix, os.Getpid(), rand.Uint32())
	var whyNot []string
	// v1 first: on a hybrid host the controllers live there.
	if mounts.v1["memory"] != "" && mounts.v1["pids"] != "" {
		c := &Cgroups{}
		var errs []error
		for _, ctrl := range []string{"memory", "pids", "freezer"} {
			mnt := mounts.v1[ctrl]
			if mnt == "" {
				continue
			}
			base := filepath.Join(mnt, self.v1[ctrl])
			removeStale(base)
			dir := filepath.Join(base, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			c.dirs = append(c.dirs, dir)
			c.mnts = append(c.mnts, mnt)
			switch ctrl {
			case "memory":
				c.memory = dir
			case "pids":
				c.pids = dir
			case "freezer":
				c.freezer = dir
			}
		}
		if len(errs) == 0 {
			return c, nil
		}
		_ = c.Remove()
		whyNot = append(whyNot, fmt.Sprintf("cgroup v1: %v", errors.Join(errs...)))
	}
	if mounts.v2 != "" {
		base := filepath.Join(mounts.v2, self.v2)
		ctrls, _ := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
		have := strings.Fields(string(ctrls))
		if contains(have, "memory") && contains(have, "pids") {
			removeStale(base)
			c, err := newV2(base, name)
			if err == nil {
				return c, nil
			}
			whyNot = append(whyNot, fmt.Sprintf("cgroup v2: %v", err))
		} else {
			whyNot = append(whyNot, fmt.Sprintf("cgroup v2 at %s lacks the memory and pids controllers (has: %s)", base, strings.Join(have, " ")))
		}
	}
	if len(whyNot) == 0 {
		return nil, errors.New("no cgroup hierarchy with the memory and pids controllers is mounted")
	}
	return nil, errors.New(strings.Join(whyNot, "; "))
}

func newV2(base, name string) (*Cgroups, error) {
	// A v2 cgroup can enable controllers for its children only while it
	// has no processes of its own, unless it is the root.
	if err := os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
		return nil, fmt.Errorf("enable memory and pids below %s: %w", base, err)
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	c := &Cgroups{v2: true, dirs: []string{dir}}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
		_ = c.Remove()
		return nil, fmt.Errorf("enable memory and pids below %s: %w", dir, err)
	}
	return c, nil
}

// V2 reports whether the tree is on the unified hierarchy.
func (c *Cgroups) V2() bool { return c.v2 }

// CanFreeze reports whether Pause freezes the node's cgroup (v2 always; v1
// with the freezer controller) rather than signalling each process.
func (c *Cgroups) CanFreeze() bool { return c.v2 || c.freezer != "" }

// Node creates node id's cgroup with the given limits.
func (c *Cgroups) Node(id string, lim CgroupLimits) (*Cgroup, error) {
	name := safeCgroupName(id)
	n := &Cgroup{set: c, name: id, fd: -1}
	for _, d := range c.dirs {
		dir := filepath.Join(d, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cgroup for %s: %w", id, err)
		}
		n.dirs = append(n.dirs, dir)
	}
	if err := n.setLimits(lim); err != nil {
		_ = n.Remove()
		return nil, err
	}
	if c.v2 {
		fd, err := syscall.Open(n.dirs[0], syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			_ = n.Remove()
			return nil, fmt.Errorf("cgroup for %s: %w", id, err)
		}
		n.fd = fd
	}
	return n, nil
}

func safeCgroupName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\n' {
			return '_'
		}
		return r
	}, "node-"+id)
}

func (n *Cgroup) setLimits(lim CgroupLimits) error {
	write := func(dir, file string, v int64) error {
		if dir == "" {
			return nil
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(v, 10)), 0); err != nil {
			return fmt.Errorf("cgroup for %s: %s: %w", n.name, file, err)
		}
		return nil
	}
	if n.set.v2 {
		if lim.MemoryBytes > 0 {
			if err := write(n.dirs[0], "memory.max", lim.MemoryBytes); err != nil {
				return err
			}
			// No swap either, where swap is accounted: the bound is on memory.
			_ = write(n.dirs[0], "memory.swap.max", 0)
		}
		if lim.Procs > 0 {
			return write(n.dirs[0], "pids.max", lim.Procs)
		}
		return nil
	}
	if lim.MemoryBytes > 0 {
		mem := n.dir(n.set.memory)
		if err := write(mem, "memory.limit_in_bytes", lim.MemoryBytes); err != nil {
			return err
		}
		// memsw (memory + swap) exists only with swap accounting.
		if _, err := os.Stat(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil {
			_ = write(mem, "memory.memsw.limit_in_bytes", lim.MemoryBytes)
		}
	}
	if lim.Procs > 0 {
		return write(n.dir(n.set.pids), "pids.max", lim.Procs)
	}
	return nil
}

// dir is the node's directory below the run's directory runDir ("" when
// the controller is absent).
func (n *Cgroup) dir(runDir string) string {
	if runDir == "" {
		return ""
	}
	for i, d := range n.set.dirs {
		if d == runDir {
			return n.dirs[i]
		}
	}
	return ""
}

// Events reports how often the node's bounds were hit since the cgroup was
// made: processes killed by the kernel for memory, and forks refused at
// the process limit.
func (n *Cgroup) Events() (oomKills, forksRefused int64) {
	if n.set.v2 {
		return keyedValue(filepath.Join(n.dirs[0], "memory.events"), "oom_kill"),
			keyedValue(filepath.Join(n.dirs[0], "pids.events"), "max")
	}
	if mem := n.dir(n.set.memory); mem != "" {
		oomKills = keyedValue(filepath.Join(mem, "memory.oom_control"), "oom_kill")
	}
	if pids := n.dir(n.set.pids); pids != "" {
		forksRefused = keyedValue(filepath.Join(pids, "pids.events"), "max")
	}
	return oomKills, forksRefused
}

// keyedValue reads "key value" lines and returns key's value (0 if absent).
func keyedValue(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// Procs lists the pids in the node's cgroup.
func (n *Cgroup) Procs() []int {
	dir := n.dirs[0]
	if !n.set.v2 {
		dir = n.dir(n.set.pids)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// freeze sets the node's cgroup frozen or thawed.
func (n *Cgroup) freeze(frozen bool) error {
	if n.set.v2 {
		v := "0"
		if frozen {
			v = "1"
		}
		return os.WriteFile(filepath.Join(n.dirs[0], "cgroup.freeze"), []byte(v), 0)
	}
	v := "THAWED"
	if frozen {
		v = "FROZEN"
	}
	return os.WriteFile(filepath.Join(n.dir(n.set.freezer), "freezer.state"), []byte(v), 0)
}

// KillAll sends SIGKILL to every process of the node's cgroup and waits,
// up to wait, until it is empty. A frozen cgroup is thawed so that the
// kill is delivered.
func (n *Cgroup) KillAll(wait time.Duration) error {
	if n.set.CanFreeze() {
		_ = n.freeze(false)
	}
	if n.set.v2 {
		// cgroup.kill (Linux 5.14) kills atomically, forks in flight too.
		_ = os.WriteFile(filepath.Join(n.dirs[0], "cgroup.kill"), []byte("1"), 0)
	}
	deadline := time.Now().Add(wait)
	pause := time.Millisecond
	for {
		pids := n.Procs()
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup of %s still holds %d processes after %v", n.name, len(pids), wait)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// Remove kills what is left in the node's cgroup and removes it.
func (n *Cgroup) Remove() error {
	if n.fd >= 0 {
		_ = syscall.Close(n.fd)
		n.fd = -1
	}
	err := n.KillAll(killWait)
	for _, d := range n.dirs {
		if rerr := rmdirRetry(d); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// Remove kills every process left in the run's cgroups and removes them.
func (c *Cgroups) Remove() error {
	var errs []error
	for _, d := range c.dirs {
		if err := removeTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTree kills the processes of dir and of its child cgroups and
// removes them, children first.
func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
	deadline := time.Now().Add(killWait)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		fields := strings.Fields(string(b))
		if len(fields) == 0 || time.Now().After(deadline) {
			break
		}
		for _, f := range fields {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := rmdirRetry(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// rmdirRetry removes a cgroup directory; the kernel refuses (EBUSY) until
// the last killed process of it is gone, which takes a moment.
func rmdirRetry(dir string) error {
	deadline := time.Now().Add(killWait)
	for {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// removeStale removes the run trees under base left by eddy processes that
// no longer run (a kill -9 gives eddy no chance to clean up).
func removeStale(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = removeTree(filepath.Join(base, e.Name()))
		}
	}
}

// enterV1 moves the calling OS thread into the node's v1 cgroups so that a
// child forked from it starts there; the returned function moves the
// thread back. The caller must hold the thread (runtime.LockOSThread)
// from before enterV1 until after the returned function.
func (n *Cgroup) enterV1() (leave func() error, err error) {
	tid := strconv.Itoa(syscall.Gettid())
	self, err := threadCgroups()
	if err != nil {
		return nil, err
	}
	var back []string
	leave = func() error {
		var errs []error
		for _, f := range back {
			if err := os.WriteFile(f, []byte(tid), 0); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	for i, runDir := range n.set.dirs {
		ctrl := "freezer"
		switch runDir {
		case n.set.memory:
			ctrl = "memory"
		case n.set.pids:
			ctrl = "pids"
		}
		if err := os.WriteFile(filepath.Join(n.dirs[i], "tasks"), []byte(tid), 0); err != nil {
			_ = leave()
			return nil, fmt.Errorf("enter cgroup %s: %w", n.dirs[i], err)
		}
		back = append(back, filepath.Join(n.set.mnts[i], self[ctrl], "tasks"))
	}
	return leave, nil
}

// launch runs start, which forks the child, on a locked OS thread that
// carries what the child must inherit from the moment it exists: no new
// privileges when it runs as another uid or in a user namespace (a setuid
// program it runs gains nothing; the flag stays on the thread, which eddy
// never uses to run a setuid program), and its cgroup (v1: the thread
// moves into the node's cgroups for the fork; v2: CLONE_INTO_CGROUP).
func launch(sb Sandbox, attr *syscall.SysProcAttr, start func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if sb.UID != 0 || sb.UserNamespace {
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); errno != 0 {
			return fmt.Errorf("no_new_privs: %w", errno)
		}
	}
	n := sb.Cgroup
	if n == nil {
		return start()
	}
	if n.set.v2 {
		attr.UseCgroupFD = true
		attr.CgroupFD = n.fd
		return start()
	}
	leave, err := n.enterV1()
	if err != nil {
		return err
	}
	serr := start()
	if lerr := leave(); lerr != nil {
		// The thread stays in the node's cgroup: it must never run Go code
		// again, or a freeze of the node would stop it. Keeping it locked
		// makes the runtime end the thread when this goroutine returns.
		runtime.LockOSThread()
		return errors.Join(serr, fmt.Errorf("leave node cgroup: %w", lerr))
	}
	return serr
}

// prSetNoNewPrivs is PR_SET_NO_NEW_PRIVS, which the syscall package does
// not name.
const prSetNoNewPrivs = 38

type mountTable struct {
	v1 map[string]string // controller → mount point
	v2 string
}

// cgroupMounts reads /proc/self/mountinfo for cgroup file systems.
func cgroupMounts() (mountTable, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return mountTable{v1: map[string]string{}}, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo finds the v1 hierarchies of the memory, pids and freezer
// controllers and the unified (v2) hierarchy in mountinfo's lines.
func parseMountinfo(r io.Reader) (mountTable, error) {
	t := mountTable{v1: map[string]string{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			if t.v2 == "" {
				t.v2 = pf[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(qf[2], ",") {
				switch opt {
				case "memory", "pids", "freezer":
					if t.v1[opt] == "" {
						t.v1[opt] = pf[4]
					}
				}
			}
		}
	}
	return t, sc.Err()
}

type ownTable struct {
	v1 map[string]string // controller → eddy's path in that hierarchy
	v2 string
}

func ownCgroups() (ownTable, error) { return readCgroupFile("/proc/self/cgroup") }

func threadCgroups() (map[string]string, error) {
	t, err := readCgroupFile("/proc/thread-self/cgroup")
	return t.v1, err
}

func readCgroupFile(path string) (ownTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ownTable{v1: map[string]string{}}, err
	}
	return parseCgroupFile(b), nil
}

// parseCgroupFile reads /proc/<pid>/cgroup: "id:controllers:path" lines,
// "0::path" being the unified hierarchy.
func parseCgroupFile(b []byte) ownTable {
	t := ownTable{v1: map[string]string{}}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			t.v2 = parts[2]
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			t.v1[ctrl] = parts[2]
		}
	}
	return t
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// LeftoverCgroups lists the run cgroup directories of eddy process pid
// that exist in eddy's own cgroups, for tests and diagnostics: after a run
// ends, interrupted or not, there are none.
func LeftoverCgroups(pid int) []string {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil
	}
	self, err := ownCgroups()
	if err != nil {
		return nil
	}
	bases := []string{}
	for ctrl, mnt := range mounts.v1 {
		bases = append(bases, filepath.Join(mnt, self.v1[ctrl]))
	}
	if mounts.v2 != "" {
		bases = append(bases, filepath.Join(mounts.v2, self.v2))
	}
	var found []string
	for _, b := range bases {
		m, _ := filepath.Glob(filepath.Join(b, fmt.Sprintf("%s%d-*", cgroupPrefix, pid)))
		found = append(found, m...)
	}
	return found
}
