//go:build !race && !386 && !s390x

package edge

import (
	"syscall"
	"unsafe"
)

// read and writev are system calls on the connection's socket, which is
// non-blocking: they cannot block, so they are made without telling the
// scheduler (entersyscall and exitsyscall were 1.5 % of a 304's CPU).
// They are recvfrom, sendto and sendmsg rather than read, write and
// writev, which go the long way through the file layer to the socket
// (about 2 % of a 304's CPU, the kernel's share, measured side by side);
// MSG_NOSIGNAL spares the SIGPIPE that Go would ignore (the write fails
// with EPIPE either way).
// Under the race detector conn_unix.go's are used instead: package syscall
// tells the detector that a write to a socket happens before the read of
// it, which tests that synchronise through sockets rely on. So they are on
// 386 and s390x, which reached the socket calls only through socketcall
// before Linux 4.3 (Go supports older kernels; its package syscall has no
// SYS_RECVFROM for 386 at all).

func read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
	return int(n), errno
}

// writev writes v[0] then v[1], one of which at least is not empty.
func writev(fd uintptr, v *[2][]byte) (int, syscall.Errno) {
	if len(v[0]) == 0 || len(v[1]) == 0 {
		p := v[0]
		if len(p) == 0 {
			p = v[1]
		}
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
		return int(n), errno
	}
	var iov [2]syscall.Iovec
	iov[0].Base, iov[1].Base = unsafe.SliceData(v[0]), unsafe.SliceData(v[1])
	iov[0].SetLen(len(v[0]))
	iov[1].SetLen(len(v[1]))
	msg := syscall.Msghdr{Iov: &iov[0]}
	msg.Iovlen = 2
	n, _, errno := syscall.RawSyscall(syscall.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), syscall.MSG_NOSIGNAL)
	return int(n), errno
}
