package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/freshrepos/freshrepos/publisher/fakegithub"
	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
)

// clock is a clock shared by the fake and the publisher, so tests move time
// instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var start = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFake(t testing.TB, cfg fakegithub.Config) (*fakegithub.Server, string) {
	t.Helper()
	fake, err := fakegithub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL + "/"
}

func newPublisher(t testing.TB, cfg Config, st snapshots.Store) *Publisher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	cfg.BackoffBase, cfg.BackoffLimit = time.Millisecond, 20*time.Millisecond
	p, err := New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newStore(t testing.TB) *dirstore.Store {
	st, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func ids(repos []snapshots.Repository) []int64 {
	out := make([]int64, len(repos))
	for i, r := range repos {
		out[i] = r.ID
	}
	return out
}

func latest(t testing.TB, st snapshots.Store) *snapshots.Snapshot {
	t.Helper()
	m, _, err := snapshots.Latest(context.Background(), st, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshots.Load(context.Background(), st, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// truth computes the newest n two independent ways, through the search
// API over a generous window and through the /repositories listing, and
// insists that they agree.
func truth(t *testing.T, apiURL string, now time.Time, n int, window time.Duration) []int64 {
	t.Helper()
	ctx := context.Background()
	gh, err := newClient(apiURL, "truth-token", &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	q := "is:public fork:true created:>=" + now.Add(-window).Format(time.RFC3339)
	var items []*github.Repository
	opts := &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		res, resp, err := gh.Search.Repositories(ctx, q, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.GetTotal() > 1000 || res.GetTotal() < n {
			t.Fatalf("truth window holds %d repositories; pick another", res.GetTotal())
		}
		items = append(items, res.Repositories...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.GetCreatedAt().Equal(b.GetCreatedAt()) {
			return a.GetCreatedAt().After(b.GetCreatedAt().Time)
		}
		return a.GetID() > b.GetID()
	})
	var bySearch []int64
	for _, it := range items[:n] {
		bySearch = append(bySearch, it.GetID())
	}
	// The listing, from well before the oldest of them to its end.
	since := bySearch[n-1] - int64(3*n)
	var listed []int64
	for {
		page, _, err := gh.Repositories.ListAll(ctx, &github.RepositoryListAllOptions{Since: since})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			listed = append(listed, r.GetID())
		}
		if len(page) < 100 {
			break
		}
		since = page[len(page)-1].GetID()
	}
	var bySince []int64
	for i := len(listed) - 1; i >= 0 && len(bySince) < n; i-- {
		bySince = append(bySince, listed[i])
	}
	if fmt.Sprint(bySearch) != fmt.Sprint(bySince) {
		t.Fatalf("the fake's search and listing disagree on the newest %d:\n%v\n%v", n, bySearch, bySince)
	}
	return bySearch
}

func TestNewestNEqualsTruth(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		window   time.Duration
	}{
		{"search", 5 * time.Second},  // too narrow: must widen
		{"search", 3 * time.Hour},    // over the 1,000 cap: must narrow
		{"search", 90 * time.Second}, // about right
		{"since", 0},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.strategy, tc.window), func(t *testing.T) {
			clk := &clock{t: start}
			fake, url := newFake(t, fakegithub.Config{Seed: 7, Now: clk.Now})
			want := truth(t, url, clk.Now(), 100, 5*time.Minute)
			st := newStore(t)
			p := newPublisher(t, Config{APIURL: url, Token: "t", Strategy: tc.strategy, InitialWindow: tc.window, Now: clk.Now}, st)
			fake.ResetStats()
			stats, err := p.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := latest(t, st)
			if fmt.Sprint(ids(got.Repositories)) != fmt.Sprint(want) {
				t.Fatalf("published:\n%v\nwant the newest 100:\n%v", ids(got.Repositories), want)
			}
			for i := 1; i < len(got.Repositories); i++ {
				if got.Repositories[i].CreatedAt.After(got.Repositories[i-1].CreatedAt) {
					t.Fatal("not newest first")
				}
			}
			if got.Source.Strategy != tc.strategy || stats.Pending != 0 || stats.Repositories != 100 {
				t.Fatalf("stats %+v source %+v", stats, got.Source)
			}
			t.Logf("search calls %d, core calls %d, window %s, next window %.0fs", stats.SearchCalls, stats.CoreCalls, stats.Window, p.state.WindowSeconds)
			if tc.strategy == "search" {
				// A second run starts from the window that fitted: one search, one page or two.
				clk.Advance(10 * time.Second)
				stats, err := p.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if stats.SearchCalls > 3 {
					t.Fatalf("steady state spent %d search calls", stats.SearchCalls)
				}
			}
		})
	}
}

func TestLanguagesParallelismIsBounded(t *testing.T) {
	clk := &clock{t: start}
	fake, url := newFake(t, fakegithub.Config{Seed: 3, Now: clk.Now, Latency: 20 * time.Millisecond})
	st := newStore(t)
	p := newPublisher(t, Config{APIURL: url, Token: "t", Concurrency: 8, InitialWindow: time.Minute, Now: clk.Now}, st)
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := fake.Stats()
	if s.MaxInFlight != 8 || s.Languages != 100 {
		t.Fatalf("max in flight %d (want exactly 8), languages calls %d", s.MaxInFlight, s.Languages)
	}
	for _, r := range latest(t, st).Repositories {
		if r.LanguagesStatus != snapshots.LanguagesOK && r.LanguagesStatus != snapshots.LanguagesUnavailable {
			t.Fatalf("%s: %s", r.FullName, r.LanguagesStatus)
		}
	}
}

func TestBudgetExhaustionPublishesPendingThenFillsThem(t *testing.T) {
	clk := &clock{t: start}
	// Anonymous budget of 50 core calls a minute; one repository created
	// every 1000 s, so moving the clock a minute adds none.
	_, url := newFake(t, fakegithub.Config{Seed: 5, Now: clk.Now, Rate: 0.001, CoreLimit: 50, CoreWindow: time.Minute, SearchLimit: 100})
	st := newStore(t)
	p := newPublisher(t, Config{APIURL: url, RateLimitReserve: 5, RepoCount: 100, InitialWindow: 30 * time.Hour, Now: clk.Now}, st)
	ctx := context.Background()
	s1, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s1.CoreCalls != 45 || s1.Pending != 55 || s1.CoreRemaining != 5 {
		t.Fatalf("first run: %d calls, %d pending, %d left (want 45, 55, 5: the reserve is never spent)", s1.CoreCalls, s1.Pending, s1.CoreRemaining)
	}
	first := latest(t, st)
	clk.Advance(61 * time.Second)
	s2, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second := latest(t, st)
	// Repositories pushed in that minute are asked again too, after the
	// pending ones; whatever the budget did not cover is pending.
	wasPending, pushed := map[int64]bool{}, map[int64]bool{}
	old := map[int64]snapshots.Repository{}
	for _, r := range first.Repositories {
		wasPending[r.ID] = r.LanguagesStatus == snapshots.LanguagesPending
		old[r.ID] = r
	}
	for _, r := range second.Repositories {
		if o := old[r.ID]; !wasPending[r.ID] && !o.PushedAt.Equal(r.PushedAt) {
			pushed[r.ID] = true
		}
	}
	if s2.CoreCalls != 45 || s2.Pending != 10+len(pushed) || s2.CarriedOver != 45-len(pushed) {
		t.Fatalf("second run: %d calls, %d pending, %d carried over, %d pushed (want 45, 10+pushed, 45-pushed)", s2.CoreCalls, s2.Pending, s2.CarriedOver, len(pushed))
	}
	for _, r := range second.Repositories {
		if r.LanguagesStatus == snapshots.LanguagesPending && !wasPending[r.ID] && !pushed[r.ID] {
			t.Fatalf("%s became pending while older pending ones were asked", r.FullName)
		}
		if pushed[r.ID] && r.LanguagesStatus == snapshots.LanguagesPending && fmt.Sprint(r.Languages) != fmt.Sprint(old[r.ID].Languages) {
			t.Fatalf("%s: a refresh that could not be afforded dropped the languages it had", r.FullName)
		}
	}
	clk.Advance(61 * time.Second)
	s3, err := p.Run(ctx)
	if err != nil || s3.Pending != 0 || s3.CoreCalls < 10+len(pushed) {
		t.Fatalf("third run: %+v %v", s3, err)
	}
}

func TestSecondaryLimitPausesEveryWorker(t *testing.T) {
	for _, status := range []int{403, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			fake, url := newFake(t, fakegithub.Config{Seed: 9, Latency: 10 * time.Millisecond, SecondaryStatus: status})
			st := newStore(t)
			p := newPublisher(t, Config{APIURL: url, Token: "t", Concurrency: 8, InitialWindow: time.Minute}, st)
			var (
				triggered time.Time
				wg        sync.WaitGroup
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for fake.Stats().Languages < 20 {
					time.Sleep(time.Millisecond)
				}
				triggered = time.Now()
				fake.TriggerSecondary(2 * time.Second)
			}()
			stats, err := p.Run(context.Background())
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if stats.SecondaryPauses == 0 || stats.Pending != 0 {
				t.Fatalf("%+v", stats)
			}
			// Requests in flight when the limit struck may land just after it;
			// then nothing may reach the fake until Retry-After has passed.
			until := triggered.Add(2 * time.Second)
			quietFrom := triggered.Add(500 * time.Millisecond)
			for _, a := range fake.Stats().Arrivals {
				if a.After(quietFrom) && a.Before(until.Add(-50*time.Millisecond)) {
					t.Fatalf("a request arrived %s after the secondary limit, before its Retry-After", a.Sub(triggered))
				}
			}
		})
	}
}

