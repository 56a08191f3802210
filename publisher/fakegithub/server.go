package fakegithub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bodies GitHub sends on failures, kept byte for byte where they were recorded.
const (
	// rateLimitedBody is the 403 once the primary rate limit is spent, as recorded in
	// shared/fixtures/github-2024/rate-limited-403.json (the client address in it replaced by a
	// documentation address).
	rateLimitedBody = `{"message":"API rate limit exceeded for 203.0.113.7. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}` + "\n"
	// rateLimitedAuthBody is its counterpart for a request with a token, which GitHub words by
	// user instead of address.
	rateLimitedAuthBody = `{"message":"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID %s.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`
	secondaryBody       = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again...","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	searchCapBody       = `{"message":"Only the first 1000 search results are available","documentation_url":"https://docs.github.com/v3/search/"}`
	missingQueryBody    = `{"message":"Validation Failed","errors":[{"resource":"Search","field":"q","code":"missing"}],"documentation_url":"https://docs.github.com/v3/search"}`
	notFoundBody        = `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`
	repoNotFoundBody    = `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/repos#get-a-repository"}`
	langsNotFoundBody   = `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/repos#list-repository-languages"}`
	badGatewayBody      = `{"message":"Server Error"}`
	unavailableBody     = `{"message":"Service Unavailable"}`
)

const (
	searchCap   = 1000 // GitHub serves only the first 1000 results of a search
	listPage    = 100  // /repositories always answers 100 at a time
	maxArrivals = 1 << 16
	apiVersion  = "2022-11-28"
)

// Salts of the per-attempt fault decisions.
const (
	saltHang uint64 = 100 + iota
	saltServerError
	saltStatus
	saltTruncate
	saltLatency
	saltRequestID
)

// Server is the fake GitHub API. It is safe for concurrent use.
type Server struct {
	cfg Config
	cat catalog

	mu             sync.Mutex
	buckets        map[bucketKey]*bucket
	secondaryUntil time.Time
	vanished       map[string]bool
	attempts       []uint32 // per hashed URL: how many times it was asked for
	st             Stats
	arrivals       []time.Time // ring of the latest maxArrivals
	nextArrival    int
}

// Stats are what the fake has seen since it started or since ResetStats.
type Stats struct {
	// Requests that arrived, by endpoint: /search/repositories, /repositories,
	// /repos/{owner}/{repo}, its /languages, /rate_limit, anything else.
	Search, Repositories, Repo, Languages, RateLimit, Other int
	// NotModified counts 304 answers.
	NotModified int
	// PrimaryLimited and SecondaryLimited count requests refused by a rate limit.
	PrimaryLimited, SecondaryLimited int
	// ServerErrors, Hangs and Truncated count injected faults.
	ServerErrors, Hangs, Truncated int
	// InFlight is how many requests are being handled now, MaxInFlight the most at one time.
	InFlight, MaxInFlight int
	// Arrivals holds when requests arrived, on the fake's clock, oldest first (the latest 65536).
	Arrivals []time.Time
}

// Requests totals the per-endpoint counts, for tests that only care how much got through.
func (st Stats) Requests() int {
	return st.Search + st.Repositories + st.Repo + st.Languages + st.RateLimit + st.Other
}

// FirstArrivalAfter is the earliest arrival at or after t, so a test can check that clients
// kept away until a Retry-After or reset time had passed.
func (st Stats) FirstArrivalAfter(t time.Time) (time.Time, bool) {
	var first time.Time
	found := false
	for _, a := range st.Arrivals {
		if !a.Before(t) && (!found || a.Before(first)) {
			first, found = a, true
		}
	}
	return first, found
}

type bucketKey struct {
	who      string // "address " and the client's, or "token " and the Authorization header
	resource string // core or search
}

type bucket struct {
	reset time.Time
	used  int
}

// New builds a fake from cfg: fast in synthetic mode (nothing is generated ahead), and in replay
// mode after reading the recorded files once.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		buckets:  map[bucketKey]*bucket{},
		vanished: map[string]bool{},
		attempts: make([]uint32, 1<<16),
	}
	if cfg.ReplayDir != "" {
		r, err := loadReplay(cfg.ReplayDir)
		if err != nil {
			return nil, err
		}
		s.cat = r
	} else {
		s.cat = newSynth(cfg)
	}
	return s, nil
}

