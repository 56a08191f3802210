//go:build unix

package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// connPair is a conn accepted through edgeTriggered and the client end of
// the same TCP connection, on loopback.
func connPair(t *testing.T) (*conn, net.Conn) {
	sc, client := acceptPair(t, &fasthttp.Server{})
	// Nothing here may hang: a Read that waits for an edge that never comes
	// fails the test instead.
	deadline := time.Now().Add(20 * time.Second)
	sc.SetDeadline(deadline)
	client.SetDeadline(deadline)
	return sc, client
}

// acceptPair is connPair with hs's timeouts, and no deadlines set.
func acceptPair(t *testing.T, hs *fasthttp.Server) (*conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := edgeTriggered(ln, hs)
	t.Cleanup(func() { wl.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := wl.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := (<-accepted).(*conn)
	if !ok {
		t.Fatal("edgeTriggered did not wrap a TCP connection")
	}
	t.Cleanup(func() { client.Close(); sc.Close() })
	return sc, client
}

// pingPong makes n request-response exchanges between client and sc, then
// closes client: sc's last Read, which sends the last answer, must end at
// io.EOF.
func pingPong(t *testing.T, sc *conn, client net.Conn, n int) {
	t.Helper()
	served := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for i := range n {
			m, err := sc.Read(buf)
			if err != nil {
				served <- err
				return
			}
			if want := fmt.Sprintf("ping %d\n", i); string(buf[:m]) != want {
				served <- fmt.Errorf("read %q, want %q", buf[:m], want)
				return
			}
			if _, err := fmt.Fprintf(sc, "pong %d\n", i); err != nil {
				served <- err
				return
			}
		}
		if _, err := sc.Read(buf); err != io.EOF {
			served <- fmt.Errorf("last read: %v, want EOF", err)
			return
		}
		served <- nil
	}()
	br := bufio.NewReader(client)
	for i := range n {
		fmt.Fprintf(client, "ping %d\n", i)
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("pong %d\n", i); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
	}
	client.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// After a read that drains the socket, the next Read waits for the poller
// instead of reading: in a request-response exchange, the reads that find
// nothing are the point of conn, and there should be next to none.
func TestConnSkipsTheReadThatFindsNothing(t *testing.T) {
	sc, client := connPair(t)
	const exchanges = 300
	pingPong(t, sc, client, exchanges)
	// net.Conn would have made one such read per exchange. A few come
	// from readiness reported after the data was already read.
	if sc.eagain > exchanges/10 {
		t.Errorf("%d reads found nothing in %d exchanges", sc.eagain, exchanges)
	}
	t.Logf("%d reads found nothing in %d exchanges", sc.eagain, exchanges)
}

// A read that fills the buffer may leave more in the socket, with no
// readiness event to come for it: conn reads again at once, even after a
// write (as with pipelined requests).
func TestConnReadsOnAfterAFullBuffer(t *testing.T) {
	sc, client := connPair(t)
	want := make([]byte, 200_000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	go io.Copy(io.Discard, client)
	if _, err := client.Write(want); err != nil { // and nothing more
		t.Fatal(err)
	}
	got := make([]byte, 0, len(want))
	buf := make([]byte, 1000)
	for len(got) < len(want) {
		n, err := sc.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
		if _, err := sc.Write([]byte{'.'}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from those written")
	}
}

// Small writes are held to go out with the next one; whatever the mix of
// sizes, reads and closes, the peer receives every byte in order, and a
// held write reaches it before conn waits to read.
func TestConnWritesArriveInOrder(t *testing.T) {
	sc, client := connPair(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	var sent bytes.Buffer
	received := make(chan []byte, 1)
	go func() {
		b, err := io.ReadAll(client)
		if err != nil {
			t.Error(err)
		}
		received <- b
	}()
	for i := range 400 {
		size := rnd.IntN(holdMax + 2)
		if rnd.IntN(4) == 0 {
			size = rnd.IntN(40_000)
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(i + j)
		}
		n, err := sc.Write(b)
		if n != len(b) || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", len(b), n, err)
		}
		sent.Write(b)
	}
	if err := sc.Close(); err != nil { // sends what is held
		t.Fatal(err)
	}
	if got := <-received; !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("received %d bytes, sent %d, or in another order", len(got), sent.Len())
	}
}

// Pipelined requests from a client that does not read its answers yet:
// the reader sends each held answer before its read until the socket
// takes no more; Read then sends the rest as a Write would, waiting, and
// every answer reaches the client, whole and in order, once it reads.
func TestConnSendsWhatTheSocketWouldNotTake(t *testing.T) {
	sc, client := connPair(t)
	sc.tcp.SetWriteBuffer(4096) // so that the socket fills after a few answers
	const requests = 2000
	if _, err := client.Write(bytes.Repeat([]byte("?"), requests)); err != nil {
		t.Fatal(err)
	}
	var sent bytes.Buffer
	answer := func(i int) []byte { // 6 to 4,095 bytes: held
		return fmt.Appendf(nil, "%04d%s\n", i, strings.Repeat("a", i*997%holdMax))
	}
	for i := range requests {
		sent.Write(answer(i))
	}
	served := make(chan error, 1)
	go func() {
		buf := make([]byte, 1)
		for i := range requests {
			if _, err := sc.Read(buf); err != nil {
				served <- err
				return
			}
			if _, err := sc.Write(answer(i)); err != nil { // held
				served <- err
				return
			}
		}
		served <- sc.Close() // sends the last
	}()
	waitFor(t, "Read to send what the reader could not", func() bool { return sc.rest.Load() > 0 })
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("received %d bytes, sent %d, or in another order", len(got), sent.Len())
	}
}

func TestConnFlushesBeforeWaitingToRead(t *testing.T) {
	sc, client := connPair(t)
	go func() {
		sc.Write([]byte("answer\n")) // small: held
		buf := make([]byte, 64)
		sc.Read(buf) // must send the answer before it waits
		sc.Write(buf[:1])
		sc.Read(buf)
	}()
	br := bufio.NewReader(client)
	line, err := br.ReadString('\n')
	if err != nil || line != "answer\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	client.Write([]byte("x"))
	if b, err := br.ReadByte(); err != nil || b != 'x' {
		t.Fatalf("got %q, %v", b, err)
	}
}

// Closed by another goroutine during a Read: the Read ends.
func TestConnCloseDuringRead(t *testing.T) {
	sc, _ := connPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // most likely in the Read by now; either way it must end
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read = %v, want net.ErrClosed", err)
	}
}

// Closed between Reads, while the reader holds the socket's read lock:
// Close must not wait for it, and later Reads fail.
func TestConnCloseBetweenReads(t *testing.T) {
	sc, client := connPair(t)
	client.Write([]byte("hello"))
	if n, err := sc.Read(make([]byte, 10)); n != 5 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- sc.Close() }() // another goroutine
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
	if _, err := client.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("the client read %v, want EOF", err)
	}
}

