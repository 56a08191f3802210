package edge

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/textproto"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/filters"
)

// Header names and values, as bytes so that setting them copies and
// allocates nothing. Names are canonical, as fasthttp's Peek spells those
// it looks for; the response's are set with SetCanonical, which keeps them
// as they are.
var (
	hdrETag             = headerKey("ETag")
	hdrLastModified     = headerKey("Last-Modified")
	hdrCacheControl     = headerKey("Cache-Control")
	hdrVary             = headerKey("Vary")
	hdrAllowOrigin      = headerKey("Access-Control-Allow-Origin")
	hdrExposeHeaders    = headerKey("Access-Control-Expose-Headers")
	hdrSnapshotVersion  = headerKey("X-Snapshot-Version")
	hdrAllow            = headerKey("Allow")
	hdrRetryAfter       = headerKey("Retry-After")
	hdrRateLimit        = headerKey("RateLimit")
	hdrRateLimitPolicy  = headerKey("RateLimit-Policy")
	hdrContentTypeOpts  = headerKey("X-Content-Type-Options")
	valStar             = []byte("*")
	valExposed          = []byte("ETag, Last-Modified, X-Snapshot-Version, Retry-After, RateLimit, RateLimit-Policy")
	valAcceptEncoding   = []byte("Accept-Encoding")
	valGetHead          = []byte("GET, HEAD")
	valNoStore          = []byte("no-store")
	valNoSniff          = []byte("nosniff")
	valImmutable        = []byte("public, max-age=31536000, immutable")
	valOpenAPICache     = []byte("public, max-age=3600, stale-while-revalidate=3600, stale-if-error=86400")
	ctJSON              = []byte("application/json")
	ctProblem           = []byte(filters.ProblemContentType)
	ctGzip              = []byte("application/gzip")
	ctZstd              = []byte("application/zstd")
	encodingHeaderNames [numEncodings][]byte
)

func headerKey(name string) []byte { return []byte(textproto.CanonicalMIMEHeaderKey(name)) }

func init() {
	for e := range numEncodings {
		encodingHeaderNames[e] = []byte(encodingNames[e])
	}
}

// Bodies and problems that never change.
var (
	bodyPong    = []byte(`{"status":"pong"}`)
	bodyHealthy = []byte(`{"status":"ok"}`)

	problemNotFound = filters.NewProblem(fasthttp.StatusNotFound, "Not Found",
		"no such resource; /openapi.json lists the ones there are").JSON()
	problemMethod = filters.NewProblem(fasthttp.StatusMethodNotAllowed, "Method Not Allowed",
		"only GET and HEAD are allowed").JSON()
	problemNotReady = filters.NewProblem(fasthttp.StatusServiceUnavailable, "Service Unavailable",
		"no snapshot has been loaded yet").JSON()
	problemStopping = filters.NewProblem(fasthttp.StatusServiceUnavailable, "Service Unavailable",
		"shutting down").JSON()
	problemNoVersion = filters.NewProblem(fasthttp.StatusNotFound, "Not Found",
		"the store has no snapshot of that version").JSON()
	problemLimited = filters.NewProblem(fasthttp.StatusTooManyRequests, "Too Many Requests",
		"this client is over its request rate; retry after Retry-After seconds").JSON()
	problemInternal   = filters.NewProblem(fasthttp.StatusInternalServerError, "Internal Server Error", "").JSON()
	problemIfMatch    = preconditionProblem(fasthttp.HeaderIfMatch, "lists no entity tag of the current representation, whose ETag this answer carries")
	problemUnmodified = preconditionProblem(fasthttp.HeaderIfUnmodifiedSince,
		"is earlier than the current representation's Last-Modified, which this answer carries")
)

// preconditionProblem is a 412 naming the request header that failed.
func preconditionProblem(header, message string) []byte {
	p := filters.NewProblem(fasthttp.StatusPreconditionFailed, "Precondition Failed", header+": "+message)
	p.Errors = []filters.ParamError{{Parameter: header, Message: message}}
	return p.JSON()
}