// Stats is a snapshot, so a test can compare before and after without racing the handlers.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Arrivals = make([]time.Time, 0, len(s.arrivals))
	if len(s.arrivals) == maxArrivals {
		st.Arrivals = append(st.Arrivals, s.arrivals[s.nextArrival:]...)
		st.Arrivals = append(st.Arrivals, s.arrivals[:s.nextArrival]...)
	} else {
		st.Arrivals = append(st.Arrivals, s.arrivals...)
	}
	return st
}

// ResetStats zeroes the counters, except for the requests still in flight, so that one phase of
// a test can be measured on its own.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = Stats{InFlight: s.st.InFlight, MaxInFlight: s.st.InFlight}
	s.arrivals, s.nextArrival = nil, 0
}

// TriggerSecondary makes every request get the secondary rate limit answer until retryAfter
// from now (on the fake's clock), with a Retry-After counting down to that instant.
func (s *Server) TriggerSecondary(retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondaryUntil = s.cfg.Now().Add(retryAfter)
}

// Vanish makes owner/repo answer 404 from now on while search and /repositories keep listing
// it, as a repository deleted or made private after a listing does.
func (s *Server) Vanish(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vanished[strings.ToLower(fullName)] = true
}

type endpoint int

const (
	epOther endpoint = iota
	epSearch
	epRepositories
	epRepo
	epLanguages
	epRateLimit
)

type route struct {
	ep          endpoint
	owner, repo string
}

// parseRoute accepts paths at the root and under /api/v3, where go-github's WithEnterpriseURLs
// puts them.
func parseRoute(path string) route {
	if rest, ok := strings.CutPrefix(path, "/api/v3"); ok && strings.HasPrefix(rest, "/") {
		path = rest
	}
	switch path {
	case "/search/repositories":
		return route{ep: epSearch}
	case "/repositories":
		return route{ep: epRepositories}
	case "/rate_limit":
		return route{ep: epRateLimit}
	}
	if rest, ok := strings.CutPrefix(path, "/repos/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
			switch {
			case len(parts) == 2:
				return route{epRepo, parts[0], parts[1]}
			case len(parts) == 3 && parts[2] == "languages":
				return route{epLanguages, parts[0], parts[1]}
			}
		}
	}
	return route{ep: epOther}
}

// answer is a response before it is written.
type answer struct {
	status int
	body   []byte
	header http.Header
}

func jsonAnswer(status int, body string) answer {
	return answer{status: status, body: []byte(body), header: http.Header{}}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	rt := parseRoute(r.URL.Path)
	// GitHub counts by token when there is one, else by client address.
	auth := r.Header.Get("Authorization") != ""
	who := "token " + r.Header.Get("Authorization")
	if !auth {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		who = "address " + ip
	}
	resource := "core"
	if rt.ep == epSearch {
		resource = "search"
	}
	bk := bucketKey{who, resource}
	urlHash := fnv.New64a()
	urlHash.Write([]byte(r.URL.Path + "?" + r.URL.RawQuery))
	key := urlHash.Sum64()

	s.mu.Lock()
	s.arrive(rt.ep, now)
	attempt := s.attempts[key%uint64(len(s.attempts))]
	s.attempts[key%uint64(len(s.attempts))]++
	var retryAfter time.Duration
	switch {
	case now.Before(s.secondaryUntil):
		retryAfter = s.secondaryUntil.Sub(now)
	case s.cfg.SecondaryConcurrency > 0 && s.st.InFlight > s.cfg.SecondaryConcurrency:
		retryAfter = s.cfg.SecondaryRetryAfter
	}
	s.mu.Unlock()
	defer s.leave()

	// Each attempt at a URL draws its own faults: reproducible for a given seed and sequence of
	// attempts, and a retry is a fresh draw.
	draw := func(salt uint64) uint64 { return hash3(s.cfg.Seed, mix(key+uint64(attempt)), salt) }
	reqID := requestID(draw(saltRequestID), now)
	ctx := r.Context()
	truncate := false
	var a answer
	switch {
	case retryAfter > 0:
		s.note(func(st *Stats) { st.SecondaryLimited++ })
		a = jsonAnswer(s.cfg.SecondaryStatus, secondaryBody)
		a.header.Set("Retry-After", strconv.FormatInt(ceilSeconds(retryAfter), 10))
	case rt.ep != epRateLimit && !s.spend(bk, auth, now):
		s.note(func(st *Stats) { st.PrimaryLimited++ })
		if auth {
			a = jsonAnswer(http.StatusForbidden, fmt.Sprintf(rateLimitedAuthBody, reqID))
		} else {
			a = jsonAnswer(http.StatusForbidden, rateLimitedBody)
		}
	case unit(draw(saltHang)) < s.cfg.HangFraction:
		s.note(func(st *Stats) { st.Hangs++ })
		<-ctx.Done()
		return
	case unit(draw(saltServerError)) < s.cfg.ServerErrorFraction:
		s.note(func(st *Stats) { st.ServerErrors++ })
		if draw(saltStatus)%2 == 0 {
			a = jsonAnswer(http.StatusBadGateway, badGatewayBody)
		} else {
			a = jsonAnswer(http.StatusServiceUnavailable, unavailableBody)
		}
	default:
		truncate = unit(draw(saltTruncate)) < s.cfg.TruncateFraction
		a = s.handle(r, rt, who, auth, now)
	}

	if a.status == http.StatusOK && rt.ep != epRateLimit {
		sum := sha256.Sum256(a.body)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		a.header.Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			a.status, a.body = http.StatusNotModified, nil
			s.note(func(st *Stats) { st.NotModified++ })
			// GitHub: a 304 to an authorized request does not count against the rate limit.
			if auth {
				s.refund(bk, now)
			}
		}
	}
	if truncate && a.status == http.StatusOK {
		a.body = a.body[:len(a.body)/2]
		s.note(func(st *Stats) { st.Truncated++ })
	}
	s.rateHeaders(a.header, bk, auth, now)

	if !sleep(ctx, s.latency(draw(saltLatency))) {
		return
	}
	s.write(w, r, rt, auth, reqID, a)
}

