package edge

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/filters"
	"github.com/freshrepos/freshrepos/snapshots"
)

// kind is an answer computed from a query: /repos or /stats.
type kind uint8

const (
	kindRepos kind = iota
	kindStats
	numKinds
)

var kindNames = [numKinds]string{"repos", "stats"}

// slot is where the cache keeps one kind of answer in one encoding.
func slot(k kind, enc encoding) int { return int(k)*int(numEncodings) + int(enc) }

// edition is everything the edge serves from one snapshot. It is built
// off the request path and never changed afterwards, except for its cache,
// which only ever holds answers computed from it, and what a large one
// finishes in the background: a request that loaded an edition answers
// from it alone, so it cannot mix two snapshots.
type edition struct {
	manifest    *snapshots.Manifest
	version     string
	generatedAt time.Time // second precision, as published

	index *filters.Index
	// frags is the unfiltered /repos answer, which holds each
	// repository's JSON object as in repos.json, followed by a comma (or,
	// for the last, the "]" closing the list): repository i is
	// frags[fragOff[i]:fragOff[i+1]-1]. Every /repos answer is a
	// concatenation of them.
	frags   []byte
	fragOff []int

	snapshotJSON  []byte // the "snapshot" member of answers
	readyBody     []byte // /readyz
	lastModified  []byte // generatedAt as an HTTP date
	versionHeader []byte
	// The header templates of the edition's answers (answeredEdition):
	// pinned of those asked for by version, fresh of the current
	// snapshot's at the max-age of its last answer.
	pinned *headerSet
	fresh  atomic.Pointer[headerSet]

	// The unfiltered answers, built at load, except the compressed
	// /repos of a large snapshot, which are built in the background
	// (staticRep).
	static [numKinds][numEncodings]atomic.Pointer[representation]
	latest resource

	// gz holds each repository's object deflated on its own, for
	// stitched gzip answers (stitch.go); nil until built, in the
	// background for a large snapshot.
	gz atomic.Pointer[gzipFragments]

	cache     *cache[representation]
	sightings *sightings // of the large /repos answers not cached (stitch.go)
}

// syncBuildBytes is the size of the unfiltered /repos answer beyond which
// its compressed encodings and the gzip fragments are built in the
// background, so that a large snapshot is served as soon as it is
// indexed: compressing 88 MB at the best levels takes seconds.
const syncBuildBytes = 8 << 20

// newEdition builds the edition of a loaded snapshot. Only the index, the
// repositories' bytes and what is computed from them are retained.
func newEdition(m *snapshots.Manifest, l *loaded, cacheBytes int64) (*edition, error) {
	if l.version != m.Version {
		return nil, fmt.Errorf("edge: snapshot %s under manifest %s", l.version, m.Version)
	}
	n := len(l.repos)
	e := &edition{
		manifest:      m,
		version:       m.Version,
		generatedAt:   l.generatedAt.UTC(),
		index:         filters.NewIndex(l.repos),
		versionHeader: []byte(m.Version),
		cache:         newCache[representation](int(numKinds)*int(numEncodings), cacheBytes),
		sightings:     newSightings(),
	}
	block, err := snapshots.Marshal(struct {
		Version     string    `json:"version"`
		GeneratedAt time.Time `json:"generated_at"`
	}{e.version, e.generatedAt})
	if err != nil {
		return nil, err
	}
	e.snapshotJSON = block
	e.readyBody = append(append([]byte(`{"status":"ready","snapshot":`), block...), '}')
	e.lastModified = fasthttp.AppendHTTPDate(nil, e.generatedAt)
	e.pinned = newHeaderSet(e, valImmutable, 0)

	// The unfiltered /repos answer: the objects as published, in their
	// envelope.
	body := e.appendReposTail(l.body, n, n)
	e.frags, e.fragOff = body, l.off
	e.setStatic(kindRepos, encIdentity, body)
	stats, err := e.render(kindStats, nil)
	if err != nil {
		return nil, err
	}
	for enc := range numEncodings {
		e.setStatic(kindStats, enc, compress(stats, enc, effortBest))
	}
	latest, err := snapshots.Marshal(m)
	if err != nil {
		return nil, err
	}
	e.latest = newResource(latest, e.version, "snapshots/latest", effortBest)

	finish := func() {
		e.gz.Store(newGzipFragments(n, func(i int) []byte { return e.frag(int32(i)) }))
		e.staticRep(kindRepos, encGzip)
		e.staticRep(kindRepos, encZstd)
	}
	if len(body) <= syncBuildBytes {
		finish()
	} else {
		go finish()
	}
	return e, nil
}

func (e *edition) setStatic(k kind, enc encoding, body []byte) *representation {
	rep := &representation{body: body, etag: etagFor(e.version, etagSubject(k, ""), enc)}
	e.static[k][enc].Store(rep)
	return rep
}

