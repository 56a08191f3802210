package edge

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
)

func str(s string) *string { return &s }

var t0 = time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)

// makeSnapshot builds n repositories whose names carry tag, so that a
// response shows which snapshot it came from.
func makeSnapshot(n int, tag string, at time.Time) *snapshots.Snapshot {
	s := &snapshots.Snapshot{GeneratedAt: at, Source: snapshots.Source{API: "https://api.github.com/", Strategy: "search"}}
	langs := []string{"Go", "JavaScript", "Rust", "Python", "C++"}
	for i := range n {
		lang := langs[i%len(langs)]
		r := snapshots.Repository{
			ID: int64(1000 + i), FullName: fmt.Sprintf("owner%d/repo-%s-%d", i%7, tag, i), Owner: fmt.Sprintf("owner%d", i%7),
			Repository: fmt.Sprintf("repo-%s-%d", tag, i), Description: str("a <b>bold</b> ünïcode ☃ description & more"),
			HTMLURL:   fmt.Sprintf("https://github.com/owner%d/repo-%s-%d", i%7, tag, i),
			CreatedAt: at.Add(-time.Duration(i) * time.Minute), UpdatedAt: at, PushedAt: at.Add(-time.Duration(i%11) * time.Second),
			Language: str(lang), LanguagesStatus: snapshots.LanguagesOK,
			Languages: map[string]snapshots.Language{
				snapshots.LanguageKey(lang): {Name: lang, Bytes: int64(1000 * (i + 1))},
				"shell":                     {Name: "Shell", Bytes: 7},
			},
			License:    &snapshots.License{Key: "mit", SPDXID: "MIT", Name: "MIT License"},
			Visibility: "public", AllowForking: i%2 == 0, HasIssues: true, OpenIssuesCount: i % 3, DefaultBranch: "main",
			StargazersCount: i * 3, ForksCount: i % 4, Size: 10 * i,
		}
		switch i % 5 {
		case 1:
			r.Languages, r.LanguagesStatus, r.Language, r.License = nil, snapshots.LanguagesPending, nil, nil
		case 2:
			r.License = &snapshots.License{Key: "apache-2.0", SPDXID: "Apache-2.0", Name: "Apache License 2.0"}
		case 3:
			r.Topics = []string{"go", "cli"}
		}
		s.Repositories = append(s.Repositories, r)
	}
	return s
}

func newStore(t testing.TB) *dirstore.Store {
	t.Helper()
	st, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func publish(t testing.TB, st snapshots.Store, snap *snapshots.Snapshot) snapshots.Manifest {
	t.Helper()
	m, ok, err := snapshots.Publish(context.Background(), st, snap)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("snapshot %s not published: same content as the latest", m.Version)
	}
	return m
}

// flakyStore is a Store that fails while down is set, and can hold Get
// calls until released, to stand in for a store that goes away or is
// slow.
type flakyStore struct {
	snapshots.Store
	down  atomic.Bool
	gets  atomic.Int64
	block atomic.Pointer[chan struct{}]
}

var errStoreDown = errors.New("test: store is down")