func (s *Server) handle(r *http.Request, rt route, who string, auth bool, now time.Time) answer {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return jsonAnswer(http.StatusNotFound, notFoundBody)
	}
	switch rt.ep {
	case epSearch:
		return s.search(r, now)
	case epRepositories:
		return s.listAll(r, now)
	case epRepo, epLanguages:
		notFound := repoNotFoundBody
		if rt.ep == epLanguages {
			notFound = langsNotFoundBody
		}
		ref, ok := s.cat.lookup(rt.owner, rt.repo, now)
		if !ok || s.hasVanished(rt.owner+"/"+rt.repo, s.cat.id(ref)) {
			return jsonAnswer(http.StatusNotFound, notFound)
		}
		if rt.ep == epLanguages {
			return answer{status: http.StatusOK, body: s.cat.languages(ref, now), header: http.Header{}}
		}
		fs, err := splitObject(s.cat.object(ref, now))
		if err != nil {
			return jsonAnswer(http.StatusInternalServerError, `{"message":"Server Error"}`)
		}
		return answer{status: http.StatusOK, body: fullRepository(fs), header: http.Header{}}
	case epRateLimit:
		return answer{status: http.StatusOK, body: s.rateLimitBody(who, auth, now), header: http.Header{}}
	}
	return jsonAnswer(http.StatusNotFound, notFoundBody)
}