// Handler returns the public API as a fasthttp handler, for tests and
// benchmarks, or to mount on a fasthttp.Server of your own. It answers
// from whatever snapshot Run or Serve has loaded.
func (s *Server) Handler() fasthttp.RequestHandler { return s.serveHTTP }

func (s *Server) serveHTTP(ctx *fasthttp.RequestCtx) {
	start := ctx.Time()
	if start.IsZero() { // a RequestCtx not from a fasthttp.Server
		start = time.Now()
	}
	rt, dl := matchRoute(ctx.Path())
	enc := encIdentity
	var quotaBuf [48]byte
	var quota []byte // this client's RateLimit value, when limiting
	h := &ctx.Response.Header
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("edge: handler panicked", "route", routeNames[rt], "panic", r)
			ctx.Response.Reset()
			writeProblem(ctx, fasthttp.StatusInternalServerError, problemInternal)
		}
		if len(h.PeekCanonical(hdrAllowOrigin)) == 0 {
			addEveryAnswer(h) // not started from a template: see below
		}
		// Set last, as an edition's answer starts its header afresh
		// (answeredEdition).
		if quota != nil {
			ctx.Response.Header.SetCanonical(hdrRateLimitPolicy, s.limiter.policy)
			if private(&ctx.Response.Header) {
				ctx.Response.Header.SetCanonical(hdrRateLimit, quota)
			}
		}
		s.metrics.observe(rt, ctx.Response.StatusCode(), enc, time.Since(start))
	}()
	// An answer from an edition starts from the edition's template
	// (answeredEdition), which holds every answer's headers too: copying
	// everyAnswer first would copy them twice, a sixth of the handler's
	// instructions on a 304. The other answers on those routes (problems)
	// have them added last, above.
	if rt != routeRepos && rt != routeStats && rt != routeLatest {
		everyAnswer.CopyTo(h)
	}

	var f fields
	switch {
	case rt != routeUnknown && rt != routePing && rt != routeHealthz && rt != routeReadyz,
		s.limiter != nil && len(s.limiter.trusted) > 0: // X-Forwarded-For
		f.read(&ctx.Request.Header)
	}
	refused := false
	if s.limiter != nil && rt != routeHealthz && rt != routeReadyz {
		quota, refused = s.limited(ctx, &f, start, quotaBuf[:0])
	}
	switch {
	case refused:
	case rt == routeUnknown:
		writeProblem(ctx, fasthttp.StatusNotFound, problemNotFound)
	case !ctx.IsGet() && !ctx.IsHead():
		h.SetCanonical(hdrAllow, valGetHead)
		writeProblem(ctx, fasthttp.StatusMethodNotAllowed, problemMethod)
	default:
		enc = s.dispatch(ctx, &f, rt, dl, start)
	}
}

// dispatch answers a GET or HEAD of a known route, and returns the
// encoding it answered in.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, f *fields, rt route, dl download, now time.Time) encoding {
	switch rt {
	case routePing:
		s.uncached(ctx, bodyPong)
	case routeHealthz:
		s.uncached(ctx, bodyHealthy)
	case routeReadyz:
		e := s.current.Load()
		switch {
		case s.stopping.Load():
			writeProblem(ctx, fasthttp.StatusServiceUnavailable, problemStopping)
		case e == nil:
			writeProblem(ctx, fasthttp.StatusServiceUnavailable, problemNotReady)
		default:
			ctx.Response.Header.SetCanonical(hdrSnapshotVersion, e.versionHeader)
			s.uncached(ctx, e.readyBody)
		}
	case routeRepos:
		return s.query(ctx, f, kindRepos, now)
	case routeStats:
		return s.query(ctx, f, kindStats, now)
	case routeLatest:
		e := s.current.Load()
		if e == nil {
			writeProblem(ctx, fasthttp.StatusServiceUnavailable, problemNotReady)
			return encIdentity
		}
		enc, _ := f.encoding()
		s.sendEdition(ctx, f, e, e.latest[enc], enc, false, now)
		return enc
	case routeDownload:
		return s.download(ctx, f, dl)
	case routeOpenAPI:
		enc, _ := f.encoding()
		sendStatic(ctx, f, s.openapi[enc], ctJSON, valOpenAPICache, enc)
		return enc
	case routeWeb:
		w := webFiles[string(ctx.Path())]
		enc, _ := f.encoding()
		sendStatic(ctx, f, w.res[enc], w.contentType, w.cacheControl, enc)
		return enc
	}
	return encIdentity
}

