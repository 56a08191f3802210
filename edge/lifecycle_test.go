package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Under concurrent load, swapping snapshots never shows a request a mix
// of two: headers, ETag, snapshot block, repositories and statistics of
// every answer come from one version.
func TestSwapNeverMixesSnapshots(t *testing.T) {
	st := newStore(t)
	type want struct {
		tag string
		n   int
	}
	var mu sync.Mutex
	known := map[string]want{}
	publishV := func(i int) string {
		tag, n := fmt.Sprintf("v%d", i), 20+i%7
		m := publish(t, st, makeSnapshot(n, tag, t0.Add(time.Duration(i)*time.Minute)))
		mu.Lock()
		known[m.Version] = want{tag, n}
		mu.Unlock()
		return m.Version
	}
	publishV(0)
	te := startEdge(t, st, Config{}, true)

	var stop atomic.Bool
	var checked atomic.Int64
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	paths := []string{"/repos", "/repos?language=go", "/repos?sort=stars&limit=7", "/stats", "/stats?license=mit", "/snapshots/latest"}
	for g := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				path := paths[(g+i)%len(paths)]
				ae := []string{"", "gzip", "zstd"}[i%3]
				if err := checkOneSnapshot(te.url+path, ae, func(v string) (string, int, bool) {
					mu.Lock()
					defer mu.Unlock()
					w, ok := known[v]
					return w.tag, w.n, ok
				}); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				checked.Add(1)
			}
		})
	}
	for i := 1; i <= 8; i++ {
		te.waitVersion(t, publishV(i))
		time.Sleep(10 * time.Millisecond) // let requests straddle the swap
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if checked.Load() < 50 {
		t.Errorf("only %d answers checked", checked.Load())
	}
}

