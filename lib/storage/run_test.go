package storage

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary act as a node process: open the store of
// n1 in the directory it names, bump a counter kept in the stable value,
// append a log record without syncing it, print what it saw and exit
// without closing anything (as a killed node would: the kernel drops its
// lock, the page cache keeps its unsynced write). TestMain runs it before
// any test.
const childEnv = "MAELKIT_STORAGE_TEST_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(childMain(dir))
	}
	os.Exit(m.Run())
}

func childMain(dir string) int {
	s, err := Open(dir, "n1")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	n := 0
	if v := s.State.Get(); v != nil {
		n, _ = strconv.Atoi(string(v))
	}
	n++
	if err := s.State.Put([]byte(strconv.Itoa(n))); err != nil {
		fmt.Println("error", err)
		return 1
	}
	records := s.Log.LastIndex() + 1 - s.Log.FirstIndex()
	if _, err := s.Log.Append([]byte("unsynced")); err != nil {
		fmt.Println("error", err)
		return 1
	}
	r := s.Run()
	fmt.Printf("getppid=%d parent=%d start=%d count=%d records=%d\n", os.Getppid(), r.ParentPID, r.ParentStart, n, records)
	return 0
}

// startChild runs the test binary as a node in dir and returns its output.
func startChild(t *testing.T, dir string, attr *syscall.SysProcAttr) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = childEnvFor(dir)
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// childEnvFor is the environment of a child node in dir. Under -race a
// process sleeps a second at exit unless told not to.
func childEnvFor(dir string) []string {
	return append(os.Environ(), childEnv+"="+dir,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

func ownStart(t *testing.T) uint64 {
	t.Helper()
	st, err := procFS{root: "/proc"}.stat(strconv.Itoa(os.Getpid()))
	require.NoError(t, err)
	return st.start
}

// TestRunRestartedChildFindsItsState: two node processes started one after
// the other by this process (the harness) in the same directory are one run:
// the second finds the first's value.
func TestRunRestartedChildFindsItsState(t *testing.T) {
	dir := t.TempDir()
	want := func(count int) string {
		return fmt.Sprintf("getppid=%d parent=%d start=%d count=%d records=%d", os.Getpid(), os.Getpid(), ownStart(t), count, count-1)
	}
	for i := 1; i <= 2; i++ {
		out, err := startChild(t, dir, nil)
		require.NoError(t, err, out)
		require.Equal(t, want(i), out)
	}
}

// TestRunInPIDNamespace is eddy's sandbox: a node that is PID 1 of its own
// PID namespace sees getppid() == 0, but /proc (the host's mount) still
// shows its parent, so restarts are recognized all the same.
func TestRunInPIDNamespace(t *testing.T) {
	attr := func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
	}
	dir := t.TempDir()
	out, err := startChild(t, dir, attr())
	var errno syscall.Errno
	if err != nil && errors.As(err, &errno) && (errno == syscall.EPERM || errno == syscall.EINVAL || errno == syscall.ENOSPC) {
		t.Skipf("no user and PID namespaces here: %v", err)
	}
	require.NoError(t, err, out)
	want := func(count int) string {
		return fmt.Sprintf("getppid=0 parent=%d start=%d count=%d records=%d", os.Getpid(), ownStart(t), count, count-1)
	}
	require.Equal(t, want(1), out)
	out, err = startChild(t, dir, attr())
	require.NoError(t, err, out)
	require.Equal(t, want(2), out)
}

func TestParseProcStat(t *testing.T) {
	tail := " S 4242 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
	cases := []struct {
		name, line string
		ppid       int64
		start      uint64
		bad        bool
	}{
		{"plain", "123 (node)" + tail, 4242, 987654, false},
		{"spaces and parens in the name", "123 (a) b (c))" + tail, 4242, 987654, false},
		{"no name", "123 node" + tail, 0, 0, true},
		{"short", "123 (node) S 4242 1", 0, 0, true},
		{"bad ppid", "123 (node) S x 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1", 0, 0, true},
		{"bad start", "123 (node) S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 -5 1", 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := parseProcStat(c.line)
			if c.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, procStat{ppid: c.ppid, start: c.start}, st)
		})
	}
}

// fakeProc builds a /proc tree with a boot id and processes pid -> (ppid,
// start).
func fakeProc(t *testing.T, boot string, procs map[string][2]uint64) procFS {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "sys/kernel/random"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "sys/kernel/random/boot_id"), []byte(boot+"\n"), 0o644))
	for pid, ps := range procs {
		require.NoError(t, os.MkdirAll(filepath.Join(root, pid), 0o755))
		line := fmt.Sprintf("%s (x) S %d 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, ps[0], ps[1])
		require.NoError(t, os.WriteFile(filepath.Join(root, pid, "stat"), []byte(line), 0o644))
	}
	return procFS{root: root}
}

const bootA = "8803f383-3ce7-4284-8591-45844ea6b28e"