// sendStatic answers with rep, one encoding of a document built into the
// binary (the OpenAPI description, the web page's files): a 304 or a 412
// when the request's preconditions say so, else the body.
func sendStatic(ctx *fasthttp.RequestCtx, f *fields, rep *representation, contentType, cacheControl []byte, enc encoding) {
	h := &ctx.Response.Header
	h.SetCanonical(hdrETag, rep.etag)
	h.SetCanonical(hdrVary, valAcceptEncoding)
	h.SetCanonical(hdrCacheControl, cacheControl)
	if !answered(ctx, preconditions(f, rep.etag, nil, time.Time{})) {
		sendBody(ctx, rep, contentType, enc)
	}
}

// query answers /repos or /stats: from the edition asked for by
// ?snapshot=, or the current one; from the cache when the same query
// string was answered before.
func (s *Server) query(ctx *fasthttp.RequestCtx, f *fields, k kind, now time.Time) encoding {
	raw := ctx.URI().QueryString()
	e := s.current.Load()
	// Parsing the query string costs more than an answer from the cache:
	// one that cannot name ?snapshot= (even percent-encoded) is parsed
	// only when it misses.
	pinned := false
	if bytes.Contains(raw, []byte("snapshot")) || bytes.IndexByte(raw, '%') >= 0 {
		pinned = ctx.QueryArgs().Has("snapshot")
	}
	if pinned {
		args := ctx.QueryArgs()
		v := args.Peek("snapshot")
		if !validVersion(v) {
			s.badQuery(ctx, invalidSnapshot(string(v)))
			return encIdentity
		}
		if e = s.kept(e, v); e == nil {
			// About to go to the store for it: the rest of the query had
			// better be valid first, and is answered as such if not.
			if _, p := parseQuery(args); p != nil {
				s.badQuery(ctx, p)
				return encIdentity
			}
			var err error
			if e, err = s.edition(v); errors.Is(err, errNoVersion) {
				s.badQuery(ctx, noSuchSnapshot(string(v)))
				return encIdentity
			} else if err != nil {
				s.loadError(ctx, err)
				return encIdentity
			}
		}
	} else if e == nil {
		writeProblem(ctx, fasthttp.StatusServiceUnavailable, problemNotReady)
		return encIdentity
	}
	enc, gzipTies := f.encoding()
	rep := e.lookup(k, enc, raw)
	if rep != nil {
		s.metrics.cacheHits[k].Inc()
	} else {
		s.metrics.cacheMisses[k].Inc()
		q, p := parseQuery(ctx.QueryArgs())
		if p != nil {
			s.badQuery(ctx, p)
			return encIdentity
		}
		// A new /repos query is stitched in gzip, at a fraction of the
		// cost of compressing it in zstd: gzip it is, when the client
		// likes it as much.
		fenc := enc
		if k == kindRepos && gzipTies {
			fenc = encGzip
		}
		if s.fresh(ctx, f, e, k, fenc, q, pinned, now) {
			return fenc
		}
		var err error
		if rep, err = e.answer(k, enc, raw, q); err != nil {
			panic(err) // answered as a 500 by serveHTTP
		}
	}
	s.sendEdition(ctx, f, e, rep, enc, pinned, now)
	return enc
}

