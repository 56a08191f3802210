package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/filters"
	"github.com/freshrepos/freshrepos/snapshots"
)

func TestPingHealthAndReadiness(t *testing.T) {
	st := newStore(t)
	te := startEdge(t, st, Config{}, false)

	get(t, te.url+"/ping").status(t, 200).header(t, "Content-Type", "application/json").header(t, "Cache-Control", "no-store")
	if r := get(t, te.url+"/ping"); string(r.body) != `{"status":"pong"}` {
		t.Errorf("/ping = %s", r.body)
	}
	get(t, te.url+"/healthz").status(t, 200)
	problemOf(t, get(t, te.url+"/readyz"), 503)
	problemOf(t, get(t, te.url+"/repos"), 503)
	problemOf(t, get(t, te.url+"/stats"), 503)
	problemOf(t, get(t, te.url+"/snapshots/latest"), 503)

	m := publish(t, st, makeSnapshot(10, "a", t0))
	te.waitVersion(t, m.Version)
	r := get(t, te.url+"/readyz").status(t, 200).header(t, "X-Snapshot-Version", m.Version)
	if !bytes.Contains(r.body, []byte(m.Version)) {
		t.Errorf("/readyz = %s", r.body)
	}
}

func TestReposAnswer(t *testing.T) {
	st := newStore(t)
	snap := makeSnapshot(40, "a", t0)
	m := publish(t, st, snap)
	te := startEdge(t, st, Config{}, true)

	r := get(t, te.url+"/repos").status(t, 200)
	r.header(t, "Content-Type", "application/json").header(t, "Vary", "Accept-Encoding").
		header(t, "Access-Control-Allow-Origin", "*").header(t, "X-Snapshot-Version", m.Version).
		header(t, "Last-Modified", t0.Format(http.TimeFormat)).header(t, "Content-Encoding", "")
	if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
		t.Errorf("Content-Length %s for %d bytes", cl, len(r.body))
	}
	if !regexp.MustCompile(`^"` + m.Version + `-[0-9a-f]{12}-id"$`).MatchString(r.Header.Get("ETag")) {
		t.Errorf("ETag %q", r.Header.Get("ETag"))
	}
	if !regexp.MustCompile(`^public, max-age=\d+, stale-while-revalidate=120, stale-if-error=86400$`).MatchString(r.Header.Get("Cache-Control")) {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	a := decodeRepos(t, r.body)
	if a.Count != 40 || a.Total != 40 || len(a.Repositories) != 40 || a.Snapshot.Version != m.Version || !a.Snapshot.GeneratedAt.Equal(t0) {
		t.Fatalf("count %d total %d len %d snapshot %+v", a.Count, a.Total, len(a.Repositories), a.Snapshot)
	}
	// Each repository object has the bytes it has in repos.json.
	obj, err := st.Get(context.Background(), snapshots.VersionKey(m.Version, "repos.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range a.Repositories {
		if !bytes.Contains(obj.Body, raw) {
			t.Fatalf("repository %s is not as in repos.json", raw)
		}
	}
	if !bytes.Contains(r.body, []byte(`"languages":{"go":{"name":"Go","bytes":1000}`)) {
		t.Errorf("languages not as published: %.400s", r.body)
	}
	// The default order is created_at descending.
	if got := names(t, a); got[0] != "owner0/repo-a-0" || got[39] != "owner4/repo-a-39" {
		t.Errorf("order: first %s, last %s", got[0], got[39])
	}

	// Filters, limit and offset.
	f := decodeRepos(t, get(t, te.url+"/repos?language=go&limit=3&offset=1").status(t, 200).body)
	if f.Count != 3 || f.Total != 8 {
		t.Errorf("language=go: count %d total %d", f.Count, f.Total)
	}
	if got := names(t, f); !slices.Equal(got, []string{"owner5/repo-a-5", "owner3/repo-a-10", "owner1/repo-a-15"}) {
		t.Errorf("language=go names %v", got)
	}
	// The old contract's filters.
	for _, q := range []string{"name=repo-a-1", "license=mit", "allow_forking=true", "has_open_issues=false"} {
		a := decodeRepos(t, get(t, te.url+"/repos?"+q).status(t, 200).body)
		if a.Total == 0 || a.Total == 40 {
			t.Errorf("%s: total %d", q, a.Total)
		}
	}
	// fields projects, keeping the order of repos.json.
	p := decodeRepos(t, get(t, te.url+"/repos?fields=owner,full_name&limit=2").status(t, 200).body)
	if string(p.Repositories[0]) != `{"full_name":"owner0/repo-a-0","owner":"owner0"}` {
		t.Errorf("fields: %s", p.Repositories[0])
	}
}

func TestStatsAnswer(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(30, "a", t0))
	te := startEdge(t, st, Config{}, true)

	r := get(t, te.url+"/stats").status(t, 200).header(t, "X-Snapshot-Version", m.Version)
	var s struct {
		Repositories int            `json:"repositories"`
		Languages    map[string]any `json:"languages"`
		Snapshot     struct {
			Version string `json:"version"`
		} `json:"snapshot"`
	}
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Repositories != 30 || s.Snapshot.Version != m.Version || s.Languages["go"] == nil {
		t.Errorf("stats: %s", r.body)
	}
	if err := json.Unmarshal(get(t, te.url+"/stats?language=rust").status(t, 200).body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Repositories != 6 {
		t.Errorf("stats?language=rust: %d repositories", s.Repositories)
	}
	// /stats ignores what only orders or pages /repos: one cache entry.
	a := get(t, te.url+"/stats?language=rust")
	b := get(t, te.url+"/stats?language=rust&sort=stars&limit=1")
	if a.Header.Get("ETag") != b.Header.Get("ETag") || !bytes.Equal(a.body, b.body) {
		t.Errorf("sort and limit changed /stats")
	}
}

// Every encoding of every answer decodes to the identity bytes, and each
// has its own ETag.
func TestEncodingsDecodeToIdentity(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(50, "a", t0))
	te := startEdge(t, st, Config{}, true)
	paths := []string{"/repos", "/repos?language=go&sort=stars", "/repos?fields=id", "/stats", "/stats?license=mit",
		"/snapshots/latest", "/openapi.json", "/repos?snapshot=" + m.Version, "/snapshots/" + m.Version + "/repos.json"}
	for _, path := range paths {
		id := get(t, te.url+path).status(t, 200).header(t, "Content-Encoding", "")
		etags := map[string]bool{id.Header.Get("ETag"): true}
		for _, ae := range []string{"gzip", "zstd"} {
			r := get(t, te.url+path, "Accept-Encoding", ae).status(t, 200).header(t, "Content-Encoding", ae).header(t, "Vary", "Accept-Encoding")
			if !bytes.Equal(r.decoded(t), id.body) {
				t.Errorf("%s: %s decodes to other bytes than identity", path, ae)
			}
			if len(r.body) >= len(id.body) && len(id.body) > 1000 {
				t.Errorf("%s: %s is %d bytes, identity %d", path, ae, len(r.body), len(id.body))
			}
			etags[r.Header.Get("ETag")] = true
		}
		if len(etags) != 3 {
			t.Errorf("%s: ETags not distinct per encoding: %v", path, etags)
		}
	}
}

