// Command healthcheck is the container health probe of the freshrepos image,
// which has no shell and no curl: it asks each URL given with GET and exits 0
// when every one answers 2xx within the time limit, 1 otherwise.
//
//	healthcheck [-timeout 2s] URL...
//
// Compose runs it as ["CMD", "/usr/local/bin/healthcheck",
// "http://127.0.0.1:5000/readyz"]; Kubernetes probes with httpGet instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "time limit for all the URLs together")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: healthcheck [-timeout 2s] URL...")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	for _, url := range fs.Args() {
		if err := check(ctx, url); err != nil {
			fmt.Fprintf(stderr, "healthcheck: %s: %v\n", url, err)
			return 1
		}
	}
	return 0
}

func check(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
