package edge

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/filters"
)

// Fresh answers.
//
// Most queries that miss the cache are never asked again: caching their
// answer costs an allocation of its body, a lock, and the eviction of
// something more useful. So the first time a query is seen, its answer is
// written straight into the response, from the edition's fragments
// (/repos) or its statistics (/stats), and only remembered as seen; the
// second time, it goes the usual way and is cached. The bytes and the
// ETag are the same either way.

// fresh answers a query that missed the cache, when it was not asked
// before and its answer is of a kind written fresh. It reports whether it
// answered.
func (s *Server) fresh(ctx *fasthttp.RequestCtx, f *fields, e *edition, k kind, enc encoding, q *filters.Query, pinned bool, now time.Time) bool {
	if k == kindStats {
		return s.freshStats(ctx, f, e, enc, q, pinned, now)
	}
	return s.freshRepos(ctx, f, e, enc, q, pinned, now)
}

// freshRepos answers a large /repos answer: in identity or gzip (stitched)
// from the fragments, allocating nothing; in zstd compressed whole. A
// small one goes the usual way: it is worth caching whole, compressed.
func (s *Server) freshRepos(ctx *fasthttp.RequestCtx, f *fields, e *edition, enc encoding, q *filters.Query, pinned bool, now time.Time) bool {
	if q.Fields() != nil || enc == encGzip && e.gz.Load() == nil {
		return false
	}
	canon := q.Canonical()
	sl := slot(kindRepos, enc)
	if canon == "" || e.cache.getString(sl, canon) != nil {
		return false
	}
	pb := positionBuffers.Get().(*[]int32)
	defer positionBuffers.Put(pb)
	positions, total := e.index.Select(q, *pb)
	*pb = positions
	if e.reposSizeUpTo(positions, stitchMinBytes) < stitchMinBytes || e.sightings.again(sl, canon) {
		return false
	}
	tag := encodingTags[enc]
	var sets []*deltaSet
	if enc == encGzip {
		sets = e.gz.Load().deltaSets()
		tag = stitchedTags[len(sets)]
		e.startDeltas()
	}
	var tb [96]byte
	etag := appendQueryETag(tb[:0], e.version, kindRepos, canon, tag)
	if s.answeredEdition(ctx, f, e, etag, pinned, now) {
		return true
	}
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ctJSON)
	if enc != encIdentity {
		h.SetContentEncodingBytes(encodingHeaderNames[enc])
	}
	if enc == encZstd {
		// Not stitched: compressed whole, but into the response, as the
		// cached answer would be.
		sb := scratchBuffers.Get().(*[]byte)
		defer scratchBuffers.Put(sb)
		*sb = e.appendRepos((*sb)[:0], positions, total)
		ctx.Response.SwapBody(compressTo(ctx.Response.SwapBody(nil)[:0], *sb, encZstd, effortFast))
		return true
	}
	e.writeRepos(&ctx.Response, enc, positions, total, sets)
	return true
}

// sightings remembers, approximately, which queries were asked of an
// edition: a direct-mapped table of hashes, so that remembering costs no
// lock and no allocation. A query pushed out by another one that hashes
// to its slot counts as new again.
type sightings struct {
	seed  maphash.Seed
	slots [1 << 15]atomic.Uint64
}

func newSightings() *sightings { return &sightings{seed: maphash.MakeSeed()} }

// again records that key was asked in slot and reports whether it was
// before.
func (s *sightings) again(slot int, key string) bool {
	h := maphash.String(s.seed, key)
	h = (h ^ uint64(slot)*0x9e3779b97f4a7c15) | 1 // never 0, the empty slot
	p := &s.slots[h>>49]                          // the top 15 bits
	if p.Load() == h {
		return true
	}
	p.Store(h)
	return false
}

// freshStats answers a /stats query.
func (s *Server) freshStats(ctx *fasthttp.RequestCtx, f *fields, e *edition, enc encoding, q *filters.Query, pinned bool, now time.Time) bool {
	canon := q.StatsCanonical()
	sl := slot(kindStats, enc)
	if canon == "" || e.cache.getString(sl, canon) != nil || e.sightings.again(sl, canon) {
		return false
	}
	var tb [96]byte
	etag := appendQueryETag(tb[:0], e.version, kindStats, canon, encodingTags[enc])
	if s.answeredEdition(ctx, f, e, etag, pinned, now) {
		return true
	}
	sb := scratchBuffers.Get().(*[]byte)
	defer scratchBuffers.Put(sb)
	id, err := e.appendStatsAnswer((*sb)[:0], q)
	if err != nil {
		panic(err) // answered as a 500 by serveHTTP
	}
	*sb = id
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ctJSON)
	if enc != encIdentity {
		h.SetContentEncodingBytes(encodingHeaderNames[enc])
	}
	ctx.Response.SwapBody(compressTo(ctx.Response.SwapBody(nil)[:0], id, enc, effortFast))
	return true
}

// scratchBuffers hold identity answers while they are compressed.
var scratchBuffers = sync.Pool{New: func() any { return new([]byte) }}