func TestFaultsAreRetried(t *testing.T) {
	fake, url := newFake(t, fakegithub.Config{Seed: 11, ServerErrorFraction: 0.2, TruncateFraction: 0.1, HangFraction: 0.05})
	st := newStore(t)
	// The faults are drawn per URL and attempt, so they are the same every
	// run; what is not is an answer slower than FetchTimeout on a machine
	// busy with the race detector and other packages' tests, which counts
	// as one more failure. A second keeps those out, and 12 retries leave
	// room for some anyway; only hangs wait it out.
	p := newPublisher(t, Config{APIURL: url, Token: "t", MaxRetries: 12, FetchTimeout: time.Second, InitialWindow: time.Minute}, st)
	stats, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fs := fake.Stats()
	if stats.Pending != 0 || stats.Retries == 0 || fs.ServerErrors == 0 || fs.Truncated == 0 || fs.Hangs == 0 {
		t.Fatalf("pending %d, retries %d, fake saw %d 5xx, %d truncated, %d hung", stats.Pending, stats.Retries, fs.ServerErrors, fs.Truncated, fs.Hangs)
	}
}

func TestVanishedRepositoryIsUnavailable(t *testing.T) {
	_, url := newFake(t, fakegithub.Config{Seed: 13, VanishFraction: 0.1})
	st := newStore(t)
	p := newPublisher(t, Config{APIURL: url, Token: "t", InitialWindow: time.Minute}, st)
	stats, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Unavailable == 0 || stats.Pending != 0 {
		t.Fatalf("%+v", stats)
	}
}

