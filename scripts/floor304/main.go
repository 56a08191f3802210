// Command floor304 is scenario 5's floor in make loadtest: fasthttp, with
// the edge's header options (no default Server or Content-Type, names kept
// as sent), answering a conditional request with the edge's own 304 copied
// from a prebuilt header, and doing nothing else (no routing, negotiation,
// metrics, timeouts, or connection wrapper). What it costs beyond nginx is
// fasthttp's and Go's; what the edge costs beyond it is the edge's own work.
//
//	floor304 -addr 127.0.0.1:5001 -headers 304.txt
//
// The headers file is a 304 as curl -D writes it: a status line, then
// header lines. All but Date (which fasthttp writes) are sent as they are,
// in their order and spelling, and the ETag line is the one tag answered
// 304; other requests get a 412.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"log"
	"net"
	"os"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5001", "address to listen on")
	headers := flag.String("headers", "", "the 304 to send, as curl -D writes it")
	flag.Parse()
	tmpl, etag, err := readHeaders(*headers)
	if err != nil {
		log.Fatalf("floor304: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("floor304: %v", err)
	}
	inm := []byte("If-None-Match")
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if bytes.Equal(ctx.Request.Header.PeekBytes(inm), etag) {
				tmpl.CopyTo(&ctx.Response.Header)
				return
			}
			ctx.SetStatusCode(fasthttp.StatusPreconditionFailed)
		},
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
	}
	log.Fatal(s.Serve(ln))
}

// readHeaders returns the 304 in file as a header to copy, and its ETag.
func readHeaders(file string) (*fasthttp.ResponseHeader, []byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	h := new(fasthttp.ResponseHeader)
	h.SetNoDefaultContentType(true)
	h.DisableNormalizing()
	h.SetStatusCode(fasthttp.StatusNotModified)
	var etag []byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || !bytes.Contains(sc.Bytes(), []byte(" 304 ")) {
		return nil, nil, errors.New(file + ": not a 304")
	}
	for sc.Scan() {
		name, value, ok := bytes.Cut(bytes.TrimRight(sc.Bytes(), "\r"), []byte(": "))
		if !ok || bytes.EqualFold(name, []byte("Date")) {
			continue
		}
		if bytes.EqualFold(name, []byte("ETag")) {
			etag = bytes.Clone(value)
		}
		h.AddBytesKV(name, value)
	}
	if etag == nil {
		return nil, nil, errors.New(file + ": no ETag")
	}
	return h, etag, nil
}
