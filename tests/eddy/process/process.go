// Package process runs one node binary for eddy and keeps it on a leash.
//
// eddy runs code it did not write (student submissions), so nothing a child
// does may hurt eddy: stdout is read line by line with a bound on line length
// and on bytes per second, stderr goes to a file with a bound on size, a
// Budget bounds the output of all of a run's children together, the child
// and everything it spawns share one process group that Kill removes with
// SIGKILL, and an optional address-space limit is applied with prlimit64.
// A Sandbox goes further: its own uid, PID, network and IPC namespaces (no
// descendant outlives it, none talks around eddy), and a Cgroup bounding
// the memory and process count of all its processes together. The package knows nothing about the Maelstrom protocol: it
// delivers raw lines and reports problems (partial, over-long, flooded
// output); the orchestrator interprets them.
//
// Maelstrom semantics kept here (maelstrom-spec.md 2.1, 2.4, 4.1, 12.16):
// argv = bin + positional args, cwd = a temp dir chosen by the caller,
// stderr to node-logs/<id>.log, a last line without '\n' is never delivered,
// Kill sends SIGKILL and waits at most 5 s, Tail gives the last lines of
// stdout and stderr for the "Node nX crashed" report.
package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxLineBytes         = 16 << 20  // 16 MiB: a generous bound on one message
	DefaultMaxOutputBytesPerSec = 64 << 20  // 64 MiB/s: far above any sane node, well below a busy loop
	DefaultMaxStderrBytes       = 512 << 20 // 512 MiB of log per node before eddy stops writing it

	// LinesBuffer is the capacity of the Lines channel. Bounded so that a
	// consumer that stops reading makes the child block on its stdout, like
	// a real pipe, instead of growing eddy's memory.
	LinesBuffer = 1024

	// TailLines is how many lines the tail ring keeps (Maelstrom prints 32).
	TailLines = 128
	// TailLineBytes bounds each line kept in the tail ring.
	TailLineBytes = 4 << 10

	// textBusyRetries bounds the retries of a start that fails with ETXTBSY.
	textBusyRetries = 20

	killWait = 5 * time.Second // Maelstrom waits at most 5 s for a killed node
	// drainWait bounds how long Kill waits for the output readers after the
	// child is reaped; a process that escaped the group may still hold the
	// pipes, and then Kill closes them.
	drainWait = time.Second
)

// Config describes one child process. Zero values pick the defaults above.
type Config struct {
	// Bin is the node binary. A path (absolute, or relative to the caller's
	// working directory, not to Dir) is made absolute before the child is
	// started in Dir. A bare name that is not a file in the caller's working
	// directory is looked up in PATH.
	Bin string
	// Args are appended to argv after Bin (Maelstrom's positional arguments).
	Args []string
	// Dir is the child's working directory; eddy passes a fresh temp dir.
	// Empty means the caller's working directory.
	Dir string
	// StderrPath receives the child's stderr (node-logs/<id>.log); its
	// parent directory is created. Empty keeps stderr only in the tail ring.
	StderrPath string
	// MaxLineBytes bounds one stdout line (without '\n'). Longer lines are
	// discarded as they stream in (never buffered whole) and reported.
	MaxLineBytes int
	// MaxOutputBytesPerSec bounds stdout throughput. Within each one-second
	// window, once this many bytes have been read, further complete lines
	// are dropped; the drop is reported once per window. It protects eddy's
	// network and journal from a node stuck in a print loop.
	MaxOutputBytesPerSec int64
	// MaxStderrBytes bounds the stderr file; beyond it stderr is still read
	// (so the child never blocks on it) but no longer written, and a note
	// says so at the end of the file.
	MaxStderrBytes int64
	// MemoryLimitBytes, when positive, is applied as RLIMIT_AS to the child
	// right after it starts (prlimit64). The child runs briefly without the
	// limit; children it spawns afterwards inherit it.
	MemoryLimitBytes int64
	// Env is the child's environment; nil inherits eddy's.
	Env []string
	// OnStderrLine, when set, receives each complete stderr line (cut to
	// TailLineBytes) from the stderr copier (Maelstrom's --log-stderr).
	OnStderrLine func(line string)
	// OnLimit, when set, is called (from the stderr copier) when stderr
	// output is dropped: the per-node cap or the run's Budget. Stdout's
	// drops come as Problems on Lines.
	OnLimit func(kind, msg string)
	// Budget, when set, is the run's total of node output bytes (stdout
	// and stderr, every node): once spent, lines are dropped and stderr is
	// no longer written.
	Budget *Budget
	// Sandbox confines the child and everything it spawns.
	Sandbox Sandbox
}

