package edge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/filters"
	"github.com/freshrepos/freshrepos/snapshots"
)

func TestRateLimit(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(5, "a", t0))
	cfg := Config{RateLimitPerIP: 0.01, RateLimitBurst: 3, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	te := startEdge(t, st, cfg, true)

	// A client's own count goes out only on answers no shared cache
	// keeps (/ping's, problems): a CDN would replay it to everyone. The
	// policy, the same for all, goes out on every answer.
	etag := get(t, te.url+"/repos").status(t, 200).header(t, "RateLimit-Policy", `"per-client";q=3;w=300`).
		header(t, "RateLimit", "").Header.Get("ETag")
	get(t, te.url+"/repos", "If-None-Match", etag).status(t, 304).header(t, "RateLimit-Policy", `"per-client";q=3;w=300`).
		header(t, "RateLimit", "")
	get(t, te.url+"/ping").status(t, 200).header(t, "RateLimit-Policy", `"per-client";q=3;w=300`).
		header(t, "RateLimit", `"per-client";r=0;t=300`)
	r := get(t, te.url+"/stats")
	problemOf(t, r, 429)
	r.header(t, "Retry-After", "100").header(t, "RateLimit", `"per-client";r=0;t=100`).header(t, "RateLimit-Policy", `"per-client";q=3;w=300`)
	problemOf(t, get(t, te.url+"/nowhere"), 429) // limited before routing
	// Health checks are never limited.
	get(t, te.url+"/healthz").status(t, 200)
	get(t, te.url+"/readyz").status(t, 200)
	if counterValue(te.metrics.rateLimited) != 2 {
		t.Errorf("rate limited counter %v", counterValue(te.metrics.rateLimited))
	}

	// Behind a trusted proxy, each forwarded client has its own bucket:
	// one over its limit does not starve another.
	get(t, te.url+"/repos", "X-Forwarded-For", "203.0.113.7").status(t, 200)
	// The page is no-cache, which a shared cache keeps too.
	get(t, te.url+"/", "X-Forwarded-For", "203.0.113.7").status(t, 200).header(t, "Cache-Control", "no-cache").
		header(t, "RateLimit-Policy", `"per-client";q=3;w=300`).header(t, "RateLimit", "")
	get(t, te.url+"/ping", "X-Forwarded-For", "198.51.100.1, 203.0.113.8").status(t, 200).header(t, "RateLimit", `"per-client";r=2;t=100`)
	for range 2 {
		get(t, te.url+"/repos", "X-Forwarded-For", "203.0.113.8").status(t, 200)
	}
	problemOf(t, get(t, te.url+"/repos", "X-Forwarded-For", "203.0.113.8"), 429)
	get(t, te.url+"/repos", "X-Forwarded-For", "203.0.113.9").status(t, 200)
	// The field's name in any case (fasthttp keeps it as sent): each new
	// client has its own bucket, where the proxy's is empty.
	for i, name := range []string{"x-forwarded-for", "X-FORWARDED-FOR"} {
		resp := rawGet(t, te.url, "/ping", fmt.Sprintf("%s: 203.0.113.%d\r\n", name, 50+i))
		if rl := resp.Header.Get("RateLimit"); resp.StatusCode != 200 || rl != `"per-client";r=2;t=100` {
			t.Errorf("%s of a new client: %s, RateLimit %q; want 200 OK, its own bucket", name, resp.Status, rl)
		}
	}

	// Without trust, X-Forwarded-For is ignored.
	te2 := startEdge(t, st, Config{RateLimitPerIP: 0.01, RateLimitBurst: 1}, true)
	get(t, te2.url+"/repos", "X-Forwarded-For", "203.0.113.1").status(t, 200)
	problemOf(t, get(t, te2.url+"/repos", "X-Forwarded-For", "203.0.113.2"), 429)
}

func TestRateLimitOffByDefault(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	for range 50 {
		get(t, te.url+"/ping").status(t, 200).header(t, "RateLimit", "")
	}
}

