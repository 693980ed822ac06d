package process

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireRoot skips where the full sandbox (uids, cgroups, PID namespaces
// without a user namespace) is out of reach.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the sandbox tests need root")
	}
}

// sandboxKit is one test's cgroups, uid and working directory.
type sandboxKit struct {
	cgroups *Cgroups
	uid     uint32
	dir     string
}

func newKit(t testing.TB) *sandboxKit {
	t.Helper()
	requireRoot(t)
	cg, err := NewCgroups()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cg.Remove()) })
	lease, err := LeaseUIDs(1)
	require.NoError(t, err)
	t.Cleanup(lease.Release)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	require.NoError(t, os.Chown(dir, int(lease.UIDs[0]), 3_499_999))
	return &sandboxKit{cgroups: cg, uid: lease.UIDs[0], dir: dir}
}

// sandbox is a Sandbox with the kit's uid, a PID namespace when pidns and
// a fresh cgroup with lim when withCgroup.
func (k *sandboxKit) sandbox(t testing.TB, name string, pidns, withCgroup bool, lim CgroupLimits) Sandbox {
	t.Helper()
	sb := Sandbox{PIDNamespace: pidns, UID: k.uid, GID: 3_499_999}
	if withCgroup {
		n, err := k.cgroups.Node(name, lim)
		require.NoError(t, err)
		sb.Cgroup = n
	}
	return sb
}

// marked lists the pids whose command line holds marker.
func marked(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) && !dead(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procState is the state letter of /proc/<pid>/stat ('R', 'S', 'T', ...).
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// startHostile starts the hostile fixture in mode and answers its init.
func startHostile(t *testing.T, k *sandboxKit, mode, marker string, sb Sandbox) *Proc {
	t.Helper()
	p := start(t, Config{Bin: hostileBin, Args: []string{mode, marker}, Dir: k.dir, Env: MinimalEnv(k.dir), Sandbox: sb})
	require.NoError(t, p.Write(initLine("n1")))
	require.Contains(t, string(next(t, p).Data), "init_ok")
	return p
}

// TestSandboxKillTakesEscapes: a descendant that left the process group
// (setsid) or was orphaned (double fork) dies with Kill, by the PID
// namespace or by the cgroup, each on its own.
func TestSandboxKillTakesEscapes(t *testing.T) {
	k := newKit(t)
	for _, mode := range []string{"setsid-escape", "double-fork"} {
		for _, how := range []struct {
			name          string
			pidns, cgroup bool
		}{{"pidns", true, false}, {"cgroup", false, true}, {"both", true, true}} {
			t.Run(mode+"/"+how.name, func(t *testing.T) {
				marker := fmt.Sprintf("sbx-%s-%s-%d", mode, how.name, os.Getpid())
				p := startHostile(t, k, mode, marker, k.sandbox(t, mode+how.name, how.pidns, how.cgroup, CgroupLimits{}))
				// The node and its escaped descendant.
				eventually(t, "the escaped child", func() bool { return len(marked(marker)) >= 2 })
				require.NoError(t, p.Kill())
				require.Empty(t, marked(marker))
			})
		}
	}
}

// TestSandboxPauseReachesDescendants: Pause stops the escaped child too,
// by the freezer or by a signal to every process of the namespace.
func TestSandboxPauseReachesDescendants(t *testing.T) {
	k := newKit(t)
	if !k.cgroups.CanFreeze() {
		t.Fatal("this machine has a freezer; the test needs it")
	}
	t.Run("freezer", func(t *testing.T) {
		marker := fmt.Sprintf("sbx-freeze-%d", os.Getpid())
		sb := k.sandbox(t, "freeze", true, true, CgroupLimits{})
		p := startHostile(t, k, "setsid-escape", marker, sb)
		eventually(t, "the escaped child", func() bool { return len(marked(marker)) >= 2 })
		require.NoError(t, p.Pause())
		state := filepath.Join(sb.Cgroup.dir(sb.Cgroup.set.freezer), "freezer.state")
		if sb.Cgroup.set.v2 {
			state = filepath.Join(sb.Cgroup.dirs[0], "cgroup.events")
		}
		eventually(t, "the cgroup frozen", func() bool {
			b, _ := os.ReadFile(state)
			return strings.Contains(string(b), "FROZEN") || strings.Contains(string(b), "frozen 1")
		})
		require.ElementsMatch(t, marked(marker), sb.Cgroup.Procs())
		require.NoError(t, p.Resume())
		b, err := os.ReadFile(state)
		require.NoError(t, err)
		require.True(t, strings.Contains(string(b), "THAWED") || strings.Contains(string(b), "frozen 0"), "%s", b)
		require.NoError(t, p.Kill())
		require.Empty(t, marked(marker))
	})
	t.Run("signals", func(t *testing.T) {
		marker := fmt.Sprintf("sbx-stop-%d", os.Getpid())
		p := startHostile(t, k, "setsid-escape", marker, k.sandbox(t, "stop", true, false, CgroupLimits{}))
		eventually(t, "the escaped child", func() bool { return len(marked(marker)) >= 2 })
		require.NoError(t, p.Pause())
		for _, pid := range marked(marker) {
			eventually(t, fmt.Sprintf("pid %d stopped", pid), func() bool { return procState(pid) == 'T' })
		}
		require.NoError(t, p.Resume())
		for _, pid := range marked(marker) {
			eventually(t, fmt.Sprintf("pid %d running", pid), func() bool { return procState(pid) != 'T' })
		}
		require.NoError(t, p.Kill())
		require.Empty(t, marked(marker))
	})
}

// TestSandboxForkBomb: the pids bound holds a fork bomb, the cgroup says
// so, and Kill removes every process of it.
func TestSandboxForkBomb(t *testing.T) {
	k := newKit(t)
	marker := fmt.Sprintf("sbx-bomb-%d", os.Getpid())
	sb := k.sandbox(t, "bomb", true, true, CgroupLimits{Procs: 16})
	p := startHostile(t, k, "fork-bomb", marker, sb)
	eventually(t, "a refused fork", func() bool { _, forks := sb.Cgroup.Events(); return forks > 0 })
	require.LessOrEqual(t, len(sb.Cgroup.Procs()), 16)
	require.NoError(t, p.Kill())
	require.Empty(t, sb.Cgroup.Procs())
	require.Empty(t, marked(marker))
}

// TestSandboxMemoryOfAllProcesses: the memory bound covers the node's
// children together: four hogs of 256 MiB under a 200 MiB bound. The
// fixture answers init only once a hog died.
func TestSandboxMemoryOfAllProcesses(t *testing.T) {
	k := newKit(t)
	marker := fmt.Sprintf("sbx-hog-%d", os.Getpid())
	sb := k.sandbox(t, "hog", true, true, CgroupLimits{MemoryBytes: 200 << 20})
	p := startHostile(t, k, "mem-hog", marker, sb)
	oom, _ := sb.Cgroup.Events()
	require.Positive(t, oom)
	require.NoError(t, p.Kill())
	require.Empty(t, marked(marker))
}

// TestSandboxIdentity: the node runs as the given uid without
// supplementary groups, with the minimal environment, as the init of its
// own PID namespace.
func TestSandboxIdentity(t *testing.T) {
	k := newKit(t)
	p := startHostile(t, k, "setsid-escape", fmt.Sprintf("sbx-id-%d", os.Getpid()), k.sandbox(t, "id", true, false, CgroupLimits{}))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	require.NoError(t, err)
	uid := strconv.FormatUint(uint64(k.uid), 10)
	require.Contains(t, string(status), "\nUid:\t"+uid+"\t"+uid+"\t"+uid+"\t"+uid+"\n")
	require.Regexp(t, `\nGroups:\s*\n`, string(status))
	require.Contains(t, string(status), "\nNoNewPrivs:\t1\n")
	require.Regexp(t, `\nNSpid:\t\d+\t1\n`, string(status))
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.Pid()))
	require.NoError(t, err)
	require.Equal(t, strings.Join(MinimalEnv(k.dir), "\x00")+"\x00", string(env))
}