// checkOneSnapshot fetches url and checks that everything in the answer
// comes from the version X-Snapshot-Version names.
func checkOneSnapshot(url, ae string, lookup func(version string) (tag string, n int, ok bool)) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	r := reply{resp, raw}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	var body []byte
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		body = gunzip(nopTB{}, r.body)
	case "zstd":
		body = unzstd(nopTB{}, r.body)
	default:
		body = r.body
	}
	v := resp.Header.Get("X-Snapshot-Version")
	tag, n, ok := lookup(v)
	if !ok {
		return fmt.Errorf("%s: unknown version %q", url, v)
	}
	if !strings.HasPrefix(resp.Header.Get("ETag"), `"`+v+"-") {
		return fmt.Errorf("%s: ETag %s with version %s", url, resp.Header.Get("ETag"), v)
	}
	if strings.HasSuffix(url, "/snapshots/latest") {
		var m snapshots.Manifest
		if err := json.Unmarshal(body, &m); err != nil || m.Version != v || m.Repositories != n {
			return fmt.Errorf("%s: manifest %s under version %s (%v)", url, m.Version, v, err)
		}
		return nil
	}
	var a struct {
		Repositories json.RawMessage `json:"repositories"`
		Snapshot     struct {
			Version string `json:"version"`
		} `json:"snapshot"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("%s: %v", url, err)
	}
	if a.Snapshot.Version != v {
		return fmt.Errorf("%s: body from %s under X-Snapshot-Version %s", url, a.Snapshot.Version, v)
	}
	if strings.Contains(url, "/stats") {
		var count int
		if err := json.Unmarshal(a.Repositories, &count); err != nil {
			return err
		}
		if !strings.Contains(url, "?") && count != n {
			return fmt.Errorf("%s: %d repositories in stats of %s, which has %d", url, count, v, n)
		}
		return nil
	}
	var repos []struct {
		FullName string `json:"full_name"`
	}
	if err := json.Unmarshal(a.Repositories, &repos); err != nil {
		return err
	}
	if !strings.Contains(url, "?") && len(repos) != n {
		return fmt.Errorf("%s: %d repositories from %s, which has %d", url, len(repos), v, n)
	}
	for _, r := range repos {
		if !strings.Contains(r.FullName, "/repo-"+tag+"-") {
			return fmt.Errorf("%s: repository %s in an answer from %s (%s)", url, r.FullName, v, tag)
		}
	}
	return nil
}

// nopTB lets the decoding helpers run off the test goroutine; they only
// fail on bytes the edge did not produce.
type nopTB struct{ testing.TB }

func (nopTB) Helper()                   {}
func (nopTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (nopTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func TestCorruptSnapshotKeepsCurrent(t *testing.T) {
	st := newStore(t)
	ma := publish(t, st, makeSnapshot(10, "a", t0))
	te := startEdge(t, st, Config{}, true)

	mb := publish(t, st, makeSnapshot(10, "b", t0.Add(time.Minute)))
	for _, name := range []string{"repos.json", "repos.json.gz", "repos.json.zst"} {
		if err := st.Put(context.Background(), snapshots.VersionKey(mb.Version, name), []byte(`{"garbage":true}`), snapshots.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the corrupt snapshot to be refused", func() bool {
		te.Notify()
		return te.failures("corrupt") >= 1
	})
	get(t, te.url+"/repos").status(t, 200).header(t, "X-Snapshot-Version", ma.Version)
	get(t, te.url+"/readyz").status(t, 200)

	mc := publish(t, st, makeSnapshot(10, "c", t0.Add(2*time.Minute)))
	te.waitVersion(t, mc.Version)
	get(t, te.url+"/repos").status(t, 200).header(t, "X-Snapshot-Version", mc.Version)
}

func TestStoreDownKeepsCurrent(t *testing.T) {
	st := &flakyStore{Store: newStore(t)}
	ma := publish(t, st, makeSnapshot(10, "a", t0))
	te := startEdge(t, st, Config{}, true)

	st.down.Store(true)
	waitFor(t, "a failed poll", func() bool {
		te.Notify()
		return te.failures("store") >= 2
	})
	get(t, te.url+"/repos?language=go", "Accept-Encoding", "gzip").status(t, 200).header(t, "X-Snapshot-Version", ma.Version)
	get(t, te.url+"/readyz").status(t, 200)
	// What needs the store answers 503, and says when to come back.
	r := get(t, te.url+"/repos?snapshot=20200101T000000Z-0123456789ab")
	problemOf(t, r, 503)
	r.header(t, "Retry-After", "5")
	problemOf(t, get(t, te.url+"/snapshots/20200101T000000Z-0123456789ab/repos.json"), 503)

	st.down.Store(false)
	mb := publish(t, st, makeSnapshot(10, "b", t0.Add(time.Minute)))
	te.waitVersion(t, mb.Version)
}

func TestStartRetriesUntilStoreIsUp(t *testing.T) {
	st := &flakyStore{Store: newStore(t)}
	m := publish(t, st, makeSnapshot(10, "a", t0))
	st.down.Store(true)
	te := startEdge(t, st, Config{}, false)
	// Retries happen by themselves, with backoff, without Notify.
	waitFor(t, "retries", func() bool { return te.failures("store") >= 3 })
	problemOf(t, get(t, te.url+"/readyz"), 503)
	get(t, te.url+"/healthz").status(t, 200)

	st.down.Store(false)
	te.waitVersion(t, m.Version)
	get(t, te.url+"/readyz").status(t, 200)
}

func TestEmptyStoreBecomesReady(t *testing.T) {
	st := newStore(t)
	te := startEdge(t, st, Config{}, false)
	waitFor(t, "a poll", func() bool { return te.failures("missing") >= 1 })
	m := publish(t, st, makeSnapshot(3, "a", t0))
	te.waitVersion(t, m.Version)
}

// Shutdown stops accepting connections and lets in-flight requests finish.
func TestGracefulShutdown(t *testing.T) {
	st := &flakyStore{Store: newStore(t)}
	ma := publish(t, st, makeSnapshot(10, "a", t0))
	mb := publish(t, st, makeSnapshot(10, "b", t0.Add(time.Minute)))
	s, err := New(Config{PollInterval: time.Hour, Logger: quietLogger(), ShutdownTimeout: 20 * time.Second}, st)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, nil) }()
	waitFor(t, "the first snapshot", func() bool { return s.servingVersion() == mb.Version })

	// A request for an older version waits on the store.
	release := make(chan struct{})
	st.block.Store(&release)
	before := st.gets.Load()
	inFlight := make(chan reply, 1)
	go func() { inFlight <- get(nopTB{}, url+"/repos?snapshot="+ma.Version) }()
	waitFor(t, "the request to reach the store", func() bool { return st.gets.Load() > before })

	cancel()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(release)
	r := <-inFlight
	r.status(t, 200).header(t, "X-Snapshot-Version", ma.Version)
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServeTwiceFails(t *testing.T) {
	st := newStore(t)
	te := startEdge(t, st, Config{}, false)
	get(t, te.url+"/healthz").status(t, 200) // the first Serve is running
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Serve(context.Background(), ln, nil); err == nil {
		t.Fatal("second Serve succeeded")
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the listener of the refused Serve is open")
	}
}

func TestRunListensOnConfiguredAddresses(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(3, "a", t0))
	// Find two free ports, then let Run listen on them.
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	s, err := New(Config{Addr: addrs[0], MetricsAddr: addrs[1], Logger: quietLogger()}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "ready", func() bool {
		resp, err := client.Get("http://" + addrs[0] + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if r := get(t, "http://"+addrs[1]+"/metrics").status(t, 200); !containsAll(string(r.body), "go_goroutines ", "process_cpu_seconds_total ", "edge_requests_total") {
		t.Errorf("/metrics of the default registry: %.300s", r.body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Addr: ":5000", MetricsAddr: ":5000"}, st); err == nil {
		t.Error("metrics on the public address accepted")
	}
}
