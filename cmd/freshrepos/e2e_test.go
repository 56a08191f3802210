package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/s3store"
)

// The end-to-end test runs the real binary: its own MinIO (so it can stop
// and restart it), `freshrepos fakegithub`, `freshrepos publish --once`
// and three `freshrepos edge` processes, all on loopback.

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
}

// syncBuffer is written by exec's copying goroutine while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	if t.Failed() {
		t.Logf("--- %s output:\n%s", p.name, lastLines(p.out.String(), 30))
	}
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventually polls cond every 100 ms for up to limit; the limit only bounds
// a failing test, no timing is asserted.
func eventually(t *testing.T, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type answer struct {
	status  int
	etag    string
	version string
	body    []byte
}

func get(url string) (answer, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("X-Snapshot-Version"), b}, err
}

func TestEndToEnd(t *testing.T) {
	minioBin := os.Getenv("MINIO_BIN")
	if minioBin == "" {
		if testing.Short() {
			t.Skip("MINIO_BIN not set; skipped under -short")
		}
		t.Fatal("MINIO_BIN is not set: run `make test`, which builds and exports it")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "freshrepos")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// MinIO of our own, so that it can be stopped and started again.
	minioPort, minioData := freePort(t), filepath.Join(dir, "minio")
	minioEnv := []string{"MINIO_ROOT_USER=e2e-user", "MINIO_ROOT_PASSWORD=e2e-password-123", "MINIO_BROWSER=off"}
	startMinio := func() *proc {
		return start(t, "minio", minioEnv, minioBin, "server", "--quiet", "--address", "127.0.0.1:"+minioPort,
			"--console-address", "127.0.0.1:"+freePort(t), minioData)
	}
	minio := startMinio()
	minioReady := func() error {
		a, err := get("http://127.0.0.1:" + minioPort + "/minio/health/ready")
		if err == nil && a.status != 200 {
			err = fmt.Errorf("status %d", a.status)
		}
		return err
	}
	eventually(t, 30*time.Second, "MinIO ready", minioReady)
	s3env := []string{"AWS_ENDPOINT_URL=http://127.0.0.1:" + minioPort, "AWS_ACCESS_KEY_ID=e2e-user",
		"AWS_SECRET_ACCESS_KEY=e2e-password-123", "AWS_REGION=us-east-1", "STORE=s3://e2e/freshrepos"}
	for _, kv := range s3env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, _ := s3store.FromEnv("s3://e2e/freshrepos")
	ctx := context.Background()
	store, err := s3store.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	latestVersion := func() string {
		m, _, err := snapshots.Latest(ctx, store, "")
		if err != nil {
			t.Fatalf("latest.json: %v", err)
		}
		return m.Version
	}

	ghPort := freePort(t)
	start(t, "fakegithub", nil, bin, "fakegithub", "--addr", "127.0.0.1:"+ghPort, "--seed", "42")
	eventually(t, 10*time.Second, "fake GitHub up", func() error { _, err := get("http://127.0.0.1:" + ghPort + "/rate_limit"); return err })
	pubEnv := append([]string{"GITHUB_API_URL=http://127.0.0.1:" + ghPort + "/", "GITHUB_TOKEN=e2e-token", "SEARCH_WINDOW=1m"}, s3env...)
	var logs []string // everything every process said, to look for secrets in
	publish := func() error {
		cmd := exec.Command(bin, "publish", "--once")
		cmd.Env = append(os.Environ(), pubEnv...)
		out, err := cmd.CombinedOutput()
		logs = append(logs, string(out))
		if err != nil {
			return fmt.Errorf("%v\n%s", err, lastLines(string(out), 10))
		}
		return nil
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	v1 := latestVersion()

	ports := []string{freePort(t), freePort(t), freePort(t)}
	edges := make([]*proc, 3)
	startEdge := func(i int) {
		edges[i] = start(t, fmt.Sprintf("edge%d", i), append([]string{"PORT=127.0.0.1:" + ports[i], "METRICS_ADDR=", "POLL_INTERVAL=200ms"}, s3env...), bin, "edge")
	}
	for i := range edges {
		startEdge(i)
	}
	converged := func(version string) func() error {
		return func() error {
			for i, p := range ports {
				a, err := get("http://127.0.0.1:" + p + "/repos")
				if err != nil {
					return fmt.Errorf("edge%d: %v", i, err)
				}
				if a.status != 200 || a.version != version {
					return fmt.Errorf("edge%d answers %d with %q, want %s", i, a.status, a.version, version)
				}
			}
			return nil
		}
	}
	eventually(t, 20*time.Second, "edges serve the first snapshot", converged(v1))

	// A second publication: new repositories were created since (two a second).
	time.Sleep(1100 * time.Millisecond)
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	v2 := latestVersion()
	if v2 == v1 {
		t.Fatalf("the second publication did not change the version (%s)", v1)
	}
	eventually(t, 20*time.Second, "edges converge to the second snapshot", converged(v2))
	for _, path := range []string{"/repos", "/repos?language=go&limit=5", "/stats", "/stats?license=mit", "/snapshots/latest"} {
		var first answer
		for i, p := range ports {
			a, err := get("http://127.0.0.1:" + p + path)
			if err != nil || a.status != 200 {
				t.Fatalf("edge%d %s: %d %v", i, path, a.status, err)
			}
			if i == 0 {
				first = a
			} else if a.etag != first.etag || !bytes.Equal(a.body, first.body) {
				t.Fatalf("%s: edge%d answers ETag %s and %d bytes, edge0 %s and %d bytes", path, i, a.etag, len(a.body), first.etag, len(first.body))
			}
		}
	}

	// An edge killed and restarted comes back on the newest snapshot.
	edges[1].kill()
	startEdge(1)
	eventually(t, 20*time.Second, "the restarted edge serves the newest snapshot", converged(v2))

	// MinIO down: the edges keep serving what they have; publishing fails
	// and leaves nothing half-written.
	minio.stop(t)
	for range 5 {
		if err := converged(v2)(); err != nil {
			t.Fatalf("with MinIO down: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := publish(); err == nil {
		t.Fatal("publish --once succeeded with MinIO down")
	}
	// MinIO back: the next publication reaches every edge.
	startMinio()
	eventually(t, 30*time.Second, "MinIO back", minioReady)
	time.Sleep(1100 * time.Millisecond)
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	v3 := latestVersion()
	if v3 == v2 {
		t.Fatal("no new version after MinIO came back")
	}
	eventually(t, 20*time.Second, "edges pick up the snapshot published after MinIO came back", converged(v3))

	// Credentials never reach a log line or an error message, even from runs
	// that failed because storage was down.
	for _, p := range edges {
		logs = append(logs, p.out.String())
	}
	for _, l := range logs {
		for _, secret := range []string{"e2e-token", "e2e-password-123"} {
			if strings.Contains(l, secret) {
				t.Fatalf("a log holds the secret %q:\n%s", secret, lastLines(l, 20))
			}
		}
	}
}
