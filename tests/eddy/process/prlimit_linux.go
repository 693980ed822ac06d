package process

import (
	"syscall"
	"unsafe"
)

// rlimitNproc is RLIMIT_NPROC, which the syscall package does not name.
const rlimitNproc = 6

// setRlimit sets resource res (soft and hard) of process pid to v with the
// prlimit64 system call, which the syscall package does not wrap for other
// processes. Lowering a limit needs no privilege.
func setRlimit(pid, res int, v int64) error {
	lim := syscall.Rlimit{Cur: uint64(v), Max: uint64(v)}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64,
		uintptr(pid), uintptr(res), uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
