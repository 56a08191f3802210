//go:build unix

package edge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// timedPair is acceptPair with the given timeouts. A watchdog closes both
// ends after 20 s, so that a timeout that never comes ends the test with
// net.ErrClosed rather than hanging it, and cannot pass for the timeout.
func timedPair(t *testing.T, read, write, idle time.Duration) (*conn, net.Conn) {
	t.Helper()
	hs := &fasthttp.Server{ReadTimeout: read, WriteTimeout: write, IdleTimeout: idle}
	sc, client := acceptPair(t, hs)
	if hs.ReadTimeout != 0 || hs.WriteTimeout != 0 || hs.IdleTimeout != 0 {
		t.Fatalf("edgeTriggered left fasthttp its timeouts: %v %v %v", hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout)
	}
	watchdog := time.AfterFunc(20*time.Second, func() { sc.Close(); client.Close() })
	t.Cleanup(func() { watchdog.Stop() })
	return sc, client
}

// exchange has the client send a line, and sc read it and write it back
// (a write that sc holds: its next Read sends it).
func exchange(t *testing.T, sc *conn, client net.Conn) {
	t.Helper()
	io.WriteString(client, "ping\n")
	buf := make([]byte, 100)
	n, err := sc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Write(buf[:n]); err != nil {
		t.Fatal(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// The point of conn keeping the timeouts: in steady use a connection's
// deadlines move about once per timeout, not three times per request as
// when fasthttp keeps them.
func TestConnMovesDeadlinesRarely(t *testing.T) {
	sc, client := timedPair(t, 10*time.Second, 10*time.Second, 10*time.Second)
	const exchanges = 300
	pingPong(t, sc, client, exchanges)
	// One read deadline (a write deadline is set only when a write must
	// wait); a few more if this machine stalled while one was kept.
	if moved := sc.moved.Load(); moved > 6 {
		t.Errorf("the socket's deadlines moved %d times in %d exchanges", moved, exchanges)
	} else {
		t.Logf("the socket's deadlines moved %d times in %d exchanges (fasthttp: %d)", moved, exchanges, 3*exchanges)
	}
}

// A keep-alive connection with no next request ends at the idle timeout.
func TestConnIdleTimeout(t *testing.T) {
	const idle = 150 * time.Millisecond
	sc, client := timedPair(t, time.Hour, time.Hour, idle)
	exchange(t, sc, client)
	before := sc.clock.now()
	_, err := sc.Read(make([]byte, 100))
	if !isTimeout(err) {
		t.Fatalf("Read with no request to come = %v, want a timeout", err)
	}
	// Never before it is due: the coarse clock is never ahead, and a
	// deadline ends a wait only once the system clock has passed it.
	if now := systemNow(); now < before+int64(idle) {
		t.Errorf("timed out %v before the idle timeout", time.Duration(before+int64(idle)-now))
	}
}

// The idle wait begins once the answer is out, however long sending it
// took: an answer the reader could not send at once (Read sent the rest,
// waiting for a client slow to read) leaves the client its whole idle
// timeout for the next request.
func TestConnIdleTimeoutAfterASlowAnswer(t *testing.T) {
	const idle = time.Second
	sc, client := timedPair(t, time.Hour, time.Hour, idle)
	sc.tcp.SetWriteBuffer(4096)
	client.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(client, "ping\n")
	if _, err := sc.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	// Fill the socket, then hold an answer that cannot go out until the
	// client reads.
	filled := 0
	if err := sc.rc.Write(func(fd uintptr) bool {
		for {
			v := [2][]byte{make([]byte, 4096)}
			n, errno := writev(fd, &v)
			if errno != 0 {
				return true
			}
			filled += n
		}
	}); err != nil {
		t.Fatal(err)
	}
	answer := bytes.Repeat([]byte("a"), 3000)
	if _, err := sc.Write(answer); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 10))
		read <- err
	}()
	waitFor(t, "Read to send what the reader could not", func() bool { return sc.rest.Load() > 0 })
	time.Sleep(idle + idle/2) // the answer is held up longer than the idle timeout
	if _, err := io.ReadFull(client, make([]byte, filled+len(answer))); err != nil {
		t.Fatal(err)
	}
	client.Write([]byte("?")) // at once
	if err := <-read; err != nil {
		t.Fatalf("Read of the next request = %v: the idle timeout ran while the answer was sent", err)
	}
}

// A request that has begun must be whole within the read timeout: a Read
// after a Read is bound by it, not by the (here far longer) idle timeout.
func TestConnReadTimeoutWithinARequest(t *testing.T) {
	sc, client := timedPair(t, 150*time.Millisecond, time.Hour, time.Hour)
	exchange(t, sc, client)
	io.WriteString(client, "GET /pi") // and no more
	buf := make([]byte, 100)
	if n, err := sc.Read(buf); err != nil || string(buf[:n]) != "GET /pi" {
		t.Fatalf("first piece: %q, %v", buf[:n], err)
	}
	if _, err := sc.Read(buf); !isTimeout(err) {
		t.Fatalf("Read of the rest = %v, want a timeout", err)
	}
}