func (s *Server) hasVanished(fullName string, id int64) bool {
	if f := s.cfg.VanishFraction; f > 0 && unit(hash3(s.cfg.Seed, uint64(id), saltVanish)) < f {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vanished[strings.ToLower(fullName)]
}

func (s *Server) search(r *http.Request, now time.Time) answer {
	v := r.URL.Query()
	if strings.TrimSpace(v.Get("q")) == "" {
		return jsonAnswer(http.StatusUnprocessableEntity, missingQueryBody)
	}
	perPage := intParam(v.Get("per_page"), 30)
	if perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page := max(intParam(v.Get("page"), 1), 1)
	offset := (min(page, searchCap+1) - 1) * perPage
	if offset >= searchCap {
		return jsonAnswer(http.StatusUnprocessableEntity, searchCapBody)
	}
	q, err := parseQuery(v.Get("q"), v.Get("sort"), v.Get("order"))
	if err != nil {
		return jsonAnswer(http.StatusUnprocessableEntity, fmt.Sprintf(
			`{"message":"Validation Failed","errors":[{"message":%s,"resource":"Search","field":"q","code":"invalid"}],"documentation_url":"https://docs.github.com/v3/search/"}`,
			appendString(nil, err.Error())))
	}
	res := s.cat.search(q, now, offset, min(perPage, searchCap-offset))

	items := make([][]byte, len(res.refs))
	size := 64
	for i, ref := range res.refs {
		items[i] = s.cat.object(ref, now)
		size += len(items[i]) + 1
	}
	w := objWriter{b: make([]byte, 0, size)}
	w.open()
	w.int("total_count", int64(res.total))
	w.bool("incomplete_results", res.incomplete)
	w.key("items")
	w.b = append(w.b, '[')
	for i, item := range items {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, item...)
	}
	w.b = append(w.b, ']')
	a := answer{status: http.StatusOK, body: w.close(), header: http.Header{}}

	last := max(1, (min(res.total, searchCap)+perPage-1)/perPage)
	var links []string
	link := func(p int, rel string) {
		v.Set("page", strconv.Itoa(p))
		links = append(links, "<"+absURL(r, v.Encode())+`>; rel="`+rel+`"`)
	}
	if page > 1 {
		link(min(page-1, last), "prev")
	}
	if page < last {
		link(page+1, "next")
		link(last, "last")
	}
	if page > 1 {
		link(1, "first")
	}
	if len(links) > 0 {
		a.header.Set("Link", strings.Join(links, ", "))
	}
	return a
}

func (s *Server) listAll(r *http.Request, now time.Time) answer {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	refs := s.cat.since(since, now, listPage)
	body := []byte{'['}
	for i, ref := range refs {
		if i > 0 {
			body = append(body, ',')
		}
		fs, err := splitObject(s.cat.object(ref, now))
		if err != nil {
			return jsonAnswer(http.StatusInternalServerError, `{"message":"Server Error"}`)
		}
		body = append(body, minimalRepository(fs)...)
	}
	body = append(body, ']')
	a := answer{status: http.StatusOK, body: body, header: http.Header{}}
	// GitHub always offers the next page after the last id, plus a URI template as "first". An
	// empty page (nothing newer yet) offers no next page, so clients walking the list stop.
	first := "<" + absURL(r, "") + `{?since}>; rel="first"`
	if len(refs) > 0 {
		next := "<" + absURL(r, "since="+strconv.FormatInt(s.cat.id(refs[len(refs)-1]), 10)) + `>; rel="next"`
		a.header.Set("Link", next+", "+first)
	} else {
		a.header.Set("Link", first)
	}
	return a
}

// absURL is the request's own URL, as the client addressed it, with a new query.
func absURL(r *http.Request, rawQuery string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}

func intParam(s string, def int) int {
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	return def
}

// Rate limits.

func (s *Server) limit(auth bool, resource string) (int, time.Duration) {
	switch {
	case auth && resource == "search":
		return s.cfg.AuthSearchLimit, s.cfg.AuthSearchWindow
	case auth:
		return s.cfg.AuthCoreLimit, s.cfg.AuthCoreWindow
	case resource == "search":
		return s.cfg.SearchLimit, s.cfg.SearchWindow
	}
	return s.cfg.CoreLimit, s.cfg.CoreWindow
}

// view is the state of a window at now without starting one: GitHub's window starts with the
// first request after the previous one ended.
func (s *Server) view(k bucketKey, auth bool, now time.Time) (limit, used int, reset time.Time) {
	limit, window := s.limit(auth, k.resource)
	if b := s.buckets[k]; b != nil && now.Before(b.reset) {
		return limit, b.used, b.reset
	}
	return limit, 0, ceilSecond(now.Add(window))
}

func (s *Server) spend(k bucketKey, auth bool, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit, used, reset := s.view(k, auth, now)
	if used >= limit {
		return false
	}
	s.buckets[k] = &bucket{reset: reset, used: used + 1}
	return true
}

func (s *Server) refund(k bucketKey, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[k]; b != nil && now.Before(b.reset) && b.used > 0 {
		b.used--
	}
}

func (s *Server) rateHeaders(h http.Header, k bucketKey, auth bool, now time.Time) {
	s.mu.Lock()
	limit, used, reset := s.view(k, auth, now)
	s.mu.Unlock()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-used)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Resource", k.resource)
}

