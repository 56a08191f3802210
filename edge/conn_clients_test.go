//go:build unix

package edge

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Many clients at once, each behaving differently (one request at a time,
// pipelining, closing mid-request, half-closing, reading slowly, sending a
// request in pieces): every complete request gets its answer, nothing
// hangs, and the edge still answers afterwards.
func TestConnsUnderMixedClients(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(200, "a", t0))
	te := startEdge(t, st, Config{}, true)
	addr := strings.TrimPrefix(te.url, "http://")
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for client := range 40 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(client), 7))
			for range 15 {
				if err := mixedClient(addr, rnd, deadline); err != nil {
					t.Errorf("client %d: %v", client, err)
					return
				}
			}
		})
	}
	wg.Wait()
	get(t, te.url+"/ping").status(t, 200)
}

func mixedClient(addr string, rnd *rand.Rand, deadline time.Time) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	br := bufio.NewReader(c)
	request := func(i int) string {
		return fmt.Sprintf("GET /repos?limit=%d HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", 1+i%150)
	}
	answer := func() error {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		if rnd.IntN(4) == 0 { // a slow reader
			time.Sleep(time.Millisecond)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	switch rnd.IntN(5) {
	case 0: // one request at a time
		for i := range 1 + rnd.IntN(20) {
			io.WriteString(c, request(i))
			if err := answer(); err != nil {
				return fmt.Errorf("sequential %d: %w", i, err)
			}
		}
	case 1: // pipelined
		n := 1 + rnd.IntN(20)
		var b strings.Builder
		for i := range n {
			b.WriteString(request(i))
		}
		io.WriteString(c, b.String())
		for i := range n {
			if err := answer(); err != nil {
				return fmt.Errorf("pipelined %d of %d: %w", i, n, err)
			}
		}
	case 2: // gone mid-request
		r := request(rnd.IntN(100))
		io.WriteString(c, r[:rnd.IntN(len(r))])
	case 3: // half-closed after a complete request: it still gets its answer
		io.WriteString(c, request(rnd.IntN(100)))
		c.(*net.TCPConn).CloseWrite()
		if err := answer(); err != nil {
			return fmt.Errorf("half-closed: %w", err)
		}
	case 4: // in pieces
		r := request(rnd.IntN(100))
		for len(r) > 0 {
			k := min(len(r), 1+rnd.IntN(20))
			io.WriteString(c, r[:k])
			r = r[k:]
			time.Sleep(100 * time.Microsecond)
		}
		if err := answer(); err != nil {
			return fmt.Errorf("in pieces: %w", err)
		}
	}
	return nil
}
