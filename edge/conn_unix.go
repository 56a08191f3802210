//go:build unix && (!linux || race || 386 || s390x)

package edge

import (
	"errors"
	"syscall"
)

// read and writev are system calls on the connection's socket (see
// conn_linux.go); here, through package syscall, and writev writes one
// slice at a time: on Unix systems other than Linux, and under the race
// detector.

func read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errno(err)
}

func writev(fd uintptr, v *[2][]byte) (int, syscall.Errno) {
	p := v[0]
	if len(p) == 0 {
		p = v[1]
	}
	n, err := syscall.Write(int(fd), p)
	return n, errno(err)
}

func errno(err error) syscall.Errno {
	var e syscall.Errno
	if err != nil && !errors.As(err, &e) {
		e = syscall.EIO
	}
	return e
}
