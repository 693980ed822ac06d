package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// maelfixBin and hostileBin are the fixture binaries built once by
// TestMain.
var maelfixBin, hostileBin string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "eddy-process-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildFixture(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	maelfixBin = bin
	if hostileBin, err = buildPackage(dir, "hostile"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The nodes' uids must reach the binaries.
	for _, p := range []string{dir, maelfixBin, hostileBin} {
		if err := os.Chmod(p, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// buildFixture builds tests/fixtures/maelfix from the module root into dir.
func buildFixture(dir string) (string, error) { return buildPackage(dir, "maelfix") }

// buildPackage builds tests/fixtures/<name> from the module root into dir.
func buildPackage(dir, name string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, "./tests/fixtures/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", name, err, out)
	}
	return bin, nil
}

const waitBound = 10 * time.Second // upper bound for any wait in these tests

// start runs a child and kills it when the test ends.
func start(t *testing.T, cfg Config) *Proc {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	p, err := Start("n1", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Kill() })
	return p
}

func sh(script string) Config { return Config{Bin: "/bin/sh", Args: []string{"-c", script}} }

// next returns the next line, failing the test if none comes in time.
func next(t *testing.T, p *Proc) Line {
	t.Helper()
	select {
	case l, ok := <-p.Lines():
		require.True(t, ok, "stdout closed early")
		return l
	case <-time.After(waitBound):
		t.Fatal("no line in time")
		return Line{}
	}
}

// collect reads Lines until it is closed.
func collect(t *testing.T, p *Proc) []Line {
	t.Helper()
	var out []Line
	deadline := time.After(waitBound)
	for {
		select {
		case l, ok := <-p.Lines():
			if !ok {
				return out
			}
			out = append(out, l)
		case <-deadline:
			t.Fatalf("stdout not closed in time; got %d lines", len(out))
		}
	}
}

func waitDone(t *testing.T, p *Proc) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(waitBound):
		t.Fatal("process did not exit in time")
	}
}

// eventually polls cond until it holds, within waitBound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func texts(lines []Line) (data, problems []string) {
	for _, l := range lines {
		if l.Problem != "" {
			problems = append(problems, l.Problem)
		} else {
			data = append(data, string(l.Data))
		}
	}
	return data, problems
}