func TestAcceptEncodingQValues(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	for _, c := range []struct{ ae, want string }{
		{"", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br, zstd", "zstd"},
		{"zstd;q=0, gzip", "gzip"},
		{"gzip;q=0", ""},
		{"gzip;q=0, zstd;q=0", ""},
		{"GZIP;Q=0.5", "gzip"},
		{"gzip;q=1.0, zstd;q=0.5", "gzip"},
		{"*", "zstd"},
		{"*;q=0.3, zstd;q=0", "gzip"},
		{"identity", ""},
		{"identity;q=1, gzip;q=0.5", ""},
		{"br", ""},
		{"gzip;q=bogus", ""},
		{"x-gzip", "gzip"},
	} {
		var h []string
		if c.ae != "" {
			h = []string{"Accept-Encoding", c.ae}
		}
		get(t, te.url+"/repos?limit=2", h...).status(t, 200).header(t, "Content-Encoding", c.want)
	}
}

func TestConditionalRequests(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(20, "a", t0))
	te := startEdge(t, st, Config{}, true)
	for _, path := range []string{"/repos", "/repos?language=go", "/stats", "/snapshots/latest", "/repos?snapshot=" + m.Version,
		"/snapshots/" + m.Version + "/repos.json", "/snapshots/" + m.Version + "/repos.json.gz"} {
		ok := get(t, te.url+path, "Accept-Encoding", "gzip").status(t, 200).header(t, "X-Snapshot-Version", m.Version)
		etag, lm := ok.Header.Get("ETag"), ok.Header.Get("Last-Modified")
		notModified := func(header ...string) {
			t.Helper()
			r := get(t, te.url+path, append([]string{"Accept-Encoding", "gzip"}, header...)...).status(t, 304)
			if len(r.body) != 0 {
				t.Errorf("%s: 304 with a body", path)
			}
			// RFC 9110 15.4.5: what a cache needs to refresh its copy,
			// not the metadata it keeps from the 200.
			r.header(t, "ETag", etag).header(t, "Vary", ok.Header.Get("Vary")).
				header(t, "X-Snapshot-Version", "").header(t, "Last-Modified", "")
			if cc := r.Header.Get("Cache-Control"); !sameCaching(cc, ok.Header.Get("Cache-Control")) {
				t.Errorf("%s: 304 with Cache-Control %q, the 200 had %q", path, cc, ok.Header.Get("Cache-Control"))
			}
		}
		notModified("If-None-Match", etag)
		notModified("If-None-Match", "W/"+etag)
		notModified("If-None-Match", `"other", `+etag)
		notModified("If-None-Match", `"other"`, "If-None-Match", etag)
		notModified("If-None-Match", "*")
		notModified("If-Modified-Since", lm)
		notModified("If-Modified-Since", t0.Add(time.Hour).Format(http.TimeFormat))
		get(t, te.url+path, "Accept-Encoding", "gzip", "If-None-Match", `"other"`).status(t, 200)
		get(t, te.url+path, "Accept-Encoding", "gzip", "If-Modified-Since", t0.Add(-time.Second).Format(http.TimeFormat)).status(t, 200)
		get(t, te.url+path, "Accept-Encoding", "gzip", "If-Modified-Since", "not a date").status(t, 200)
		// If-None-Match decides when both are present.
		get(t, te.url+path, "Accept-Encoding", "gzip", "If-None-Match", `"other"`, "If-Modified-Since", lm).status(t, 200)
		// The ETag of another encoding does not match.
		if !strings.Contains(path, ".gz") {
			get(t, te.url+path, "If-None-Match", etag).status(t, 200)
		}
	}
}