// Sandbox says how a child is confined beyond its process group.
type Sandbox struct {
	// PIDNamespace starts the child as the init of a new PID namespace:
	// when it dies, or is killed, the kernel kills every process of the
	// namespace, however it detached itself (setsid, double fork). It needs
	// root, or UserNamespace.
	PIDNamespace bool
	// NetNamespace starts the child in new network and IPC namespaces:
	// only a loopback interface of its own, no SysV shared memory with
	// others, so nodes cannot talk behind the simulated network (around a
	// partition) or to the outside. It needs root, or UserNamespace.
	NetNamespace bool
	// UserNamespace starts the child in a new user namespace where eddy's
	// uid is mapped to root, which lets an unprivileged eddy give it a PID
	// namespace. It confers no access the user lacks.
	UserNamespace bool
	// UID and GID, when UID is not 0, are the credentials the child runs
	// with, without supplementary groups (eddy must be root).
	UID, GID uint32
	// Cgroup is the child's cgroup: its memory and process bounds cover
	// all the processes of the node together; Pause freezes it and Kill
	// empties it.
	Cgroup *Cgroup
	// MaxProcs, when positive and UID is set, is applied as RLIMIT_NPROC
	// (processes of that uid) right after the start: the bound on forks
	// when there is no pids cgroup.
	MaxProcs int64
}

// Line is one item from a child's stdout: either a complete line (Data,
// without the trailing '\n', owned by the receiver) or a Problem, a human
// readable report of output that was not delivered.
type Line struct {
	Data    []byte
	Problem string
	// Kind classifies a Problem: one of the Kind constants.
	Kind string
}

// Kinds of dropped output.
const (
	KindLineLength = "line-length"  // a line over MaxLineBytes
	KindFlood      = "flood"        // lines beyond MaxOutputBytesPerSec
	KindPartial    = "partial-line" // a last line without '\n'
	KindStderr     = "stderr"       // stderr beyond MaxStderrBytes
	KindBudget     = "output-total" // the run's Budget is spent
)

// Proc is a running (or finished) child process. All methods are safe for
// concurrent use.
type Proc struct {
	id  string
	cfg Config
	cmd *exec.Cmd
	pid int

	stdin  *os.File // write end of the child's stdin
	stdout *os.File // read end of the child's stdout
	stderr *os.File // read end of the child's stderr
	pidNS  string   // the child's PID namespace ("pid:[inode]") with Sandbox.PIDNamespace
	logf   *os.File // StderrPath, or nil; owned by copyStderr once started
	logErr error    // first error writing or closing logf; read after errDone

	writeMu sync.Mutex // serialises Write so each line reaches the pipe whole

	lines  chan Line
	tail   *ring
	killed chan struct{} // closed by Kill: readers stop delivering

	done       chan struct{} // closed once the child is reaped
	exitStatus string        // set before done is closed

	outDone chan struct{} // stdout reader finished (Lines closed)
	errDone chan struct{} // stderr copier finished

	killOnce sync.Once
	killErr  error
}

