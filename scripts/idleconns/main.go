// Command idleconns measures what an idle keep-alive connection costs a
// server: it reads the server's resident memory, opens N connections that
// each make one request and then stay open, reads it again, and prints the
// difference per connection.
//
//	go run ./scripts/idleconns -addr 127.0.0.1:5000 -pid "$(pgrep -f 'freshrepos edge')" -n 5000
//
// The process needs N file descriptors (ulimit -n).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "the server")
	pid := flag.Int("pid", 0, "the server's process id")
	n := flag.Int("n", 5000, "connections")
	path := flag.String("path", "/repos?limit=5", "what each connection asks for once")
	settle := flag.Duration("settle", 2*time.Second, "wait before each reading of memory")
	flag.Parse()
	if *pid == 0 {
		log.Fatal("idleconns: -pid is required")
	}
	time.Sleep(*settle)
	before := rss(*pid)
	conns := make([]net.Conn, 0, *n)
	for range *n {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			log.Fatalf("idleconns: after %d connections: %v", len(conns), err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: idleconns\r\nAccept-Encoding: gzip\r\n\r\n", *path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			log.Fatalf("idleconns: connection %d: %v", len(conns), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		conns = append(conns, c)
	}
	time.Sleep(*settle)
	after := rss(*pid)
	fmt.Printf("%d idle connections: resident %d kB -> %d kB, %d bytes each\n",
		len(conns), before>>10, after>>10, (after-before)/int64(len(conns)))
	for _, c := range conns {
		c.Close()
	}
}

// rss is a process's resident memory in bytes, from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		log.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				log.Fatal(err)
			}
			return kb << 10
		}
	}
	log.Fatal("idleconns: no VmRSS")
	return 0
}