// staticRep returns the unfiltered answer of kind k in enc, compressing it
// first if that is not done yet (once, however many ask).
func (e *edition) staticRep(k kind, enc encoding) *representation {
	if rep := e.static[k][enc].Load(); rep != nil {
		return rep
	}
	v, _, _ := e.cache.flight.Do("static "+strconv.Itoa(slot(k, enc)), func() (any, error) {
		if rep := e.static[k][enc].Load(); rep != nil {
			return rep, nil
		}
		return e.setStatic(k, enc, compress(e.static[k][encIdentity].Load().body, enc, effortBest)), nil
	})
	return v.(*representation)
}

// etagSubject names what an ETag is of: the route and canonical query.
func etagSubject(k kind, canonical string) string { return kindNames[k] + "?" + canonical }

func (e *edition) frag(i int32) []byte { return e.frags[e.fragOff[i] : e.fragOff[i+1]-1] }

// canonical is the form of q that k's answer depends on.
func canonical(k kind, q *filters.Query) string {
	if k == kindStats {
		return q.StatsCanonical()
	}
	return q.Canonical()
}

// lookup returns the cached answer for a raw query string, or nil. It is
// the whole cost of a cached answer, and allocates nothing.
func (e *edition) lookup(k kind, enc encoding, rawQuery []byte) *representation {
	if len(rawQuery) == 0 {
		return e.static[k][enc].Load()
	}
	return e.cache.get(slot(k, enc), rawQuery)
}

// answer returns the answer to q, computing it unless its canonical form
// is cached, and caches it under the raw query it came as too, so that the
// next identical request is a lookup. Concurrent misses for one canonical
// query compute it once.
//
// A recipe grows when its answer is compressed whole, and every entry that
// holds it is charged for that, or the cache's bound would not bound
// memory: it records the raw key before the entry is made, and upgrade
// stores the body before it reads the keys, so that the entry is charged
// by one or the other (at worst by both, which overstates).
func (e *edition) answer(k kind, enc encoding, rawQuery []byte, q *filters.Query) (*representation, error) {
	canon := canonical(k, q)
	var rep *representation
	size := 0
	if canon == "" {
		rep = e.staticRep(k, enc) // held by the edition: charge the entry only
	} else {
		var err error
		if rep, err = e.rendered(k, enc, canon, q); err != nil {
			return nil, err
		}
		size = len(rep.body)
	}
	if string(rawQuery) != canon {
		key, s := string(rawQuery), slot(k, enc)
		switch r := rep.recipe; {
		case r == nil:
			e.cache.put(s, key, rep, size)
		case r.cachedAs(key):
			upgraded := r.better.Load() != nil
			e.cache.put(s, key, rep, r.size())
			if b := r.better.Load(); !upgraded && b != nil {
				e.cache.recharge(s, key, int64(len(b.body)))
			}
		}
	}
	return rep, nil
}

