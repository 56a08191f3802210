//go:build unix

package edge

import (
	"bytes"
	"errors"
	"io"
	"iter"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
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
// larger than its write buffer (writeBufferSize, 512 bytes: a header is
// written on its own, then the body) would go out as two writes (and two
// TCP segments, the dearer part). conn holds a first write of up to
// holdMax bytes and sends it with the next write in one writev, or alone
// before the next read or on Close: fasthttp follows every answer with one
// or the other. Before the next read, the reader sends it from within its
// RawConn.Read, which spares the RawConn.Write (its locks and its reset of
// the poller) that would otherwise be made per request; only when the
// socket will not take it all at once does Read send the rest as Write
// does. This relies on fasthttp's use of a connection: Read and Write are
// never called at once (Close may be, from any goroutine).
//
// Deadlines are the third. fasthttp, keeping ReadTimeout, WriteTimeout and
// IdleTimeout itself, moves the socket's deadlines three times a request,
// and each move reads the clock twice and reschedules a runtime timer: on
// this kind of VM, whose clock is paravirtual, clock reads and timers were
// about 5 % of a 304's CPU in a profile.
// conn keeps those timeouts instead. Per request it reads a coarse clock
// (an atomic load) to say when the wait or the answer must end, and moves
// the socket's deadline only when it is about to wait and the deadline set
// is later than the one due. A deadline set earlier than due is left to
// fire: the wait then ends early, the system clock says so, the deadline is
// set again to the one due, and the wait goes on. A keep-alive connection
// in steady use so moves its deadlines about once per timeout rather than
// three times per request.

// continue100 is the interim answer fasthttp writes, alone, to a request
// that expects it before sending its body.
var continue100 = []byte(continueLine)

const continueLine = "HTTP/1.1 100 Continue\r\n\r\n"

// endsWith reports whether tail and then b end with s, tail being shorter
// than s.
func endsWith(tail, b, s []byte) bool {
	if len(b) >= len(s) {
		return bytes.HasSuffix(b, s)
	}
	cut := len(s) - len(b)
	return bytes.HasSuffix(b, s[cut:]) && bytes.HasSuffix(tail, s[:cut])
}

// keepTail returns the last len(continue100)-1 bytes of tail and then b,
// in tail's array.
func keepTail(tail, b []byte) []byte {
	const n = len(continueLine) - 1
	if len(b) >= n {
		return append(tail[:0], b[len(b)-n:]...)
	}
	if drop := len(tail) + len(b) - n; drop > 0 {
		tail = append(tail[:0], tail[drop:]...)
	}
	return append(tail, b...)
}

// holdMax is the largest write held back: fasthttp's default write
// buffer, and more than an answer's header, which is written on its own
// as it does not fit in the edge's (writeBufferSize).
const holdMax = 4096

// edgeTriggered returns ln with its TCP connections wrapped in conn, which
// takes over hs's timeouts: they are zeroed in hs. A listener of anything
// but TCP is returned as it is, and hs left alone. What the edge does not
// use is not kept as fasthttp would: a hijacked connection keeps conn's
// timeouts, a handler's own deadlines can only shorten them, and a
// HeaderReceived hook's ReadTimeout stays for the connection's life.
func edgeTriggered(ln net.Listener, hs *fasthttp.Server) net.Listener {
	if _, ok := ln.(*net.TCPListener); !ok {
		return ln
	}
	t := timeouts{read: hs.ReadTimeout, write: hs.WriteTimeout, idle: hs.IdleTimeout}
	if t.idle <= 0 {
		t.idle = t.read // as fasthttp does
	}
	hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout = 0, 0, 0
	return &connListener{Listener: ln, t: t, clock: startClock(t.tick())}
}

// timeouts are fasthttp's, kept by conn; zero is none.
type timeouts struct {
	read  time.Duration // a request, from its first byte (a new connection's, from accept)
	write time.Duration // each write, from its start (fasthttp: each answer, which goes out in one or two)
	idle  time.Duration // from an answer to the next request's first byte
}

// tick is how often the coarse clock moves: a sixteenth of the shortest
// timeout, so that each is kept to within about 6 %, but at least 4 times
// a second (the defaults are 10 s and longer) and at most 1000.
func (t timeouts) tick() time.Duration {
	shortest := time.Duration(math.MaxInt64)
	for _, d := range []time.Duration{t.read, t.write, t.idle} {
		if d > 0 {
			shortest = min(shortest, d)
		}
	}
	return min(max(shortest/16, time.Millisecond), 250*time.Millisecond)
}

type connListener struct {
	net.Listener
	t     timeouts
	clock *coarseClock
}

func (l *connListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := c.(*net.TCPConn)
		rc, err := tc.SyscallConn()
		if err != nil {
			// It could not be served within the timeouts: next.
			c.Close()
			continue
		}
		return l.wrap(tc, rc), nil
	}
}