func TestCarryOverAndNotModified(t *testing.T) {
	clk := &clock{t: start}
	fake, url := newFake(t, fakegithub.Config{Seed: 17, Now: clk.Now, Rate: 0.001})
	st := newStore(t)
	p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 30, InitialWindow: 20 * time.Hour, Now: clk.Now}, st)
	ctx := context.Background()
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	fake.ResetStats()
	s2, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s2.CoreCalls != 0 || fake.Stats().Languages != 0 || s2.CarriedOver != 30 || s2.Published {
		t.Fatalf("unchanged run: %d core calls, %d languages requests, %d carried, published %v", s2.CoreCalls, fake.Stats().Languages, s2.CarriedOver, s2.Published)
	}
	// Pretend 5 were pushed since: they are asked with their ETag, and a 304
	// keeps their languages (and, authorised, spends nothing).
	before := map[int64]map[string]snapshots.Language{}
	for i := 0; i < 5; i++ {
		r := &p.prev.Repositories[i]
		before[r.ID] = r.Languages
		r.PushedAt = r.PushedAt.Add(-time.Hour)
	}
	fake.ResetStats()
	s3, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s3.NotModified != 5 || s3.CoreCalls != 5 || fake.Stats().NotModified != 5 || s3.CarriedOver != 25 {
		t.Fatalf("pushed run: %+v, fake %+v", s3, fake.Stats())
	}
	for _, r := range latest(t, st).Repositories {
		if want, ok := before[r.ID]; ok && fmt.Sprint(r.Languages) != fmt.Sprint(want) {
			t.Fatalf("%s: languages %v after a 304, want %v", r.FullName, r.Languages, want)
		}
	}
}

