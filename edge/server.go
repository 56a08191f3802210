package edge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"github.com/freshrepos/freshrepos/ops"
	"github.com/freshrepos/freshrepos/snapshots"
)

// Server is one edge node. Build it with New, start it with Run (or
// Serve, with listeners of your own), and call Notify when a snapshot has
// just been published by the same process.
type Server struct {
	cfg   Config
	store snapshots.Store
	log   *slog.Logger

	// current is the edition of the newest snapshot; nil until the first
	// load. Requests load it once and use nothing else.
	current  atomic.Pointer[edition]
	versions *versions // older (or not yet polled) versions, for ?snapshot=

	files      *cache[file] // /snapshots/{version}/… downloads
	fileFlight singleflight.Group
	fileSlot   loadSlot // one download read from the store at a time
	failed     failures // on-demand loads that failed a moment ago

	limiter  *limiter // nil when rate limiting is off
	metrics  *metrics
	gatherer prometheus.Gatherer
	openapi  resource

	intervalSec int64 // PublishInterval in seconds, at least 1
	graceSec    int64 // how late a due publication may be: see freshMaxAge

	notify   chan struct{}
	started  atomic.Bool
	stopping atomic.Bool
	// loadCtx bounds loads made on a request's behalf; it ends when Serve
	// returns, after in-flight requests are done.
	loadCtx     context.Context
	cancelLoads context.CancelFunc
}

// New checks cfg and returns a Server following st. Nothing is loaded or
// listened on until Run or Serve.
func New(cfg Config, st snapshots.Store) (*Server, error) {
	if st == nil {
		return nil, errors.New("edge: nil store")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:         cfg,
		store:       st,
		log:         cfg.Logger,
		versions:    newVersions(cfg.SnapshotLRU),
		files:       newCache[file](int(numEncodings), cfg.CacheBytes),
		fileSlot:    newLoadSlot(),
		intervalSec: max(1, int64(cfg.PublishInterval/time.Second)),
		graceSec:    graceSec(cfg),
		notify:      make(chan struct{}, 1),
	}
	s.failed.ttl = min(cfg.PollInterval, 5*time.Second)
	s.loadCtx, s.cancelLoads = context.WithCancel(context.Background())
	reg := cfg.Registry
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = r
	}
	s.gatherer = prometheus.DefaultGatherer
	if g, ok := reg.(prometheus.Gatherer); ok {
		s.gatherer = g
	}
	m, err := newMetrics(reg, s)
	if err != nil {
		return nil, fmt.Errorf("edge: metrics: %w", err)
	}
	s.metrics = m
	if cfg.RateLimitPerIP > 0 {
		s.limiter = newLimiter(cfg.RateLimitPerIP, cfg.RateLimitBurst, cfg.TrustedProxies)
	}
	s.openapi = newResource(openapiJSON, "openapi", string(openapiJSON), effortBest)
	return s, nil
}

// pinnedCacheBytes is the cache bound of each version kept for ?snapshot=:
// together they get CacheBytes.
func (s *Server) pinnedCacheBytes() int64 {
	return s.cfg.CacheBytes / int64(s.cfg.SnapshotLRU)
}

// Notify asks for a poll of latest.json now rather than at the next tick.
// A publisher in the same process calls it after publishing; it never
// blocks, and several calls before the poll make one poll.
func (s *Server) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Run listens on cfg.Addr and cfg.MetricsAddr and serves until ctx is
// cancelled, then shuts down gracefully; see Serve. Cancel ctx on SIGTERM
// (signal.NotifyContext) to drain the node.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	var mln net.Listener
	if s.cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", s.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("edge: metrics: %w", err)
		}
	}
	return s.Serve(ctx, ln, mln)
}

