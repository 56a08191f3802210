package fakegithub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestPrimaryRateLimit(t *testing.T) {
	clk := newClock(march1)
	f := start(t, Config{Now: clk.Now, CoreLimit: 3, CoreWindow: 10 * time.Minute})
	ctx := context.Background()
	c := f.client(t)
	for i := 0; i < 3; i++ {
		_, resp, err := c.Repositories.ListAll(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Rate.Limit != 3 || resp.Rate.Remaining != 2-i || !resp.Rate.Reset.Time.Equal(march1.Add(10*time.Minute)) {
			t.Fatalf("request %d: rate %+v", i, resp.Rate)
		}
	}
	_, resp, err := c.Repositories.ListAll(ctx, nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || resp.StatusCode != http.StatusForbidden || rle.Rate.Remaining != 0 || rle.Rate.Limit != 3 {
		t.Fatalf("fourth request: %v", err)
	}
	body, _ := io.ReadAll(rle.Response.Body)
	if string(body) != rateLimitedBody {
		t.Errorf("body %s", body)
	}
	if recorded, err := os.ReadFile(filepath.Join(fixtureDir, "rate-limited-403.json")); err == nil && string(recorded) != string(body) {
		t.Errorf("body differs from the recorded one:\n%s\n%s", body, recorded)
	}
	if rle.Message != "API rate limit exceeded for 203.0.113.7. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)" {
		t.Errorf("message %q", rle.Message)
	}

	// Search has a budget of its own, and so does a request with a token.
	if _, _, err := f.client(t).Search.Repositories(ctx, "created:>2024-03-01T11:59:00Z", nil); err != nil {
		t.Errorf("search after core ran out: %v", err)
	}
	if _, resp, err := f.client(t).WithAuthToken("t0ken").Repositories.ListAll(ctx, nil); err != nil || resp.Rate.Limit != 5000 {
		t.Errorf("with a token after anonymous core ran out: %v", err)
	}

	// The window ends; the budget is back.
	clk.Advance(10 * time.Minute)
	_, resp, err = f.client(t).Repositories.ListAll(ctx, nil)
	if err != nil || resp.Rate.Remaining != 2 {
		t.Fatalf("after the window: %v %+v", err, resp.Rate)
	}
	if st := f.Stats(); st.PrimaryLimited != 1 {
		t.Errorf("PrimaryLimited = %d", st.PrimaryLimited)
	}
}

func TestGitHubsDefaultLimits(t *testing.T) {
	clk := newClock(march1)
	f := start(t, Config{Now: clk.Now})
	ctx := context.Background()
	c := f.client(t)
	for i := 0; i < 10; i++ {
		_, resp, err := c.Search.Repositories(ctx, "created:>2024-03-01T11:59:50Z", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Rate.Limit != 10 || resp.Header.Get("X-RateLimit-Resource") != "search" || !resp.Rate.Reset.Time.Equal(march1.Add(time.Minute)) {
			t.Fatalf("search rate %+v", resp.Rate)
		}
	}
	_, _, err := f.client(t).Search.Repositories(ctx, "created:>2024-03-01T11:59:50Z", nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("11th search in a minute: %v", err)
	}
	_, resp, err := c.Repositories.ListAll(ctx, nil)
	if err != nil || resp.Rate.Limit != 60 || !resp.Rate.Reset.Time.Equal(march1.Add(time.Hour)) {
		t.Fatalf("core: %v %+v", err, resp.Rate)
	}

	auth := f.client(t).WithAuthToken("t0ken")
	_, resp, err = auth.Search.Repositories(ctx, "created:>2024-03-01T11:59:50Z", nil)
	if err != nil || resp.Rate.Limit != 30 {
		t.Fatalf("search with a token: %v %+v", err, resp.Rate)
	}
	_, resp, err = auth.Repositories.ListAll(ctx, nil)
	if err != nil || resp.Rate.Limit != 5000 || resp.Rate.Remaining != 4999 {
		t.Fatalf("core with a token: %v %+v", err, resp.Rate)
	}
}

func TestAuthorizedNotModifiedSpendsNothing(t *testing.T) {
	f := start(t, Config{Now: newClock(march1).Now})
	res, _, err := f.client(t).Search.Repositories(context.Background(), "created:>=2024-03-01T11:59:00Z", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := "/repos/" + res.Repositories[0].GetFullName() + "/languages"
	remaining := func(resp *http.Response) int {
		n, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	resp, _ := f.get(t, path, "Authorization", "Bearer t0ken")
	etag, before := resp.Header.Get("ETag"), remaining(resp)
	for i := 0; i < 3; i++ {
		resp, _ = f.get(t, path, "Authorization", "Bearer t0ken", "If-None-Match", etag)
		if resp.StatusCode != http.StatusNotModified || remaining(resp) != before {
			t.Fatalf("authorized 304: status %d remaining %d, want 304 %d", resp.StatusCode, remaining(resp), before)
		}
	}
	resp, _ = f.get(t, path, "Authorization", "Bearer t0ken")
	if remaining(resp) != before-1 {
		t.Errorf("next authorized 200: remaining %d, want %d", remaining(resp), before-1)
	}

	// Without a token a 304 counts like any request, as GitHub documents.
	resp, _ = f.get(t, path)
	before = remaining(resp)
	resp, _ = f.get(t, path, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || remaining(resp) != before-1 {
		t.Errorf("anonymous 304: status %d remaining %d, want 304 %d", resp.StatusCode, remaining(resp), before-1)
	}
}

// hold starts n requests that the fake leaves hanging and waits until it sees them in flight.
func hold(t *testing.T, f *fake, n int) (release func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.ts.URL+"/repositories?since="+strconv.Itoa(i), nil)
			if resp, err := f.ts.Client().Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("a held request got %d", resp.StatusCode)
			}
		}(i)
	}
	waitFor(t, func() bool { return f.Stats().InFlight >= n })
	return func() {
		cancel()
		wg.Wait()
		waitFor(t, func() bool { return f.Stats().InFlight == 0 })
	}
}

// waitFor polls cond; the deadline only guards against a hung test, nothing is timed.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition never became true")
		}
	}
}