// Start validates cfg, starts the child and the goroutines that watch it.
// The returned error says plainly what is wrong (missing binary, not
// executable, bad directory) and wraps the underlying cause.
func Start(id string, cfg Config) (*Proc, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("process %s: %w", id, err)
	}
	bin, err := resolveBin(cfg.Bin)
	if err != nil {
		return nil, fmt.Errorf("process %s: %w", id, err)
	}
	cfg.Bin = bin

	p := &Proc{
		id:      id,
		cfg:     cfg,
		lines:   make(chan Line, LinesBuffer),
		tail:    newRing(TailLines, TailLineBytes),
		killed:  make(chan struct{}),
		done:    make(chan struct{}),
		outDone: make(chan struct{}),
		errDone: make(chan struct{}),
	}
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("process %s: %w", id, err)
	}
	return p, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Bin == "" {
		return c, errors.New("no binary given")
	}
	if c.MaxLineBytes < 0 || c.MaxOutputBytesPerSec < 0 || c.MaxStderrBytes < 0 || c.MemoryLimitBytes < 0 {
		return c, errors.New("negative limit in config")
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.MaxOutputBytesPerSec == 0 {
		c.MaxOutputBytesPerSec = DefaultMaxOutputBytesPerSec
	}
	if c.MaxStderrBytes == 0 {
		c.MaxStderrBytes = DefaultMaxStderrBytes
	}
	if c.Dir != "" {
		st, err := os.Stat(c.Dir)
		if err != nil {
			return c, fmt.Errorf("working directory: %w", err)
		}
		if !st.IsDir() {
			return c, fmt.Errorf("working directory %q is not a directory", c.Dir)
		}
	}
	return c, nil
}

// CheckBin returns the absolute path of bin if it is an executable regular
// file, or an error saying plainly what is wrong; the CLI uses it to refuse
// a bad --bin before anything else happens.
func CheckBin(bin string) (string, error) { return resolveBin(bin) }

// MinimalEnv is the environment eddy gives a node: a PATH, a home and a
// temporary directory that are its own directory, and the locale; nothing
// else of eddy's environment (no tokens, no credentials, no proxies).
func MinimalEnv(dir string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	lang := os.Getenv("LANG")
	if lang == "" {
		lang = "C.UTF-8"
	}
	return []string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + dir, "LANG=" + lang, "USER=node", "LOGNAME=node"}
}

// resolveBin turns bin into an absolute path to an executable regular file.
// Relative paths are resolved against the caller's working directory because
// the child runs in another one (Maelstrom resolves --bin the same way).
func resolveBin(bin string) (string, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", fmt.Errorf("binary %q: %w", bin, err)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsRune(bin, filepath.Separator) {
		if found, lerr := exec.LookPath(bin); lerr == nil {
			abs = found
			st, err = os.Stat(abs)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("binary %q not found (resolved to %s): %w", bin, abs, fs.ErrNotExist)
	case err != nil:
		return "", fmt.Errorf("binary %q: %w", bin, err)
	case st.IsDir():
		return "", fmt.Errorf("binary %q is a directory (%s)", bin, abs)
	case st.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("binary %q is not executable (%s, mode %v): %w", bin, abs, st.Mode().Perm(), fs.ErrPermission)
	}
	return abs, nil
}

// sysProcAttr is how the node is spawned: its own process group, killed
// with eddy, in the namespaces and with the uid sb asks for.
func sysProcAttr(sb Sandbox) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		// One process group for the node and all it spawns, so Kill
		// reaches grandchildren even without a namespace or cgroup.
		Setpgid: true,
		// If eddy dies, the kernel kills the node, and with it its PID
		// namespace. The signal fires when the forking OS thread ends,
		// which the Go runtime does only for a goroutine that exits while
		// locked to its thread (runtime.LockOSThread): eddy must not do
		// that.
		Pdeathsig: syscall.SIGKILL,
	}
	if sb.PIDNamespace {
		attr.Cloneflags |= syscall.CLONE_NEWPID
	}
	if sb.NetNamespace {
		attr.Cloneflags |= syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC
	}
	if sb.UserNamespace {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	if sb.UID != 0 {
		attr.Credential = &syscall.Credential{Uid: sb.UID, Gid: sb.GID, Groups: []uint32{}}
	}
	return attr
}

