package publisher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/publisher/fakegithub"
	"github.com/freshrepos/freshrepos/snapshots"
)

// TestServeStopsOnCancelWithoutHalfWrites cancels Serve in the middle of a
// run: Serve returns, and latest.json is either absent or names a whole
// snapshot.
func TestServeStopsOnCancelWithoutHalfWrites(t *testing.T) {
	fake, url := newFake(t, fakegithub.Config{Seed: 21, Latency: 30 * time.Millisecond})
	st := newStore(t)
	p := newPublisher(t, Config{APIURL: url, Token: "t", InitialWindow: time.Minute, Schedule: "@every 1s"}, st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	for fake.Stats().Languages < 10 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a bound for a hung test, not a timing assertion
		t.Fatal("Serve did not return after its context was cancelled")
	}
	m, _, err := snapshots.Latest(context.Background(), st, "")
	if errors.Is(err, snapshots.ErrNotFound) {
		return // cancelled before publishing: nothing written
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshots.Load(context.Background(), st, m); err != nil {
		t.Fatalf("latest.json names a snapshot that does not load: %v", err)
	}
}

func TestRunOnceFailsWhenGitHubFails(t *testing.T) {
	_, url := newFake(t, fakegithub.Config{Seed: 23, ServerErrorFraction: 1})
	p := newPublisher(t, Config{APIURL: url, Token: "t", MaxRetries: 1}, newStore(t))
	if err := p.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce succeeded against a GitHub answering only 5xx")
	}
}

func TestClassifyAndBackoff(t *testing.T) {
	for attempt := range 10 {
		d := backoff(attempt, 10*time.Millisecond, time.Second)
		if d < 0 || d > time.Second || (attempt == 0 && d > 10*time.Millisecond) {
			t.Fatalf("backoff(%d) = %s", attempt, d)
		}
	}
	if got := retryAfter("7"); got != 7*time.Second {
		t.Fatal(got)
	}
	if got := retryAfter("garbage"); got != time.Minute {
		t.Fatal(got)
	}
	if out, _ := classify(nil, nil); out != ok {
		t.Fatal(out)
	}
	if out, _ := classify(nil, context.DeadlineExceeded); out != transient {
		t.Fatal(out)
	}
}
