package process

import (
	"syscall"
	"unsafe"
)

// setMemoryLimit sets RLIMIT_AS (soft and hard) of process pid with the
// prlimit64 system call, which the syscall package does not wrap for other
// processes. Lowering a limit needs no privilege.
func setMemoryLimit(pid int, bytes int64) error {
	lim := syscall.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64,
		uintptr(pid), uintptr(syscall.RLIMIT_AS), uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