// failingStore fails every write, as storage that is down does.
type failingStore struct{ snapshots.Store }

func (failingStore) Put(context.Context, string, []byte, snapshots.Meta) error {
	return errors.New("storage is down")
}

func TestFailedRunLeavesLatestUntouched(t *testing.T) {
	clk := &clock{t: start}
	fake, url := newFake(t, fakegithub.Config{Seed: 19, Now: clk.Now})
	st := newStore(t)
	ctx := context.Background()
	p := newPublisher(t, Config{APIURL: url, Token: "t", InitialWindow: time.Minute, Now: clk.Now}, st)
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Get(ctx, snapshots.LatestKey, "")
	clk.Advance(time.Minute)
	// GitHub down.
	bad, badURL := newFake(t, fakegithub.Config{Seed: 19, Now: clk.Now, ServerErrorFraction: 1})
	pBad := newPublisher(t, Config{APIURL: badURL, Token: "t", MaxRetries: 1, InitialWindow: time.Minute, Now: clk.Now}, st)
	if _, err := pBad.Run(ctx); err == nil {
		t.Fatal("a run against a GitHub that answers only 5xx succeeded")
	}
	_ = bad
	// Storage down.
	pDown := newPublisher(t, Config{APIURL: url, Token: "t", InitialWindow: time.Minute, Now: clk.Now}, failingStore{st})
	if _, err := pDown.Run(ctx); err == nil {
		t.Fatal("a run whose storage is down succeeded")
	}
	after, _ := st.Get(ctx, snapshots.LatestKey, "")
	if string(before.Body) != string(after.Body) || before.ETag != after.ETag {
		t.Fatal("a failed run changed latest.json")
	}
	_ = fake
	// And the next good run goes on.
	if s, err := p.Run(ctx); err != nil || !s.Published {
		t.Fatalf("recovery: %+v %v", s, err)
	}
}

func fixtures(t *testing.T) string {
	dir := filepath.Join("..", "..", "shared", "fixtures", "github-2024")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/fixtures is absent")
	}
	return dir
}

func TestReplayPublishesRecordedLanguages(t *testing.T) {
	dir := fixtures(t)
	now := time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC)
	_, url := newFake(t, fakegithub.Config{ReplayDir: dir, Now: func() time.Time { return now }})
	st := newStore(t)
	p := newPublisher(t, Config{APIURL: url, Token: "t", RepoCount: 100, InitialWindow: 24 * time.Hour, MaxWindow: 20 * 365 * 24 * time.Hour,
		Now: func() time.Time { return now }}, st)
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := latest(t, st)
	if len(got.Repositories) == 0 {
		t.Fatal("nothing published")
	}
	checked := 0
	for _, r := range got.Repositories {
		b, err := os.ReadFile(filepath.Join(dir, "languages", r.Owner, r.Repository+".json"))
		if err != nil {
			t.Fatalf("%s: %v", r.FullName, err)
		}
		var rec map[string]int
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if r.LanguagesStatus != snapshots.LanguagesOK || fmt.Sprint(r.Languages) != fmt.Sprint(snapshots.LanguagesFromGitHub(rec)) {
			t.Fatalf("%s: %s %v, recorded %v", r.FullName, r.LanguagesStatus, r.Languages, rec)
		}
		checked++
	}
	t.Logf("%d repositories match their recorded languages", checked)
	if !strings.Contains(got.Source.Query, "created:>=") {
		t.Fatal(got.Source)
	}
}