// kept returns the edition of version v if it is in memory: current, or
// one kept for ?snapshot=.
func (s *Server) kept(current *edition, v []byte) *edition {
	if current != nil && current.version == string(v) {
		return current
	}
	return s.versions.get(v)
}

// parseQuery parses a query's filters, or returns the problem with its
// parameters: ?snapshot= given more than once, or what filters.Parse
// refuses.
func parseQuery(args *fasthttp.Args) (*filters.Query, *filters.Problem) {
	switch n := countArg(args, "snapshot"); {
	case n > 1:
		return nil, invalidSnapshot("given " + strconv.Itoa(n) + " times")
	case n == 0: // as most queries: All's iterator as it is costs no allocation
		return filters.Parse(args.All())
	}
	return filters.Parse(withoutArg(args, "snapshot"))
}

func countArg(args *fasthttp.Args, name string) int {
	n := 0
	for k := range args.All() {
		if string(k) == name {
			n++
		}
	}
	return n
}

// withoutArg is args without the parameter name, which is the edge's, not
// a filter.
func withoutArg(args *fasthttp.Args, name string) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for k, v := range args.All() {
			if string(k) != name && !yield(k, v) {
				return
			}
		}
	}
}

func invalidSnapshot(value string) *filters.Problem {
	p := filters.NewProblem(fasthttp.StatusBadRequest, "Bad Request", "snapshot: must be one version name, such as 20261127T160000Z-0123456789ab")
	p.Errors = []filters.ParamError{{Parameter: "snapshot", Value: value, Message: "must be one version name, such as 20261127T160000Z-0123456789ab"}}
	return p
}

// noSuchSnapshot is the 404 for a ?snapshot= the store does not have.
func noSuchSnapshot(value string) *filters.Problem {
	p := filters.NewProblem(fasthttp.StatusNotFound, "Not Found", "snapshot: the store has no snapshot of that version; /snapshots/latest names the newest")
	p.Errors = []filters.ParamError{{Parameter: "snapshot", Value: value, Message: "the store has no snapshot of that version"}}
	return p
}

// loadError answers a failed on-demand load of a version.
func (s *Server) loadError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, errNoVersion) {
		writeProblem(ctx, fasthttp.StatusNotFound, problemNoVersion)
		return
	}
	s.log.Warn("edge: on-demand load failed", "err", err)
	ctx.Response.Header.SetCanonical(hdrRetryAfter, []byte("5"))
	writeProblem(ctx, fasthttp.StatusServiceUnavailable, filters.NewProblem(fasthttp.StatusServiceUnavailable,
		"Service Unavailable", "the snapshot could not be loaded from the store; try again later").JSON())
}

// sendEdition answers with a representation from edition e: headers that
// let any cache keep it until the next publication (or for ever, for a
// version asked for by name), or a 304.
func (s *Server) sendEdition(ctx *fasthttp.RequestCtx, f *fields, e *edition, rep *representation, enc encoding, pinned bool, now time.Time) {
	rep = rep.resolve()
	if s.answeredEdition(ctx, f, e, rep.etag, pinned, now) {
		return
	}
	sendBody(ctx, rep, ctJSON, enc)
}

// answeredEdition starts the header of an answer from edition e tagged
// etag, and answers the request when its preconditions leave nothing to
// send (a 304 or a 412), reporting whether it did.
func (s *Server) answeredEdition(ctx *fasthttp.RequestCtx, f *fields, e *edition, etag []byte, pinned bool, now time.Time) bool {
	v, etag := editionVerdict(f, e, etag)
	hs := e.pinned
	if !pinned {
		hs = s.freshHeaders(e, now)
	}
	h := &ctx.Response.Header
	if v == notModifiedNow {
		hs.notModified.CopyTo(h)
	} else {
		hs.answer.CopyTo(h)
	}
	h.SetCanonical(hdrETag, etag)
	return answered(ctx, v)
}