// Serve serves the public API on ln and, unless metricsLn is nil, metrics
// and pprof on metricsLn; it follows the store meanwhile. When ctx is
// cancelled it stops accepting connections, reports not ready, gives
// in-flight requests up to ShutdownTimeout, and returns nil once they are
// done. It closes the listeners, and may be called once.
func (s *Server) Serve(ctx context.Context, ln, metricsLn net.Listener) error {
	if !s.started.CompareAndSwap(false, true) {
		ln.Close()
		if metricsLn != nil {
			metricsLn.Close()
		}
		return errors.New("edge: Serve called twice")
	}
	defer s.cancelLoads()
	hs := s.httpServer()
	ln = edgeTriggered(ln, hs)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	var ms *http.Server
	metricsServed := make(chan error, 1)
	if metricsLn != nil {
		ms = &http.Server{Handler: ops.Handler(s.gatherer), ReadHeaderTimeout: 10 * time.Second}
		go func() { metricsServed <- ms.Serve(metricsLn) }()
	}
	s.log.Info("edge: serving", "addr", ln.Addr().String(), "metrics", addrOf(metricsLn))

	followCtx, stopFollowing := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		s.follow(followCtx)
	}()

	var err error
	publicDone := false
	select {
	case <-ctx.Done():
	case err = <-served:
		publicDone = true
		err = fmt.Errorf("edge: public listener: %w", cmp.Or(err, net.ErrClosed))
	case err = <-metricsServed:
		err = fmt.Errorf("edge: metrics listener: %w", err)
	}
	s.stopping.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if serr := hs.ShutdownWithContext(sctx); serr != nil && err == nil {
		err = fmt.Errorf("edge: shutdown: in-flight requests did not finish in %v: %w", s.cfg.ShutdownTimeout, serr)
	}
	// Shutdown misses a listener that Serve has not registered yet.
	ln.Close()
	if !publicDone {
		<-served
	}
	if ms != nil {
		ms.Shutdown(sctx)
	}
	stopFollowing()
	<-followed
	s.log.Info("edge: stopped", "err", err)
	return err
}

// graceSec is how long after a publication is due it may take to be
// served: a poll, and a tenth of the interval for the run and the store;
// less than the interval.
func graceSec(cfg Config) int64 {
	iv := max(1, int64(cfg.PublishInterval/time.Second))
	return min(iv-1, max(1, int64((cfg.PollInterval+cfg.PublishInterval/10)/time.Second)))
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// writeBufferSize is the buffer fasthttp writes an answer through: less
// than an answer's header with a body (about 575 bytes), so that the
// header and the body each go to the connection as they are, and conn
// sends both in one writev, rather than both being copied into a 4 KiB
// buffer first as far as it goes. A 304 (about 400 bytes) still goes out
// in one write. The cost: answers to pipelined requests go out a write
// per kilobyte or so (conn sends two writes at once), where a 4 KiB buffer
// sent about four times as much at once (20 pipelined 304s: 8 writev
// against 1).
const writeBufferSize = 512

// httpServer is the public server, hardened: bounded headers, bodies and
// connection times, and an answer for what does not parse.
func (s *Server) httpServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.Handler(),
		ErrorHandler:                 s.badRequest,
		Logger:                       fasthttpLogger{s.log},
		ReadTimeout:                  s.cfg.ReadTimeout,
		WriteTimeout:                 s.cfg.WriteTimeout,
		IdleTimeout:                  s.cfg.IdleTimeout,
		MaxConnsPerIP:                s.cfg.MaxConnsPerIP,
		ReadBufferSize:               s.cfg.MaxHeaderBytes,
		WriteBufferSize:              writeBufferSize,
		MaxRequestBodySize:           s.cfg.MaxBodyBytes,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		LazyRequestTime:              true, // serveHTTP reads it once
		// Names are kept as sent rather than normalized, byte by byte,
		// into canonical form: the edge reads a few fields, whose names
		// it compares in any case (fields.read), and normalizing every
		// name of a browser's request was a sixth of the time fasthttp
		// takes to read it. fasthttp itself then finds two fields only
		// when spelled canonically: an HTTP/1.0 client's "Connection:
		// keep-alive" (in lower case, its connection is closed after
		// each answer) and "Expect: 100-continue" (for a body, which no
		// route takes).
		DisableHeaderNamesNormalizing: true,
	}
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn("edge: fasthttp: " + fmt.Sprintf(format, args...))
}