// dead reports whether pid is gone or a zombie (orphans are reaped by
// PID 1, which in a container may never do it).
func dead(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

func initLine(id string) []byte {
	return fmt.Appendf(nil, `{"id":0,"src":"c0","dest":%q,"body":{"type":"init","msg_id":1,"node_id":%q,"node_ids":[%q]}}`+"\n", id, id, id)
}

func TestEchoLinesThroughCat(t *testing.T) {
	p := start(t, Config{Bin: "cat"})
	require.Positive(t, p.Pid())
	require.Equal(t, "n1", p.ID())
	for i := range 100 {
		msg := fmt.Sprintf(`{"n":%d}`, i)
		require.NoError(t, p.Write([]byte(msg+"\n")))
		l := next(t, p)
		require.Empty(t, l.Problem)
		require.Equal(t, msg, string(l.Data))
	}
	require.False(t, p.Exited())
	require.Equal(t, "", p.ExitStatus())
	require.NoError(t, p.Kill())
	require.True(t, p.Exited())
	require.Equal(t, "signal: killed", p.ExitStatus())
	require.NoError(t, p.Kill(), "Kill is idempotent")
	_, ok := <-p.Lines()
	require.False(t, ok, "Lines is closed after Kill")
	require.Error(t, p.Write([]byte("late\n")))
}

// TestRandomLinesRoundTrip sends lines of random length (some far longer
// than the read buffer) through cat and checks each comes back intact, so
// delivered lines never alias the reader's buffers.
func TestRandomLinesRoundTrip(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	p := start(t, Config{Bin: "cat", MaxLineBytes: 1 << 20})
	var want []string
	for range 200 {
		n := rng.IntN(200)
		if rng.IntN(10) == 0 {
			n = rng.IntN(300 << 10)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		want = append(want, string(b))
	}
	go func() {
		for _, w := range want {
			if p.Write([]byte(w+"\n")) != nil {
				return
			}
		}
	}()
	var got []Line
	for range want {
		got = append(got, next(t, p))
	}
	data, problems := texts(got)
	require.Empty(t, problems, "seed %d", seed)
	require.Equal(t, want, data, "seed %d", seed)
}

func TestLineBounds(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name         string
		script       string
		maxLine      int
		wantData     []string
		wantProblems []string // substrings, in order
		wantTail     string   // substring of the tail
	}{
		{
			name:         "long line dropped, next delivered",
			script:       "printf 'first\\n" + long + "\\nnext\\n'",
			maxLine:      1024,
			wantData:     []string{"first", "next"},
			wantProblems: []string{"line of 5000 bytes exceeds the 1024-byte limit"},
		},
		{
			name:     "line of exactly the limit delivered",
			script:   "printf '" + long[:1024] + "\\n'",
			maxLine:  1024,
			wantData: []string{long[:1024]},
		},
		{
			name:         "over-long line spanning many reads",
			script:       "head -c 300000 /dev/zero | tr '\\0' a; echo; echo after",
			maxLine:      100000,
			wantData:     []string{"after"},
			wantProblems: []string{"line of 300000 bytes exceeds"},
			wantTail:     "aaaa [... 300000 bytes in all]",
		},
		{
			name:         "partial last line reported, not delivered",
			script:       "printf 'a\\nb\\n{\"src\":\"n1\"'",
			wantData:     []string{"a", "b"},
			wantProblems: []string{"partial last line of 11 bytes"},
		},
		{
			name:         "over-long partial last line",
			script:       "printf '" + long + "'",
			maxLine:      1024,
			wantProblems: []string{"partial last line of 5000 bytes"},
			wantTail:     "xxxx [... 5000 bytes in all]",
		},
		{
			name:     "empty lines are lines",
			script:   "printf '\\n\\nx\\n'",
			wantData: []string{"", "", "x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sh(tc.script)
			cfg.MaxLineBytes = tc.maxLine
			p := start(t, cfg)
			data, problems := texts(collect(t, p))
			require.Equal(t, tc.wantData, data)
			if tc.wantTail != "" {
				require.NoError(t, p.Kill())
				require.Contains(t, strings.Join(p.Tail(TailLines), "\n"), tc.wantTail)
			}
			require.Len(t, problems, len(tc.wantProblems), "problems: %q", problems)
			for i, w := range tc.wantProblems {
				require.Contains(t, problems[i], w)
			}
		})
	}
}

// TestPartialReplyNeverDelivered uses the fixture that writes a reply
// without its newline and then keeps running.
func TestPartialReplyNeverDelivered(t *testing.T) {
	p := start(t, Config{Bin: maelfixBin, Args: []string{"partial"}})
	require.NoError(t, p.Write(initLine("n1")))
	require.Contains(t, string(next(t, p).Data), "init_ok")
	require.NoError(t, p.Write([]byte(`{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":2,"echo":"x"}}`+"\n")))
	eventually(t, "partial reply written", func() bool {
		return strings.Contains(strings.Join(p.Tail(5), "\n"), "without its newline")
	})
	// The reply sits in the pipe without a newline and the node keeps
	// running; at end of file (Kill) it is reported, never delivered.
	require.NoError(t, p.Kill())
	data, problems := texts(collect(t, p))
	require.Empty(t, data)
	require.Len(t, problems, 1)
	require.Contains(t, problems[0], "partial last line")
	require.Contains(t, strings.Join(p.Tail(5), "\n"), `"type":"echo_ok"`)
}

func TestFloodIsBounded(t *testing.T) {
	t.Parallel() // it waits for one rate window (1 s)
	const limit = 64 << 10
	p := start(t, Config{Bin: "yes", Args: []string{strings.Repeat("f", 99)}, MaxOutputBytesPerSec: limit})
	var delivered int64
	deadline := time.After(waitBound)
	for {
		select {
		case l := <-p.Lines():
			if l.Problem == "" {
				delivered += int64(len(l.Data)) + 1
				require.LessOrEqual(t, delivered, int64(limit), "first window exceeded the bound")
				continue
			}
			require.Contains(t, l.Problem, "output flood: dropped")
			require.Contains(t, l.Problem, fmt.Sprintf("beyond %d bytes/s", limit))
			require.Greater(t, delivered, int64(limit-200), "the window should be used up")
			return
		case <-deadline:
			t.Fatal("no flood report in time")
		}
	}
}

func TestFloodFixture(t *testing.T) {
	t.Parallel() // it waits for one rate window (1 s)
	const limit = 256 << 10
	p := start(t, Config{Bin: maelfixBin, Args: []string{"flood"}, MaxOutputBytesPerSec: limit})
	require.NoError(t, p.Write(initLine("n1")))
	require.Contains(t, string(next(t, p).Data), "init_ok")
	var delivered int64
	for {
		l := next(t, p)
		if l.Problem != "" {
			require.Contains(t, l.Problem, "output flood")
			break
		}
		require.Contains(t, string(l.Data), `"type":"flood"`)
		delivered += int64(len(l.Data)) + 1
	}
	require.LessOrEqual(t, delivered, int64(limit))
	require.NoError(t, p.Kill())
}

// TestStalledConsumerBlocksChild checks that Lines is bounded: a consumer
// that stops reading leaves LinesBuffer lines queued, and Kill still works.
func TestStalledConsumerBlocksChild(t *testing.T) {
	p := start(t, Config{Bin: "yes"})
	eventually(t, "Lines buffer full", func() bool { return len(p.Lines()) == LinesBuffer })
	require.False(t, p.Exited())
	require.NoError(t, p.Kill())
	lines := collect(t, p)
	require.LessOrEqual(t, len(lines), LinesBuffer+1)
}

func TestStderrFileAndTail(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "node-logs", "n1.log")
	cfg := sh("echo out1; echo err1 >&2; echo out2; printf 'err2\\nerr3' >&2; exit 1")
	cfg.StderrPath = logPath
	p := start(t, cfg)
	data, problems := texts(collect(t, p))
	require.Equal(t, []string{"out1", "out2"}, data)
	require.Empty(t, problems)
	waitDone(t, p)
	require.Equal(t, "exit status 1", p.ExitStatus())
	require.NoError(t, p.Kill()) // the tail and the log are complete after Kill
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, "err1\nerr2\nerr3", string(b))
	require.ElementsMatch(t, []string{"out1", "err1", "out2", "err2", "err3"}, p.Tail(32))
	require.Len(t, p.Tail(2), 2)
	require.Empty(t, p.Tail(0))
}

