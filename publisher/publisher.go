package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/freshrepos/freshrepos/snapshots"
)

// stateKey holds what the publisher learns from run to run and that is not
// part of a snapshot: the search window that fits, the frontier of the
// since strategy, and each repository's languages ETag. Keeping it in the
// store lets `publish --once` in a CronJob remember it too.
const stateKey = "publisher/state.json"

type state struct {
	WindowSeconds float64          `json:"window_seconds,omitempty"`
	MaxID         int64            `json:"max_id,omitempty"`
	ETags         map[int64]string `json:"languages_etags,omitempty"`
}

// Publisher runs publications. A Publisher runs one at a time; Run is safe
// to call from a scheduler that may overlap (it serialises).
type Publisher struct {
	cfg     Config
	store   snapshots.Store
	gh      *github.Client
	metrics *metrics

	mu    sync.Mutex // one run at a time
	prev  *snapshots.Snapshot
	state *state
}

// RunStats is what one run did, for its log line and for tests.
type RunStats struct {
	Version         string
	Published       bool
	Repositories    int
	SearchCalls     int
	CoreCalls       int
	NotModified     int
	CarriedOver     int
	Pending         int
	Unavailable     int
	LeftOut         int // new repositories whose details could not be had (since)
	Window          time.Duration
	CoreRemaining   int
	CoreReset       time.Time
	SecondaryPauses int
	Retries         int
	Duration        time.Duration
}

// New returns a Publisher over st.
func New(cfg Config, st snapshots.Store) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if cfg.Strategy != "search" && cfg.Strategy != "since" {
		return nil, fmt.Errorf("SOURCE_STRATEGY %q: want search or since", cfg.Strategy)
	}
	gh, err := newClient(cfg.APIURL, cfg.Token, cfg.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("GITHUB_API_URL %q: %w", cfg.APIURL, err)
	}
	return &Publisher{cfg: cfg, store: st, gh: gh, metrics: newMetrics(cfg.Registerer)}, nil
}

// run is one run's working set.
type run struct {
	p      *Publisher
	core   budget
	search budget
	gate   gate
	stats  RunStats
	calls  atomic.Int64 // core calls
	n304   atomic.Int64
	retry  atomic.Int64
	pauses atomic.Int64
}

// Run publishes once. On any error the store's latest.json is untouched.
func (p *Publisher) Run(ctx context.Context) (RunStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	r := &run{p: p}
	r.core = budget{reserve: p.cfg.RateLimitReserve, now: p.cfg.Now}
	r.search = budget{now: p.cfg.Now}
	stats, err := r.do(ctx)
	stats.Duration = time.Since(start)
	p.metrics.observe(stats, err)
	log := p.cfg.Logger.With("duration", stats.Duration.Round(time.Millisecond).String(), "search_calls", stats.SearchCalls,
		"core_calls", stats.CoreCalls, "not_modified", stats.NotModified, "carried_over", stats.CarriedOver,
		"pending", stats.Pending, "unavailable", stats.Unavailable, "left_out", stats.LeftOut, "rate_limit_remaining", stats.CoreRemaining,
		"rate_limit_reset", stats.CoreReset.UTC().Format(time.RFC3339))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && sameHost(ue.URL, p.cfg.APIURL) {
			log.Error("GitHub cannot be reached; retrying on schedule, and whatever was last published keeps being served",
				"github_api_url", redactURL(p.cfg.APIURL), "schedule", p.cfg.Schedule, "err", err)
		} else {
			log.Error("publish run failed; latest.json left as it was", "err", err)
		}
		return stats, err
	}
	log.Info("publish run", "version", stats.Version, "published", stats.Published, "repositories", stats.Repositories, "window", stats.Window.Round(time.Second).String())
	if stats.Published && p.cfg.OnPublish != nil {
		p.cfg.OnPublish()
	}
	return stats, nil
}