// rendered returns the answer for a non-empty canonical query, from the
// cache or computed once however many ask at the same time.
func (e *edition) rendered(k kind, enc encoding, canon string, q *filters.Query) (*representation, error) {
	s := slot(k, enc)
	if rep := e.cache.getString(s, canon); rep != nil {
		return rep, nil
	}
	v, err, _ := e.cache.flight.Do(strconv.Itoa(s)+canon, func() (any, error) {
		if rep := e.cache.getString(s, canon); rep != nil {
			return rep, nil // computed while this call waited for the flight
		}
		if k == kindRepos && q.Fields() == nil {
			return e.renderedRepos(enc, canon, q), nil
		}
		var body []byte
		if enc == encIdentity {
			var err error
			if body, err = e.render(k, q); err != nil {
				return nil, err
			}
		} else {
			id, err := e.rendered(k, encIdentity, canon, q)
			if err != nil {
				return nil, err
			}
			body = compress(id.body, enc, effortFast)
		}
		rep := &representation{body: body, etag: etagFor(e.version, etagSubject(k, canon), enc)}
		e.cache.put(s, canon, rep, len(body))
		return rep, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*representation), nil
}

// render computes the identity body of k's answer to q.
func (e *edition) render(k kind, q *filters.Query) ([]byte, error) {
	if k == kindStats {
		return e.renderStats(q)
	}
	return e.renderRepos(q)
}

// renderedRepos computes, caches and returns the answer to a /repos query
// without a fields projection. A large one is cached as a recipe: the
// repositories it lists, written from the edition's fragments on each
// request (stitched, in gzip). A small one is rendered, and compressed
// whole: that is cheap, and compresses much better.
func (e *edition) renderedRepos(enc encoding, canon string, q *filters.Query) *representation {
	pb := positionBuffers.Get().(*[]int32)
	defer positionBuffers.Put(pb)
	positions, total := e.index.Select(q, *pb)
	*pb = positions
	what := etagSubject(kindRepos, canon)
	s := slot(kindRepos, enc)
	if size := e.reposSize(positions); size >= stitchMinBytes {
		if enc == encIdentity || enc == encGzip && e.gz.Load() != nil {
			r := &recipe{e: e, enc: enc, positions: slices.Clone(positions), total: total, canon: canon}
			// The first request for a large answer was answered fresh
			// (freshRepos): this is at least the second.
			r.asked.Store(1)
			tag := encodingTags[enc]
			if enc == encGzip {
				r.orders = len(e.gz.Load().deltaSets())
				tag = stitchedTags[r.orders]
				e.startDeltas()
			}
			rep := &representation{etag: etagTagged(e.version, what, tag), recipe: r}
			e.cache.put(s, canon, rep, r.cost())
			return rep
		}
		body := e.appendRepos(make([]byte, 0, size), positions, total)
		rep := &representation{body: compress(body, enc, effortFast), etag: etagFor(e.version, what, enc)}
		e.cache.put(s, canon, rep, len(rep.body))
		return rep
	}
	id := &representation{body: e.appendRepos(nil, positions, total), etag: etagFor(e.version, what, encIdentity)}
	if enc != encIdentity {
		if e.cache.getString(slot(kindRepos, encIdentity), canon) == nil {
			e.cache.put(slot(kindRepos, encIdentity), canon, id, len(id.body))
		}
		rep := &representation{body: compress(id.body, enc, effortFast), etag: etagFor(e.version, what, enc)}
		e.cache.put(s, canon, rep, len(rep.body))
		return rep
	}
	e.cache.put(s, canon, id, len(id.body))
	return id
}

// positionBuffers hold Select's answers while they are used.
var positionBuffers = sync.Pool{New: func() any { return new([]int32) }}

// reposHead opens a /repos answer.
var reposHead = []byte(`{"repositories":[`)

// reposSize is the length of the /repos answer listing positions.
func (e *edition) reposSize(positions []int32) int { return e.reposSizeUpTo(positions, math.MaxInt) }

// reposSizeUpTo is reposSize, or, when that is limit or more, a length
// from limit up: it stops adding once limit is reached, which is all that
// deciding whether to stitch needs.
func (e *edition) reposSizeUpTo(positions []int32, limit int) int {
	n := len(reposHead) + len(e.snapshotJSON) + 64
	for _, p := range positions {
		if n >= limit {
			break
		}
		n += e.fragOff[p+1] - e.fragOff[p] // the object and a comma
	}
	return n
}

// appendRepos appends the /repos answer listing positions, of total
// matches.
func (e *edition) appendRepos(b []byte, positions []int32, total int) []byte {
	if b == nil {
		b = make([]byte, 0, e.reposSize(positions))
	}
	b = append(b, reposHead...)
	for i, p := range positions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.frag(p)...)
	}
	return e.appendReposTail(b, len(positions), total)
}

// appendReposTail appends what follows the repositories in a /repos
// answer.
func (e *edition) appendReposTail(b []byte, count, total int) []byte {
	b = append(b, `],"count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"snapshot":`...)
	b = append(b, e.snapshotJSON...)
	return append(b, '}')
}

// renderRepos concatenates the fragments of the repositories q selects;
// only a fields projection re-encodes them.
func (e *edition) renderRepos(q *filters.Query) ([]byte, error) {
	positions, total := e.index.Select(q, nil)
	fields := q.Fields()
	if fields == nil {
		return e.appendRepos(nil, positions, total), nil
	}
	b := make([]byte, 0, e.reposSize(positions))
	b = append(b, reposHead...)
	for i, p := range positions {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = project(b, e.frag(p), fields); err != nil {
			return nil, fmt.Errorf("edge: snapshot %s: %w", e.version, err)
		}
	}
	return e.appendReposTail(b, len(positions), total), nil
}

// project appends the object frag with only fields, in their order.
func project(b, frag []byte, fields []string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(frag, &m); err != nil {
		return nil, err
	}
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, f)
		b = append(b, ':')
		if v, ok := m[f]; ok {
			b = append(b, v...)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}'), nil
}

// renderStats is the statistics object of package filters with the
// snapshot member added last.
func (e *edition) renderStats(q *filters.Query) ([]byte, error) {
	return e.appendStatsAnswer(make([]byte, 0, 8<<10), q)
}

// appendStatsAnswer appends the /stats answer to q.
func (e *edition) appendStatsAnswer(b []byte, q *filters.Query) ([]byte, error) {
	b, err := appendStats(b, e.index.Stats(q))
	if err != nil {
		return nil, fmt.Errorf("edge: snapshot %s: %w", e.version, err)
	}
	b = append(b, `,"snapshot":`...)
	b = append(b, e.snapshotJSON...)
	return append(b, '}'), nil
}
