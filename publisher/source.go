package publisher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/freshrepos/freshrepos/snapshots"
)

// searchCap is how many results GitHub's search returns at most.
const searchCap = 1000

// newestSearch finds the newest N with created:>= windows. GitHub's search
// cannot sort by creation, so it lists a whole window — every repository
// created since T, at most 1,000 — and sorts on our side. The window
// shrinks when the cap was hit (the listing would then be a best-match
// sample, not everything) and widens when fewer than N came back, and the
// window that fitted is kept for the next run.
func (r *run) newestSearch(ctx context.Context) ([]snapshots.Repository, string, error) {
	p := r.p
	n := p.cfg.RepoCount
	window := time.Duration(p.state.WindowSeconds * float64(time.Second))
	if window <= 0 {
		window = p.cfg.InitialWindow
	}
	for attempt := 0; ; attempt++ {
		now := p.cfg.Now().UTC()
		q := "is:public"
		if !p.cfg.ExcludeForks {
			q += " fork:true"
		}
		q += " created:>=" + now.Add(-window).Truncate(time.Second).Format(time.RFC3339)
		last := attempt >= 8
		narrowable := window > time.Second && !last
		items, total, err := r.searchAll(ctx, q, narrowable)
		if err != nil {
			return nil, q, err
		}
		r.stats.Window = window
		switch {
		case total > searchCap && narrowable:
			// Not everything came back: narrow so that about half the cap fits.
			window = max(time.Second, time.Duration(float64(window)*float64(searchCap)/2/float64(total)))
			continue
		case total < n && window < p.cfg.MaxWindow && !last:
			grow := 4.0
			if total > 0 {
				grow = math.Max(2, 2*float64(n)/float64(total))
			}
			window = min(p.cfg.MaxWindow, time.Duration(float64(window)*grow))
			continue
		}
		repos := make([]snapshots.Repository, 0, len(items))
		seen := map[int64]bool{}
		for _, it := range items {
			if it.GetID() == 0 || seen[it.GetID()] || it.GetPrivate() || (p.cfg.ExcludeForks && it.GetFork()) {
				continue
			}
			seen[it.GetID()] = true
			repos = append(repos, toSnapshot(it))
		}
		if len(repos) == 0 {
			// GitHub creates repositories every second: none in the widest
			// window is GitHub failing, and publishing it would replace the
			// last good snapshot with an empty one. Nor is the window kept.
			return nil, q, fmt.Errorf("search %q found no repositories (total_count %d, %d listed); not publishing an empty snapshot", q, total, len(items))
		}
		// Aim next time for about twice N, within the cap.
		target := math.Min(float64(2*n), searchCap/2)
		next := window
		if total > 0 {
			next = time.Duration(float64(window) * target / float64(total))
		}
		p.state.WindowSeconds = math.Min(p.cfg.MaxWindow.Seconds(), math.Max(1, next.Seconds()))
		sortNewest(repos)
		if len(repos) > n {
			repos = repos[:n]
		}
		return repos, q, nil
	}
}

// errIncomplete is a search answer that says it is incomplete: retried.
var errIncomplete = errors.New("search results incomplete")

// searchAll pages through every result of one query. With narrowable, it
// stops after the first page when total_count is over the cap: the caller
// will narrow the window, and the pages it would skip cost search calls
// (ten a minute without a token).
func (r *run) searchAll(ctx context.Context, q string, narrowable bool) ([]*github.Repository, int, error) {
	var items []*github.Repository
	total := 0
	opts := &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100, Page: 1}}
	for {
		var res *github.RepositoriesSearchResult
		incomplete := 0
		out, resp, err := r.call(ctx, &r.search, func(ctx context.Context) (*github.Response, error) {
			r.stats.SearchCalls++
			var resp *github.Response
			var err error
			res, resp, err = r.p.gh.Search.Repositories(ctx, q, opts)
			// GitHub's search gives up on slow queries and says so: the
			// newest may be missing. Asked again it usually completes; the
			// last retry's answer is taken whatever it says.
			if err == nil && res.GetIncompleteResults() && incomplete < r.p.cfg.MaxRetries {
				incomplete++
				return resp, errIncomplete
			}
			return resp, err
		})
		if out != ok {
			if err == nil {
				err = fmt.Errorf("search: %v", out)
			}
			return nil, 0, fmt.Errorf("search %q page %d: %w", q, opts.Page, err)
		}
		if res.GetIncompleteResults() {
			r.p.cfg.Logger.Warn("search results still incomplete after retries; taking them as they are", "query", q, "page", opts.Page)
		}
		total = res.GetTotal()
		items = append(items, res.Repositories...)
		if resp.NextPage == 0 || len(items) >= min(total, searchCap) || len(res.Repositories) == 0 || narrowable && total > searchCap {
			return items, total, nil
		}
		opts.Page = resp.NextPage
	}
}

