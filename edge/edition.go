package edge

import (
	"encoding/json"
	"fmt"
	"strconv"
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
// which only ever holds answers computed from it: a request that loaded an
// edition answers from it alone, so it cannot mix two snapshots.
type edition struct {
	manifest    *snapshots.Manifest
	version     string
	generatedAt time.Time // second precision, as published

	index *filters.Index
	// frags holds each repository's JSON object, as in repos.json, one
	// after another: repository i is frags[fragOff[i]:fragOff[i+1]]. A
	// /repos answer is a concatenation of them.
	frags   []byte
	fragOff []int

	snapshotJSON  []byte // the "snapshot" member of answers
	readyBody     []byte // /readyz
	lastModified  []byte // generatedAt as an HTTP date
	versionHeader []byte

	// The unfiltered answers and the manifest, built at load.
	static [numKinds]resource
	latest resource

	cache *cache[representation]
}

// newEdition builds the edition of a loaded snapshot. The snapshot is not
// retained: the index and the fragments hold all that is needed.
func newEdition(m *snapshots.Manifest, snap *snapshots.Snapshot, cacheBytes int64) (*edition, error) {
	if snap.Version != m.Version {
		return nil, fmt.Errorf("edge: snapshot %s under manifest %s", snap.Version, m.Version)
	}
	e := &edition{
		manifest:      m,
		version:       m.Version,
		generatedAt:   snap.GeneratedAt.UTC(),
		index:         filters.NewIndex(snap.Repositories),
		fragOff:       make([]int, 1, len(snap.Repositories)+1),
		versionHeader: []byte(m.Version),
		cache:         newCache[representation](int(numKinds)*int(numEncodings), cacheBytes),
	}
	for i := range snap.Repositories {
		b, err := marshal(&snap.Repositories[i])
		if err != nil {
			return nil, fmt.Errorf("edge: snapshot %s: %w", m.Version, err)
		}
		e.frags = append(e.frags, b...)
		e.fragOff = append(e.fragOff, len(e.frags))
	}
	block, err := marshal(struct {
		Version     string    `json:"version"`
		GeneratedAt time.Time `json:"generated_at"`
	}{e.version, e.generatedAt})
	if err != nil {
		return nil, err
	}
	e.snapshotJSON = block
	e.readyBody = append(append([]byte(`{"status":"ready","snapshot":`), block...), '}')
	e.lastModified = fasthttp.AppendHTTPDate(nil, e.generatedAt)

	for k := range numKinds {
		body, err := e.render(k, nil)
		if err != nil {
			return nil, err
		}
		e.static[k] = newResource(body, e.version, etagSubject(k, ""), effortBest)
	}
	latest, err := marshal(m)
	if err != nil {
		return nil, err
	}
	e.latest = newResource(latest, e.version, "snapshots/latest", effortBest)
	return e, nil
}

// etagSubject names what an ETag is of: the route and canonical query.
func etagSubject(k kind, canonical string) string { return kindNames[k] + "?" + canonical }

func (e *edition) frag(i int32) []byte { return e.frags[e.fragOff[i]:e.fragOff[i+1]] }

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
		return e.static[k][enc]
	}
	return e.cache.get(slot(k, enc), rawQuery)
}

// answer returns the answer to q, computing it unless its canonical form
// is cached, and caches it under the raw query it came as too, so that the
// next identical request is a lookup. Concurrent misses for one canonical
// query compute it once.
func (e *edition) answer(k kind, enc encoding, rawQuery []byte, q *filters.Query) (*representation, error) {
	canon := canonical(k, q)
	var rep *representation
	size := 0
	if canon == "" {
		rep = e.static[k][enc] // held by the edition: charge the entry only
	} else {
		var err error
		if rep, err = e.rendered(k, enc, canon, q); err != nil {
			return nil, err
		}
		size = len(rep.body)
	}
	if string(rawQuery) != canon {
		e.cache.put(slot(k, enc), string(rawQuery), rep, size)
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

// renderRepos concatenates the fragments of the repositories q selects;
// only a fields projection re-encodes them.
func (e *edition) renderRepos(q *filters.Query) ([]byte, error) {
	positions, total := e.index.Select(q, nil)
	fields := q.Fields()
	size := 64 + len(e.snapshotJSON)
	for _, p := range positions {
		size += len(e.frag(p)) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"repositories":[`...)
	for i, p := range positions {
		if i > 0 {
			b = append(b, ',')
		}
		if fields == nil {
			b = append(b, e.frag(p)...)
			continue
		}
		var err error
		if b, err = project(b, e.frag(p), fields); err != nil {
			return nil, fmt.Errorf("edge: snapshot %s: %w", e.version, err)
		}
	}
	b = append(b, `],"count":`...)
	b = strconv.AppendInt(b, int64(len(positions)), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"snapshot":`...)
	b = append(b, e.snapshotJSON...)
	return append(b, '}'), nil
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
	st, err := marshal(e.index.Stats(q))
	if err != nil {
		return nil, err
	}
	if len(st) < 2 || st[0] != '{' || st[len(st)-1] != '}' {
		return nil, fmt.Errorf("edge: statistics are not a JSON object: %.40q", st)
	}
	b := st[:len(st)-1]
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, `"snapshot":`...)
	b = append(b, e.snapshotJSON...)
	return append(b, '}'), nil
}