func (f *flakyStore) Get(ctx context.Context, key, ifNoneMatch string) (*snapshots.Object, error) {
	f.gets.Add(1)
	if ch := f.block.Load(); ch != nil {
		select {
		case <-*ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.Store.Get(ctx, key, ifNoneMatch)
}

func (f *flakyStore) List(ctx context.Context, prefix string) ([]snapshots.ObjectInfo, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.Store.List(ctx, prefix)
}

// testEdge is a Server serving on real loopback listeners.
type testEdge struct {
	*Server
	url, metricsURL string
	reg             *prometheus.Registry
	cancel          context.CancelFunc
	done            chan error
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startEdge serves st with cfg on 127.0.0.1:0 and stops when the test
// ends. With wait, it returns once the first snapshot is served.
func startEdge(t testing.TB, st snapshots.Store, cfg Config, wait bool) *testEdge {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Hour // tests poll with Notify
	}
	s, err := New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	te := &testEdge{Server: s, url: "http://" + ln.Addr().String(), metricsURL: "http://" + mln.Addr().String(),
		reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { te.done <- s.Serve(ctx, ln, mln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-te.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	if wait {
		waitFor(t, "the first snapshot", func() bool { return s.current.Load() != nil })
	}
	return te
}

// waitFor polls cond; the deadline only keeps a broken test from hanging.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitVersion notifies the edge and waits until it serves version.
func (te *testEdge) waitVersion(t testing.TB, version string) {
	t.Helper()
	waitFor(t, "version "+version, func() bool {
		te.Notify()
		return te.servingVersion() == version
	})
}

func (te *testEdge) failures(reason string) float64 {
	return counterValue(te.metrics.loadFailures.WithLabelValues(reason))
}

// client does not decompress, so that tests see Content-Encoding and the
// bytes as sent.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

type reply struct {
	*http.Response
	body []byte
}

func do(t testing.TB, method, url string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp, body}
}

func get(t testing.TB, url string, header ...string) reply {
	return do(t, http.MethodGet, url, header...)
}

// getStatus asks for url in the background, for tests that hold the
// answer up: its status line, or the error, arrives on the channel.
func getStatus(url string) <-chan string {
	done := make(chan string, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			done <- err.Error()
			return
		}
		resp.Body.Close()
		done <- resp.Status
	}()
	return done
}

// decoded is the body with its Content-Encoding undone.
func (r reply) decoded(t testing.TB) []byte {
	t.Helper()
	switch ce := r.Header.Get("Content-Encoding"); ce {
	case "":
		return r.body
	case "gzip":
		return gunzip(t, r.body)
	case "zstd":
		return unzstd(t, r.body)
	default:
		t.Fatalf("unexpected Content-Encoding %q", ce)
		return nil
	}
}

// gunzip decodes b with compress/gzip, which checks the CRC and the
// length, and fails the test unless b is exactly one gzip member.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("compress/gzip: %v", err)
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		t.Fatal("data after the gzip member")
	}
	return out
}

func unzstd(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out, err := zr.DecodeAll(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (r reply) status(t testing.TB, want int) reply {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %.300s", r.Request.Method, r.Request.URL, r.StatusCode, want, r.body)
	}
	return r
}

func (r reply) header(t testing.TB, name, want string) reply {
	t.Helper()
	if got := r.Header.Get(name); got != want {
		t.Errorf("%s %s: %s = %q, want %q", r.Request.Method, r.Request.URL, name, got, want)
	}
	return r
}

// reposAnswer is a /repos body.
type reposAnswer struct {
	Repositories []json.RawMessage `json:"repositories"`
	Count        int               `json:"count"`
	Total        int               `json:"total"`
	Snapshot     struct {
		Version     string    `json:"version"`
		GeneratedAt time.Time `json:"generated_at"`
	} `json:"snapshot"`
}

func decodeRepos(t testing.TB, b []byte) reposAnswer {
	t.Helper()
	var a reposAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("decode /repos: %v: %.200s", err, b)
	}
	return a
}

// problemOf checks an RFC 9457 answer and returns it.
func problemOf(t testing.TB, r reply, status int) map[string]any {
	t.Helper()
	r.status(t, status).header(t, "Content-Type", "application/problem+json")
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem: %v: %s", err, r.body)
	}
	if p["status"] != float64(status) || p["type"] != "about:blank" || p["title"] == "" {
		t.Errorf("problem %s", r.body)
	}
	return p
}

func names(t testing.TB, a reposAnswer) []string {
	t.Helper()
	out := make([]string, len(a.Repositories))
	for i, raw := range a.Repositories {
		var r struct {
			FullName string `json:"full_name"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		out[i] = r.FullName
	}
	return out
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// counterValue reads a counter or gauge.
func counterValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// maxAgeValue matches a Cache-Control's max-age, which counts down by the
// second, and jumps when a publication falls due and when its grace ends:
// two answers a moment apart may differ in it.
var maxAgeValue = regexp.MustCompile(`max-age=[1-9]\d*`)

// sameCaching reports whether Cache-Control values a and b say the same
// but for max-age, which both have (at least 1) or neither.
func sameCaching(a, b string) bool {
	ma, mb := maxAgeValue.FindString(a), maxAgeValue.FindString(b)
	return maxAgeValue.ReplaceAllString(a, "") == maxAgeValue.ReplaceAllString(b, "") && (ma == "") == (mb == "")
}

// rawGet sends GET path to the edge at url over a socket of its own, with
// fields as written (names in any case), and reads the answer.
func rawGet(t testing.TB, url, path, fields string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path, fields)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