func TestConnEOF(t *testing.T) {
	sc, client := connPair(t)
	client.Write([]byte("last words"))
	client.Close()
	b, err := io.ReadAll(sc) // io.ReadAll stops at io.EOF and only there
	if err != nil || string(b) != "last words" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	if _, err := sc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after EOF = %v, want io.EOF", err)
	}
}

// A read deadline ends a Read as a timeout; moved, reading goes on.
func TestConnReadDeadline(t *testing.T) {
	sc, client := connPair(t)
	sc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := sc.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a timeout", err)
	}
	if !strings.HasPrefix(err.Error(), "read tcp ") {
		t.Errorf("error %q: want it named a read", err)
	}
	sc.SetReadDeadline(time.Time{})
	client.Write([]byte("late"))
	if n, err := sc.Read(make([]byte, 10)); n != 4 || err != nil {
		t.Fatalf("Read after the deadline moved = %d, %v", n, err)
	}
}

func TestConnWriteAfterClose(t *testing.T) {
	sc, _ := connPair(t)
	sc.Close()
	if _, err := sc.Write(make([]byte, holdMax+1)); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// Through the edge: pipelined requests, and keep-alive exchanges of large
// answers and 304s, over one connection each, get every answer whole and in
// order.
func TestEdgeOverEdgeTriggeredConns(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(300, "a", t0))
	te := startEdge(t, st, Config{}, true)
	addr := strings.TrimPrefix(te.url, "http://")
	full := get(t, te.url+"/repos")
	if len(full.body) < 3*holdMax {
		t.Fatalf("/repos is %d bytes: want an answer larger than a held write", len(full.body))
	}
	etag := full.Header.Get("ETag")

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	readAnswer := func() *http.Response {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp
	}

	// 40 requests in one write.
	var pipeline strings.Builder
	for i := range 40 {
		fmt.Fprintf(&pipeline, "GET /repos?limit=%d HTTP/1.1\r\nHost: x\r\n\r\n", i+1)
	}
	if _, err := io.WriteString(c, pipeline.String()); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		resp := readAnswer()
		var answer struct{ Count int }
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != 200 || answer.Count != i+1 {
			t.Fatalf("pipelined answer %d: %d, count %d, %v", i, resp.StatusCode, answer.Count, err)
		}
	}

	// One request at a time, alternating a large answer and a 304.
	for i := range 50 {
		fmt.Fprintf(c, "GET /repos HTTP/1.1\r\nHost: x\r\n\r\n")
		resp := readAnswer()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Equal(body, full.body) {
			t.Fatalf("exchange %d: %d, %d bytes", i, resp.StatusCode, len(body))
		}
		fmt.Fprintf(c, "GET /repos HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag)
		if resp := readAnswer(); resp.StatusCode != 304 {
			t.Fatalf("exchange %d: %d, want 304", i, resp.StatusCode)
		}
	}

	// A request in pieces.
	for _, piece := range []string{"GET /pi", "ng HTTP/1.1\r\nHo", "st: x\r\n", "\r\n"} {
		io.WriteString(c, piece)
		time.Sleep(5 * time.Millisecond)
	}
	if resp := readAnswer(); resp.StatusCode != 200 {
		t.Fatalf("a request in pieces: %d", resp.StatusCode)
	}
}