// If-Match and If-Unmodified-Since are evaluated before If-None-Match and
// If-Modified-Since (RFC 9110 13.2.2): a client whose copy is not the
// current one gets a 412 naming the header, with the current validators.
func TestFailedPreconditions(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(400, "a", t0))
	te := startEdge(t, st, Config{}, true)
	before := t0.Add(-time.Second).Format(http.TimeFormat)
	fresh := 0
	for _, path := range []string{"/repos", "/repos?language=go", "/stats", "/snapshots/latest", "/repos?snapshot=" + m.Version,
		"/snapshots/" + m.Version + "/repos.json", "/snapshots/" + m.Version + "/repos.json.gz", "/openapi.json",
		"/repos?limit=", "/stats?min_stars="} { // the last two: queries seen for the first time each
		url := func() string {
			if strings.HasSuffix(path, "=") {
				fresh++
				return te.url + path + strconv.Itoa(200+fresh)
			}
			return te.url + path
		}
		ok := get(t, url()).status(t, 200)
		etag, lm := ok.Header.Get("ETag"), ok.Header.Get("Last-Modified")
		failed := func(header string, h ...string) {
			t.Helper()
			r := get(t, url(), h...).status(t, 412).
				header(t, "Content-Type", "application/problem+json").header(t, "Cache-Control", "no-store")
			var p filters.Problem
			if err := json.Unmarshal(r.body, &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Parameter != header {
				t.Errorf("%s: 412 %s does not name %s (%v)", path, r.body, header, err)
			}
			if !strings.HasSuffix(path, "=") && r.Header.Get("ETag") != etag {
				t.Errorf("%s: 412 with ETag %q, want the current %q", path, r.Header.Get("ETag"), etag)
			}
		}
		failed("If-Match", "If-Match", `"other"`)
		failed("If-Match", "If-Match", "W/"+etag) // If-Match compares strongly
		failed("If-Match", "If-Match", `"other"`, "If-Unmodified-Since", lm)
		failed("If-Match", "If-Match", `"other"`, "If-None-Match", etag)
		failed("If-Match", "If-Match", "", "If-Match", `"other"`) // every line counts, an empty first one too
		get(t, url(), "If-Match", "*").status(t, 200)
		if lm != "" {
			failed("If-Unmodified-Since", "If-Unmodified-Since", before)
			get(t, url(), "If-Unmodified-Since", lm).status(t, 200)
			get(t, url(), "If-Unmodified-Since", "not a date").status(t, 200)
		}
		if strings.HasSuffix(path, "=") {
			continue // a fresh query's ETag is only known by asking, and then it is no longer fresh
		}
		if path == "/repos" { // header names are case-insensitive
			for _, c := range []struct {
				fields          string
				status          int
				contentEncoding string
			}{
				{"if-match: \"other\"\r\n", 412, ""},
				{"if-none-match: " + etag + "\r\n", 304, ""},
				{"accept-encoding: gzip\r\nif-none-match: " + etag + "\r\n", 200, "gzip"}, // etag is identity's
				{"IF-NONE-MATCH: " + etag + "\r\nAccept-encoding: gzip\r\n", 200, "gzip"},
				{"If-none-match: " + etag + "\r\nACCEPT-ENCODING: identity\r\n", 304, ""},
				{"if-modified-since: " + lm + "\r\n", 304, ""},
				{"IF-UNMODIFIED-SINCE: " + before + "\r\n", 412, ""},
			} {
				resp := rawGet(t, te.url, "/repos", c.fields)
				if resp.StatusCode != c.status || resp.Header.Get("Content-Encoding") != c.contentEncoding {
					t.Errorf("%q, names in another case: %s, Content-Encoding %q; want %d, %q",
						c.fields, resp.Status, resp.Header.Get("Content-Encoding"), c.status, c.contentEncoding)
				}
			}
		}
		get(t, url(), "If-Match", `"other", `+etag).status(t, 200)
		get(t, url(), "If-Match", etag, "If-None-Match", etag).status(t, 304)
		if lm != "" { // If-Match, when present, decides instead
			get(t, url(), "If-Match", etag, "If-Unmodified-Since", before).status(t, 200)
		}
	}
}

func TestHead(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(20, "a", t0))
	te := startEdge(t, st, Config{}, true)
	for _, path := range []string{"/repos", "/repos?owner=owner1", "/stats", "/ping", "/snapshots/latest", "/openapi.json",
		"/snapshots/" + m.Version + "/repos.json.zst"} {
		g := get(t, te.url+path, "Accept-Encoding", "zstd").status(t, 200)
		h := do(t, http.MethodHead, te.url+path, "Accept-Encoding", "zstd").status(t, 200)
		if len(h.body) != 0 {
			t.Errorf("HEAD %s has a body", path)
		}
		for _, name := range []string{"Content-Length", "Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Last-Modified", "X-Snapshot-Version"} {
			if g.Header.Get(name) != h.Header.Get(name) && !(name == "Cache-Control" && sameCaching(g.Header.Get(name), h.Header.Get(name))) {
				t.Errorf("HEAD %s: %s %q, GET has %q", path, name, h.Header.Get(name), g.Header.Get(name))
			}
		}
		if h.Header.Get("Content-Length") != strconv.Itoa(len(g.body)) {
			t.Errorf("HEAD %s: Content-Length %s, GET body %d", path, h.Header.Get("Content-Length"), len(g.body))
		}
	}
	do(t, http.MethodHead, te.url+"/repos", "If-None-Match", get(t, te.url+"/repos").Header.Get("ETag")).status(t, 304)
}

