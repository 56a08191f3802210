package edge

import (
	"bytes"
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