func TestStderrCapped(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "n1.log")
	cfg := sh("head -c 5000 /dev/zero | tr '\\0' e >&2; echo >&2; echo done >&2")
	cfg.StderrPath = logPath
	cfg.MaxStderrBytes = 1000
	p := start(t, cfg)
	waitDone(t, p)
	require.NoError(t, p.Kill())
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("e", 1000), string(b[:1000]))
	require.Contains(t, string(b[1000:]), "stderr exceeded 1000 bytes")
	tail := p.Tail(2)
	require.Equal(t, "done", tail[1])
	require.True(t, strings.HasPrefix(tail[0], strings.Repeat("e", 100)))
	require.Contains(t, tail[0], "[... 5000 bytes in all]")
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "exit 0", cfg: sh("exit 0"), want: "exit status 0"},
		{name: "exit 3", cfg: sh("exit 3"), want: "exit status 3"},
		{name: "signal", cfg: sh("kill -TERM $$"), want: "signal: terminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.cfg)
			waitDone(t, p)
			require.True(t, p.Exited())
			require.Equal(t, tc.want, p.ExitStatus())
			require.NoError(t, p.Kill(), "Kill after exit is fine")
			require.Equal(t, tc.want, p.ExitStatus(), "Kill after exit keeps the status")
		})
	}
}