func (r *run) do(ctx context.Context) (RunStats, error) {
	p := r.p
	if err := p.loadPrevious(ctx); err != nil {
		return r.stats, err
	}
	// Free: /rate_limit spends nothing, and tells both budgets up front.
	// Its answer is not needed, so it is not retried; but it is bounded
	// like every call, or a GitHub that never answers would hold the run,
	// and every scheduled run after it, for ever.
	rctx, cancel := context.WithTimeout(ctx, p.cfg.FetchTimeout)
	limits, _, lerr := p.gh.RateLimit.Get(rctx)
	cancel()
	if lerr == nil && limits != nil {
		if limits.Core != nil {
			r.core.observe(*limits.Core)
		}
		if limits.Search != nil {
			r.search.observe(*limits.Search)
		}
	}
	var (
		repos []snapshots.Repository
		query string
		err   error
	)
	if p.cfg.Strategy == "since" {
		repos, err = r.newestSince(ctx)
	} else {
		repos, query, err = r.newestSearch(ctx)
	}
	if err != nil {
		return r.finish(), err
	}
	etags := r.fetchLanguages(ctx, repos)
	if err := ctx.Err(); err != nil {
		return r.finish(), err
	}
	snap := &snapshots.Snapshot{
		GeneratedAt:  p.cfg.Now(),
		Source:       snapshots.Source{API: redactURL(p.cfg.APIURL), Strategy: p.cfg.Strategy, Query: query},
		Repositories: repos,
	}
	m, published, err := snapshots.Publish(ctx, p.store, snap)
	if err != nil {
		return r.finish(), err
	}
	p.prev = snap
	p.state.ETags = etags
	if err := p.saveState(ctx); err != nil {
		p.cfg.Logger.Warn("could not save publisher state; the next run will spend more calls", "err", err)
	}
	if published {
		if deleted, err := snapshots.Prune(ctx, p.store, p.cfg.Retention); err != nil {
			p.cfg.Logger.Warn("prune failed", "err", err)
		} else if len(deleted) > 0 {
			p.cfg.Logger.Info("pruned old versions", "deleted", len(deleted))
		}
	}
	st := r.finish()
	st.Version, st.Published, st.Repositories = m.Version, published, len(repos)
	for _, repo := range repos {
		switch repo.LanguagesStatus {
		case snapshots.LanguagesPending:
			st.Pending++
		case snapshots.LanguagesUnavailable:
			st.Unavailable++
		}
	}
	return st, nil
}

func (r *run) finish() RunStats {
	st := r.stats
	st.CoreCalls = int(r.calls.Load())
	st.NotModified = int(r.n304.Load())
	st.Retries = int(r.retry.Load())
	st.SecondaryPauses = int(r.pauses.Load())
	st.CoreRemaining, st.CoreReset = r.core.snapshot()
	return st
}

// loadPrevious reads the last published snapshot and the state once per
// process; later runs keep them in memory.
func (p *Publisher) loadPrevious(ctx context.Context) error {
	if p.state == nil {
		st := &state{}
		obj, err := p.store.Get(ctx, stateKey, "")
		switch {
		case err == nil:
			if err := json.Unmarshal(obj.Body, st); err != nil {
				p.cfg.Logger.Warn("ignoring unreadable publisher state", "err", err)
				st = &state{}
			}
		case errors.Is(err, snapshots.ErrNotFound):
		default:
			return fmt.Errorf("read publisher state: %w", err)
		}
		p.state = st
	}
	if p.prev == nil {
		// A previous snapshot that will never load (corrupt) only costs
		// calls: this run starts from nothing, and its publication replaces
		// it. One the store could not give this time is worth waiting for:
		// without it, languages known before would be published as pending.
		m, _, err := snapshots.Latest(ctx, p.store, "")
		if err == nil {
			if p.prev, err = snapshots.Load(ctx, p.store, m); errors.Is(err, snapshots.ErrNotFound) {
				err = fmt.Errorf("%w: latest.json names %s, whose files are gone", snapshots.ErrCorrupt, m.Version)
			}
		}
		switch {
		case errors.Is(err, snapshots.ErrNotFound): // the first publication
		case errors.Is(err, snapshots.ErrCorrupt):
			p.cfg.Logger.Warn("previous snapshot unreadable; fetching every repository's languages", "err", err)
		case err != nil:
			return fmt.Errorf("read the previous snapshot: %w", err)
		}
	}
	return nil
}

func (p *Publisher) saveState(ctx context.Context) error {
	b, err := json.Marshal(p.state)
	if err != nil {
		return err
	}
	return p.store.Put(ctx, stateKey, b, snapshots.Meta{ContentType: "application/json", CacheControl: "no-store"})
}

// call runs one GitHub call under the budget, the secondary-limit gate,
// FETCH_TIMEOUT and the retry policy. do returns the response and error
// from go-github.
func (r *run) call(ctx context.Context, b *budget, do func(ctx context.Context) (*github.Response, error)) (outcome, *github.Response, error) {
	cfg := r.p.cfg
	attempts, pauses := 0, 0
	for {
		if err := r.gate.wait(ctx); err != nil {
			return fatal, nil, err
		}
		if !b.acquire() {
			return exhausted, nil, errBudget
		}
		cctx, cancel := context.WithTimeout(ctx, cfg.FetchTimeout)
		resp, err := do(cctx)
		cancel()
		var rate github.Rate
		if resp != nil {
			rate = resp.Rate
		}
		b.release(rate)
		if ctx.Err() != nil {
			return fatal, resp, ctx.Err()
		}
		out, wait := classify(resp, err)
		switch out {
		case secondary:
			pauses++
			r.pauses.Add(1)
			r.gate.pause(time.Now().Add(wait))
			cfg.Logger.Warn("GitHub secondary rate limit: pausing every worker", "retry_after", wait)
			if pauses > 5 {
				return out, resp, err
			}
			continue
		case transient:
			if attempts >= cfg.MaxRetries {
				return out, resp, err
			}
			r.retry.Add(1)
			if err := sleep(ctx, backoff(attempts, cfg.BackoffBase, cfg.BackoffLimit)); err != nil {
				return fatal, resp, err
			}
			attempts++
			continue
		}
		return out, resp, err
	}
}

