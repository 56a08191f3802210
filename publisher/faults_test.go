package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/publisher/fakegithub"
	"github.com/freshrepos/freshrepos/snapshots"
)

// Faults upstream, and what they must not do: replace the last good
// snapshot, hold the publisher for ever, or lose what it knew.

// wrapFake serves the fake through wrap, which may answer a request itself
// and return true.
func wrapFake(t testing.TB, cfg fakegithub.Config, wrap func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	fake, err := fakegithub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wrap(w, r) {
			fake.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// A search that answers with nothing is GitHub failing: the run fails,
// latest.json stays, and the window it widened to is not kept.
func TestEmptySearchKeepsLastGood(t *testing.T) {
	clk := &clock{t: start}
	var empty atomic.Bool
	url := wrapFake(t, fakegithub.Config{Seed: 3, Now: clk.Now}, func(w http.ResponseWriter, r *http.Request) bool {
		if !empty.Load() || r.URL.Path != "/search/repositories" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"total_count":0,"incomplete_results":true,"items":[]}`))
		return true
	})
	st := newStore(t)
	ctx := context.Background()
	p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 50, InitialWindow: time.Minute, Now: clk.Now}, st)
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Get(ctx, snapshots.LatestKey, "")
	window := p.state.WindowSeconds
	empty.Store(true)
	clk.Advance(time.Minute)
	if s, err := p.Run(ctx); err == nil || s.Published {
		t.Fatalf("a run whose search found nothing: published=%v err=%v", s.Published, err)
	}
	after, _ := st.Get(ctx, snapshots.LatestKey, "")
	if !bytes.Equal(before.Body, after.Body) {
		t.Error("latest.json changed")
	}
	if p.state.WindowSeconds != window {
		t.Errorf("window %vs kept from an empty answer, was %vs", p.state.WindowSeconds, window)
	}
	empty.Store(false)
	if s, err := p.Run(ctx); err != nil || s.Repositories != 50 {
		t.Fatalf("after GitHub recovered: %+v %v", s, err)
	}
}

// /rate_limit is bounded by FetchTimeout like every call: a GitHub that
// never answers it does not hold the run.
func TestRateLimitCallIsBounded(t *testing.T) {
	stop := make(chan struct{})
	url := wrapFake(t, fakegithub.Config{Seed: 4}, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/rate_limit" {
			return false
		}
		select { // until the client gives up
		case <-r.Context().Done():
		case <-stop: // or the test has failed
		}
		return true
	})
	t.Cleanup(func() { close(stop) }) // before the server closes
	// A second per call, and retries, so that the other calls succeed
	// however busy the machine; /rate_limit is given up on after one.
	p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 20, FetchTimeout: time.Second, MaxRetries: 8, InitialWindow: time.Minute}, newStore(t))
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // only so that a broken build does not hang
		t.Fatal("the run is still waiting for /rate_limit")
	}
}

// flakyReads fails the next fails reads of a snapshot's repositories, as a
// store having a bad moment does.
type flakyReads struct {
	snapshots.Store
	fails atomic.Int32
}

func (f *flakyReads) Get(ctx context.Context, key, ifNoneMatch string) (*snapshots.Object, error) {
	if strings.Contains(key, "/repos.json") && f.fails.Add(-1) >= 0 {
		return nil, errors.New("test: the store is having a bad moment")
	}
	return f.Store.Get(ctx, key, ifNoneMatch)
}

// A previous snapshot the store could not give this time fails the run,
// rather than publishing what was known as pending; one that is corrupt
// is started over from, and replaced.
func TestPreviousSnapshotUnreadable(t *testing.T) {
	clk := &clock{t: start}
	_, url := newFake(t, fakegithub.Config{Seed: 5, Now: clk.Now, Rate: 0.001})
	st := &flakyReads{Store: newStore(t)}
	ctx := context.Background()
	cfg := Config{APIURL: url, Token: "t", RepoCount: 40, InitialWindow: 30 * time.Hour, Now: clk.Now}
	if s, err := newPublisher(t, cfg, st).Run(ctx); err != nil || s.Pending != 0 {
		t.Fatalf("first run: %+v %v", s, err)
	}
	before, _ := st.Get(ctx, snapshots.LatestKey, "")

	// A new process (a CronJob's) reads the previous snapshot first.
	st.fails.Store(1)
	if s, err := newPublisher(t, cfg, st).Run(ctx); err == nil {
		t.Fatalf("a run that could not read the previous snapshot succeeded: %+v", s)
	}
	if after, _ := st.Get(ctx, snapshots.LatestKey, ""); !bytes.Equal(before.Body, after.Body) {
		t.Fatal("latest.json changed")
	}
	s, err := newPublisher(t, cfg, st).Run(ctx)
	if err != nil || s.CarriedOver != 40 || s.CoreCalls != 0 {
		t.Fatalf("once the store is back: %d carried over, %d core calls (want 40, 0): %v", s.CarriedOver, s.CoreCalls, err)
	}

	// A latest.json cut short will never load: start over, and replace it.
	if err := st.Put(ctx, snapshots.LatestKey, before.Body[:len(before.Body)/2], snapshots.Meta{}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	s, err = newPublisher(t, cfg, st).Run(ctx)
	if err != nil || !s.Published || s.CoreCalls != 40 {
		t.Fatalf("over a truncated latest.json: published=%v, %d core calls (want 40): %v", s.Published, s.CoreCalls, err)
	}
	if got := latest(t, st); len(got.Repositories) != 40 {
		t.Fatalf("latest.json names %d repositories", len(got.Repositories))
	}
}

// A search window over the cap is narrowed after its first page: the
// pages beyond it would be spent for nothing.
func TestOverCapWindowCostsOnePage(t *testing.T) {
	clk := &clock{t: start}
	var mu sync.Mutex
	pages := map[string][]string{} // query → pages asked
	var order []string
	url := wrapFake(t, fakegithub.Config{Seed: 6, Now: clk.Now, Rate: 10}, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/search/repositories" {
			mu.Lock()
			q := r.URL.Query().Get("q")
			if pages[q] == nil {
				order = append(order, q)
			}
			pages[q] = append(pages[q], r.URL.Query().Get("page"))
			mu.Unlock()
		}
		return false
	})
	// An hour at 10 a second is 36,000 repositories: far over the cap.
	p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 100, InitialWindow: time.Hour, Now: clk.Now}, newStore(t))
	s, err := p.Run(context.Background())
	if err != nil || s.Repositories != 100 {
		t.Fatalf("%+v %v", s, err)
	}
	if len(order) < 2 {
		t.Fatalf("the window was never narrowed: %v", pages)
	}
	for _, q := range order[:len(order)-1] {
		if len(pages[q]) != 1 {
			t.Errorf("%q, narrowed away, cost pages %v", q, pages[q])
		}
	}
	if want := len(order) - 1 + len(pages[order[len(order)-1]]); s.SearchCalls != want {
		t.Errorf("%d search calls, want %d", s.SearchCalls, want)
	}
}

// With the since strategy, a new repository whose details cannot be had
// is left out of the snapshot, and the rest is published.
func TestSinceLeavesOutWhatItCannotFetch(t *testing.T) {
	// Some repositories' details, and some others' languages, fail
	// however often they are asked.
	var failed atomic.Int32
	url := wrapFake(t, fakegithub.Config{Seed: 7}, func(w http.ResponseWriter, r *http.Request) bool {
		parts := strings.Split(r.URL.Path, "/") // "", "repos", owner, name[, "languages"]
		if len(parts) < 4 || parts[1] != "repos" {
			return false
		}
		h := fnv.New32a()
		h.Write([]byte(parts[2] + "/" + parts[3]))
		if k := h.Sum32() % 5; len(parts) == 4 && k == 0 || len(parts) == 5 && k == 1 {
			failed.Add(1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	var logs bytes.Buffer
	var lmu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&lmu, &logs}, nil))
	p := newPublisher(t, Config{APIURL: url, Token: "t", Strategy: "since", RepoCount: 30, MaxRetries: 1, Logger: logger}, newStore(t))
	s, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.LeftOut == 0 || s.Pending == 0 || !s.Published || s.Repositories+s.LeftOut != 30 {
		t.Fatalf("%d answers failed: %d left out, %d pending, %d published (want some, some, and 30 in all)", failed.Load(), s.LeftOut, s.Pending, s.Repositories)
	}
	// Each one left out, and each languages call that failed, is logged.
	lmu.Lock()
	defer lmu.Unlock()
	left, pending := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Msg, Repository string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(rec.Msg, "repository details not fetched") && rec.Repository != "":
			left++
		case strings.HasPrefix(rec.Msg, "languages not fetched") && rec.Repository != "":
			pending++
		}
	}
	if left != s.LeftOut || pending != s.Pending {
		t.Errorf("logged %d left out and %d pending, want %d and %d", left, pending, s.LeftOut, s.Pending)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestSameHost(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"https://api.github.com/search/repositories?q=x", "https://api.github.com/", true},
		{"http://127.0.0.1:9000/bucket/latest.json", "https://api.github.com/", false},
		{"http://127.0.0.1:8081/rate_limit", "http://127.0.0.1:8081/", true},
		{"http://127.0.0.1:9000/x", "http://127.0.0.1:8081/", false},
	} {
		if got := sameHost(c.a, c.b); got != c.want {
			t.Errorf("sameHost(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// GitHub answers a spent primary limit with a 403 or a 429, both with no
// calls remaining: a 429 of that kind is the budget spent, not a
// secondary limit to pause every worker for.
func TestPrimaryLimitAs429(t *testing.T) {
	var limited atomic.Int32
	url := wrapFake(t, fakegithub.Config{Seed: 8}, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/languages") {
			return false
		}
		limited.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`))
		return true
	})
	p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 20, InitialWindow: time.Minute}, newStore(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only so that a broken build does not hang
	defer cancel()
	s, err := p.Run(ctx)
	if err != nil || s.SecondaryPauses != 0 || s.Pending != 20 {
		t.Fatalf("%d pauses, %d pending (want 0, 20), %d languages calls: %v", s.SecondaryPauses, s.Pending, limited.Load(), err)
	}
	if n := limited.Load(); n > int32(p.cfg.Concurrency) {
		t.Errorf("%d languages calls after the budget was known to be spent, want at most one per worker", n)
	}
}