func (l *connListener) wrap(tc *net.TCPConn, rc syscall.RawConn) *conn {
	cn := &conn{Conn: tc, tcp: tc, rc: rc, t: l.t, clock: l.clock}
	cn.reqStart.Store(l.clock.now())
	cn.wsome = cn.writeSome
	return cn
}

// Close closes the listener and stops its clock; conn falls back on the
// system clock for connections still open.
func (l *connListener) Close() error {
	l.clock.stop()
	return l.Listener.Close()
}

// coarseClock is the time as of its last tick, in nanoseconds since
// clockBase.
type coarseClock struct {
	ns   atomic.Int64 // 0 once stopped
	done chan struct{}
	once sync.Once
}

func startClock(tick time.Duration) *coarseClock {
	c := &coarseClock{done: make(chan struct{})}
	c.ns.Store(systemNow())
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				c.ns.Store(int64(now.Sub(clockBase)))
			case <-c.done:
				c.ns.Store(0)
				return
			}
		}
	}()
	return c
}

func (c *coarseClock) now() int64 {
	if ns := c.ns.Load(); ns != 0 {
		return ns
	}
	return systemNow() // out of line, so that now is inlined
}

// Times are kept as nanoseconds since clockBase, by Go's monotonic clock,
// so that a step of the wall clock moves no deadline.
var clockBase = time.Now()

func systemNow() int64 { return int64(time.Since(clockBase)) }

// clockTime is the time ns since clockBase; 0 is the zero time.
func clockTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return clockBase.Add(time.Duration(ns))
}

// sinceBase is t in nanoseconds since clockBase, 0 for the zero time (no
// deadline), at least 1 otherwise. time.Until measures t as net.Conn
// would: by the monotonic clock if t has a reading of it, else by the wall
// clock now.
func sinceBase(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	now, until := systemNow(), int64(time.Until(t)) // Until saturates
	if until > math.MaxInt64-now {
		return math.MaxInt64
	}
	return max(1, now+until)
}

func (c *coarseClock) stop() { c.once.Do(func() { close(c.done) }) }

type conn struct {
	net.Conn // the *net.TCPConn, for its addresses
	tcp      *net.TCPConn
	rc       syscall.RawConn
	t        timeouts
	clock    *coarseClock

	rd, wd   deadline
	dmu      sync.Mutex   // held while the socket's deadlines move
	reqStart atomic.Int64 // when the request being read began

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
	held  []byte // a first write: sent with the next, by the reader (and sendOut) before a read, or on Close
	wrote bool   // since the last Read
	tail  []byte // the end of what was written, as long as continue100 but a byte
	werr  error
	vec   [2][]byte          // what send has left to write
	sent  int                // what it has written
	wfail error              // why it could not
	wsome func(uintptr) bool // c.writeSome, made once

	eagain int          // reads that found nothing, for tests
	moved  atomic.Int32 // deadlines given the socket, for tests
	rest   atomic.Int32 // sends the reader left to Read, for tests
}

func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	wrote, err := c.answered()
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
	due := int64(0)
	switch {
	case wrote:
		due = c.due(c.t.idle)
	case c.t.read > 0:
		due = c.reqStart.Load() + int64(c.t.read)
	}
	c.rd.due.Store(due)
	for {
		n, ok := c.next()
		switch {
		case !ok:
			c.p = nil
			c.next, c.stop = nil, nil
			return 0, c.rerr
		case n == sendRest:
			// The reader could not send all that was held without waiting.
			c.rest.Add(1)
			if err := c.sendOut(); err != nil {
				c.p = nil
				return 0, err
			}
			if wrote { // the idle wait begins once the answer is out
				c.rd.due.Store(c.due(c.t.idle))
			}
			continue
		}
		c.p = nil
		return n, nil
	}
}

