package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// RunID tells one test run from another, so that a restarted node loads the
// state its previous process saved in this run and never a previous run's.
//
// Every node process of a run is started by one harness process (Maelstrom's
// JVM, or eddy), which lives for the whole run, and restarts of a killed node
// come from the same harness. So the harness (its pid and its start time,
// which together never repeat within one boot) plus the boot id names the
// run. The node's working directory (device and inode) is added: eddy gives
// each run fresh directories but may run several runs from one process.
//
// The parent as seen through /proc/self/stat, not getppid(2): in eddy's
// sandbox a node is PID 1 of its own PID namespace and getppid returns 0,
// but /proc is the host's mount, whose view shows the real parent. If /proc
// hides the parent too (a harness that mounts a fresh /proc for its PID
// namespace), ParentPID and ParentStart are 0 and the directory alone names
// the run: correct for a harness that gives each run fresh directories, as
// eddy does; wrong only for a hidden-parent harness that reuses directories
// across runs, which nothing we run does.
type RunID struct {
	BootID      [16]byte // /proc/sys/kernel/random/boot_id
	ParentPID   int64    // the harness's pid (0: not visible)
	ParentStart uint64   // its start time, clock ticks after boot (/proc/<pid>/stat field 22)
	DirDev      uint64   // the working directory's device
	DirIno      uint64   // and inode
}

// Tag is a short name of the run (16 hex digits) used in file names, so that
// concurrent runs sharing one directory (Maelstrom's JVM temp dir) never
// touch each other's files.
func (r RunID) Tag() string {
	h := fnv.New64a()
	var b [56]byte
	copy(b[:16], r.BootID[:])
	binary.LittleEndian.PutUint64(b[16:], uint64(r.ParentPID))
	binary.LittleEndian.PutUint64(b[24:], r.ParentStart)
	binary.LittleEndian.PutUint64(b[32:], r.DirDev)
	binary.LittleEndian.PutUint64(b[40:], r.DirIno)
	_, _ = h.Write(b[:])
	return fmt.Sprintf("%016x", h.Sum64())
}

// String is a one-line description for logs.
func (r RunID) String() string {
	return fmt.Sprintf("boot=%x parent=%d@%d dir=%d:%d", r.BootID[:4], r.ParentPID, r.ParentStart, r.DirDev, r.DirIno)
}

// procFS reads the process facts a RunID is made of; tests point root at a
// fake tree.
type procFS struct{ root string }

// DetectRun returns the RunID of this process's run for working directory
// dir. Only a directory that cannot be read is an error; facts /proc does
// not give are left out of the identity (see detect).
func DetectRun(dir string) (RunID, error) {
	r, _, err := procFS{root: "/proc"}.detect(dir)
	return r, err
}

// detect builds the RunID. A fact that /proc does not give (no /proc, a
// hidepid mount) is left zero and explained in notes rather than failing:
// a node that cannot name its run still runs, with a weaker identity (no
// boot id; the parent from getppid; no parent start time, so a recycled
// pid would look like the same harness).
func (p procFS) detect(dir string) (r RunID, notes []string, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return r, nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return r, nil, fmt.Errorf("storage: run identity: no device and inode for %s", dir)
	}
	r.DirDev, r.DirIno = uint64(sys.Dev), uint64(sys.Ino)

	if r.BootID, err = p.bootID(); err != nil {
		notes = append(notes, err.Error())
	}
	ppid := int64(0)
	if self, err := p.stat("self"); err != nil {
		ppid = int64(os.Getppid())
		notes = append(notes, fmt.Sprintf("storage: run identity: %v; parent %d from getppid", err, ppid))
	} else {
		ppid = self.ppid
	}
	if ppid > 0 {
		r.ParentPID = ppid
		parent, err := p.stat(strconv.FormatInt(ppid, 10))
		if err != nil {
			notes = append(notes, fmt.Sprintf("storage: run identity: parent %d: %v; its start time left out", ppid, err))
		} else {
			r.ParentStart = parent.start
		}
	}
	return r, notes, nil
}

func (p procFS) bootID() ([16]byte, error) {
	var id [16]byte
	b, err := os.ReadFile(filepath.Join(p.root, "sys/kernel/random/boot_id"))
	if err != nil {
		return id, fmt.Errorf("storage: run identity: %w", err)
	}
	h, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(b)), "-", ""))
	if err != nil || len(h) != len(id) {
		return id, fmt.Errorf("storage: run identity: boot id %q", bytes.TrimSpace(b))
	}
	copy(id[:], h)
	return id, nil
}

type procStat struct {
	ppid  int64
	start uint64
}

// stat reads /proc/<pid>/stat: field 4 is the parent pid, field 22 the start
// time. Field 2, the command name, is in parentheses and may itself hold
// spaces and parentheses, so fields are counted after its last ')'.
func (p procFS) stat(pid string) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(p.root, pid, "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

func parseProcStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat %.40q: no command name", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("stat %.40q: %d fields after the name", s, len(f))
	}
	ppid, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || ppid < 0 {
		return procStat{}, fmt.Errorf("stat: parent pid %q", f[1])
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat: start time %q", f[19])
	}
	return procStat{ppid: ppid, start: start}, nil
}

// over reports whether run r has surely ended: another boot, or its harness
// is gone (no such pid, or the pid now belongs to a process started at
// another time). A run whose harness is hidden (ParentPID 0), or whose
// facts could not be read, is never surely over.
func (p procFS) over(r RunID) bool {
	boot, err := p.bootID()
	if err != nil {
		return false
	}
	if r.BootID != ([16]byte{}) && boot != r.BootID {
		return true
	}
	if r.ParentPID == 0 {
		return false
	}
	st, err := p.stat(strconv.FormatInt(r.ParentPID, 10))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && r.ParentStart != 0 && st.start != r.ParentStart
}