// editionVerdict evaluates the preconditions of a request for an answer
// from edition e tagged etag, and returns the tag to answer with. Besides
// etag itself, If-None-Match may name the same answer in another encoding
// that the client takes as readily as the one picked for it (gzip and
// zstd at the same q), or the same gzip answer stitched otherwise: the
// client's copy is then as current as the answer about to be sent, so it
// gets a 304 with its own tag, which lets a cache keep and refresh its
// copy. Without this, a stitched answer (its tag changes as the edge makes
// delta sets, and once the answer is compressed whole, and differs between
// edge nodes) or a gzip copy asked again, and so answered in zstd, would
// be sent whole again.
func editionVerdict(f *fields, e *edition, etag []byte) (verdict, []byte) {
	v := preconditions(f, etag, e.lastModified, e.generatedAt)
	if v != sendIt {
		return v, etag
	}
	inm := f.ifNoneMatch.all()
	if len(inm) == 0 {
		return v, etag
	}
	enc, gzipTies := f.encoding()
	var accept [numEncodings]bool
	accept[enc] = true
	if gzipTies {
		accept[encGzip], accept[encZstd] = true, true
	}
	if tag := sibling(inm, etag, accept); tag != nil {
		return notModifiedNow, tag
	}
	return v, etag
}

// headerSet holds the header templates of an edition's answers under one
// Cache-Control, all but their ETag: a 200's (or a 412's), and a 304's.
// A 304 carries what RFC 9110 (15.4.5) asks of it besides every answer's
// headers, Cache-Control and Vary, and not the metadata it should not:
// Last-Modified (it has an ETag) and X-Snapshot-Version, which a cache
// keeps from the 200 it refreshes. Those are two header lines fewer to
// copy and write on the answer a CDN asks for most.
type headerSet struct {
	maxAge              int64 // of the current snapshot's, which change every second
	answer, notModified fasthttp.ResponseHeader
}

func newHeaderSet(e *edition, cacheControl []byte, maxAge int64) *headerSet {
	hs := &headerSet{maxAge: maxAge}
	addEveryAnswer(&hs.answer)
	setHeaders(&hs.answer, hdrLastModified, e.lastModified, hdrVary, valAcceptEncoding,
		hdrSnapshotVersion, e.versionHeader, hdrCacheControl, cacheControl)
	addEveryAnswer(&hs.notModified)
	setHeaders(&hs.notModified, hdrVary, valAcceptEncoding, hdrCacheControl, cacheControl)
	return hs
}

// freshHeaders returns e's header templates for an answer of the current
// snapshot sent now, with the Cache-Control of now's max-age: built once
// a second rather than set on every answer.
func (s *Server) freshHeaders(e *edition, now time.Time) *headerSet {
	maxAge := s.freshMaxAge(e.generatedAt, now)
	if hs := e.fresh.Load(); hs != nil && hs.maxAge == maxAge {
		return hs
	}
	hs := newHeaderSet(e, s.freshCacheControl(maxAge), maxAge)
	e.fresh.Store(hs) // never changed once stored: read by any number of answers at once
	return hs
}

// download answers /snapshots/{version}/repos.json[.gz|.zst].
func (s *Server) download(ctx *fasthttp.RequestCtx, fl *fields, d download) encoding {
	enc := d.enc
	if d.negotiated {
		enc, _ = fl.encoding()
	}
	f, err := s.file(d.version, enc)
	if err != nil {
		s.loadError(ctx, err)
		return enc
	}
	h := &ctx.Response.Header
	h.SetCanonical(hdrETag, f.rep.etag)
	h.SetCanonical(hdrCacheControl, valImmutable)
	if d.negotiated {
		h.SetCanonical(hdrVary, valAcceptEncoding)
	}
	v := preconditions(fl, f.rep.etag, f.lastModified, f.generatedAt)
	if v != notModifiedNow { // as an edition's 304 (headerSet)
		h.SetCanonical(hdrLastModified, f.lastModified)
		h.SetCanonical(hdrSnapshotVersion, d.version)
	}
	if answered(ctx, v) {
		return enc
	}
	if d.negotiated {
		sendBody(ctx, &f.rep, ctJSON, enc)
		return enc
	}
	// repos.json.gz is a gzip file, not JSON in transit: no
	// Content-Encoding, so that it is saved as it is named.
	ct := ctGzip
	if d.enc == encZstd {
		ct = ctZstd
	}
	sendBody(ctx, &f.rep, ct, encIdentity)
	return enc
}