// newestSince walks GitHub's /repositories frontier, which lists in id
// order (creation order) but with minimal objects, so each of the newest N
// is then fetched whole.
func (r *run) newestSince(ctx context.Context) ([]snapshots.Repository, error) {
	p := r.p
	n := p.cfg.RepoCount
	maxID, tail, err := r.frontier(ctx, p.state.MaxID)
	if err != nil {
		return nil, err
	}
	p.state.MaxID = maxID
	// Walk back from the frontier until N candidates are in hand.
	minimal := tail
	for span := int64(2 * n); ; span *= 4 {
		var cands []*github.Repository
		for _, m := range minimal {
			if !p.cfg.ExcludeForks || !m.GetFork() {
				cands = append(cands, m)
			}
		}
		from := maxID - span
		if len(cands) >= n || from <= 0 {
			break
		}
		minimal, err = r.listFrom(ctx, from)
		if err != nil {
			return nil, err
		}
	}
	// Newest first by id, which is creation order on GitHub.
	var cands []*github.Repository
	for i := len(minimal) - 1; i >= 0 && len(cands) < n; i-- {
		if !p.cfg.ExcludeForks || !minimal[i].GetFork() {
			cands = append(cands, minimal[i])
		}
	}
	repos := make([]snapshots.Repository, 0, len(cands))
	prev := map[int64]*snapshots.Repository{}
	if p.prev != nil {
		for i := range p.prev.Repositories {
			prev[p.prev.Repositories[i].ID] = &p.prev.Repositories[i]
		}
	}
	for _, m := range cands {
		var full *github.Repository
		out, _, err := r.call(ctx, &r.core, func(ctx context.Context) (*github.Response, error) {
			r.calls.Add(1)
			var resp *github.Response
			var err error
			full, resp, err = p.gh.Repositories.Get(ctx, m.GetOwner().GetLogin(), m.GetName())
			return resp, err
		})
		switch {
		case out == ok:
			repos = append(repos, toSnapshot(full))
		case out == gone:
			// Deleted or made private since it was listed.
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case prev[m.GetID()] != nil:
			// No budget for details: the last published ones will do.
			old := *prev[m.GetID()]
			repos = append(repos, old)
		default:
			// New, and its details could not be had (the budget is spent,
			// or GitHub kept failing): left out until a run can fetch them,
			// rather than holding back the whole publication.
			r.stats.LeftOut++
			if !errors.Is(err, errBudget) {
				p.cfg.Logger.Warn("repository details not fetched; left out of this snapshot", "repository", m.GetFullName(), "err", err)
			}
		}
	}
	if len(repos) == 0 {
		return nil, fmt.Errorf("details of none of the %d newest repositories could be fetched; not publishing an empty snapshot", len(cands))
	}
	sortNewest(repos)
	return repos, nil
}

// frontier finds the newest repository id, starting from a hint: it
// gallops forward until a page comes back short, then bisects. It returns
// the id and the last page, oldest first.
func (r *run) frontier(ctx context.Context, hint int64) (int64, []*github.Repository, error) {
	lo := hint // a since value known to have repositories after it, or 0
	page, err := r.listPage(ctx, lo)
	if err != nil {
		return 0, nil, err
	}
	if len(page) == 0 && lo > 0 {
		lo = 0 // the hint is past the end (a fresh fake, say)
		if page, err = r.listPage(ctx, lo); err != nil {
			return 0, nil, err
		}
	}
	if len(page) == 0 {
		return 0, nil, errors.New("GitHub listed no repositories at all")
	}
	lo = page[len(page)-1].GetID()
	if len(page) < 100 {
		return lo, page, nil
	}
	last := page
	step := int64(1024)
	hi := int64(-1)
	for hi < 0 { // gallop
		pg, err := r.listPage(ctx, lo+step)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case len(pg) == 0:
			hi = lo + step
		case len(pg) < 100:
			return pg[len(pg)-1].GetID(), pg, nil
		default:
			lo, last = pg[len(pg)-1].GetID(), pg
			step *= 2
		}
	}
	for hi-lo > 1 { // bisect: lo has a full page after it, hi nothing
		mid := lo + (hi-lo)/2
		pg, err := r.listPage(ctx, mid)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case len(pg) == 0:
			hi = mid
		case len(pg) < 100:
			return pg[len(pg)-1].GetID(), pg, nil
		default:
			lo, last = mid, pg
		}
	}
	return last[len(last)-1].GetID(), last, nil
}

// listFrom lists every repository after since, following next links.
func (r *run) listFrom(ctx context.Context, since int64) ([]*github.Repository, error) {
	var all []*github.Repository
	for {
		pg, err := r.listPage(ctx, since)
		if err != nil {
			return nil, err
		}
		all = append(all, pg...)
		if len(pg) < 100 {
			return all, nil
		}
		since = pg[len(pg)-1].GetID()
	}
}

func (r *run) listPage(ctx context.Context, since int64) ([]*github.Repository, error) {
	var page []*github.Repository
	out, _, err := r.call(ctx, &r.core, func(ctx context.Context) (*github.Response, error) {
		r.calls.Add(1)
		var resp *github.Response
		var err error
		page, resp, err = r.p.gh.Repositories.ListAll(ctx, &github.RepositoryListAllOptions{Since: since})
		return resp, err
	})
	if out != ok {
		if err == nil {
			err = fmt.Errorf("status %v", out)
		}
		return nil, fmt.Errorf("list repositories since %d: %w", since, err)
	}
	return page, nil
}
