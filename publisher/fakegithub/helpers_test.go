package fakegithub

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// fixtureDir holds real GitHub responses shared by the projects on this machine; tests that
// need it skip when it is absent.
const fixtureDir = "../../../shared/fixtures/github-2024"

func needFixtures(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fixtureDir, "search-repositories.json")); err != nil {
		t.Skipf("fixtures not available: %v", err)
	}
	return fixtureDir
}

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// march1 is a fixed "now" for synthetic data: two months of repositories after the default epoch.
var march1 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// generous raises the primary limits out of the way of tests about something else.
func generous(cfg Config) Config {
	cfg.CoreLimit, cfg.SearchLimit = 1_000_000, 1_000_000
	cfg.AuthCoreLimit, cfg.AuthSearchLimit = 1_000_000, 1_000_000
	return cfg
}

type fake struct {
	*Server
	ts *httptest.Server
}

func start(t *testing.T, cfg Config) *fake {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &fake{s, ts}
}

// client is a fresh go-github client for the fake: fresh, because go-github remembers rate-limit
// answers and refuses to send requests it expects to be refused.
func (f *fake) client(t *testing.T) *github.Client {
	t.Helper()
	c := github.NewClient(f.ts.Client())
	u, err := url.Parse(f.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// get fetches path raw, with optional header pairs.
func (f *fake) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// searchAll walks every page of a search with go-github and returns the items in order.
func searchAll(t *testing.T, c *github.Client, q string, opts github.SearchOptions) ([]*github.Repository, int) {
	t.Helper()
	if opts.PerPage == 0 {
		opts.PerPage = 100
	}
	var all []*github.Repository
	total := -1
	for {
		res, resp, err := c.Search.Repositories(context.Background(), q, &opts)
		if err != nil {
			t.Fatalf("search %q page %d: %v", q, opts.Page, err)
		}
		if total == -1 {
			total = res.GetTotal()
		} else if total != res.GetTotal() {
			t.Fatalf("total_count changed between pages: %d then %d", total, res.GetTotal())
		}
		all = append(all, res.Repositories...)
		if resp.NextPage == 0 {
			return all, total
		}
		opts.Page = resp.NextPage
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func ids(rs []*github.Repository) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.GetID()
	}
	return out
}
