package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestFaultsAreOffByDefault(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	for i := 0; i < 30; i++ {
		if resp, body := f.get(t, "/search/repositories?per_page=3&q=created:>2024-03-01T11:59:00Z"); resp.StatusCode != 200 || !json.Valid(body) {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if st := f.Stats(); st.ServerErrors+st.Hangs+st.Truncated+st.PrimaryLimited+st.SecondaryLimited != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerErrorsAreDeterministicAndRetryable(t *testing.T) {
	statuses := func(seed uint64) []int {
		f := start(t, generous(Config{Now: newClock(march1).Now, Seed: seed, ServerErrorFraction: 0.5}))
		var out []int
		for i := 0; i < 40; i++ {
			resp, body := f.get(t, "/rate_limit")
			out = append(out, resp.StatusCode)
			if resp.StatusCode != 200 {
				var e struct{ Message string }
				if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
					t.Errorf("%d body %s", resp.StatusCode, body)
				}
			}
		}
		if f.Stats().ServerErrors != 40-count(out, 200) {
			t.Errorf("ServerErrors %d", f.Stats().ServerErrors)
		}
		return out
	}
	first := statuses(7)
	if n := count(first, 200); n == 0 || n == 40 {
		t.Fatalf("%d of 40 attempts succeeded: %v", n, first)
	}
	if count(first, 502) == 0 || count(first, 503) == 0 || count(first, 200)+count(first, 502)+count(first, 503) != 40 {
		t.Errorf("statuses %v", first)
	}
	if again := statuses(7); !slices.Equal(first, again) {
		t.Errorf("same seed, different faults:\n%v\n%v", first, again)
	}
	if other := statuses(8); slices.Equal(first, other) {
		t.Error("another seed, the same faults")
	}

	// go-github sees an *ErrorResponse and a retry loop gets through.
	cfg := generous(Config{Now: newClock(march1).Now, Seed: 7})
	owner, name := someRepository(t, cfg)
	cfg.ServerErrorFraction = 0.5
	f := start(t, cfg)
	c := f.client(t)
	var failures int
	for {
		_, resp, err := c.Repositories.Get(context.Background(), owner, name)
		var er *github.ErrorResponse
		if errors.As(err, &er) && (resp.StatusCode == 502 || resp.StatusCode == 503) {
			failures++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	t.Logf("succeeded after %d server errors", failures)
}

// someRepository names a repository that exists in the data cfg describes, asking a fake
// without faults.
func someRepository(t *testing.T, cfg Config) (owner, name string) {
	t.Helper()
	cfg.ServerErrorFraction, cfg.HangFraction, cfg.TruncateFraction, cfg.VanishFraction = 0, 0, 0, 0
	res, _, err := start(t, cfg).client(t).Search.Repositories(context.Background(), "created:>2024-03-01T11:00:00Z", nil)
	if err != nil || len(res.Repositories) == 0 {
		t.Fatalf("no repository: %v", err)
	}
	r := res.Repositories[0]
	return r.GetOwner().GetLogin(), r.GetName()
}

func count(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func TestHangLastsUntilTheClientGivesUp(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now, HangFraction: 1}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := f.client(t).Repositories.ListAll(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	waitFor(t, func() bool { return f.Stats().InFlight == 0 })
	if st := f.Stats(); st.Hangs != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHangFractionIsPerAttempt(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now, HangFraction: 0.5, Seed: 3}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var answered atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.ts.URL+"/rate_limit", nil)
			if resp, err := f.ts.Client().Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					answered.Add(1)
				}
			}
		}()
	}
	// Every attempt is either answered or hanging; then the clients give up.
	waitFor(t, func() bool { return int(answered.Load())+f.Stats().Hangs == 20 })
	cancel()
	wg.Wait()
	waitFor(t, func() bool { return f.Stats().InFlight == 0 })
	if hung := f.Stats().Hangs; hung == 0 || hung == 20 {
		t.Errorf("%d of 20 attempts at the same URL hung", hung)
	}
}