// sendRest is what the reader yields when the socket would not take all
// that was held: Read sends the rest, waiting as a Write does, and resumes
// it.
const sendRest = -1

// answered reports whether anything was written since the last Read, and
// the error of the last write.
func (c *conn) answered() (bool, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	wrote := c.wrote
	c.wrote = false
	return wrote, c.werr
}

// sendNow, on the reader, writes what Write held, as much as the socket
// takes without waiting, and reports whether that was all of it; what is
// left is in c.vec[0], for sendOut. wmu is not held: Write is not called
// during a Read.
func (c *conn) sendNow(fd uintptr) bool {
	c.vec, c.sent, c.wfail = [2][]byte{c.held}, 0, nil
	if !c.writeSome(fd) || c.wfail != nil {
		return false
	}
	c.vec, c.held = [2][]byte{}, c.held[:0]
	return true
}

// sendOut sends what sendNow could not, under the write deadline.
func (c *conn) sendOut() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr = c.wfail; c.werr == nil {
		_, c.werr = c.send(c.vec[0], nil)
	}
	c.vec, c.held = [2][]byte{}, c.held[:0]
	return c.werr
}

// due returns the deadline d from now, by the coarse clock; 0 if d is.
func (c *conn) due(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return c.clock.now() + int64(d)
}

// reader yields the length of each read into c.p, all within one RawRead
// but when a deadline set earlier than due ends a wait: another RawRead
// then goes on. Before each read or wait it sends what Write held; if the
// socket will not take it all, it yields sendRest and Read sends the
// rest. Deadlines bind when it waits (net.Conn checks them as a Read
// starts): bytes already in the socket are read even if the deadline
// passed while the answer was being made.
func (c *conn) reader(yield func(int) bool) {
	onReady := func(fd uintptr) bool {
		wait := false // a fresh call reads at once
		for {
			if len(c.held) > 0 && !c.sendNow(fd) && !yield(sendRest) {
				return true
			}
			if wait {
				c.arm(&c.rd, false)
				return false
			}
			n, err := read(fd, c.p)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				c.eagain++
				c.arm(&c.rd, false)
				return false
			case err != 0:
				c.rerr = c.opError("read", os.NewSyscallError("read", err))
				return true
			case n == 0:
				c.rerr = io.EOF
				return true
			}
			if c.wait {
				c.reqStart.Store(c.clock.now())
			}
			drained := n < len(c.p)
			if !yield(n) {
				return true
			}
			// Resumed by the next Read, which set c.p and c.wait.
			wait = drained && c.wait
		}
	}
	var err error
	for {
		err = c.rc.Read(onReady)
		if c.rerr != nil || !c.early(err, &c.rd, false) {
			break
		}
	}
	if err != nil && c.rerr == nil {
		c.rerr = c.rawError("read", err)
	}
	if c.rerr == nil {
		c.rerr = net.ErrClosed
	}
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// rawError names op an error of RawConn's (a deadline, or the socket
// closed), which it names "raw-read" or "raw-write": to conn's caller it
// is a read or a write.
func (c *conn) rawError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return c.opError(op, oe.Err)
	}
	return err
}

func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	// fasthttp's 100 Continue is not an answer: the request goes on from
	// here, and its body is read within its read timeout, not waited for
	// as the next request. It is written alone or after answers to
	// pipelined requests, which fill fasthttp's small write buffer, so it
	// may also end a write of its own or be split over two: the tail of
	// what was written before tells.
	if endsWith(c.tail, b, continue100) {
		c.reqStart.Store(c.clock.now())
		c.wrote = false
	} else {
		c.wrote = true
	}
	c.tail = keepTail(c.tail, b)
	c.wd.due.Store(c.due(c.t.write))
	if len(c.held) == 0 && len(b) <= holdMax {
		c.held = append(c.held[:0], b...)
		return len(b), nil
	}
	held := len(c.held)
	n, err := c.send(c.held, b)
	c.held = c.held[:0]
	if err != nil {
		c.werr = err
		return max(0, n-held), err
	}
	return len(b), nil
}