// sendBody sends rep, in enc, as the body.
func sendBody(ctx *fasthttp.RequestCtx, rep *representation, contentType []byte, enc encoding) {
	h := &ctx.Response.Header
	h.SetContentTypeBytes(contentType)
	if enc != encIdentity {
		h.SetContentEncodingBytes(encodingHeaderNames[enc])
	}
	if rep.recipe != nil {
		rep.recipe.write(&ctx.Response)
		return
	}
	// The body is shared and immutable: fasthttp writes it as it is, and
	// skips it for HEAD while keeping its Content-Length.
	ctx.Response.SetBodyRaw(rep.body)
}

// answered answers a request whose preconditions (v) leave nothing to
// send, and reports whether it did.
func answered(ctx *fasthttp.RequestCtx, v verdict) bool {
	switch v {
	case notModifiedNow:
		ctx.SetStatusCode(fasthttp.StatusNotModified)
	case failedIfMatch:
		writeProblem(ctx, fasthttp.StatusPreconditionFailed, problemIfMatch)
	case failedUnmodified:
		writeProblem(ctx, fasthttp.StatusPreconditionFailed, problemUnmodified)
	default:
		return false
	}
	return true
}

// setHeaders sets the headers of a template, kv's names and values in
// turn, to be copied into a response at once (CopyTo, which starts it
// afresh). Setting them one by one costs about twice as much a header,
// each name checked against fasthttp's special ones and looked for among
// those set, each value searched for line breaks: it was a third of the
// handler's time on a 304. CopyTo copies the header's flags as well: no
// Content-Type but the one an answer sets, as httpServer says, and a Date.
func setHeaders(h *fasthttp.ResponseHeader, kv ...[]byte) {
	h.SetNoDefaultContentType(true)
	for i := 0; i+1 < len(kv); i += 2 {
		h.SetCanonical(kv[i], kv[i+1])
	}
}

// addEveryAnswer sets the headers every answer carries.
func addEveryAnswer(h *fasthttp.ResponseHeader) {
	setHeaders(h, hdrAllowOrigin, valStar, hdrExposeHeaders, valExposed, hdrContentTypeOpts, valNoSniff)
}

// everyAnswer is the header every answer starts from but an edition's
// (serveHTTP).
var everyAnswer = func() *fasthttp.ResponseHeader {
	h := new(fasthttp.ResponseHeader)
	addEveryAnswer(h)
	return h
}()

// uncached answers with a JSON body no cache should keep.
func (s *Server) uncached(ctx *fasthttp.RequestCtx, body []byte) {
	h := &ctx.Response.Header
	h.SetCanonical(hdrCacheControl, valNoStore)
	h.SetContentTypeBytes(ctJSON)
	ctx.Response.SetBodyRaw(body)
}

// writeProblem answers with an RFC 9457 problem document.
func writeProblem(ctx *fasthttp.RequestCtx, status int, body []byte) {
	h := &ctx.Response.Header
	ctx.SetStatusCode(status)
	h.SetCanonical(hdrCacheControl, valNoStore)
	h.SetContentTypeBytes(ctProblem)
	ctx.Response.SetBodyRaw(body)
}

func (s *Server) badQuery(ctx *fasthttp.RequestCtx, p *filters.Problem) {
	writeProblem(ctx, p.Status, p.JSON())
}