func TestCrashFixtureExitStatus(t *testing.T) {
	p := start(t, Config{Bin: maelfixBin, Args: []string{"crash"}})
	require.NoError(t, p.Write(initLine("n1")))
	require.Contains(t, string(next(t, p).Data), "init_ok")
	for i := range 5 {
		require.NoError(t, p.Write(fmt.Appendf(nil, `{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":%d,"echo":"e"}}`+"\n", i+2)))
		require.Contains(t, string(next(t, p).Data), "echo_ok")
	}
	waitDone(t, p)
	require.Equal(t, "exit status 3", p.ExitStatus())
}

func TestKillLeavesNoOrphans(t *testing.T) {
	t.Run("shell background job", func(t *testing.T) {
		p := start(t, sh("sleep 1000 & echo $!; exec cat"))
		l := next(t, p)
		pid, err := strconv.Atoi(string(l.Data))
		require.NoError(t, err)
		require.False(t, dead(pid), "grandchild runs before Kill")
		require.NoError(t, p.Kill())
		require.True(t, dead(p.Pid()))
		eventually(t, "grandchild gone", func() bool { return dead(pid) })
	})
	t.Run("fork fixture", func(t *testing.T) {
		p := start(t, Config{Bin: maelfixBin, Args: []string{"fork"}})
		var pid int
		eventually(t, "grandchild pid on stderr", func() bool {
			for _, l := range p.Tail(10) {
				if _, err := fmt.Sscanf(l, "maelfix fork: grandchild pid %d", &pid); err == nil {
					return true
				}
			}
			return false
		})
		require.NoError(t, p.Write(initLine("n1")))
		require.Contains(t, string(next(t, p).Data), "init_ok")
		require.False(t, dead(pid))
		require.NoError(t, p.Kill())
		eventually(t, "grandchild gone", func() bool { return dead(pid) })
	})
	t.Run("node exited, grandchild survives until Kill", func(t *testing.T) {
		// The grandchild holds stdout, so Lines stays open after the node
		// exits; Kill removes the grandchild and closes Lines.
		p := start(t, sh("sleep 1000 & echo $!; exit 0"))
		pid, err := strconv.Atoi(string(next(t, p).Data))
		require.NoError(t, err)
		waitDone(t, p)
		require.False(t, dead(pid))
		require.NoError(t, p.Kill())
		eventually(t, "grandchild gone", func() bool { return dead(pid) })
		collect(t, p)
	})
}

// TestKillWithEscapedHolder covers a descendant that left the process group
// (setsid) while holding stdout: Kill cannot remove it, but it still
// returns and closes Lines.
func TestKillWithEscapedHolder(t *testing.T) {
	t.Parallel() // it waits for the drain bound (1 s)
	p := start(t, sh("setsid sleep 1000 & echo $!; exec cat"))
	pid, err := strconv.Atoi(string(next(t, p).Data))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	eventually(t, "setsid done", func() bool {
		pgid, err := syscall.Getpgid(pid)
		return err == nil && pgid != p.Pid()
	})
	began := time.Now()
	require.NoError(t, p.Kill())
	require.Less(t, time.Since(began), killWait)
	collect(t, p)
	require.False(t, dead(pid), "the escaped process is out of reach")
}

func TestConcurrentKill(t *testing.T) {
	p := start(t, Config{Bin: "cat"})
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- p.Kill() }()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, "signal: killed", p.ExitStatus())
}