func (s *Server) rateLimitBody(who string, auth bool, now time.Time) []byte {
	s.mu.Lock()
	coreLimit, coreUsed, coreReset := s.view(bucketKey{who, "core"}, auth, now)
	searchLimit, searchUsed, searchReset := s.view(bucketKey{who, "search"}, auth, now)
	s.mu.Unlock()
	core := rateObject("core", coreLimit, coreUsed, coreReset)
	hour, minute := ceilSecond(now.Add(time.Hour)), ceilSecond(now.Add(time.Minute))
	// Resources freshrepos never uses are reported with GitHub's published limits, untouched.
	graphql := 0
	if auth {
		graphql = 5000
	}
	var res objWriter
	res.open()
	res.raw("core", core)
	res.raw("search", rateObject("search", searchLimit, searchUsed, searchReset))
	res.raw("graphql", rateObject("graphql", graphql, 0, hour))
	res.raw("integration_manifest", rateObject("integration_manifest", 5000, 0, hour))
	res.raw("code_search", rateObject("code_search", 10, 0, minute))
	var w objWriter
	w.open()
	w.raw("resources", res.close())
	w.raw("rate", core)
	return w.close()
}

func rateObject(name string, limit, used int, reset time.Time) []byte {
	var o objWriter
	o.open()
	o.int("limit", int64(limit))
	o.int("used", int64(used))
	o.int("remaining", int64(max(0, limit-used)))
	o.int("reset", reset.Unix())
	o.str("resource", name)
	return o.close()
}

// Bookkeeping.

func (s *Server) arrive(ep endpoint, now time.Time) {
	switch ep {
	case epSearch:
		s.st.Search++
	case epRepositories:
		s.st.Repositories++
	case epRepo:
		s.st.Repo++
	case epLanguages:
		s.st.Languages++
	case epRateLimit:
		s.st.RateLimit++
	default:
		s.st.Other++
	}
	s.st.InFlight++
	s.st.MaxInFlight = max(s.st.MaxInFlight, s.st.InFlight)
	if len(s.arrivals) < maxArrivals {
		s.arrivals = append(s.arrivals, now)
	} else {
		s.arrivals[s.nextArrival] = now
		s.nextArrival = (s.nextArrival + 1) % maxArrivals
	}
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.InFlight--
}

func (s *Server) note(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.st)
}

func (s *Server) latency(h uint64) time.Duration {
	d := s.cfg.Latency + time.Duration((2*unit(h)-1)*float64(s.cfg.LatencyJitter))
	return max(d, 0)
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, rt route, auth bool, reqID string, a answer) {
	h := w.Header()
	h.Set("Server", "GitHub.com")
	h.Set("Content-Type", "application/json; charset=utf-8")
	if a.status == http.StatusOK || a.status == http.StatusNotModified {
		cache, vary := "public, max-age=60, s-maxage=60", "Accept, Accept-Encoding, Accept, X-Requested-With"
		if auth {
			cache = "private, max-age=60, s-maxage=60"
			vary = "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding, Accept, X-Requested-With"
		}
		if rt.ep == epSearch || rt.ep == epRateLimit {
			cache = "no-cache"
		}
		h.Set("Cache-Control", cache)
		h.Set("Vary", vary)
	}
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", apiVersion)
	h.Set("X-GitHub-Request-Id", reqID)
	h.Set("Access-Control-Expose-Headers", "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload")
	h.Set("X-Frame-Options", "deny")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-XSS-Protection", "0")
	h.Set("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin")
	h.Set("Content-Security-Policy", "default-src 'none'")
	for k, vs := range a.header {
		h[k] = vs
	}
	if a.status != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
	}
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead && a.status != http.StatusNotModified {
		_, _ = w.Write(a.body)
	}
}

func etagMatches(ifNoneMatch, etag string) bool {
	for _, part := range strings.Split(ifNoneMatch, ",") {
		p := strings.TrimSpace(part)
		if p == "*" || strings.TrimPrefix(p, "W/") == etag {
			return true
		}
	}
	return false
}

// requestID looks like GitHub's X-GitHub-Request-Id.
func requestID(h uint64, now time.Time) string {
	return fmt.Sprintf("%04X:%04X:%06X:%06X:%08X", h>>48, h>>32&0xffff, h>>8&0xffffff, mix(h)&0xffffff, uint32(now.Unix()))
}

func ceilSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

func ceilSecond(t time.Time) time.Time {
	if f := t.Truncate(time.Second); f.Before(t) {
		return f.Add(time.Second)
	}
	return t
}