func TestSameCaching(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"public, max-age=7, stale-if-error=86400", "public, max-age=6, stale-if-error=86400", true},
		{"public, max-age=7, stale-if-error=86400", "public, max-age=7, stale-if-error=86400", true},
		{"public, max-age=1, stale-if-error=86400", "public, max-age=119, stale-if-error=86400", true},
		{"public, max-age=7, stale-if-error=86400", "public, max-age=0, stale-if-error=86400", false},
		{"public, max-age=7, stale-if-error=86400", "public, max-age=7, stale-if-error=60", false},
		{"public, max-age=7, stale-if-error=86400", "no-store", false},
		{"no-store", "no-store", true},
	} {
		if got := sameCaching(c.a, c.b); got != c.want {
			t.Errorf("sameCaching(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	for _, path := range append(slices.Clone(routePatterns[:6]), "/openapi.json", "/snapshots/"+m.Version+"/repos.json") {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			r := do(t, method, te.url+path)
			problemOf(t, r, 405)
			r.header(t, "Allow", "GET, HEAD").header(t, "Access-Control-Allow-Origin", "*")
		}
	}
	problemOf(t, do(t, http.MethodPost, te.url+"/nowhere"), 404)
}

func TestNotFound(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	missing := "20200101T000000Z-0123456789ab"
	for _, path := range []string{"/nowhere", "/repos/", "/Repos", "/snapshots", "/snapshots/", "/snapshots/latest.json",
		"/snapshots/../latest.json", "/snapshots/%2e%2e/latest.json", "/snapshots/" + m.Version + "/manifest.json",
		"/snapshots/" + m.Version + "/../../latest.json", "/snapshots/" + strings.ToUpper(m.Version) + "/repos.json",
		"/snapshots/" + m.Version + "x/repos.json", "/snapshots/" + missing + "/repos.json", "/snapshots/" + missing + "/repos.json.zst",
		"/repos?snapshot=" + missing, "/stats?snapshot=" + missing} {
		r := get(t, te.url+path)
		problemOf(t, r, 404)
		r.header(t, "Access-Control-Allow-Origin", "*").header(t, "Cache-Control", "no-store")
	}
}

// A version the store lacks costs one store request, not one per request.
func TestMissingVersionsAreRemembered(t *testing.T) {
	st := &flakyStore{Store: newStore(t)}
	publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{PollInterval: time.Hour}, true)
	missing := "20200101T000000Z-0123456789ab"
	for _, path := range []string{"/repos?snapshot=" + missing, "/snapshots/" + missing + "/repos.json"} {
		problemOf(t, get(t, te.url+path), 404)
		before := st.gets.Load()
		for range 5 {
			problemOf(t, get(t, te.url+path), 404)
		}
		if st.gets.Load() != before {
			t.Errorf("%s: %d store reads for a version known to be missing", path, st.gets.Load()-before)
		}
	}
}

// ?snapshot= of a version the store lacks is a 404 naming the parameter,
// and a query whose other parameters are wrong is a 400 naming them,
// before anything is read from the store.
func TestPinnedQueriesAreCheckedFirst(t *testing.T) {
	st := &flakyStore{Store: newStore(t)}
	old := publish(t, st, makeSnapshot(5, "a", t0))
	publish(t, st, makeSnapshot(5, "b", t0.Add(time.Minute)))
	te := startEdge(t, st, Config{PollInterval: time.Hour}, true)
	missing := "20200101T000000Z-0123456789ab"
	p := problemOf(t, get(t, te.url+"/repos?snapshot="+missing), 404)
	if errs, _ := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["parameter"] != "snapshot" ||
		errs[0].(map[string]any)["value"] != missing {
		t.Errorf("404 for a missing version: %v", p)
	}
	before := st.gets.Load()
	for _, v := range []string{"20210101T000000Z-0123456789ab", old.Version} {
		p := problemOf(t, get(t, te.url+"/repos?snapshot="+v+"&languag=go"), 400)
		if errs, _ := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["parameter"] != "languag" {
			t.Errorf("?snapshot=%s&languag=go: %v", v, p)
		}
		problemOf(t, get(t, te.url+"/stats?snapshot="+v+"&snapshot="+v), 400)
	}
	if n := st.gets.Load() - before; n != 0 {
		t.Errorf("%d store reads for queries that could not be answered", n)
	}
	get(t, te.url+"/repos?snapshot="+old.Version+"&language=go").status(t, 200)
}