func TestWriteToNonReaderUnblocksOnKill(t *testing.T) {
	p := start(t, Config{Bin: maelfixBin, Args: []string{"noread"}})
	require.NoError(t, p.Write(initLine("n1")))
	require.Contains(t, string(next(t, p).Data), "init_ok")

	const total = 8 << 20 // far more than the pipe and the node's buffers hold
	var written atomic.Int64
	errc := make(chan error, 1)
	go func() {
		line := []byte(strings.Repeat("w", 1023) + "\n")
		for written.Load() < total {
			if err := p.Write(line); err != nil {
				errc <- err
				return
			}
			written.Add(int64(len(line)))
		}
		errc <- nil
	}()
	eventually(t, "pipe partly filled", func() bool { return written.Load() >= 64<<10 })
	require.NoError(t, p.Kill())
	select {
	case err := <-errc:
		require.Error(t, err, "the writer must have been blocked, then failed")
	case <-time.After(waitBound):
		t.Fatal("Write still blocked after Kill")
	}
	require.Less(t, written.Load(), int64(total))
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		limit   int64
		wantErr string // in the tail; "" means the child succeeds
	}{
		{name: "dd within limit", cfg: sh("read x; exec dd if=/dev/zero of=/dev/null bs=8M count=1"), limit: 64 << 20},
		{name: "dd beyond limit", cfg: sh("read x; exec dd if=/dev/zero of=/dev/null bs=128M count=1"), limit: 64 << 20, wantErr: "memory exhausted"},
		{name: "go node without limit", cfg: Config{Bin: maelfixBin, Args: []string{"alloc", "1024"}}},
		// A Go binary starts with about 1.2 GiB of reserved address space.
		{name: "go node beyond limit", cfg: Config{Bin: maelfixBin, Args: []string{"alloc", "1024"}}, limit: 1536 << 20, wantErr: "out of memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.MemoryLimitBytes = tc.limit
			p := start(t, tc.cfg)
			require.NoError(t, p.Write(initLine("n1")))
			if tc.wantErr == "" {
				if tc.cfg.Bin == maelfixBin {
					require.Contains(t, string(next(t, p).Data), "init_ok")
					return
				}
				waitDone(t, p)
				require.Equal(t, "exit status 0", p.ExitStatus())
				return
			}
			waitDone(t, p)
			require.NotEqual(t, "exit status 0", p.ExitStatus())
			require.NoError(t, p.Kill())
			require.Contains(t, strings.Join(p.Tail(TailLines), "\n"), tc.wantErr)
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	noExec := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(noExec, []byte("#!/bin/sh\n"), 0o644))
	tests := []struct {
		name    string
		cfg     Config
		wantIs  error
		wantMsg string
	}{
		{name: "missing relative", cfg: Config{Bin: "bin/no-such-node"}, wantIs: fs.ErrNotExist, wantMsg: `binary "bin/no-such-node" not found`},
		{name: "missing absolute", cfg: Config{Bin: filepath.Join(dir, "nope")}, wantIs: fs.ErrNotExist, wantMsg: "not found"},
		{name: "missing bare name", cfg: Config{Bin: "no-such-node-anywhere"}, wantIs: fs.ErrNotExist, wantMsg: "not found"},
		{name: "not executable", cfg: Config{Bin: noExec}, wantIs: fs.ErrPermission, wantMsg: "not executable"},
		{name: "directory", cfg: Config{Bin: dir}, wantMsg: "is a directory"},
		{name: "no binary", cfg: Config{}, wantMsg: "no binary"},
		{name: "bad dir", cfg: Config{Bin: "cat", Dir: filepath.Join(dir, "missing")}, wantIs: fs.ErrNotExist, wantMsg: "working directory"},
		{name: "dir is a file", cfg: Config{Bin: "cat", Dir: noExec}, wantMsg: "not a directory"},
		{name: "negative limit", cfg: Config{Bin: "cat", MaxLineBytes: -1}, wantMsg: "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start("n3", tc.cfg)
			require.Error(t, err)
			require.Nil(t, p)
			require.Contains(t, err.Error(), "process n3: ")
			require.Contains(t, err.Error(), tc.wantMsg)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
		})
	}
}

