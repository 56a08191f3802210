package edge

import (
	"bytes"
	"strconv"
	"testing"
)

// A query's first answer is written fresh and not cached, its second is
// cached; both have the same bytes and ETag.
func TestFreshAnswersAreTheCachedOnes(t *testing.T) {
	st := newStore(t)
	publish(t, st, synthSnapshot(300, 5, t0))
	te := startEdge(t, st, Config{}, true)
	e := te.current.Load()
	allDeltas(t, e)
	for _, path := range []string{"/stats?language=go", "/stats?license=mit&fork=false", "/repos?limit=90&sort=stars", "/repos?limit=60&language=python,javascript,typescript"} {
		for _, ae := range []string{"", "gzip", "zstd"} {
			_, before := e.cache.size()
			a := get(t, te.url+path, "Accept-Encoding", ae).status(t, 200)
			_, fresh := e.cache.size()
			b := get(t, te.url+path, "Accept-Encoding", ae).status(t, 200)
			_, cached := e.cache.size()
			if a.Header.Get("ETag") != b.Header.Get("ETag") || !bytes.Equal(a.body, b.body) {
				t.Errorf("%s (%q): the fresh answer (%s) differs from the cached one (%s)", path, ae, a.Header.Get("ETag"), b.Header.Get("ETag"))
			}
			if !bytes.Equal(a.decoded(t), get(t, te.url+path).body) {
				t.Errorf("%s (%q): does not decode to the identity answer", path, ae)
			}
			large := len(a.decoded(t)) >= stitchMinBytes
			if path[:6] == "/stats" || large {
				if fresh != before || cached <= fresh {
					t.Errorf("%s (%q): cache entries %d, then %d fresh, then %d", path, ae, before, fresh, cached)
				}
			}
		}
	}
}

// A client that takes zstd and gzip alike (as browsers do) gets a new
// large /repos query stitched in gzip, not compressed in zstd for it
// alone; asked again, the answer is cached and goes in zstd. A client that
// prefers zstd gets zstd.
func TestFreshReposGoInGzipWhenItTies(t *testing.T) {
	st := newStore(t)
	publish(t, st, synthSnapshot(300, 5, t0))
	te := startEdge(t, st, Config{}, true)
	allDeltas(t, te.current.Load())
	const browser = "gzip, deflate, br, zstd"
	for i, c := range []struct {
		ae          string
		first, then string
	}{
		{browser, "gzip", "zstd"},
		{"zstd", "zstd", "zstd"},
		{"zstd, gzip;q=0.9", "zstd", "zstd"},
	} {
		path := "/repos?limit=" + strconv.Itoa(80+i) + "&sort=stars"
		identity := get(t, te.url+path).body
		for n, want := range []string{c.first, c.then, c.then} {
			r := get(t, te.url+path, "Accept-Encoding", c.ae).status(t, 200).header(t, "Content-Encoding", want).header(t, "Vary", "Accept-Encoding")
			if !bytes.Equal(r.decoded(t), identity) {
				t.Errorf("%q, request %d: does not decode to the identity answer", c.ae, n+1)
			}
		}
	}
	if len(get(t, te.url+"/repos?limit=80&sort=stars").body) < stitchMinBytes {
		t.Fatal("the answer is too small to be stitched: the test tests nothing")
	}
}
