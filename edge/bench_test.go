package edge

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// loadedServer is a Server that has polled st once, without listening:
// for calling its handler directly.
func loadedServer(tb testing.TB, n int) (*Server, string) {
	tb.Helper()
	st := newStore(tb)
	m := publish(tb, st, makeSnapshot(n, "a", t0))
	s, err := New(Config{Logger: quietLogger()}, st)
	if err != nil {
		tb.Fatal(err)
	}
	if !s.poll(context.Background(), newFollower(st)) || s.current.Load() == nil {
		tb.Fatal("poll failed")
	}
	return s, m.Version
}

// cachedRequests are answers that must cost no allocation once cached.
var cachedRequests = []struct {
	name, uri, acceptEncoding string
	// ifNoneMatch is "own" to send the answer's own ETag back, "gzip" to
	// send that of the answer in gzip (another form of the same answer).
	ifNoneMatch string
	status      int
}{
	{"unfiltered-repos-gzip", "/repos", "gzip, deflate, br", "", 200},
	{"unfiltered-stats-zstd", "/stats", "zstd", "", 200},
	{"filtered-repos-cached", "/repos?language=go&sort=stars&limit=50", "gzip, zstd", "", 200},
	{"filtered-stats-cached", "/stats?license=mit&has_open_issues=true", "", "", 200},
	{"pinned-repos-cached", "/repos?snapshot={version}&owner=owner1", "zstd", "", 200},
	{"not-modified-304", "/repos?language=go&sort=stars&limit=10", "gzip", "own", 304},
	{"not-modified-other-form-304", "/repos?language=go&sort=stars&limit=10", "gzip, zstd", "gzip", 304},
	{"large-spelled-otherwise", "/repos?order=desc&offset=1", "", "", 200}, // a recipe, under a raw key
	{"latest-manifest", "/snapshots/latest", "gzip", "", 200},
	{"download-zst", "/snapshots/{version}/repos.json.zst", "", "", 200},
	{"ping", "/ping", "", "", 200},
}

// warmRequest builds a RequestCtx for uri, serves it once so that its
// answer is cached, and returns it ready to be served again.
func warmRequest(tb testing.TB, h fasthttp.RequestHandler, uri, version, acceptEncoding, ifNoneMatch string) *fasthttp.RequestCtx {
	tb.Helper()
	var req fasthttp.Request
	req.SetRequestURI(replaceVersion(uri, version))
	if ifNoneMatch == "gzip" {
		req.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip")
	} else if acceptEncoding != "" {
		req.Header.Set(fasthttp.HeaderAcceptEncoding, acceptEncoding)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	h(ctx)
	if ifNoneMatch != "" {
		ctx.Request.Header.SetBytesV(fasthttp.HeaderIfNoneMatch, append([]byte(nil), ctx.Response.Header.Peek(fasthttp.HeaderETag)...))
		ctx.Request.Header.Set(fasthttp.HeaderAcceptEncoding, acceptEncoding)
	}
	for range 3 { // fill fasthttp's buffers
		ctx.Response.Reset()
		h(ctx)
	}
	return ctx
}

func replaceVersion(uri, version string) string {
	for i := 0; i+len("{version}") <= len(uri); i++ {
		if uri[i:i+len("{version}")] == "{version}" {
			return uri[:i] + version + uri[i+len("{version}"):]
		}
	}
	return uri
}

// Cached answers, conditional or not, allocate nothing.
func TestCachedAnswersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, version := loadedServer(t, 200)
	h := s.Handler()
	for _, c := range cachedRequests {
		ctx := warmRequest(t, h, c.uri, version, c.acceptEncoding, c.ifNoneMatch)
		if got := ctx.Response.StatusCode(); got != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, got, c.status, ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.Reset()
			h(ctx)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per request", c.name, allocs)
		}
	}
}

func BenchmarkCachedAnswers(b *testing.B) {
	s, version := loadedServer(b, 500)
	h := s.Handler()
	for _, c := range cachedRequests {
		b.Run(c.name, func(b *testing.B) {
			ctx := warmRequest(b, h, c.uri, version, c.acceptEncoding, c.ifNoneMatch)
			if got := ctx.Response.StatusCode(); got != c.status {
				b.Fatalf("status %d, want %d", got, c.status)
			}
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(ctx)
			}
		})
	}
}

// BenchmarkRateLimitedCachedAnswer is a cached answer with rate limiting
// on: the bucket lookup and the RateLimit header.
func BenchmarkRateLimitedCachedAnswer(b *testing.B) {
	s, version := loadedServer(b, 100)
	s.limiter = newLimiter(1e9, 1e9, nil)
	h := s.Handler()
	ctx := warmRequest(b, h, "/repos?language=go", version, "gzip", "")
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h(ctx)
	}
}

// BenchmarkUncachedFilteredAnswer is the cost of a miss: parsing,
// selecting, concatenating and compressing.
func BenchmarkUncachedFilteredAnswer(b *testing.B) {
	s, version := loadedServer(b, 2000)
	h := s.Handler()
	ctx := warmRequest(b, h, "/repos?language=go&limit=100", version, "gzip", "")
	b.ReportAllocs()
	for b.Loop() {
		s.current.Load().cache.setLimit(0) // every request misses
		s.current.Load().cache.setLimit(1 << 30)
		ctx.Response.Reset()
		h(ctx)
	}
}

// BenchmarkNewQueryRun is make loadtest's scenario 3 through the handler:
// on every request a query never seen before, listing 50 to 100
// repositories in one of the orders that have delta sets, in gzip.
func BenchmarkNewQueryRun(b *testing.B) {
	s, version := loadedServer(b, 2000)
	h := s.Handler()
	ctx := warmRequest(b, h, "/repos?limit=100&sort=stars&max_stars=999999999", version, "gzip", "")
	deadline := time.Now().Add(time.Minute)
	for g := s.current.Load().gz.Load(); len(g.deltaSets()) < len(deltaOrders); {
		if time.Now().After(deadline) {
			b.Fatalf("%d delta sets after a minute, want %d", len(g.deltaSets()), len(deltaOrders))
		}
		time.Sleep(time.Millisecond) // the delta sets are made in the background
	}
	ctx.Response.KeepBodyBuffer = true // as the server keeps it, from one request to the next
	sorts := [...]string{"created", "pushed", "stars", "forks", "size", "name"}
	uri := make([]byte, 0, 128)
	n, size := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		uri = strconv.AppendInt(append(uri[:0], "/repos?limit="...), int64(50+n%51), 10)
		uri = append(append(uri, "&sort="...), sorts[n/51%6]...)
		uri = strconv.AppendInt(append(uri, "&max_stars="...), int64(1_000_000_000+n), 10)
		ctx.Request.SetRequestURIBytes(uri)
		ctx.Response.Reset()
		h(ctx)
		size += len(ctx.Response.Body())
	}
	if got := ctx.Response.StatusCode(); got != fasthttp.StatusOK {
		b.Fatalf("status %d: %s", got, ctx.Response.Body())
	}
	b.ReportMetric(float64(size)/float64(n), "body-bytes")
	if etag := string(ctx.Response.Header.Peek(fasthttp.HeaderETag)); !strings.HasSuffix(etag, "-gzs12\"") {
		b.Fatalf("ETag %s: not stitched with every delta set", etag)
	}
}