// TestArgvCwdEnv checks that Bin is resolved against the caller's working
// directory while the child runs in Dir with Bin + Args as argv.
func TestArgvCwdEnv(t *testing.T) {
	scriptDir := t.TempDir()
	script := filepath.Join(scriptDir, "node.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"$0\"; pwd; printf '%s\\n' \"$@\"; echo \"$MAELFIX_ENV\"\n"), 0o755))
	cwd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(cwd, script)
	require.NoError(t, err)
	runDir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)

	p := start(t, Config{Bin: rel, Args: []string{"a b", "–-nemesis"}, Dir: runDir, Env: []string{"MAELFIX_ENV=set"}})
	data, problems := texts(collect(t, p))
	require.Empty(t, problems)
	require.Equal(t, []string{script, runDir, "a b", "–-nemesis", "set"}, data)
}

func TestWriteValidation(t *testing.T) {
	p := start(t, Config{Bin: "cat"})
	for _, bad := range []string{"", "no newline", "two\nlines\n"} {
		require.Error(t, p.Write([]byte(bad)), "%q", bad)
	}
	require.NoError(t, p.Write([]byte("ok\n")))
	require.Equal(t, "ok", string(next(t, p).Data))
}

func TestWriteAfterExitFails(t *testing.T) {
	p := start(t, sh("exit 0"))
	waitDone(t, p)
	err := p.Write([]byte("x\n"))
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.EPIPE), "got %v", err)
}

func TestRateWindow(t *testing.T) {
	now := time.Unix(0, 0)
	w := newRateWindow(100, func() time.Time { return now })
	step := func(n int64) (report string, allowed bool) {
		report = w.add(n)
		allowed = w.allows()
		if !allowed {
			w.drop(n)
		}
		return report, allowed
	}
	for i := range 10 {
		r, ok := step(10)
		require.Empty(t, r)
		require.True(t, ok, "line %d", i)
	}
	r, ok := step(1)
	require.Empty(t, r)
	require.False(t, ok)
	_, ok = step(5)
	require.False(t, ok)
	now = now.Add(999 * time.Millisecond)
	_, ok = step(5)
	require.False(t, ok, "same window")
	now = now.Add(time.Millisecond)
	r, ok = step(50)
	require.Equal(t, "output flood: dropped 3 lines (11 bytes) beyond 100 bytes/s", r)
	require.True(t, ok)
	require.Empty(t, w.flush())
}

func TestRing(t *testing.T) {
	r := newRing(4, 8)
	require.Empty(t, r.last(3))
	for i := range 10 {
		s := strconv.Itoa(i)
		r.add([]byte(s), len(s))
	}
	require.Equal(t, []string{"7", "8", "9"}, r.last(3))
	require.Equal(t, []string{"6", "7", "8", "9"}, r.last(100))
	require.Empty(t, r.last(-1))
	r.add([]byte("0123456789"), 10)
	r.add([]byte("abc"), 3000)
	require.Equal(t, []string{"01234567 [... 10 bytes in all]", "abc [... 3000 bytes in all]"}, r.last(2))
}

func BenchmarkStdoutLines(b *testing.B) {
	line := strings.Repeat("m", 99)
	p, err := Start("n1", Config{Bin: "yes", Args: []string{line}, MaxOutputBytesPerSec: 1 << 40, Dir: b.TempDir()})
	require.NoError(b, err)
	defer p.Kill()
	b.SetBytes(int64(len(line)) + 1)
	b.ResetTimer()
	for range b.N {
		if l := <-p.Lines(); len(l.Data) != len(line) {
			b.Fatalf("bad line %q", l.Problem)
		}
	}
}

func BenchmarkRoundTripCat(b *testing.B) {
	p, err := Start("n1", Config{Bin: "cat", Dir: b.TempDir()})
	require.NoError(b, err)
	defer p.Kill()
	msg := []byte(`{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":1,"echo":"Please echo 42"}}` + "\n")
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		if err := p.Write(msg); err != nil {
			b.Fatal(err)
		}
		<-p.Lines()
	}
}