func TestSecondaryLimitOnConcurrency(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now, SecondaryConcurrency: 2, HangFraction: 1}))
	release := hold(t, f, 2)
	_, resp, err := f.client(t).Repositories.ListAll(context.Background(), nil)
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) || resp.StatusCode != http.StatusForbidden || are.RetryAfter == nil || *are.RetryAfter != time.Minute {
		t.Fatalf("third concurrent request: %v", err)
	}
	if are.Message != "You have exceeded a secondary rate limit. Please wait a few minutes before you try again..." {
		t.Errorf("message %q", are.Message)
	}
	// The held requests spent from the primary budget, the refused one did not.
	if resp.Rate.Remaining != resp.Rate.Limit-2 {
		t.Errorf("after two held requests and one refused: %+v", resp.Rate)
	}
	release()
	if st := f.Stats(); st.SecondaryLimited != 1 || st.Hangs != 2 || st.MaxInFlight != 3 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSecondaryLimitAs429(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now, SecondaryConcurrency: 1, HangFraction: 1,
		SecondaryStatus: 429, SecondaryRetryAfter: 5 * time.Second}))
	release := hold(t, f, 1)
	defer release()
	_, resp, err := f.client(t).Repositories.ListAll(context.Background(), nil)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "5" {
		t.Fatalf("429: %v", err)
	}
}

func TestTriggeredSecondaryLimitAndArrivals(t *testing.T) {
	clk := newClock(march1)
	f := start(t, generous(Config{Now: clk.Now}))
	ctx := context.Background()
	f.TriggerSecondary(30 * time.Second)

	c := f.client(t)
	_, _, err := c.Repositories.ListAll(ctx, nil)
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) || *are.RetryAfter != 30*time.Second {
		t.Fatalf("during the secondary limit: %v", err)
	}
	// go-github itself keeps away for the Retry-After: nothing reaches the fake.
	if _, _, err := c.Repositories.ListAll(ctx, nil); !errors.As(err, &are) || f.Stats().Requests() != 1 {
		t.Fatalf("the same client sent again: %v, %d requests", err, f.Stats().Requests())
	}

	clk.Advance(10 * time.Second)
	_, _, err = f.client(t).Repositories.ListAll(ctx, nil)
	if !errors.As(err, &are) || *are.RetryAfter != 20*time.Second {
		t.Fatalf("10 seconds in: %v", err)
	}
	clk.Advance(21 * time.Second)
	if _, _, err := f.client(t).Repositories.ListAll(ctx, nil); err != nil {
		t.Fatalf("after the secondary limit: %v", err)
	}

	st := f.Stats()
	if st.SecondaryLimited != 2 || st.Requests() != 3 || len(st.Arrivals) != 3 {
		t.Fatalf("stats %+v", st)
	}
	end := march1.Add(30 * time.Second)
	if first, ok := st.FirstArrivalAfter(end); !ok || !first.Equal(march1.Add(31*time.Second)) {
		t.Errorf("first arrival after the limit: %v %v", first, ok)
	}
	if first, ok := st.FirstArrivalAfter(march1.Add(5 * time.Second)); !ok || !first.Equal(march1.Add(10*time.Second)) {
		t.Errorf("first arrival after 5s: %v %v", first, ok)
	}
	if _, ok := st.FirstArrivalAfter(march1.Add(32 * time.Second)); ok {
		t.Error("an arrival after the last request")
	}
	f.ResetStats()
	if st := f.Stats(); st.Requests() != 0 || len(st.Arrivals) != 0 || st.MaxInFlight != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}

func TestMaxInFlight(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now, HangFraction: 1}))
	release := hold(t, f, 8)
	if st := f.Stats(); st.InFlight != 8 || st.MaxInFlight != 8 {
		t.Errorf("with 8 held: %+v", st)
	}
	release()
	if st := f.Stats(); st.InFlight != 0 || st.MaxInFlight != 8 || st.Hangs != 8 {
		t.Errorf("after release: %+v", st)
	}
	f.ResetStats()
	if st := f.Stats(); st.MaxInFlight != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}
