//go:build unix

package edge

import (
	"errors"
	"io"
	"iter"
	"net"
	"os"
	"sync"
	"syscall"
)

// Why connections are wrapped: a keep-alive connection served by net.Conn
// makes three system calls per request — the read that brings the request,
// the write of the answer, and one more read, made as soon as the answer is
// out, that finds nothing (the client has not had the answer yet) before
// the goroutine parks in Go's poller. Go's poller cannot be asked to wait
// without that read: each Read forgets the readiness it has seen. On a
// small answer (a 304, say) that read was a tenth of the CPU; nginx, which
// waits on epoll instead, does not make it.
//
// conn keeps one syscall.RawConn.Read open for the connection's life, on a
// coroutine (iter.Pull), so the readiness it has seen is never forgotten.
// When the last read did not fill the buffer (so it drained the socket)
// and an answer has been written since, the next Read waits for the next
// readiness event rather than reading first, which is what nginx does with
// edge-triggered epoll. Otherwise (a full buffer, or a Read after a Read,
// as when a request comes in pieces) it reads at once, as net.Conn does.
// The one cost: a client that half-closes right after its request, so that
// its FIN is read with the request, is seen to have gone when the idle
// timeout ends rather than at once; it has had its answer.
//
// Writes are the other half. fasthttp sends header and body with one
// writev only to a *net.TCPConn, so to a wrapped connection an answer
// larger than its 4 KiB write buffer would go out as two writes (and two
// TCP segments, the dearer part). conn holds a first write of up to
// holdMax bytes and sends it with the next write in one writev, or alone
// before the next read or on Close: fasthttp follows every answer with one
// or the other.

// holdMax is the largest write held back, fasthttp's default write buffer
// (Server.WriteBufferSize, which the edge leaves alone).
const holdMax = 4096

// edgeTriggered returns ln with its TCP connections wrapped in conn.
func edgeTriggered(ln net.Listener) net.Listener { return connListener{ln} }

type connListener struct{ net.Listener }

func (l connListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &conn{Conn: tc, tcp: tc, rc: rc}, nil
}

type conn struct {
	net.Conn // the *net.TCPConn, for addresses and deadlines only
	tcp      *net.TCPConn
	rc       syscall.RawConn

	// rmu is held by Read for its whole call, so that Close can tell a
	// Read in progress (the reader then waits in the poller, and closing
	// the socket wakes it) from none (the reader is suspended in yield,
	// holding the socket's read lock, and must be stopped before the
	// socket can close).
	rmu    sync.Mutex
	next   func() (int, bool)
	stop   func()
	p      []byte // the buffer of the Read in progress
	wait   bool   // the Read in progress follows a write: wait before reading
	rerr   error  // why the reader ended
	closed bool

	wmu   sync.Mutex
	held  []byte
	wrote bool // since the last Read
	werr  error
	vec   [2][]byte
	bufs  net.Buffers

	eagain int // reads that found nothing, for tests
}

func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	wrote, err := c.flush()
	if err != nil {
		return 0, err
	}
	if c.next == nil {
		if c.closed {
			return 0, net.ErrClosed
		}
		c.rerr = nil
		c.next, c.stop = iter.Pull(c.reader)
	}
	c.p, c.wait = p, wrote
	n, ok := c.next()
	c.p = nil
	if !ok {
		c.next, c.stop = nil, nil
		return 0, c.rerr
	}
	return n, nil
}

// reader yields the length of each read into c.p, all within one RawRead.
// Deadlines bind when it waits (net.Conn checks them as a Read starts):
// bytes already in the socket are read even if the deadline passed while
// the answer was being made.
func (c *conn) reader(yield func(int) bool) {
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), c.p)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				c.eagain++
				return false
			case err != nil:
				c.rerr = c.opError(os.NewSyscallError("read", err))
				return true
			case n == 0:
				c.rerr = io.EOF
				return true
			}
			drained := n < len(c.p)
			if !yield(n) {
				return true
			}
			if drained && c.wait {
				return false
			}
		}
	})
	if err != nil && c.rerr == nil {
		// A deadline, or the socket closed: RawRead names the operation
		// "raw-read"; to its caller it is a read.
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = c.opError(oe.Err)
		}
		c.rerr = err
	}
	if c.rerr == nil {
		c.rerr = net.ErrClosed
	}
}

func (c *conn) opError(err error) error {
	return &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	c.wrote = true
	if len(c.held) == 0 {
		if len(b) <= holdMax {
			c.held = append(c.held[:0], b...)
			return len(b), nil
		}
		return c.tcp.Write(b)
	}
	held := len(c.held)
	c.vec[0], c.vec[1] = c.held, b
	c.bufs = c.vec[:]
	n, err := c.bufs.WriteTo(c.tcp)
	c.bufs, c.vec = nil, [2][]byte{}
	c.held = c.held[:0]
	if err != nil {
		c.werr = err
		return max(0, int(n)-held), err
	}
	return len(b), nil
}

// flush sends what Write held, and reports whether anything was written
// since it was last called.
func (c *conn) flush() (wrote bool, err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	wrote, c.wrote = c.wrote, false
	if c.werr != nil || len(c.held) == 0 {
		return wrote, c.werr
	}
	_, c.werr = c.tcp.Write(c.held)
	c.held = c.held[:0]
	return wrote, c.werr
}

// Close sends what Write held and closes the socket. From the goroutine
// that reads and writes (fasthttp's), between calls, it first stops the
// reader, which holds the socket's read lock; from another goroutine,
// during a Read, closing the socket is what ends the Read.
func (c *conn) Close() error {
	if c.rmu.TryLock() {
		c.flush() // the error is the write's; Close reports its own
		if c.stop != nil {
			c.stop()
			c.next, c.stop = nil, nil
		}
		c.closed = true
		c.rmu.Unlock()
	}
	return c.tcp.Close()
}
