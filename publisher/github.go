package publisher

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// newClient points go-github at apiURL. Any URL works — GitHub, GitHub
// Enterprise or the fake — because the base URL is set as given rather than
// through WithEnterpriseURLs, which would append /api/v3/.
func newClient(apiURL, token string, hc *http.Client) (*github.Client, error) {
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, err := c.BaseURL.Parse(apiURL)
	if err != nil {
		return nil, err
	}
	if u.Path == "" || u.Path[len(u.Path)-1] != '/' {
		u.Path += "/"
	}
	c.BaseURL = u
	return c, nil
}

// budget is what is left of one GitHub rate-limit resource. Each call is
// counted when it is sent, not when its answer says so, because eight
// workers reading the same x-ratelimit-remaining would otherwise all spend
// the last call.
type budget struct {
	mu        sync.Mutex
	known     bool
	remaining int
	reset     time.Time
	reserve   int
	now       func() time.Time
}

// acquire reports whether one more call may be spent, and counts it.
func (b *budget) acquire() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known || !b.now().Before(b.reset) {
		return true // unknown, or a new window has begun
	}
	if b.remaining <= b.reserve {
		return false
	}
	b.remaining--
	return true
}

// release records the rate an answer reported (zero if none came back).
func (b *budget) release(r github.Rate) { b.observe(r) }

func (b *budget) observe(r github.Rate) {
	if r.Limit == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch reset := r.Reset.Time; {
	case !b.known || reset.After(b.reset):
		b.known, b.remaining, b.reset = true, r.Remaining, reset
	case r.Remaining < b.remaining:
		// Someone else spends from the same budget, or answers came
		// back out of order: the lowest count is the truth.
		b.remaining = r.Remaining
	}
}

func (b *budget) snapshot() (remaining int, reset time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.remaining, b.reset
}

// gate holds every worker back while GitHub's secondary rate limit is in
// force: one worker hitting it means all of them would.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *gate) pause(until time.Time) {
	g.mu.Lock()
	if until.After(g.until) {
		g.until = until
	}
	g.mu.Unlock()
}

func (g *gate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		d := time.Until(g.until)
		g.mu.Unlock()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// outcome classifies an answer from GitHub.
type outcome int

const (
	ok          outcome = iota
	notModified         // 304: the ETag still holds
	gone                // 404 or 451: the repository is not there to ask
	exhausted           // the primary rate limit is spent
	secondary           // a secondary limit: pause everyone, then retry
	transient           // 5xx, a time-out, a broken body: retry
	fatal               // anything else: give up on this call
)

// classify says what an error from go-github means for us, and for a
// secondary limit how long to wait. go-github v60 recognises GitHub's 403
// secondary limit but not the 429 GitHub also sends, so both are read here.
func classify(resp *github.Response, err error) (outcome, time.Duration) {
	if err == nil {
		return ok, 0
	}
	var rle *github.RateLimitError
	if errors.As(err, &rle) {
		return exhausted, 0
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		d := time.Minute
		if abuse.RetryAfter != nil {
			d = *abuse.RetryAfter
		}
		return secondary, d
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch code := er.Response.StatusCode; {
		case code == http.StatusNotModified:
			return notModified, 0
		case code == http.StatusNotFound || code == http.StatusUnavailableForLegalReasons:
			return gone, 0
		case code == http.StatusTooManyRequests && er.Response.Header.Get("X-RateLimit-Remaining") == "0":
			// GitHub sends the primary limit's exhaustion as a 403 or a
			// 429, both with no calls remaining; go-github knows the 403.
			return exhausted, 0
		case code == http.StatusTooManyRequests:
			return secondary, retryAfter(er.Response.Header.Get("Retry-After"))
		case code >= 500:
			return transient, 0
		default:
			return fatal, 0
		}
	}
	// Network errors, time-outs and malformed JSON bodies.
	return transient, 0
}

func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return time.Minute
}

// backoff is full-jitter exponential backoff: attempt 0 waits up to base,
// each next one up to twice as long, never more than max.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base << attempt
	if d > max || d <= 0 {
		d = max
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