// TestSandboxNetwork: in its network namespace a node reaches nothing of
// the host, not even a listener on the host's loopback.
func TestSandboxNetwork(t *testing.T) {
	k := newKit(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	sb := k.sandbox(t, "net", true, false, CgroupLimits{})
	sb.NetNamespace = true
	p := start(t, Config{Bin: hostileBin, Args: []string{"connect", "sbx-net", ln.Addr().String()}, Dir: k.dir, Env: MinimalEnv(k.dir), Sandbox: sb})
	require.NoError(t, p.Write(initLine("n1")))
	require.Contains(t, string(next(t, p).Data), "init_ok")
	// The node logs the refused dial on stderr before it answers init;
	// Kill returns once stderr is read to its end, so the tail holds it.
	_ = p.Kill()
	tail := strings.Join(p.Tail(10), "\n")
	require.Contains(t, tail, "denied connect "+ln.Addr().String())
	require.NotContains(t, tail, "LEAK")
}

// TestCgroupsRemoveStale: a run tree left by an eddy that no longer runs
// is removed by the next NewCgroups; Remove leaves nothing of its own.
func TestCgroupsRemoveStale(t *testing.T) {
	requireRoot(t)
	cg, err := NewCgroups()
	require.NoError(t, err)
	parent := filepath.Dir(cg.dirs[0])
	// A pid above the kernel's pid_max never runs.
	stale := filepath.Join(parent, cgroupPrefix+"2147483646-00000000")
	require.NoError(t, os.Mkdir(stale, 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(stale, "node-n1"), 0o755))
	_, err = cg.Node("n1", CgroupLimits{Procs: 8})
	require.NoError(t, err)
	require.NoError(t, cg.Remove())
	for _, d := range cg.dirs {
		require.NoDirExists(t, d)
	}
	again, err := NewCgroups()
	require.NoError(t, err)
	require.NoError(t, again.Remove())
	require.NoDirExists(t, stale)
}

// BenchmarkRestart measures a node's restart as the kill nemesis does it:
// Kill, Start in the same directory, init answered. "plain" is the
// binary's own cost without a sandbox; the difference is the sandbox's.
func BenchmarkRestart(b *testing.B) {
	for _, tc := range []struct {
		name          string
		pidns, cgroup bool
		uid           bool
	}{{"plain", false, false, false}, {"sandbox", true, true, true}, {"sandbox+net", true, true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var k *sandboxKit
			var sb Sandbox
			dir := b.TempDir()
			if tc.pidns || tc.cgroup || tc.uid {
				k = newKit(b)
				dir = k.dir
				sb = k.sandbox(b, "bench", tc.pidns, tc.cgroup, CgroupLimits{MemoryBytes: 1 << 30, Procs: 256})
				sb.NetNamespace = tc.name == "sandbox+net"
			}
			cfg := Config{Bin: maelfixBin, Args: []string{"echo"}, Dir: dir, Env: MinimalEnv(dir), Sandbox: sb}
			init := initLine("n1")
			var p *Proc
			b.ResetTimer()
			for range b.N {
				if p != nil {
					if err := p.Kill(); err != nil {
						b.Fatal(err)
					}
				}
				var err error
				if p, err = Start("n1", cfg); err != nil {
					b.Fatal(err)
				}
				if err := p.Write(init); err != nil {
					b.Fatal(err)
				}
				if l := <-p.Lines(); !bytes.Contains(l.Data, []byte("init_ok")) {
					b.Fatalf("no init_ok: %q %s", l.Data, l.Problem)
				}
			}
			b.StopTimer()
			_ = p.Kill()
		})
	}
}