func TestBadQuery(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{}, true)
	p := problemOf(t, get(t, te.url+"/repos?languag=go&limit=x"), 400)
	errs, _ := p["errors"].([]any)
	if len(errs) != 2 {
		t.Fatalf("errors: %v", p["errors"])
	}
	if e := errs[0].(map[string]any); e["parameter"] != "languag" || !strings.Contains(e["message"].(string), "language") {
		t.Errorf("error: %v", e)
	}
	problemOf(t, get(t, te.url+"/stats?has_open_issues=maybe"), 400)
	for _, q := range []string{"snapshot=latest", "snapshot=", "snapshot=../../x", "snapshot=" + m.Version + "&snapshot=" + m.Version} {
		p := problemOf(t, get(t, te.url+"/repos?"+q), 400)
		if errs, _ := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["parameter"] != "snapshot" {
			t.Errorf("%s: %v", q, p)
		}
	}
}

func TestFilteredAnswersAreCached(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(30, "a", t0))
	te := startEdge(t, st, Config{}, true)
	hits := func() float64 { return counterValue(te.metrics.cacheHits[kindRepos]) }
	misses := func() float64 { return counterValue(te.metrics.cacheMisses[kindRepos]) }

	a := get(t, te.url+"/repos?language=go,rust&sort=stars", "Accept-Encoding", "gzip").status(t, 200)
	h0, m0 := hits(), misses()
	b := get(t, te.url+"/repos?language=go,rust&sort=stars", "Accept-Encoding", "gzip").status(t, 200)
	if hits() != h0+1 || misses() != m0 {
		t.Errorf("the same query again: hits %v→%v, misses %v→%v", h0, hits(), m0, misses())
	}
	// Another spelling of the same query: computed from the cached answer.
	c := get(t, te.url+"/repos?sort=stars&language=rust&language=GO", "Accept-Encoding", "gzip").status(t, 200)
	for _, r := range []reply{b, c} {
		if r.Header.Get("ETag") != a.Header.Get("ETag") || !bytes.Equal(r.body, a.body) {
			t.Errorf("%s: other ETag or bytes", r.Request.URL)
		}
	}
	used, entries := te.current.Load().cache.size()
	if used <= 0 || entries < 2 {
		t.Errorf("cache: %d bytes in %d entries", used, entries)
	}
}

func TestCacheIsBoundedInBytes(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(200, "a", t0))
	const limit = 64 << 10
	te := startEdge(t, st, Config{CacheBytes: limit}, true)
	for i := range 100 {
		get(t, te.url+"/repos?min_stars="+strconv.Itoa(i), "Accept-Encoding", "zstd").status(t, 200)
	}
	if used, entries := te.current.Load().cache.size(); used > limit || entries == 0 {
		t.Errorf("cache holds %d bytes in %d entries, limit %d", used, entries, limit)
	}
}

// CACHE_BYTES=0 (or --cache-bytes 0) turns the caches off; it is not read
// as "unset", which would mean the default.
func TestCacheCanBeTurnedOff(t *testing.T) {
	st := newStore(t)
	ma := publish(t, st, makeSnapshot(200, "a", t0))
	for name, setup := range map[string]func(t *testing.T, fs *flag.FlagSet){
		"env":  func(t *testing.T, fs *flag.FlagSet) { t.Setenv("CACHE_BYTES", "0") },
		"flag": func(t *testing.T, fs *flag.FlagSet) { fs.Set("cache-bytes", "0MiB") },
	} {
		t.Run(name, func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("edge", flag.ContinueOnError)
			if name == "env" {
				setup(t, fs)
				c.RegisterFlags(fs)
			} else {
				c.RegisterFlags(fs)
				setup(t, fs)
			}
			te := startEdge(t, st, c, true)
			for range 3 {
				get(t, te.url+"/repos?min_stars=3", "Accept-Encoding", "zstd").status(t, 200)
				get(t, te.url+"/snapshots/"+ma.Version+"/repos.json").status(t, 200)
			}
			if used, entries := te.current.Load().cache.size(); used != 0 || entries != 0 {
				t.Errorf("answer cache holds %d bytes in %d entries, want none", used, entries)
			}
			if used, entries := te.files.size(); used != 0 || entries != 0 {
				t.Errorf("download cache holds %d bytes in %d entries, want none", used, entries)
			}
			if got := fs.Lookup("cache-bytes").Value.String(); got != "0" {
				t.Errorf("--cache-bytes reads %q, want 0", got)
			}
		})
	}
}

func TestSnapshotParameter(t *testing.T) {
	st := newStore(t)
	ma := publish(t, st, makeSnapshot(10, "a", t0))
	mb := publish(t, st, makeSnapshot(12, "b", t0.Add(2*time.Minute)))
	te := startEdge(t, st, Config{}, true)
	if te.servingVersion() != mb.Version {
		t.Fatalf("serving %s, want %s", te.servingVersion(), mb.Version)
	}
	for _, path := range []string{"/repos", "/repos?language=go", "/stats"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		r := get(t, te.url+path+sep+"snapshot="+ma.Version).status(t, 200).
			header(t, "X-Snapshot-Version", ma.Version).header(t, "Cache-Control", "public, max-age=31536000, immutable").
			header(t, "Last-Modified", t0.Format(http.TimeFormat))
		if !bytes.Contains(r.body, []byte(`"version":"`+ma.Version+`"`)) || bytes.Contains(r.body, []byte("repo-b-")) {
			t.Errorf("%s from %s: %.200s", path, ma.Version, r.body)
		}
		// The same bytes and ETag as when that version was the newest.
		cur := get(t, te.url+path+sep+"snapshot="+mb.Version).status(t, 200)
		if cur.Header.Get("ETag") != get(t, te.url+path).Header.Get("ETag") {
			t.Errorf("%s: ?snapshot= of the current version has another ETag", path)
		}
	}
	a := decodeRepos(t, get(t, te.url+"/repos?snapshot="+ma.Version).body)
	if a.Total != 10 {
		t.Errorf("total %d", a.Total)
	}
}