func TestTruncatedBodies(t *testing.T) {
	cfg := generous(Config{Now: newClock(march1).Now})
	whole := start(t, cfg)
	cfg.TruncateFraction = 1
	cut := start(t, cfg)
	path := "/search/repositories?q=created:>2024-03-01T11:59:00Z"
	_, full := whole.get(t, path)
	resp, half := cut.get(t, path)
	if resp.StatusCode != 200 || len(half) != len(full)/2 || string(full[:len(half)]) != string(half) || json.Valid(half) {
		t.Fatalf("status %d, %d of %d bytes", resp.StatusCode, len(half), len(full))
	}
	_, resp2, err := cut.client(t).Search.Repositories(context.Background(), "created:>2024-03-01T11:59:00Z", nil)
	if err == nil || resp2 == nil || resp2.StatusCode != 200 {
		t.Fatalf("go-github decoded a truncated body: %v", err)
	}
	owner, name := someRepository(t, cfg)
	langs := "/repos/" + owner + "/" + name + "/languages"
	if resp, body := cut.get(t, langs); resp.StatusCode != 200 || json.Valid(body) {
		t.Errorf("languages: %d %s", resp.StatusCode, body)
	}
	if st := cut.Stats(); st.Truncated != 3 {
		t.Errorf("Truncated = %d", st.Truncated)
	}
	// An error answer is never cut.
	if resp, body := cut.get(t, "/repos/nobody/none"); resp.StatusCode != 404 || !json.Valid(body) {
		t.Errorf("404: %s", body)
	}
}

func TestLatency(t *testing.T) {
	s, err := New(Config{Latency: 100 * time.Millisecond, LatencyJitter: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var sum time.Duration
	for i := uint64(0); i < 10000; i++ {
		d := s.latency(mix(i))
		if d < 60*time.Millisecond || d > 140*time.Millisecond {
			t.Fatalf("latency %v outside 100ms±40ms", d)
		}
		sum += d
	}
	if mean := sum / 10000; mean < 98*time.Millisecond || mean > 102*time.Millisecond {
		t.Errorf("mean latency %v", mean)
	}

	// A delay gives way to a client that stops waiting.
	f := start(t, generous(Config{Now: newClock(march1).Now, Latency: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := f.client(t).Repositories.ListAll(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	waitFor(t, func() bool { return f.Stats().InFlight == 0 })

	// A short one is simply served.
	f = start(t, generous(Config{Now: newClock(march1).Now, Latency: 5 * time.Millisecond, LatencyJitter: 5 * time.Millisecond}))
	if _, _, err := f.client(t).Repositories.ListAll(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestVanishedRepositories(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now, VanishFraction: 0.3}))
	c := f.client(t)
	ctx := context.Background()
	q := "created:2024-03-01T11:00:00Z..2024-03-01T11:00:49Z" // 90 repositories
	listed, _ := searchAll(t, c, q, github.SearchOptions{})
	gone := 0
	for _, r := range listed {
		_, resp, err := c.Repositories.ListLanguages(ctx, r.GetOwner().GetLogin(), r.GetName())
		_, resp2, err2 := c.Repositories.Get(ctx, r.GetOwner().GetLogin(), r.GetName())
		switch {
		case err == nil && err2 == nil:
		case resp != nil && resp.StatusCode == 404 && resp2 != nil && resp2.StatusCode == 404:
			gone++
		default:
			t.Fatalf("%s: %v / %v", r.GetFullName(), err, err2)
		}
	}
	if gone < 10 || gone > 50 {
		t.Errorf("%d of %d vanished, want about 30%%", gone, len(listed))
	}
	again, _ := searchAll(t, c, q, github.SearchOptions{})
	if len(again) != len(listed) {
		t.Errorf("search lists %d, then %d", len(listed), len(again))
	}

	// One by name, on demand.
	f = start(t, generous(Config{Now: newClock(march1).Now}))
	c = f.client(t)
	r := listed[0]
	if _, _, err := c.Repositories.ListLanguages(ctx, r.GetOwner().GetLogin(), r.GetName()); err != nil {
		t.Fatal(err)
	}
	f.Vanish(r.GetFullName())
	_, resp, err := c.Repositories.ListLanguages(ctx, r.GetOwner().GetLogin(), r.GetName())
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != 404 || er.DocumentationURL != "https://docs.github.com/rest/repos/repos#list-repository-languages" {
		t.Fatalf("languages of a vanished repository: %v", err)
	}
	if _, resp, _ := c.Repositories.Get(ctx, r.GetOwner().GetLogin(), r.GetName()); resp.StatusCode != 404 {
		t.Errorf("get of a vanished repository: %d", resp.StatusCode)
	}
	if again, _ := searchAll(t, c, q, github.SearchOptions{}); !slices.Contains(ids(again), r.GetID()) {
		t.Error("search no longer lists a vanished repository")
	}
	if _, body := f.get(t, "/repositories?since="+itoa(r.GetID()-1)); !json.Valid(body) || !containsID(body, r.GetID()) {
		t.Error("/repositories no longer lists a vanished repository")
	}
}

func containsID(body []byte, id int64) bool {
	var rs []struct{ ID int64 }
	_ = json.Unmarshal(body, &rs)
	return slices.ContainsFunc(rs, func(r struct{ ID int64 }) bool { return r.ID == id })
}
