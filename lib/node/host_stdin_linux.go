package node

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// fionread is Linux's FIONREAD ioctl (asm-generic/ioctls.h): the bytes
// readable from a pipe, socket, tty or file without blocking.
const fionread = 0x541B

// unread returns the bytes waiting to be read from r when r is a file the
// kernel can tell that of (stdin: a pipe under Maelstrom and eddy), else 0.
func unread(r io.Reader) int {
	f, ok := r.(*os.File)
	if !ok {
		return 0
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var k int32
	var errno syscall.Errno
	if err := sc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&k)))
	}); err != nil || errno != 0 {
		return 0
	}
	return int(k)
}