func TestSnapshotLRU(t *testing.T) {
	st := &flakyStore{Store: newStore(t)}
	var versions []string
	for i := range 4 {
		versions = append(versions, publish(t, st, makeSnapshot(5, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))).Version)
	}
	te := startEdge(t, st, Config{SnapshotLRU: 2}, true)
	for _, v := range versions[:3] {
		get(t, te.url+"/repos?snapshot="+v).status(t, 200).header(t, "X-Snapshot-Version", v)
	}
	if n := te.versions.len(); n != 2 {
		t.Errorf("%d versions kept, want 2", n)
	}
	// A kept version costs no store request; an evicted one is loaded again.
	before := st.gets.Load()
	get(t, te.url+"/repos?snapshot="+versions[2]).status(t, 200)
	if st.gets.Load() != before {
		t.Errorf("a kept version was read from the store")
	}
	get(t, te.url+"/repos?snapshot="+versions[0]).status(t, 200)
	if st.gets.Load() == before {
		t.Errorf("an evicted version was not read again")
	}
}

// Versions asked for at once are loaded one at a time: a client naming
// many costs one snapshot's memory more, not one per version.
func TestVersionsLoadOneAtATime(t *testing.T) {
	st := &holdingStore{Store: newStore(t), release: make(chan struct{}), stop: make(chan struct{})}
	var versions []string
	for i := range 4 {
		versions = append(versions, publish(t, st, makeSnapshot(5, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))).Version)
	}
	te := startEdge(t, st, Config{}, true) // serving versions[3]
	t.Cleanup(func() { close(st.stop) })   // before the edge stops, should the test fail
	st.hold.Store(true)
	var done []<-chan string
	for _, v := range versions[:3] {
		done = append(done, getStatus(te.url+"/repos?snapshot="+v))
	}
	// One load reads its snapshot while the other two wait for it.
	waitFor(t, "one load reading and two waiting", func() bool {
		return st.reading.Load() == 1 && te.versions.slot.queued.Load() == 2
	})
	for range 3 {
		st.release <- struct{}{}
	}
	for _, d := range done {
		if status := <-d; status != "200 OK" {
			t.Errorf("a version asked for: %s", status)
		}
	}
	if p := st.peak.Load(); p != 1 {
		t.Errorf("%d snapshots read at once, want 1", p)
	}
}

// A load that waited for the slot until LOAD_TIMEOUT is a 503, and is not
// remembered as the version's failure: asked again once the slot is free,
// the version loads.
func TestBusyLoadIsNotAFailure(t *testing.T) {
	st := newStore(t)
	var versions []string
	for i := range 2 {
		versions = append(versions, publish(t, st, makeSnapshot(5, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))).Version)
	}
	te := startEdge(t, st, Config{LoadTimeout: 200 * time.Millisecond, PollInterval: time.Hour}, true)
	te.versions.slot.c <- struct{}{} // another version's load, taking its time
	problemOf(t, get(t, te.url+"/repos?snapshot="+versions[0]), 503)
	<-te.versions.slot.c
	get(t, te.url+"/repos?snapshot="+versions[0]).status(t, 200).header(t, "X-Snapshot-Version", versions[0])
}

// Downloads are read from the store one at a time too, and one that waited
// for its turn until LOAD_TIMEOUT is a 503 that is not remembered.
func TestDownloadsLoadOneAtATime(t *testing.T) {
	st := &holdingStore{Store: newStore(t), release: make(chan struct{}), stop: make(chan struct{})}
	var versions []string
	for i := range 3 {
		versions = append(versions, publish(t, st, makeSnapshot(5, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))).Version)
	}
	te := startEdge(t, st, Config{}, true)
	t.Cleanup(func() { close(st.stop) })
	st.hold.Store(true)
	paths := []string{"/snapshots/" + versions[0] + "/repos.json", "/snapshots/" + versions[0] + "/repos.json.gz",
		"/snapshots/" + versions[1] + "/repos.json.zst"}
	var done []<-chan string
	for _, p := range paths {
		done = append(done, getStatus(te.url+p))
	}
	waitFor(t, "one download reading and two waiting", func() bool {
		return st.reading.Load() == 1 && te.fileSlot.queued.Load() == 2
	})
	for range paths {
		st.release <- struct{}{}
	}
	for _, d := range done {
		if status := <-d; status != "200 OK" {
			t.Errorf("a download: %s", status)
		}
	}
	if p := st.peak.Load(); p != 1 {
		t.Errorf("%d files read at once, want 1", p)
	}

	st.hold.Store(false)
	busy := startEdge(t, st, Config{LoadTimeout: 200 * time.Millisecond, PollInterval: time.Hour}, true)
	busy.fileSlot.c <- struct{}{} // another download, taking its time
	problemOf(t, get(t, busy.url+"/snapshots/"+versions[2]+"/repos.json"), 503)
	<-busy.fileSlot.c
	get(t, busy.url+"/snapshots/"+versions[2]+"/repos.json").status(t, 200)
}