var errBudget = errors.New("GitHub rate-limit budget spent (down to the reserve)")

// fetchLanguages fills each repository's languages: carried over when its
// pushed_at did not change, asked with If-None-Match when it did, asked
// plainly when new. Repositories that were pending go first. It returns the
// languages ETags to keep.
func (r *run) fetchLanguages(ctx context.Context, repos []snapshots.Repository) map[int64]string {
	p := r.p
	prev := map[int64]*snapshots.Repository{}
	if p.prev != nil {
		for i := range p.prev.Repositories {
			prev[p.prev.Repositories[i].ID] = &p.prev.Repositories[i]
		}
	}
	oldETags := p.state.ETags
	etags := make(map[int64]string, len(repos))
	type job struct {
		i    int
		etag string
		old  *snapshots.Repository
	}
	var first, rest []job
	for i := range repos {
		repo := &repos[i]
		old := prev[repo.ID]
		if old != nil && old.LanguagesStatus != snapshots.LanguagesPending && old.PushedAt.Equal(repo.PushedAt) {
			repo.Languages, repo.LanguagesStatus = old.Languages, old.LanguagesStatus
			if e := oldETags[repo.ID]; e != "" {
				etags[repo.ID] = e
			}
			r.stats.CarriedOver++
			continue
		}
		j := job{i: i, old: old}
		if old != nil && old.LanguagesStatus == snapshots.LanguagesOK {
			j.etag = oldETags[repo.ID]
		}
		if old != nil && old.LanguagesStatus == snapshots.LanguagesPending {
			first = append(first, j)
		} else {
			rest = append(rest, j)
		}
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range p.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				repo := &repos[j.i]
				var langs map[string]int
				out, resp, err := r.call(ctx, &r.core, func(ctx context.Context) (*github.Response, error) {
					r.calls.Add(1)
					req, err := p.gh.NewRequest(http.MethodGet, "repos/"+url.PathEscape(repo.Owner)+"/"+url.PathEscape(repo.Repository)+"/languages", nil)
					if err != nil {
						return nil, err
					}
					if j.etag != "" {
						req.Header.Set("If-None-Match", j.etag)
					}
					langs = nil
					return p.gh.Do(ctx, req, &langs)
				})
				switch out {
				case ok:
					repo.Languages, repo.LanguagesStatus = snapshots.LanguagesFromGitHub(langs), snapshots.LanguagesOK
					if e := resp.Header.Get("ETag"); e != "" {
						mu.Lock()
						etags[repo.ID] = e
						mu.Unlock()
					}
				case notModified:
					r.n304.Add(1)
					repo.Languages, repo.LanguagesStatus = j.old.Languages, snapshots.LanguagesOK
					mu.Lock()
					etags[repo.ID] = j.etag
					mu.Unlock()
				case gone:
					repo.Languages, repo.LanguagesStatus = nil, snapshots.LanguagesUnavailable
				default: // budget spent, retries exhausted, cancelled: ask again next run
					// A refresh that could not be made keeps what was known.
					repo.Languages, repo.LanguagesStatus = nil, snapshots.LanguagesPending
					if j.old != nil {
						repo.Languages = j.old.Languages
					}
					// A spent budget is the run's news, not each repository's.
					if out != exhausted && !errors.Is(err, errBudget) && ctx.Err() == nil {
						p.cfg.Logger.Warn("languages not fetched; pending until next run",
							"repository", repo.Owner+"/"+repo.Repository, "err", err)
					}
				}
			}
		}()
	}
	for _, j := range append(first, rest...) {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	return etags
}

// sortNewest orders by created_at, newest first, then by id.
func sortNewest(repos []snapshots.Repository) {
	sort.Slice(repos, func(i, j int) bool {
		a, b := repos[i], repos[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
}

// sameHost reports whether URLs a and b name the same host: a request to
// GitHub, and not to the store, failed.
func sameHost(a, b string) bool {
	ua, err := url.Parse(a)
	if err != nil {
		return false
	}
	ub, err := url.Parse(b)
	return err == nil && ua.Host == ub.Host
}

// redactURL drops credentials a URL might carry before it is published.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