// follow polls latest.json until ctx ends: every PollInterval, at once on
// Notify, and with exponential backoff while polls fail.
func (s *Server) follow(ctx context.Context) {
	f := newFollower(s.store)
	fails := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.notify:
		}
		if s.poll(ctx, f) {
			fails = 0
		} else {
			fails++
		}
		timer.Reset(s.pollDelay(fails))
	}
}

// pollDelay is the time to the next poll after fails failures in a row:
// the poll interval, or a backoff that starts fast while nothing is
// served yet and never hammers a store that is down.
func (s *Server) pollDelay(fails int) time.Duration {
	if fails == 0 {
		return s.cfg.PollInterval
	}
	base := s.cfg.PollInterval
	if s.current.Load() == nil {
		base = min(base, 250*time.Millisecond)
	}
	limit := max(s.cfg.PollInterval, 30*time.Second)
	d := min(limit, base<<min(fails-1, 20))
	return d/2 + rand.N(d/2+1) // jitter, so that nodes do not retry in step
}

// poll makes one poll and swaps in what it finds. It reports whether the
// store answered sensibly: false calls for backing off.
func (s *Server) poll(ctx context.Context, f *snapshots.Follower[*loaded]) bool {
	pctx, cancel := context.WithTimeout(ctx, s.cfg.LoadTimeout)
	defer cancel()
	m, snap, err := f.Next(pctx)
	if err != nil {
		if ctx.Err() != nil {
			return true // shutting down
		}
		reason := "store"
		switch {
		case errors.Is(err, snapshots.ErrCorrupt):
			reason = "corrupt"
		case errors.Is(err, snapshots.ErrNotFound):
			reason = "missing"
		}
		s.metrics.loadFailures.WithLabelValues(reason).Inc()
		s.log.Warn("edge: snapshot poll failed; keeping the current snapshot", "reason", reason, "err", err, "serving", s.servingVersion())
		// A corrupt version is not fetched again until latest.json moves,
		// so there is nothing to back off from.
		return reason == "corrupt"
	}
	if m == nil {
		return true
	}
	e := s.versions.take(m.Version)
	if e != nil {
		e.cache.setLimit(s.cfg.CacheBytes)
	} else if e, err = buildEdition(m, snap, s.cfg.CacheBytes); err != nil {
		s.metrics.loadFailures.WithLabelValues("build").Inc()
		s.log.Error("edge: cannot build snapshot; keeping the current one", "version", m.Version, "err", err, "serving", s.servingVersion())
		return true
	}
	s.swap(e)
	return true
}

// buildEdition is newEdition, with a panic turned into an error so that a
// bad snapshot cannot take the node down.
func buildEdition(m *snapshots.Manifest, snap *loaded, cacheBytes int64) (e *edition, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("edge: building snapshot %s panicked: %v", m.Version, r)
		}
	}()
	return newEdition(m, snap, cacheBytes)
}

// swap makes e the current edition. The one it replaces stays available
// for ?snapshot= with a smaller cache.
func (s *Server) swap(e *edition) {
	old := s.current.Swap(e)
	s.metrics.swapped(e.version, e.generatedAt)
	if old != nil && old.version != e.version {
		old.cache.setLimit(s.pinnedCacheBytes())
		s.versions.add(old)
	}
	s.log.Info("edge: serving snapshot", "version", e.version, "generated_at", e.generatedAt,
		"repositories", len(e.fragOff)-1, "previous", versionOf(old))
}

func (s *Server) servingVersion() string { return versionOf(s.current.Load()) }

func versionOf(e *edition) string {
	if e == nil {
		return ""
	}
	return e.version
}