func TestDetectRun(t *testing.T) {
	dir := t.TempDir()
	p := fakeProc(t, bootA, map[string][2]uint64{"self": {500, 9000}, "500": {1, 1234}})
	r, notes, err := p.detect(dir)
	require.NoError(t, err)
	require.Empty(t, notes)
	require.Equal(t, int64(500), r.ParentPID)
	require.Equal(t, uint64(1234), r.ParentStart)
	require.Equal(t, byte(0x88), r.BootID[0])
	require.NotZero(t, r.DirIno)

	// A hidden parent (a fresh /proc in the PID namespace): the directory
	// alone names the run.
	hidden := fakeProc(t, bootA, map[string][2]uint64{"self": {0, 10}})
	h, _, err := hidden.detect(dir)
	require.NoError(t, err)
	require.Zero(t, h.ParentPID)
	require.Zero(t, h.ParentStart)
	require.Equal(t, r.DirIno, h.DirIno)
	h2, _, err := hidden.detect(t.TempDir())
	require.NoError(t, err)
	require.NotEqual(t, h.Tag(), h2.Tag(), "fresh directories, another run")

	// What /proc does not give is left out, with a note; the node still
	// opens its store.
	noBoot, notes, err := fakeProc(t, "not-a-uuid", map[string][2]uint64{"self": {500, 1}, "500": {1, 1234}}).detect(dir)
	require.NoError(t, err)
	require.Len(t, notes, 1)
	require.Zero(t, noBoot.BootID)
	require.Equal(t, uint64(1234), noBoot.ParentStart)
	noParent, notes, err := fakeProc(t, bootA, map[string][2]uint64{"self": {500, 1}}).detect(dir)
	require.NoError(t, err)
	require.Len(t, notes, 1)
	require.Equal(t, int64(500), noParent.ParentPID)
	require.Zero(t, noParent.ParentStart)
	noSelf, notes, err := fakeProc(t, bootA, nil).detect(dir)
	require.NoError(t, err)
	require.Len(t, notes, 2, "no self stat, then no stat of the getppid parent in the fake tree")
	require.Equal(t, int64(os.Getppid()), noSelf.ParentPID)
	_, _, err = p.detect(filepath.Join(dir, "missing"))
	require.Error(t, err, "a directory that is not there")

	// The real /proc: the parent is the process that started this test.
	onHost, err := DetectRun(dir)
	require.NoError(t, err)
	require.Equal(t, int64(os.Getppid()), onHost.ParentPID)
}

func TestRunTagAndOver(t *testing.T) {
	base := testRun
	tags := map[string]bool{base.Tag(): true}
	for _, mod := range []func(*RunID){
		func(r *RunID) { r.BootID[15]++ },
		func(r *RunID) { r.ParentPID++ },
		func(r *RunID) { r.ParentStart++ },
		func(r *RunID) { r.DirDev++ },
		func(r *RunID) { r.DirIno++ },
	} {
		r := base
		mod(&r)
		require.Len(t, r.Tag(), 16)
		require.False(t, tags[r.Tag()], "every field changes the tag")
		tags[r.Tag()] = true
	}

	p := fakeProc(t, bootA, map[string][2]uint64{"500": {1, 1234}})
	boot, err := p.bootID()
	require.NoError(t, err)
	alive := RunID{BootID: boot, ParentPID: 500, ParentStart: 1234}
	require.False(t, p.over(alive))
	pidReused := alive
	pidReused.ParentStart = 1
	require.True(t, p.over(pidReused), "the pid now names another process")
	gone := alive
	gone.ParentPID = 501
	require.True(t, p.over(gone), "no such process")
	rebooted := alive
	rebooted.BootID[0]++
	require.True(t, p.over(rebooted), "another boot")
	hidden := RunID{BootID: boot}
	require.False(t, p.over(hidden), "a hidden harness is never surely gone")
	noStart := RunID{BootID: boot, ParentPID: 500}
	require.False(t, p.over(noStart), "alive, start time unknown")
	noStart.ParentPID = 501
	require.True(t, p.over(noStart), "no such process")
	noBoot := RunID{ParentPID: 500, ParentStart: 1234}
	require.False(t, p.over(noBoot), "no boot id: judged by the parent alone")
}

// TestRunNewHarnessIsNewRun: a node started by another parent (here a
// shell that does not exec it, standing for a new Maelstrom JVM) starts a
// new run with empty state; the files of a run whose harness is still alive
// are kept, those of a run whose harness is gone are removed, and the first
// run goes on where it was.
func TestRunNewHarnessIsNewRun(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to stand for another harness")
	}
	dir := t.TempDir()
	viaShell := func() string {
		cmd := exec.Command("sh", "-c", `"$0" -test.run='^$'; exit $?`, os.Args[0])
		cmd.Env = childEnvFor(dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.TrimSpace(string(out))
	}
	tags := func() map[string]bool {
		names, err := OSFS{}.ReadDir(dir)
		require.NoError(t, err)
		set := map[string]bool{}
		for _, n := range names {
			set[strings.Split(n, ".")[1]] = true
		}
		return set
	}
	out, err := startChild(t, dir, nil)
	require.NoError(t, err, out)
	require.Contains(t, out, "count=1 records=0")
	require.Len(t, tags(), 1)

	out = viaShell()
	require.Contains(t, out, "count=1 records=0", "another harness: a new run")
	require.Len(t, tags(), 2, "the first run's harness (this test) is alive: its files stay")

	out = viaShell()
	require.Contains(t, out, "count=1 records=0")
	require.Len(t, tags(), 2, "the second run's shell is gone: its files were removed")

	out, err = startChild(t, dir, nil)
	require.NoError(t, err, out)
	require.Contains(t, out, "count=2 records=1", "the first run goes on")
}
