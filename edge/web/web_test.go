package web_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/edge/web"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
)

func files(t *testing.T) map[string]web.File {
	t.Helper()
	m := map[string]web.File{}
	for _, f := range web.Files() {
		m[f.Path] = f
	}
	for _, p := range []string{"/", "/assets/app.css", "/assets/app.js"} {
		if _, ok := m[p]; !ok {
			t.Fatalf("no %s among %v", p, m)
		}
	}
	return m
}

// The page names its assets by digest, and loads nothing from elsewhere.
func TestFiles(t *testing.T) {
	m := files(t)
	index := string(m["/"].Body)
	if strings.Contains(index, "{{") {
		t.Error("index.html has a placeholder left")
	}
	for _, p := range []string{"/assets/app.css", "/assets/app.js"} {
		sum := sha256.Sum256(m[p].Body)
		if want := p + "?v=" + hex.EncodeToString(sum[:6]); !strings.Contains(index, want) {
			t.Errorf("index.html does not name %s", want)
		}
	}
	remote := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?(https?:)?//|@import|fetch\(\s*["'` + "`" + `]https?:`)
	for p, f := range m {
		if loc := remote.FindIndex(f.Body); loc != nil {
			t.Errorf("%s loads from another host: %q", p, f.Body[loc[0]:min(loc[1]+40, len(f.Body))])
		}
	}
	if !strings.Contains(index, `http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'`) {
		t.Error("index.html has no Content-Security-Policy that keeps it to its own origin")
	}
}

// The edge serves the page and its assets with validators, the encodings
// it negotiates, and 304s.
func TestServedByEdge(t *testing.T) {
	st, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	publish(t, st, makeSnapshot(now.Add(-time.Hour), now, 3))
	_, url := startEdge(t, st)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(method, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	for path, f := range files(t) {
		resp, body := get(http.MethodGet, path)
		if resp.StatusCode != 200 || !bytes.Equal(body, f.Body) {
			t.Fatalf("GET %s: %d, %d bytes, want the %d embedded", path, resp.StatusCode, len(body), len(f.Body))
		}
		for name, want := range map[string]string{"Content-Type": f.ContentType, "Cache-Control": f.CacheControl,
			"Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("GET %s: %s %q, want %q", path, name, got, want)
			}
		}
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
			t.Errorf("GET %s: ETag %q", path, etag)
		}
		if resp, _ := get(http.MethodGet, path, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, resp.StatusCode)
		}
		// The query string of an asset's URL is its digest, which the edge
		// does not read.
		if resp, _ := get(http.MethodGet, path+"?v=0"); resp.StatusCode != 200 {
			t.Errorf("GET %s?v=0: %d", path, resp.StatusCode)
		}
		resp, gz := get(http.MethodGet, path, "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") == etag {
			t.Errorf("GET %s gzip: Content-Encoding %q, ETag %q (identity %q)", path, resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"), etag)
		} else if zr, err := gzip.NewReader(bytes.NewReader(gz)); err != nil {
			t.Error(err)
		} else if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, f.Body) {
			t.Errorf("GET %s gzip: does not decode to the file (%v)", path, err)
		}
		if resp, body := get(http.MethodHead, path); resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(f.Body)) {
			t.Errorf("HEAD %s: %d, %d bytes, Content-Length %d", path, resp.StatusCode, len(body), resp.ContentLength)
		}
		if resp, _ := get(http.MethodPost, path); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/index.html", "/assets/", "/assets/app.jsx", "/assets/../assets/nope.js"} {
		if resp, _ := get(http.MethodGet, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

// Serving the page allocates nothing, like every answer the edge keeps.
func TestPageDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	st, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	publish(t, st, makeSnapshot(now.Add(-time.Hour), now, 3))
	srv, _ := startEdge(t, st)
	h := srv.Handler()
	for _, c := range []struct{ uri, ae string }{{"/", "gzip, deflate, br"}, {"/assets/app.js?v=1", "zstd"}, {"/assets/app.css", ""}} {
		var req fasthttp.Request
		req.SetRequestURI(c.uri)
		if c.ae != "" {
			req.Header.Set(fasthttp.HeaderAcceptEncoding, c.ae)
		}
		ctx := new(fasthttp.RequestCtx)
		ctx.Init(&req, nil, nil)
		for range 3 {
			ctx.Response.Reset()
			h(ctx)
		}
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: %d", c.uri, ctx.Response.StatusCode())
		}
		if allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.Reset()
			h(ctx)
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per request", c.uri, allocs)
		}
	}
}