func TestClientAddr(t *testing.T) {
	l := newLimiter(1, 1, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1", []string{"203.0.113.1"}, "192.0.2.1"}, // untrusted peer
		{"10.1.2.3", nil, "10.1.2.3"},
		{"10.1.2.3", []string{"203.0.113.1"}, "203.0.113.1"},
		{"10.1.2.3", []string{"1.1.1.1, 203.0.113.1, 10.9.9.9"}, "203.0.113.1"},
		{"10.1.2.3", []string{"1.1.1.1", "203.0.113.1"}, "203.0.113.1"},
		{"10.1.2.3", []string{"10.0.0.5, 10.0.0.6"}, "10.1.2.3"},
		{"10.1.2.3", []string{"garbage"}, "10.1.2.3"},
		{"::1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"::ffff:10.1.2.3", []string{"203.0.113.5"}, "203.0.113.5"},
	} {
		var xff [][]byte
		for _, x := range c.xff {
			xff = append(xff, []byte(x))
		}
		if got := l.clientAddr(net.ParseIP(c.remote), xff); got.String() != c.want {
			t.Errorf("%s %v: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	if got := clientKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); got.String() != "2001:db8:1:2::" {
		t.Errorf("IPv6 key %s", got)
	}
	if got := clientKey(netip.MustParseAddr("::ffff:192.0.2.1")); got.String() != "192.0.2.1" {
		t.Errorf("mapped key %s", got)
	}
}

func TestMaxConnsPerIP(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{MaxConnsPerIP: 1}, true)
	addr := strings.TrimPrefix(te.url, "http://")
	rawGet := func(c net.Conn) int {
		t.Helper()
		fmt.Fprintf(c, "GET /ping HTTP/1.1\r\nHost: edge\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if s := rawGet(c1); s != 200 {
		t.Fatalf("first connection: %d", s)
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if s := rawGet(c2); s != 429 {
		t.Errorf("second connection from the same address: %d, want 429", s)
	}
}

func TestMetricsAndPprofOnlyOnMetricsAddr(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	get(t, te.url+"/repos", "Accept-Encoding", "gzip").status(t, 200)
	get(t, te.url+"/repos?language=go").status(t, 200)
	get(t, te.url+"/repos?language=go").status(t, 200)
	get(t, te.url+"/nowhere").status(t, 404)

	r := get(t, te.metricsURL+"/metrics").status(t, 200)
	for _, want := range []string{
		`edge_requests_total{encoding="gzip",route="repos",status="200"} 1`,
		`edge_requests_total{encoding="identity",route="unknown",status="404"} 1`,
		`edge_request_duration_seconds_bucket{route="repos",le=`,
		`edge_cache_requests_total{result="hit",route="repos"} 2`,
		`edge_cache_requests_total{result="miss",route="repos"} 1`,
		`edge_snapshot_info{version="` + m.Version + `"} 1`,
		`edge_snapshot_age_seconds `,
		`edge_snapshot_generated_timestamp_seconds `,
		`edge_snapshot_load_failures_total{reason="corrupt"} 0`,
		`edge_snapshot_loads_total 1`,
		`edge_cache_bytes `,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	get(t, te.metricsURL+"/debug/pprof/").status(t, 200)
	get(t, te.metricsURL+"/debug/pprof/cmdline").status(t, 200)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
		problemOf(t, get(t, te.url+path), 404)
	}
}

// The OpenAPI document describes every route served and every filter.
func TestOpenAPIDocument(t *testing.T) {
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, p := range routePatterns {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("%s is served but not documented", p)
		}
	}
	for p := range doc.Paths {
		if !containsString(routePatterns, p) {
			t.Errorf("%s is documented but not served", p)
		}
	}
	// Every $ref resolves.
	for _, ref := range regexp.MustCompile(`"\$ref": "#/components/(\w+)/([\w-]+)"`).FindAllStringSubmatch(string(openapiJSON), -1) {
		var c map[string]map[string]json.RawMessage
		json.Unmarshal(openapiJSON, &struct {
			C *map[string]map[string]json.RawMessage `json:"components"`
		}{&c})
		if _, ok := c[ref[1]][ref[2]]; !ok {
			t.Errorf("dangling $ref %s", ref[0])
		}
	}
	params := func(path string) map[string]bool {
		var op struct {
			Parameters []struct {
				Ref  string `json:"$ref"`
				Name string `json:"name"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(doc.Paths[path]["get"], &op); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, p := range op.Parameters {
			name := p.Name
			if p.Ref != "" {
				c := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				if c.In != "query" {
					continue
				}
				name = c.Name
			}
			out[name] = true
		}
		return out
	}
	repos, stats := params("/repos"), params("/stats")
	for _, p := range filters.Parameters() {
		if !repos[p.Name] {
			t.Errorf("/repos does not document %s", p.Name)
		}
		if stats[p.Name] == p.ReposOnly {
			t.Errorf("/stats documents %s: %v, want %v", p.Name, stats[p.Name], !p.ReposOnly)
		}
	}
	for _, m := range []map[string]bool{repos, stats} {
		if !m["snapshot"] {
			t.Error("snapshot parameter not documented")
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Every documented route answers (not 404), and /openapi.json serves the
// embedded document.
func TestEveryRouteIsServed(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	for _, p := range routePatterns {
		path := strings.ReplaceAll(p, "{version}", m.Version)
		get(t, te.url+path).status(t, 200)
	}
	r := get(t, te.url+"/openapi.json").status(t, 200).header(t, "Cache-Control", string(valOpenAPICache))
	if string(r.body) != string(openapiJSON) {
		t.Error("/openapi.json is not the embedded document")
	}
}

func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   encoding
	}{
		{nil, encIdentity},
		{[]string{""}, encIdentity},
		{[]string{"gzip"}, encGzip},
		{[]string{"zstd, gzip"}, encZstd},
		{[]string{"gzip", "zstd"}, encZstd},
		{[]string{"gzip;q=0.9, zstd;q=0.8"}, encGzip},
		{[]string{"gzip;q=0.8, zstd;q=0.8"}, encZstd},
		{[]string{"zstd;q=0"}, encIdentity},
		{[]string{"*;q=0"}, encIdentity},
		{[]string{"*;q=0, gzip;q=0.1"}, encGzip},
		{[]string{"identity;q=0, gzip;q=0"}, encIdentity},
		{[]string{"gzip ; q=0.500"}, encGzip},
		{[]string{"gzip;q=0.0001"}, encIdentity},
		{[]string{"gzip;q=1.001"}, encIdentity},
		{[]string{"gzip;q=2"}, encIdentity},
		{[]string{"gzip;level=9;q=1"}, encGzip},
		{[]string{"ZSTD"}, encZstd},
		{[]string{"identity;q=0.5, gzip;q=0.4"}, encIdentity},
		{[]string{",,gzip,,"}, encGzip},
		{[]string{"gzip, deflate, br, zstd"}, encZstd},
		{[]string{"gzip, deflate, br"}, encGzip},
		{[]string{"br"}, encIdentity},
		{[]string{"deflate"}, encIdentity},
		{[]string{"*"}, encZstd},
		{[]string{"br;q=1.0, gzip;q=0.8, *;q=0.1"}, encGzip},
		{[]string{"gzip", "gzip"}, encGzip},
	} {
		var vs [][]byte
		var f fields // by way of commonAcceptEncodings, for those it holds
		for _, v := range c.values {
			vs = append(vs, []byte(v))
			f.acceptEncoding.add([]byte(v))
		}
		if got, _ := negotiate(vs); got != c.want {
			t.Errorf("%q: %s, want %s", c.values, encodingNames[got], encodingNames[c.want])
		}
		if got, _ := f.encoding(); got != c.want {
			t.Errorf("%q, as a request's fields: %s, want %s", c.values, encodingNames[got], encodingNames[c.want])
		}
	}
}

func TestNegotiateGzipTies(t *testing.T) {
	for ae, want := range map[string]bool{
		"gzip, deflate, br, zstd": true, // Chrome's
		"zstd, gzip":              true,
		"*":                       true,
		"zstd":                    false,
		"zstd, gzip;q=0.5":        false,
		"gzip":                    false, // gzip is the pick
		"gzip;q=0.5, zstd;q=0.5":  true,
	} {
		if _, got := negotiate([][]byte{[]byte(ae)}); got != want {
			t.Errorf("%q: gzipTies %v, want %v", ae, got, want)
		}
		var f fields
		f.acceptEncoding.add([]byte(ae))
		if _, got := f.encoding(); got != want {
			t.Errorf("%q, as a request's fields: gzipTies %v, want %v", ae, got, want)
		}
	}
}

func TestETagMatches(t *testing.T) {
	etag := []byte(`"v-abc-gz"`)
	for _, c := range []struct {
		inm  string
		want bool
	}{
		{`"v-abc-gz"`, true},
		{`W/"v-abc-gz"`, true},
		{`*`, true},
		{`"x", "v-abc-gz"`, true},
		{`"x",W/"v-abc-gz"`, true},
		{`"v-abc-id"`, false},
		{`v-abc-gz`, false},
		{`"v-abc-gz`, false},
		{`""`, false},
		{`garbage, "v-abc-gz"`, true},
		{``, false},
	} {
		if got := etagMatches([][]byte{[]byte(c.inm)}, etag); got != c.want {
			t.Errorf("%s: %v", c.inm, got)
		}
	}
}

func TestValidVersionAgreesWithSnapshots(t *testing.T) {
	for _, v := range []string{
		"20261127T160000Z-0123456789ab", "20261127T160000Z-0123456789AB", "20261127T160000Z-0123456789a",
		"20261127T160000Z-0123456789abc", "2026112xT160000Z-0123456789ab", "20261127t160000Z-0123456789ab",
		"20261127T160000Z_0123456789ab", "", "../../latest.json", "20261127T160000Z-0123456789ag",
	} {
		if got, want := validVersion([]byte(v)), snapshots.ValidVersion(v); got != want {
			t.Errorf("%q: %v, snapshots says %v", v, got, want)
		}
	}
}

func TestMatchRoute(t *testing.T) {
	v := "20261127T160000Z-0123456789ab"
	for _, c := range []struct {
		path string
		want route
	}{
		{"/repos", routeRepos}, {"/stats", routeStats}, {"/ping", routePing}, {"/snapshots/latest", routeLatest},
		{"/snapshots/" + v + "/repos.json", routeDownload}, {"/snapshots/" + v + "/repos.json.zst", routeDownload},
		{"/snapshots/" + v + "/repos.json.br", routeUnknown}, {"/snapshots/" + v + "/", routeUnknown},
		{"/snapshots/" + v, routeUnknown}, {"/snapshots/" + v + "/x/repos.json", routeUnknown}, {"/", routeWeb},
		{"/assets/app.js", routeWeb}, {"/assets/", routeUnknown}, {"/index.html", routeUnknown},
	} {
		if got, _ := matchRoute([]byte(c.path)); got != c.want {
			t.Errorf("%s: %s, want %s", c.path, routeNames[got], routeNames[c.want])
		}
	}
}

func TestCacheEviction(t *testing.T) {
	c := newCache[representation](1, 10*entryOverhead)
	rep := &representation{body: make([]byte, entryOverhead)}
	for i := range 20 {
		c.put(0, strconv.Itoa(i), rep, len(rep.body))
		if i == 2 {
			c.get(0, []byte("0")) // used: survives one pass
		}
	}
	used, n := c.size()
	if used > 10*entryOverhead || n == 0 {
		t.Fatalf("%d bytes in %d entries", used, n)
	}
	if c.getString(0, "19") == nil {
		t.Error("the newest entry was evicted")
	}
	if c.getString(0, "1") != nil {
		t.Error("an unused old entry survived")
	}
	// Too big to cache at all.
	c.put(0, "big", &representation{body: make([]byte, 20*entryOverhead)}, 20*entryOverhead)
	if c.getString(0, "big") != nil {
		t.Error("an entry over the limit was cached")
	}
	c.setLimit(0)
	if used, n := c.size(); used != 0 || n != 0 {
		t.Errorf("after setLimit(0): %d bytes in %d entries", used, n)
	}
}

// While shutting down, /readyz says so, so that load balancers drain
// the node; everything else is still answered.
func TestNotReadyWhileStopping(t *testing.T) {
	s, _ := loadedServer(t, 5)
	s.stopping.Store(true)
	for path, want := range map[string]int{"/readyz": 503, "/healthz": 200, "/repos": 200} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		s.Handler()(&ctx)
		if ctx.Response.StatusCode() != want {
			t.Errorf("%s: %d, want %d", path, ctx.Response.StatusCode(), want)
		}
	}
}

// A panic while answering is a 500, not a dead node.
func TestPanicIsA500(t *testing.T) {
	s, err := New(Config{Logger: quietLogger()}, newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	s.current.Store(&edition{}) // no index: answering panics
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/repos?language=go")
	s.Handler()(&ctx)
	if ctx.Response.StatusCode() != 500 || string(ctx.Response.Header.ContentType()) != "application/problem+json" {
		t.Errorf("status %d, %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}

	// Rate limited, the 500 names both the client's count and the policy
	// it counts against.
	s.limiter = newLimiter(1, 10, nil)
	ctx.Response.Reset()
	s.Handler()(&ctx)
	if ctx.Response.StatusCode() != 500 || string(ctx.Response.Header.Peek("RateLimit")) != `"per-client";r=9;t=1` ||
		string(ctx.Response.Header.Peek("RateLimit-Policy")) != `"per-client";q=10;w=10` {
		t.Errorf("status %d, RateLimit %q, RateLimit-Policy %q", ctx.Response.StatusCode(),
			ctx.Response.Header.Peek("RateLimit"), ctx.Response.Header.Peek("RateLimit-Policy"))
	}
}

// Every answer carries the headers every answer does, once each: those
// from an edition's template as much as problems on the same routes,
// which start from none (serveHTTP).
func TestEveryAnswerCarriesTheCommonHeaders(t *testing.T) {
	want := map[string]string{"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff",
		"Access-Control-Expose-Headers": string(valExposed)}
	check := func(t *testing.T, s *Server, method, uri string, status int, header ...string) *fasthttp.RequestCtx {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		for i := 0; i+1 < len(header); i += 2 {
			ctx.Request.Header.Set(header[i], header[i+1])
		}
		s.Handler()(&ctx)
		if got := ctx.Response.StatusCode(); got != status {
			t.Errorf("%s %s: status %d, want %d", method, uri, got, status)
		}
		seen := map[string]int{}
		for k, v := range ctx.Response.Header.All() {
			if w, ok := want[string(k)]; ok {
				seen[string(k)]++
				if string(v) != w {
					t.Errorf("%s %s (%d): %s: %q, want %q", method, uri, status, k, v, w)
				}
			}
		}
		for k := range want {
			if seen[k] != 1 {
				t.Errorf("%s %s (%d): %s %d times, want once", method, uri, status, k, seen[k])
			}
		}
		return &ctx
	}

	s, version := loadedServer(t, 30)
	missing := "20200101T000000Z-0123456789ab"
	for _, c := range []struct {
		method, uri string
		status      int
		header      []string
	}{
		{"GET", "/repos", 200, nil},
		{"GET", "/repos?language=go&limit=5", 200, []string{"Accept-Encoding", "gzip"}},
		{"HEAD", "/stats?license=mit", 200, []string{"Accept-Encoding", "zstd"}},
		{"GET", "/repos?snapshot=" + version, 200, nil},
		{"GET", "/snapshots/latest", 200, nil},
		{"GET", "/snapshots/" + version + "/repos.json.gz", 200, nil},
		{"GET", "/openapi.json", 200, nil},
		{"GET", "/ping", 200, nil},
		{"GET", "/repos?limit=lots", 400, nil},
		{"GET", "/stats?snapshot=nope", 400, nil},
		{"GET", "/repos?snapshot=" + missing, 404, nil},
		{"GET", "/nowhere", 404, nil},
		{"POST", "/repos", 405, nil},
		{"DELETE", "/snapshots/latest", 405, nil},
		{"GET", "/repos", 412, []string{"If-Match", `"another"`}},
		{"GET", "/stats", 412, []string{"If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"}},
	} {
		ctx := check(t, s, c.method, c.uri, c.status, c.header...)
		if etag := string(ctx.Response.Header.Peek("ETag")); c.method == "GET" && c.status == 200 && etag != "" {
			check(t, s, "GET", c.uri, 304, append([]string{"If-None-Match", etag}, c.header...)...)
		}
	}

	s.limiter = newLimiter(1, 1, nil)
	check(t, s, "GET", "/repos", 200)
	check(t, s, "GET", "/repos", 429)
	check(t, s, "GET", "/ping", 429)

	idle, err := New(Config{Logger: quietLogger()}, newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"/repos", "/stats", "/snapshots/latest", "/readyz"} {
		check(t, idle, "GET", uri, 503)
	}
	idle.current.Store(&edition{}) // no index: answering panics
	check(t, idle, "GET", "/repos?language=go", 500)
	check(t, idle, "GET", "/stats?language=go", 500)
}

// A field's lines past the few held in place are read as well.
func TestFieldsOfManyLines(t *testing.T) {
	s, _ := loadedServer(t, 10)
	h := s.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/repos?limit=3")
	for range 7 {
		ctx.Request.Header.Add("Accept-Encoding", "br")
	}
	ctx.Request.Header.Add("Accept-Encoding", "zstd")
	h(&ctx)
	etag := string(ctx.Response.Header.Peek("ETag"))
	if ce := string(ctx.Response.Header.ContentEncoding()); ce != "zstd" {
		t.Fatalf("Content-Encoding %q after eight lines of Accept-Encoding, want zstd", ce)
	}
	for i := range 9 {
		tag := fmt.Sprintf(`"other-%d"`, i)
		if i == 2 {
			tag = etag
		}
		ctx.Request.Header.Add("If-None-Match", tag)
	}
	ctx.Response.Reset()
	h(&ctx)
	if got := ctx.Response.StatusCode(); got != 304 {
		t.Errorf("status %d with the ETag on the third of nine lines of If-None-Match, want 304", got)
	}
}

// ?snapshot= is found however the query spells it, though a query string
// is parsed only when it may name it.
func TestSnapshotSpelledOtherwise(t *testing.T) {
	s, version := loadedServer(t, 10)
	h := s.Handler()
	for _, c := range []struct {
		uri       string
		status    int
		immutable bool
	}{
		{"/repos?snapshot=" + version, 200, true},
		{"/repos?sn%61pshot=" + version, 200, true},
		{"/stats?language=go&%73napshot=" + version, 200, true},
		{"/repos?%73napshot=nope", 400, false},
		{"/repos?language=go&snapshot=nope", 400, false},
		{"/repos?name=snapshot", 200, false},
		{"/repos?name=sn%61pshot", 200, false},
		{"/repos?language=go", 200, false},
	} {
		for range 2 { // and again, from the cache
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(c.uri)
			h(&ctx)
			cc := string(ctx.Response.Header.Peek("Cache-Control"))
			if got := ctx.Response.StatusCode(); got != c.status || strings.Contains(cc, "immutable") != c.immutable {
				t.Errorf("%s: status %d, Cache-Control %q; want %d, immutable %v", c.uri, got, cc, c.status, c.immutable)
			}
		}
	}
}

// A date field's first line with a date counts, an empty one before it
// does not: the same on every connection, whatever fasthttp reuses.
func TestEmptyDateLine(t *testing.T) {
	s, _ := loadedServer(t, 10)
	h := s.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/repos")
	h(&ctx)
	lm := string(ctx.Response.Header.Peek("Last-Modified"))
	for range 2 { // a fresh slot for the empty value, then a reused one
		ctx.Request.Header.Del("If-Modified-Since")
		ctx.Request.Header.Add("If-Modified-Since", "")
		ctx.Request.Header.Add("If-Modified-Since", lm)
		ctx.Response.Reset()
		h(&ctx)
		if got := ctx.Response.StatusCode(); got != 304 {
			t.Errorf("an empty If-Modified-Since, then %q: status %d, want 304", lm, got)
		}
	}
}