// TestBudgetSharedByNodes: two children share one budget that each of
// their streams alone overruns (about 20 KB of stdout and 18 KB of stderr
// each against 16 KiB): each stream reports it once, and the lines
// delivered fit in the budget.
func TestBudgetSharedByNodes(t *testing.T) {
	b := NewBudget(16 << 10)
	var limits []string
	var mu sync.Mutex
	onLimit := func(kind, msg string) {
		mu.Lock()
		limits = append(limits, kind)
		mu.Unlock()
	}
	var procs []*Proc
	for i := range 2 {
		cfg := sh("i=0; while [ $i -lt 2000 ]; do echo line-$i; echo err-$i >&2; i=$((i+1)); done")
		cfg.Budget, cfg.OnLimit = b, onLimit
		cfg.StderrPath = filepath.Join(t.TempDir(), fmt.Sprintf("n%d.log", i))
		procs = append(procs, start(t, cfg))
	}
	delivered := 0
	for _, p := range procs {
		budget := 0
		for _, l := range collect(t, p) {
			switch {
			case l.Kind == KindBudget:
				budget++
				require.Contains(t, l.Problem, "is spent")
			case l.Problem == "":
				delivered += len(l.Data) + 1
			}
		}
		require.Equal(t, 1, budget)
		require.NoError(t, p.Kill()) // waits for the stderr copier
	}
	require.LessOrEqual(t, delivered, 16<<10)
	require.Greater(t, b.Used(), b.Limit())
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{KindBudget, KindBudget}, limits)
}

// TestCgroupDiscovery: hybrid hosts (v1 controllers beside cgroup2) and
// pure v2 hosts are read from mountinfo and /proc/self/cgroup alike.
func TestCgroupDiscovery(t *testing.T) {
	hybrid := `30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:32 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 30 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:35 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	m, err := parseMountinfo(strings.NewReader(hybrid))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"memory": "/sys/fs/cgroup/memory", "freezer": "/sys/fs/cgroup/freezer", "pids": "/sys/fs/cgroup/pids"}, m.v1)
	require.Equal(t, "/sys/fs/cgroup/unified", m.v2)

	m, err = parseMountinfo(strings.NewReader("29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"))
	require.NoError(t, err)
	require.Empty(t, m.v1)
	require.Equal(t, "/sys/fs/cgroup", m.v2)

	own := parseCgroupFile([]byte("9:name=systemd:/\n8:pids:/a\n4:memory:/process_api/x\n1:cpu,cpuacct:/\n0::/user.slice/eddy.scope\n"))
	require.Equal(t, "/a", own.v1["pids"])
	require.Equal(t, "/process_api/x", own.v1["memory"])
	require.Equal(t, "/", own.v1["cpuacct"])
	require.Equal(t, "/user.slice/eddy.scope", own.v2)
}
