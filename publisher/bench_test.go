package publisher

import (
	"context"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/publisher/fakegithub"
)

// BenchmarkFullRun times a first run (nothing to carry over) against the
// fake at latency L with concurrency C, and reports it next to the bound a
// perfect pipeline could reach: every search call, then ⌈N/C⌉ rounds of
// languages calls, each taking L.
func BenchmarkFullRun(b *testing.B) {
	const (
		latency     = 20 * time.Millisecond
		concurrency = 8
		n           = 100
	)
	_, url := newFake(b, fakegithub.Config{Seed: 1, Latency: latency})
	var last RunStats
	for b.Loop() {
		p := newPublisher(b, Config{APIURL: url, Token: "t", Concurrency: concurrency, RepoCount: n, InitialWindow: time.Minute}, newStore(b))
		s, err := p.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		last = s
	}
	rounds := (n + concurrency - 1) / concurrency
	// +1: the /rate_limit call that opens each run.
	bound := time.Duration(last.SearchCalls+rounds+1) * latency
	b.ReportMetric(float64(last.Duration.Milliseconds()), "run-ms")
	b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
	b.ReportMetric(float64(last.SearchCalls), "search-calls")
	b.ReportMetric(float64(last.CoreCalls), "core-calls")
}

// BenchmarkSteadyRun is a run after one that fetched everything: carry-over
// makes it cost no core calls, against the naive 1 + N.
func BenchmarkSteadyRun(b *testing.B) {
	clk := &clock{t: start}
	_, url := newFake(b, fakegithub.Config{Seed: 1, Latency: 5 * time.Millisecond, Now: clk.Now, Rate: 0.01})
	p := newPublisher(b, Config{APIURL: url, Token: "t", RepoCount: 100, InitialWindow: 4 * time.Hour, Now: clk.Now}, newStore(b))
	if _, err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	var last RunStats
	for b.Loop() {
		s, err := p.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		last = s
	}
	b.ReportMetric(float64(last.CoreCalls+last.SearchCalls), "calls/run")
	b.ReportMetric(float64(1+100), "naive-calls/run")
}