// A load that waited for its slot has a whole LOAD_TIMEOUT to read: the
// wait must not use up the read's time, leaving a slow store too little
// and the timeout remembered as the version's failure.
func TestWaitingLeavesTheReadItsTimeout(t *testing.T) {
	st := &holdingStore{Store: newStore(t), release: make(chan struct{}), stop: make(chan struct{})}
	var versions []string
	for i := range 2 {
		versions = append(versions, publish(t, st, makeSnapshot(5, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))).Version)
	}
	const timeout = time.Hour
	te := startEdge(t, st, Config{LoadTimeout: timeout, PollInterval: time.Hour}, true)
	for _, c := range []struct {
		name, path string
		slot       *loadSlot
	}{
		{"version", "/repos?snapshot=" + versions[0], &te.versions.slot},
		{"download", "/snapshots/" + versions[0] + "/repos.json", &te.fileSlot},
	} {
		c.slot.c <- struct{}{} // another load, taking its time
		done := getStatus(te.url + c.path)
		waitFor(t, c.name+" waiting for the slot", func() bool { return c.slot.queued.Load() == 1 })
		freed := time.Now()
		<-c.slot.c
		if status := <-done; status != "200 OK" {
			t.Fatalf("%s: %s", c.name, status)
		}
		if d := *st.deadline.Load(); d.Before(freed.Add(timeout)) {
			t.Errorf("%s: the read's deadline is %v after the slot was freed, less than a whole LOAD_TIMEOUT (%v)",
				c.name, d.Sub(freed), timeout)
		}
	}
}

// holdingStore holds every read of a snapshot's repositories, once hold
// is set, until a value arrives on release or stop is closed; it counts
// the reads in progress.
type holdingStore struct {
	snapshots.Store
	hold          atomic.Bool
	reading, peak atomic.Int64
	release, stop chan struct{}
	deadline      atomic.Pointer[time.Time] // the last read's
}

func (h *holdingStore) Get(ctx context.Context, key, ifNoneMatch string) (*snapshots.Object, error) {
	if d, ok := ctx.Deadline(); ok && strings.Contains(key, "/repos.json") {
		h.deadline.Store(&d)
	}
	if h.hold.Load() && strings.Contains(key, "/repos.json") {
		n := h.reading.Add(1)
		defer h.reading.Add(-1)
		for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
		}
		select {
		case <-h.release:
		case <-h.stop:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Store.Get(ctx, key, ifNoneMatch)
}

func TestDownloads(t *testing.T) {
	st := newStore(t)
	ma := publish(t, st, makeSnapshot(30, "a", t0))
	publish(t, st, makeSnapshot(5, "b", t0.Add(time.Minute)))
	te := startEdge(t, st, Config{}, true)
	stored := func(name string) []byte {
		obj, err := st.Get(context.Background(), snapshots.VersionKey(ma.Version, name), "")
		if err != nil {
			t.Fatal(err)
		}
		return obj.Body
	}
	base := te.url + "/snapshots/" + ma.Version + "/"
	id := get(t, base+"repos.json").status(t, 200).header(t, "Content-Type", "application/json").
		header(t, "Cache-Control", "public, max-age=31536000, immutable").header(t, "X-Snapshot-Version", ma.Version).
		header(t, "Vary", "Accept-Encoding").header(t, "Last-Modified", t0.Format(http.TimeFormat))
	if !bytes.Equal(id.body, stored("repos.json")) {
		t.Errorf("repos.json differs from the store's")
	}
	gz := get(t, base+"repos.json", "Accept-Encoding", "gzip").status(t, 200).header(t, "Content-Encoding", "gzip")
	if !bytes.Equal(gz.body, stored("repos.json.gz")) || !bytes.Equal(gz.decoded(t), id.body) {
		t.Errorf("negotiated gzip is not the stored repos.json.gz")
	}
	for name, ct := range map[string]string{"repos.json.gz": "application/gzip", "repos.json.zst": "application/zstd"} {
		r := get(t, base+name, "Accept-Encoding", "gzip, zstd").status(t, 200).header(t, "Content-Type", ct).header(t, "Content-Encoding", "")
		if !bytes.Equal(r.body, stored(name)) {
			t.Errorf("%s differs from the store's", name)
		}
	}
}

// A corrupt file in the store is never served.
func TestCorruptDownloadIsRefused(t *testing.T) {
	st := newStore(t)
	ma := publish(t, st, makeSnapshot(30, "a", t0))
	mb := publish(t, st, makeSnapshot(5, "b", t0.Add(time.Minute)))
	te := startEdge(t, st, Config{}, true)
	te.waitVersion(t, mb.Version)
	key := snapshots.VersionKey(ma.Version, "repos.json.gz")
	if err := st.Put(context.Background(), key, []byte("not gzip"), snapshots.Meta{}); err != nil {
		t.Fatal(err)
	}
	problemOf(t, get(t, te.url+"/snapshots/"+ma.Version+"/repos.json.gz"), 503)
}

func TestLatestManifest(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(10, "a", t0))
	te := startEdge(t, st, Config{}, true)
	r := get(t, te.url+"/snapshots/latest").status(t, 200).header(t, "X-Snapshot-Version", m.Version)
	latest, err := st.Get(context.Background(), snapshots.LatestKey, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, latest.Body) {
		t.Errorf("/snapshots/latest = %s\nlatest.json = %s", r.body, latest.Body)
	}
}