// A search answer that says it is incomplete is asked again; one still
// incomplete after the retries is taken as it is, and logged.
func TestIncompleteSearchIsRetried(t *testing.T) {
	for _, c := range []struct {
		name       string
		incomplete int32 // answers flagged incomplete before complete ones
		wantLogged bool
	}{
		{"then complete", 2, false},
		{"always", 1 << 30, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t: start}
			fake, err := fakegithub.New(fakegithub.Config{Seed: 9, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			var flagged atomic.Int32
			// The same fake again (same seed, same clock), to flag its answers.
			url := wrapFake(t, fakegithub.Config{Seed: 9, Now: clk.Now}, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/search/repositories" || flagged.Add(1) > c.incomplete {
					return false
				}
				rec := httptest.NewRecorder()
				fake.ServeHTTP(rec, r)
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Error(err)
				}
				body["incomplete_results"] = true
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.Header().Del("Content-Length")
				w.WriteHeader(rec.Code)
				json.NewEncoder(w).Encode(body)
				return true
			})
			var logs bytes.Buffer
			var lmu sync.Mutex
			logger := slog.New(slog.NewJSONHandler(lockedWriter{&lmu, &logs}, nil))
			p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 20, MaxRetries: 3, InitialWindow: time.Hour, Now: clk.Now, Logger: logger}, newStore(t))
			s, err := p.Run(context.Background())
			if err != nil || s.Repositories != 20 {
				t.Fatalf("%d repositories: %v", s.Repositories, err)
			}
			// Then complete: the first page asked twice more. Always: every
			// page asked three times more (MaxRetries), then taken.
			pages := s.SearchCalls - s.Retries
			if c.wantLogged && s.Retries != 3*pages || !c.wantLogged && s.Retries != 2 {
				t.Errorf("%d retries for %d pages in %d search calls", s.Retries, pages, s.SearchCalls)
			}
			lmu.Lock()
			defer lmu.Unlock()
			if logged := strings.Contains(logs.String(), "still incomplete"); logged != c.wantLogged {
				t.Errorf("incomplete results logged: %v, want %v", logged, c.wantLogged)
			}
		})
	}
}
