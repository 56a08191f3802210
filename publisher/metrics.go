package publisher

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	runs        *prometheus.CounterVec
	duration    prometheus.Histogram
	calls       *prometheus.CounterVec
	notModified prometheus.Counter
	carried     prometheus.Gauge
	pending     prometheus.Gauge
	remaining   prometheus.Gauge
	lastSuccess prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "freshrepos_publisher_runs_total",
			Help: "Publisher runs by result (published, unchanged, failed)."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "freshrepos_publisher_run_duration_seconds",
			Help: "Wall time of a publisher run.", Buckets: prometheus.ExponentialBuckets(0.1, 2, 12)}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "freshrepos_publisher_github_calls_total",
			Help: "GitHub API calls spent, by rate-limit resource."}, []string{"resource"}),
		notModified: prometheus.NewCounter(prometheus.CounterOpts{Name: "freshrepos_publisher_not_modified_total",
			Help: "Languages answers that were a free 304."}),
		carried: prometheus.NewGauge(prometheus.GaugeOpts{Name: "freshrepos_publisher_carried_over",
			Help: "Repositories whose languages the last run kept without asking."}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "freshrepos_publisher_pending",
			Help: "Repositories published with languages pending in the last run."}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{Name: "freshrepos_publisher_rate_limit_remaining",
			Help: "GitHub core calls remaining after the last run."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "freshrepos_publisher_last_success_timestamp_seconds",
			Help: "When a run last succeeded."}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.duration, m.calls, m.notModified, m.carried, m.pending, m.remaining, m.lastSuccess)
	}
	return m
}

func (m *metrics) observe(s RunStats, err error) {
	m.duration.Observe(s.Duration.Seconds())
	m.calls.WithLabelValues("search").Add(float64(s.SearchCalls))
	m.calls.WithLabelValues("core").Add(float64(s.CoreCalls))
	m.notModified.Add(float64(s.NotModified))
	switch {
	case err != nil:
		m.runs.WithLabelValues("failed").Inc()
		return
	case s.Published:
		m.runs.WithLabelValues("published").Inc()
	default:
		m.runs.WithLabelValues("unchanged").Inc()
	}
	m.carried.Set(float64(s.CarriedOver))
	m.pending.Set(float64(s.Pending))
	m.remaining.Set(float64(s.CoreRemaining))
	m.lastSuccess.SetToCurrentTime()
}