// flushHeld sends what Write held; wmu is held.
func (c *conn) flushHeld() error {
	if c.werr != nil || len(c.held) == 0 {
		return c.werr
	}
	_, c.werr = c.send(c.held, nil)
	c.held = c.held[:0]
	return c.werr
}

// send writes a then b, under the write deadline; wmu is held.
func (c *conn) send(a, b []byte) (int, error) {
	c.vec, c.sent, c.wfail = [2][]byte{a, b}, 0, nil
	for {
		err := c.rc.Write(c.wsome)
		if err == nil {
			err = c.wfail
		} else if c.early(err, &c.wd, true) {
			continue
		} else {
			err = c.rawError("write", err)
		}
		c.vec = [2][]byte{}
		return c.sent, err
	}
}

// writeSome is send's RawConn.Write callback: it writes c.vec, and waits
// (returns false) when the socket will take no more.
func (c *conn) writeSome(fd uintptr) bool {
	for len(c.vec[0])+len(c.vec[1]) > 0 {
		m, errno := writev(fd, &c.vec)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			c.arm(&c.wd, true)
			return false
		case errno != 0:
			c.wfail = c.opError("write", os.NewSyscallError("write", errno))
			return true
		case m <= 0:
			c.wfail = c.opError("write", io.ErrShortWrite)
			return true
		}
		c.sent += m
		k := min(m, len(c.vec[0]))
		c.vec[0], c.vec[1] = c.vec[0][k:], c.vec[1][m-k:]
	}
	return true
}

// deadline is one direction's deadlines, in nanoseconds since clockBase, 0
// for none:
// the one set through SetDeadline and its kin, the one due by the
// timeouts, and the one the socket has.
type deadline struct{ set, due, armed atomic.Int64 }

// wanted is the earlier of set and due.
func (d *deadline) wanted() int64 {
	s, u := d.set.Load(), d.due.Load()
	if s == 0 || (u != 0 && u < s) {
		return u
	}
	return s
}

// arm, before a wait, moves the socket's deadline to the one wanted if it
// has none or a later one. One earlier is left to fire (see early).
func (c *conn) arm(d *deadline, write bool) {
	if w := d.wanted(); w != 0 {
		if a := d.armed.Load(); a == 0 || a > w {
			c.rearm(d, write)
		}
	}
}

func (c *conn) rearm(d *deadline, write bool) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.setSocket(d, write, d.wanted())
}

// early reports whether err is a deadline the socket had that came before
// the one wanted; if so the socket now has the one wanted, and the caller
// goes on.
func (c *conn) early(err error, d *deadline, write bool) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	w := d.wanted()
	if w != 0 && systemNow() >= w {
		return false
	}
	c.setSocket(d, write, w)
	return true
}

// setSocket gives the socket deadline ns; dmu is held.
func (c *conn) setSocket(d *deadline, write bool, ns int64) error {
	c.moved.Add(1)
	d.armed.Store(ns)
	if write {
		return c.tcp.SetWriteDeadline(clockTime(ns))
	}
	return c.tcp.SetReadDeadline(clockTime(ns))
}

func (c *conn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *conn) SetReadDeadline(t time.Time) error  { return c.setDeadline(&c.rd, false, t) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.setDeadline(&c.wd, true, t) }

func (c *conn) setDeadline(d *deadline, write bool, t time.Time) error {
	d.set.Store(sinceBase(t))
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return c.setSocket(d, write, d.wanted())
}

// Close sends what Write held and closes the socket. From the goroutine
// that reads and writes (fasthttp's), between calls, it first stops the
// reader, which holds the socket's read lock; from another goroutine,
// during a Read or a Write, closing the socket is what ends it.
func (c *conn) Close() error {
	if c.rmu.TryLock() {
		if c.wmu.TryLock() {
			c.flushHeld() // the error is the write's; Close reports its own
			c.wmu.Unlock()
		}
		if c.stop != nil {
			c.stop()
			c.next, c.stop = nil, nil
		}
		c.closed = true
		c.rmu.Unlock()
	}
	return c.tcp.Close()
}