func TestCacheControlCountsDownToNextPublication(t *testing.T) {
	s, err := New(Config{PublishInterval: 2 * time.Minute, PollInterval: 2 * time.Second, Logger: quietLogger()}, newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		elapsed time.Duration
		maxAge  int
	}{
		{0, 120}, {time.Second, 119}, {119*time.Second + 900*time.Millisecond, 1},
		// Due and not here yet: expected within the grace, 2 s of polling
		// and 12 s for the run and the store.
		{120 * time.Second, 14}, {121 * time.Second, 13}, {133 * time.Second, 1},
		// The grace is over: nothing changed, so the next is due at 240 s.
		{134 * time.Second, 106}, {3*time.Hour + 30*time.Second, 90}, {3*time.Hour + 5*time.Second, 9},
		{-time.Hour, 120},
	} {
		want := fmt.Sprintf("public, max-age=%d, stale-while-revalidate=120, stale-if-error=86400", c.maxAge)
		if got := string(s.freshCacheControl(s.freshMaxAge(t0, t0.Add(c.elapsed)))); got != want {
			t.Errorf("after %v: %q, want %q", c.elapsed, got, want)
		}
	}
}

func TestTwoEdgesAgree(t *testing.T) {
	st := newStore(t)
	m := publish(t, st, makeSnapshot(60, "a", t0))
	e1 := startEdge(t, st, Config{}, true)
	e2 := startEdge(t, st, Config{CacheBytes: 1 << 20}, true)
	paths := []string{"/repos", "/repos?language=go&sort=stars&limit=5", "/repos?owner=owner3&fields=id,full_name",
		"/stats", "/stats?license=apache", "/snapshots/latest", "/repos?snapshot=" + m.Version, "/openapi.json"}
	for _, path := range paths {
		for _, ae := range []string{"", "gzip", "zstd"} {
			a := get(t, e1.url+path, "Accept-Encoding", ae).status(t, 200)
			b := get(t, e2.url+path, "Accept-Encoding", ae).status(t, 200)
			if a.Header.Get("ETag") != b.Header.Get("ETag") || !bytes.Equal(a.body, b.body) {
				t.Errorf("%s (%q): the two edges disagree", path, ae)
			}
		}
	}
}

func TestHeaderAndBodyLimits(t *testing.T) {
	st := newStore(t)
	publish(t, st, makeSnapshot(5, "a", t0))
	te := startEdge(t, st, Config{MaxHeaderBytes: 4096, MaxBodyBytes: 1024}, true)
	problemOf(t, get(t, te.url+"/repos", "X-Big", strings.Repeat("x", 8000)), 431)

	get(t, te.url+"/repos", "X-Big", strings.Repeat("x", 3000)).status(t, 200) // under the limit

	req, _ := http.NewRequest(http.MethodGet, te.url+"/repos", strings.NewReader(strings.Repeat("x", 4096)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("body over the limit: status %d", resp.StatusCode)
	}
}

// A client that does not finish its request within ReadTimeout gets 408
// and loses the connection.
func TestReadTimeout(t *testing.T) {
	st := newStore(t)
	te := startEdge(t, st, Config{ReadTimeout: 100 * time.Millisecond}, false)
	c, err := net.Dial("tcp", strings.TrimPrefix(te.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /ping HTTP/1.1\r\nHost: edge\r\n") // no blank line: never finished
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 408 || resp.Header.Get("Content-Type") != "application/problem+json" || !resp.Close {
		t.Errorf("status %d, %s, close %v", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Close)
	}
}

// A request body that follows a 100 Continue is read within the request's
// read timeout, not waited for as the next request (here an hour): sent
// alone, or after a pipelined request whose answer fasthttp writes with
// the 100 Continue.
func TestReadTimeoutAfterContinue(t *testing.T) {
	st := newStore(t)
	te := startEdge(t, st, Config{ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Hour}, false)
	const expect = "POST /repos HTTP/1.1\r\nHost: edge\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"
	// After k pipelined requests: their answers go out as fasthttp's
	// write buffer fills, so the 100 Continue comes after them in a write
	// of its own, with some of them, or split over two writes.
	for k := range 17 {
		t.Run(fmt.Sprintf("after %d", k), func(t *testing.T) {
			t.Parallel()
			statuses := append(slices.Repeat([]int{200}, k), 100, 408)
			c, err := net.Dial("tcp", strings.TrimPrefix(te.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))                                      // the read timeout is 300 ms
			fmt.Fprint(c, strings.Repeat("GET /ping HTTP/1.1\r\nHost: edge\r\n\r\n", k)+expect) // and the body never comes
			br := bufio.NewReader(c)
			for i, want := range statuses {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: waiting for %d: %v", i, want, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("answer %d: status %d, want %d", i, resp.StatusCode, want)
				}
			}
		})
	}
}