// spawn starts the node with the pipes' child ends as its standard
// streams.
func (p *Proc) spawn(sb Sandbox, attr *syscall.SysProcAttr, inR, outW, errW *os.File) error {
	// Passing *os.File values (not io.Writers) means exec starts no copying
	// goroutines, so Wait returns when the child exits even if a grandchild
	// still holds the pipes.
	//
	// A binary copied for the sandbox can be briefly busy (ETXTBSY) while a
	// child forked elsewhere in eddy still holds the copy's write descriptor
	// between its fork and exec; trying again shortly succeeds.
	var err error
	for attempt := 0; ; attempt++ {
		p.cmd = &exec.Cmd{
			Path:        p.cfg.Bin,
			Args:        append([]string{p.cfg.Bin}, p.cfg.Args...),
			Dir:         p.cfg.Dir,
			Env:         p.cfg.Env,
			Stdin:       inR,
			Stdout:      outW,
			Stderr:      errW,
			SysProcAttr: attr,
		}
		if sb != (Sandbox{}) {
			err = launch(sb, attr, p.cmd.Start)
		} else {
			err = p.cmd.Start()
		}
		if !errors.Is(err, syscall.ETXTBSY) || p.cmd.Process != nil || attempt == textBusyRetries {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
}

// start creates the pipes, spawns the child in its own process group, applies
// the memory limit and launches the watchers. On error nothing is left
// running and no descriptor is leaked.
func (p *Proc) start() (err error) {
	var closers []io.Closer
	defer func() {
		if err != nil {
			for _, c := range closers {
				_ = c.Close()
			}
		}
	}()
	if p.cfg.StderrPath != "" {
		if err := os.MkdirAll(filepath.Dir(p.cfg.StderrPath), 0o755); err != nil {
			return fmt.Errorf("stderr log: %w", err)
		}
		p.logf, err = os.Create(p.cfg.StderrPath)
		if err != nil {
			return fmt.Errorf("stderr log: %w", err)
		}
		closers = append(closers, p.logf)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	closers = append(closers, inR, inW)
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	closers = append(closers, outR, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	closers = append(closers, errR, errW)

	sb := p.cfg.Sandbox
	attr := sysProcAttr(sb)
	err = p.spawn(sb, attr, inR, outW, errW)
	if err != nil {
		if p.cmd.Process != nil {
			// Started, but eddy's thread could not leave the node's cgroup.
			_ = p.cmd.Process.Kill()
			_, _ = p.cmd.Process.Wait()
		}
		return fmt.Errorf("start %s: %w", p.cfg.Bin, err)
	}
	p.pid = p.cmd.Process.Pid
	if sb.PIDNamespace {
		p.pidNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p.pid))
	}
	// The child has its copies; eddy keeps only its own ends.
	_ = inR.Close()
	_ = outW.Close()
	_ = errW.Close()
	p.stdin, p.stdout, p.stderr = inW, outR, errR

	go p.wait()
	go p.readStdout()
	go p.copyStderr()

	if p.cfg.MemoryLimitBytes > 0 {
		if lerr := setRlimit(p.pid, syscall.RLIMIT_AS, p.cfg.MemoryLimitBytes); lerr != nil {
			_ = p.Kill()
			return fmt.Errorf("memory limit: %w", lerr)
		}
	}
	if sb.MaxProcs > 0 && sb.UID != 0 {
		if lerr := setRlimit(p.pid, rlimitNproc, sb.MaxProcs); lerr != nil {
			_ = p.Kill()
			return fmt.Errorf("process limit: %w", lerr)
		}
	}
	return nil
}

// wait reaps the child and records how it ended.
func (p *Proc) wait() {
	err := p.cmd.Wait()
	status := ""
	if p.cmd.ProcessState != nil {
		status = p.cmd.ProcessState.String()
	} else if err != nil {
		status = err.Error()
	}
	p.exitStatus = status
	close(p.done)
}

// ID is the node id the process was started for.
func (p *Proc) ID() string { return p.id }

// Pid is the child's process id, which is also its process group id.
func (p *Proc) Pid() int { return p.pid }

// Lines delivers the child's stdout, one complete line or problem at a time,
// and is closed when stdout reaches end of file (or after Kill). The
// consumer must keep draining it: when the buffer is full the reader stops
// reading and the child blocks on its stdout.
func (p *Proc) Lines() <-chan Line { return p.lines }

// Done is closed once the child has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the child has exited and been reaped.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitStatus describes how the child ended ("exit status 3",
// "signal: killed"), or "" while it runs.
func (p *Proc) ExitStatus() string {
	select {
	case <-p.done:
		return p.exitStatus
	default:
		return ""
	}
}

// Tail returns up to the last n lines of stdout and stderr, interleaved in
// the order eddy read them, oldest first. At most TailLines are kept, each
// cut to TailLineBytes.
func (p *Proc) Tail(n int) []string { return p.tail.last(n) }

// Write sends one line to the child's stdin. The line must end with '\n' and
// contain no other newline. Write blocks while the child does not read (a
// full pipe); Kill unblocks it with an error. Concurrent calls are
// serialised, so lines never interleave, but eddy uses one writer goroutine
// per node.
func (p *Proc) Write(line []byte) error {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return fmt.Errorf("process %s: write: line must end with a newline", p.id)
	}
	if i := bytes.IndexByte(line[:len(line)-1], '\n'); i >= 0 {
		return fmt.Errorf("process %s: write: newline inside line at byte %d", p.id, i)
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if _, err := p.stdin.Write(line); err != nil {
		return fmt.Errorf("process %s: write stdin: %w", p.id, err)
	}
	return nil
}

// Kill sends SIGKILL to the child's whole process group (and, in a
// sandbox, to its PID namespace and every process of its cgroup), closes its stdin
// (unblocking any Write), waits up to 5 s for the child to be reaped and then
// for the output readers to finish, closing the pipes if something outside
// the group still holds them. After Kill returns, Lines is closed once its
// buffer is drained (output that did not fit in the buffer is dropped), and
// Tail and the stderr log are complete. Kill is idempotent and safe to call
// after the child exited on its own (it still removes grandchildren).
func (p *Proc) Kill() error {
	p.killOnce.Do(func() { p.killErr = p.kill() })
	return p.killErr
}

func (p *Proc) kill() error {
	var errs []error
	// The group id is the child's pid (Setpgid with Pgid 0). ESRCH means
	// the whole group is already gone.
	if err := syscall.Kill(-p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("kill process group %d: %w", p.pid, err))
	}
	// The init of a PID namespace takes every process of it along.
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	if cg := p.cfg.Sandbox.Cgroup; cg != nil {
		if err := cg.KillAll(killWait); err != nil {
			errs = append(errs, err)
		}
	}
	_ = p.stdin.Close()
	close(p.killed)

	timer := time.NewTimer(killWait)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		errs = append(errs, fmt.Errorf("pid %d not reaped %v after SIGKILL", p.pid, killWait))
	}

	drain := time.NewTimer(drainWait)
	defer drain.Stop()
	for _, ch := range []chan struct{}{p.outDone, p.errDone} {
		select {
		case <-ch:
		case <-drain.C:
			// Something outside the group holds the pipes: closing our
			// ends unblocks the readers (the files are non-blocking).
			_ = p.stdout.Close()
			_ = p.stderr.Close()
			<-ch
		}
	}
	_ = p.stdout.Close()
	_ = p.stderr.Close()
	if p.logErr != nil {
		errs = append(errs, fmt.Errorf("stderr log: %w", p.logErr))
	}
	if len(errs) > 0 {
		return fmt.Errorf("process %s: %w", p.id, errors.Join(errs...))
	}
	return nil
}