// badRequest answers what fasthttp could not read: headers over
// MaxHeaderBytes (431), a body over MaxBodyBytes (413), a request not
// read within ReadTimeout (408), or anything else malformed (400).
func (s *Server) badRequest(ctx *fasthttp.RequestCtx, err error) {
	status, title := fasthttp.StatusBadRequest, "Bad Request"
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		status, title = fasthttp.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, title = fasthttp.StatusRequestEntityTooLarge, "Content Too Large"
	case errors.As(err, &netErr) && netErr.Timeout():
		status, title = fasthttp.StatusRequestTimeout, "Request Timeout"
	}
	addEveryAnswer(&ctx.Response.Header)
	writeProblem(ctx, status, filters.NewProblem(status, title, "the request could not be read").JSON())
	s.metrics.observe(routeUnknown, status, encIdentity, 0)
}

// limited applies the client's rate limit: over the limit, it answers 429
// and reports it refused. quota, appended to buf, is the client's own
// RateLimit value, which serveHTTP sends only on an answer no cache keeps
// (private), since a CDN would hand one client's count to every client;
// RateLimit-Policy, the same for every client, it sends on every answer.
func (s *Server) limited(ctx *fasthttp.RequestCtx, f *fields, now time.Time, buf []byte) (quota []byte, refused bool) {
	l := s.limiter
	var xff [][]byte
	if len(l.trusted) > 0 {
		xff = f.xForwardedFor.all()
	}
	d := l.allow(clientKey(l.clientAddr(ctx.RemoteIP(), xff)), now)
	h := &ctx.Response.Header
	quota = append(buf, `"per-client";r=`...)
	quota = strconv.AppendInt(quota, int64(d.remaining), 10)
	quota = append(quota, ";t="...)
	if d.ok {
		return strconv.AppendInt(quota, int64(d.reset), 10), false
	}
	quota = strconv.AppendInt(quota, int64(d.retryAfter), 10)
	var ra [20]byte
	h.SetCanonical(hdrRetryAfter, strconv.AppendInt(ra[:0], int64(d.retryAfter), 10))
	s.metrics.rateLimited.Inc()
	writeProblem(ctx, fasthttp.StatusTooManyRequests, problemLimited)
	return quota, true
}

// private reports whether no cache keeps the answer, nor updates what it
// keeps from it (a 304): Cache-Control: no-store. The page's no-cache
// lets a shared cache keep it too, to revalidate.
func private(h *fasthttp.ResponseHeader) bool {
	return bytes.Equal(h.PeekCanonical(hdrCacheControl), valNoStore)
}

// freshMaxAge lets caches keep an answer of the current snapshot
// until the next publication is due: the publisher publishes every
// PublishInterval from generated_at, or leaves the snapshot as it is when
// nothing changed, in which case the next one is due one interval later.
// So max-age counts down to the next multiple of the interval after
// generated_at, and is never less than 1.
//
// But a publication falls due before it arrives: the run, the store's
// writes and a poll come first. For graceSec after each due time the
// answer is kept only until the grace ends, so that a cache asks again
// soon rather than keep the old snapshot for a whole interval more; once
// the grace is over with nothing new, nothing changed, and the countdown
// to the next due time goes on.
func (s *Server) freshMaxAge(generated, now time.Time) int64 {
	iv := s.intervalSec
	elapsed := now.Unix() - generated.Unix()
	maxAge := iv
	if elapsed >= 0 {
		into := elapsed % iv
		maxAge = iv - into
		if elapsed >= iv && into < s.graceSec {
			maxAge = s.graceSec - into
		}
	}
	return maxAge
}

// freshCacheControl is the Cache-Control of an answer of the current
// snapshot: see freshMaxAge.
func (s *Server) freshCacheControl(maxAge int64) []byte {
	return fmt.Appendf(nil, "public, max-age=%d, stale-while-revalidate=%d, stale-if-error=86400", maxAge, s.intervalSec)
}
