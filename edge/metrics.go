package edge

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the edge's Prometheus series. Label values are resolved to
// series once, so that recording a request allocates nothing.
type metrics struct {
	requests *prometheus.CounterVec
	// requestSeries caches requests' series per route, status and
	// encoding, filled on first use.
	requestSeries [numRoutes][len(statusCodes) + 1][numEncodings]atomic.Pointer[prometheus.Counter]
	latency       [numRoutes]prometheus.Observer

	cacheHits, cacheMisses [numKinds]prometheus.Counter

	snapshotInfo      *prometheus.GaugeVec
	snapshotGenerated prometheus.Gauge
	loads             prometheus.Counter
	loadFailures      *prometheus.CounterVec
	rateLimited       prometheus.Counter
}

// statusCodes are the statuses the edge answers with; others share one
// slot and are resolved on every use.
var statusCodes = [...]int{200, 304, 400, 404, 405, 408, 413, 429, 431, 500, 503}

func statusSlot(code int) int {
	for i, c := range statusCodes {
		if c == code {
			return i
		}
	}
	return len(statusCodes)
}

func newMetrics(reg prometheus.Registerer, s *Server) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_requests_total",
			Help: "HTTP requests answered, by route, status and content encoding.",
		}, []string{"route", "status", "encoding"}),
		snapshotInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_snapshot_info",
			Help: "The snapshot version being served (value 1).",
		}, []string{"version"}),
		snapshotGenerated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_snapshot_generated_timestamp_seconds",
			Help: "generated_at of the snapshot being served, in Unix seconds.",
		}),
		loads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_snapshot_loads_total",
			Help: "New snapshots loaded and swapped in.",
		}),
		loadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_snapshot_load_failures_total",
			Help: "Failed polls or loads; the current snapshot kept serving. reason is corrupt (bad bytes in the store), store (the store failed) or build (indexing failed).",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_rate_limited_total",
			Help: "Requests refused with 429 because their client was over its rate.",
		}),
	}
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edge_request_duration_seconds",
		Help:    "Time from routing a request to its response being ready to write, by route.",
		Buckets: []float64{.00001, .00005, .0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
	}, []string{"route"})
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_cache_requests_total",
		Help: "Answers to /repos and /stats by whether they were cached (hit) or computed (miss).",
	}, []string{"route", "result"})
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_snapshot_age_seconds",
		Help: "Seconds since generated_at of the snapshot being served; 0 before there is one.",
	}, func() float64 {
		if e := s.current.Load(); e != nil {
			return time.Since(e.generatedAt).Seconds()
		}
		return 0
	})
	cacheBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edge_cache_bytes",
		Help: "Bytes charged to the cache of the snapshot being served.",
	}, func() float64 {
		if e := s.current.Load(); e != nil {
			used, _ := e.cache.size()
			return float64(used)
		}
		return 0
	})
	for _, c := range []prometheus.Collector{m.requests, m.snapshotInfo, m.snapshotGenerated, m.loads,
		m.loadFailures, m.rateLimited, latency, cache, age, cacheBytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for r := range numRoutes {
		m.latency[r] = latency.WithLabelValues(routeNames[r])
	}
	for k := range numKinds {
		m.cacheHits[k] = cache.WithLabelValues(kindNames[k], "hit")
		m.cacheMisses[k] = cache.WithLabelValues(kindNames[k], "miss")
	}
	for _, reason := range []string{"corrupt", "store", "build"} {
		m.loadFailures.WithLabelValues(reason)
	}
	return m, nil
}

// observe records one answered request.
func (m *metrics) observe(r route, status int, enc encoding, d time.Duration) {
	m.latency[r].Observe(d.Seconds())
	s := statusSlot(status)
	if s == len(statusCodes) {
		m.requests.WithLabelValues(routeNames[r], strconv.Itoa(status), encodingNames[enc]).Inc()
		return
	}
	p := &m.requestSeries[r][s][enc]
	c := p.Load()
	if c == nil {
		series := m.requests.WithLabelValues(routeNames[r], strconv.Itoa(status), encodingNames[enc])
		c = &series
		p.Store(c)
	}
	(*c).Inc()
}

// swapped records that version, generated at, is now served.
func (m *metrics) swapped(version string, generated time.Time) {
	m.snapshotInfo.Reset()
	m.snapshotInfo.WithLabelValues(version).Set(1)
	m.snapshotGenerated.Set(float64(generated.Unix()))
	m.loads.Inc()
}