// A new connection's first request is bound by the read timeout from
// accept, as with fasthttp.
func TestConnReadTimeoutOfTheFirstRequest(t *testing.T) {
	sc, _ := timedPair(t, 150*time.Millisecond, time.Hour, time.Hour)
	if _, err := sc.Read(make([]byte, 100)); !isTimeout(err) {
		t.Fatalf("Read on a silent new connection = %v, want a timeout", err)
	}
}

// Each write has the write timeout from its start: pipelined answers, which
// follow one another with no Read between, get one each, whatever time the
// next one's handler took.
func TestConnWriteTimeoutPerWrite(t *testing.T) {
	sc, client := timedPair(t, time.Hour, time.Second, time.Hour)
	sc.tcp.SetWriteBuffer(64 << 10) // so that the last write waits for the client
	client.(*net.TCPConn).SetReadBuffer(64 << 10)
	go io.Copy(io.Discard, client)
	if _, err := sc.Write([]byte("an answer, held")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1300 * time.Millisecond) // the next answer's handler
	if _, err := sc.Write(make([]byte, 4<<20)); err != nil {
		t.Fatalf("the next answer: %v", err)
	}
}

// A client that stops reading makes the answer's writes time out.
func TestConnWriteTimeout(t *testing.T) {
	sc, _ := timedPair(t, time.Hour, 150*time.Millisecond, time.Hour)
	chunk := make([]byte, 1<<20)
	for i := 0; ; i++ {
		_, err := sc.Write(chunk)
		if err == nil {
			continue
		}
		if !isTimeout(err) {
			t.Fatalf("write %d: %v, want a timeout", i, err)
		}
		break
	}
}

// A deadline the socket has that is earlier than the one due is moved on
// when it fires, and the wait goes on: for a Read waiting for the next
// request, and for a Write.
func TestConnEarlyDeadlineMovesOn(t *testing.T) {
	sc, client := timedPair(t, time.Hour, time.Hour, time.Hour)
	exchange(t, sc, client)

	early := systemNow() + int64(50*time.Millisecond)
	sc.dmu.Lock()
	sc.setSocket(&sc.rd, false, early)
	sc.dmu.Unlock()
	before := sc.moved.Load()
	read := make(chan error, 1)
	go func() {
		buf := make([]byte, 100)
		n, err := sc.Read(buf)
		if err == nil && string(buf[:n]) != "ping 1\n" {
			err = fmt.Errorf("read %q", buf[:n])
		}
		read <- err
	}()
	waitFor(t, "the early read deadline to be moved on", func() bool { return sc.moved.Load() > before })
	fmt.Fprintf(client, "ping 1\n")
	if err := <-read; err != nil {
		t.Fatalf("Read past an early deadline: %v", err)
	}

	sc.dmu.Lock()
	sc.setSocket(&sc.wd, true, systemNow()) // already passed
	sc.dmu.Unlock()
	before = sc.moved.Load()
	go io.Copy(io.Discard, client)
	if _, err := sc.Write(make([]byte, holdMax+1)); err != nil { // not held: sent now
		t.Fatalf("Write past an early deadline: %v", err)
	}
	if sc.moved.Load() == before {
		t.Error("the Write went out without its early deadline moved on")
	}
}

// Through the edge: a keep-alive connection left idle is closed at
// IdleTimeout, and one that keeps asking is served past it.
func TestEdgeIdleTimeout(t *testing.T) {
	st := newStore(t)
	te := startEdge(t, st, Config{IdleTimeout: 2 * time.Second}, false)
	c, err := net.Dial("tcp", strings.TrimPrefix(te.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	ping := func() {
		t.Helper()
		io.WriteString(c, "GET /ping HTTP/1.1\r\nHost: edge\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/ping: %d", resp.StatusCode)
		}
	}
	for range 25 { // 2.5 s in all, past the idle timeout
		ping()
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("an idle connection: read %v, %v; want the edge to close it", n, err)
	}
}

// Close from another goroutine ends a Write blocked on a client that does
// not read, with no deadline to end it otherwise.
func TestConnCloseDuringWrite(t *testing.T) {
	sc, _ := acceptPair(t, &fasthttp.Server{})
	wrote := make(chan error, 1)
	go func() {
		_, err := sc.Write(make([]byte, 64<<20)) // more than loopback buffers hold
		wrote <- err
	}()
	waitFor(t, "the Write to start", func() bool {
		if sc.wmu.TryLock() {
			sc.wmu.Unlock()
			return false
		}
		return true
	})
	closed := make(chan error, 1)
	go func() { closed <- sc.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a Write that could not end")
	}
	if err := <-wrote; err == nil {
		t.Fatal("the Write ended without an error")
	}
}
