//go:build !race

package edge

import (
	"syscall"
	"unsafe"
)

// read and writev are system calls on the connection's socket, which is
// non-blocking: they cannot block, so they are made without telling the
// scheduler (entersyscall and exitsyscall were 1.5 % of a 304's CPU).
// Under the race detector, conn_unix.go's are used instead: package
// syscall tells the detector that a write to a socket happens before the
// read of it, which tests that synchronise through sockets rely on.

func read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), errno
}

// writev writes v[0] then v[1], one of which at least is not empty.
func writev(fd uintptr, v *[2][]byte) (int, syscall.Errno) {
	if len(v[0]) == 0 || len(v[1]) == 0 {
		p := v[0]
		if len(p) == 0 {
			p = v[1]
		}
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		return int(n), errno
	}
	var iov [2]syscall.Iovec
	iov[0].Base, iov[1].Base = unsafe.SliceData(v[0]), unsafe.SliceData(v[1])
	iov[0].SetLen(len(v[0]))
	iov[1].SetLen(len(v[1]))
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), 2)
	return int(n), errno
}