// A request-response exchange over loopback, through net.Conn and through
// conn: what the read conn saves costs on this machine.
func BenchmarkConnExchange(b *testing.B) {
	for _, wrapped := range []bool{false, true} {
		name := "net.Conn"
		if wrapped {
			name = "edgeTriggered"
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			l := ln
			if wrapped {
				l = edgeTriggered(ln, &fasthttp.Server{})
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				answer := make([]byte, 500) // about a 304's size
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := c.Write(answer); err != nil {
						return
					}
				}
			}()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			request, buf := make([]byte, 200), make([]byte, 4096)
			b.ReportAllocs()
			for b.Loop() {
				client.Write(request)
				for got := 0; got < 500; {
					n, err := client.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
		})
	}
}

// TestContinueSeenAcrossWrites: a 100 Continue is seen at the end of a
// write, whole or split over it and the writes before.
func TestContinueSeenAcrossWrites(t *testing.T) {
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	stream := append(answer[:len(answer):len(answer)], continue100...)
	for cut1 := range len(stream) + 1 {
		for cut2 := cut1; cut2 <= len(stream); cut2++ {
			var tail []byte
			ends := [3]int{cut1, cut2, len(stream)}
			for i, w := range [][]byte{stream[:cut1], stream[cut1:cut2], stream[cut2:]} {
				seen := endsWith(tail, w, continue100)
				// The write that ends the stream, unless empty: an empty
				// write ends nothing.
				if want := ends[i] == len(stream) && len(w) > 0; seen != want {
					t.Fatalf("writes cut at %d and %d: write %d (%q) seen as a 100 Continue: %v", cut1, cut2, i, w, seen)
				}
				tail = keepTail(tail, w)
			}
		}
	}
	if endsWith(nil, continue100[1:], continue100) {
		t.Fatal("a 100 Continue without its first byte seen as one")
	}
}
