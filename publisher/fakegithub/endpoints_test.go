package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestSearchPaginatesWithGoGithub(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	ctx := context.Background()
	// 150 seconds at 2 per second: 300 repositories, one in ten a fork.
	q := "is:public created:2024-03-01T11:57:30Z..2024-03-01T11:59:59Z"

	res, resp, err := c.Search.Repositories(ctx, q, &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotal() != 270 || res.GetIncompleteResults() || len(res.Repositories) != 100 {
		t.Fatalf("total %d incomplete %v items %d, want 270 false 100", res.GetTotal(), res.GetIncompleteResults(), len(res.Repositories))
	}
	if resp.NextPage != 2 || resp.LastPage != 3 || resp.PrevPage != 0 || resp.FirstPage != 0 {
		t.Fatalf("page 1 links: next %d last %d prev %d first %d", resp.NextPage, resp.LastPage, resp.PrevPage, resp.FirstPage)
	}
	_, resp, err = c.Search.Repositories(ctx, q, &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100, Page: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NextPage != 3 || resp.LastPage != 3 || resp.PrevPage != 1 || resp.FirstPage != 1 {
		t.Fatalf("page 2 links: next %d last %d prev %d first %d", resp.NextPage, resp.LastPage, resp.PrevPage, resp.FirstPage)
	}
	for _, l := range strings.Split(resp.Header.Get("Link"), ", ") {
		if !strings.HasPrefix(l, "<"+f.ts.URL+"/search/repositories?") {
			t.Errorf("link %q is not an absolute URL of this server", l)
		}
	}

	all, total := searchAll(t, c, q, github.SearchOptions{})
	if len(all) != total || total != 270 {
		t.Fatalf("walked %d items, total_count %d", len(all), total)
	}
	seen := map[int64]bool{}
	lo, hi := time.Date(2024, 3, 1, 11, 57, 30, 0, time.UTC), time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, r := range all {
		if seen[r.GetID()] {
			t.Fatalf("repository %d on two pages", r.GetID())
		}
		seen[r.GetID()] = true
		if r.GetFork() || r.GetPrivate() || r.GetVisibility() != "public" {
			t.Errorf("%s: fork %v private %v visibility %q", r.GetFullName(), r.GetFork(), r.GetPrivate(), r.GetVisibility())
		}
		if at := r.GetCreatedAt().Time; at.Before(lo) || !at.Before(hi) {
			t.Errorf("%s created %v, outside the range", r.GetFullName(), at)
		}
	}
}

func TestSearchItemsCarryAScore(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	_, body := f.get(t, "/search/repositories?q=created:>=2024-03-01T11:00:00Z")
	var page struct {
		TotalCount        *int                         `json:"total_count"`
		IncompleteResults *bool                        `json:"incomplete_results"`
		Items             []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	if page.TotalCount == nil || page.IncompleteResults == nil || *page.IncompleteResults || len(page.Items) != 30 {
		t.Fatalf("envelope: %.300s", body)
	}
	for _, item := range page.Items {
		if string(item["score"]) != "1.0" {
			t.Fatalf("score %s", item["score"])
		}
		for _, key := range []string{"network_count", "subscribers_count", "organization"} {
			if _, ok := item[key]; ok {
				t.Errorf("search item has %q", key)
			}
		}
	}
}

func TestSearchPerPageDefaultsAndLimits(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	for _, tc := range []struct {
		perPage string
		want    int
	}{{"", 30}, {"0", 30}, {"7", 7}, {"100", 100}, {"250", 100}, {"x", 30}} {
		_, body := f.get(t, "/search/repositories?q=created:>=2024-03-01&per_page="+tc.perPage)
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != tc.want {
			t.Errorf("per_page=%q: %d items, want %d", tc.perPage, len(page.Items), tc.want)
		}
	}
}

func TestListAllWalksRepositoriesInIDOrder(t *testing.T) {
	clk := newClock(march1)
	f := start(t, generous(Config{Now: clk.Now}))
	c := f.client(t)
	ctx := context.Background()

	// The repositories created in the last 150 seconds, both ends included, forks too.
	newest, total := searchAll(t, c, "created:>=2024-03-01T11:57:30Z fork:true", github.SearchOptions{})
	if total != 301 {
		t.Fatalf("total %d, want 301", total)
	}
	since := slices.Min(ids(newest)) - 1

	var got []*github.Repository
	var sizes []int
	opts := &github.RepositoryListAllOptions{Since: since}
	for {
		repos, resp, err := c.Repositories.ListAll(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(repos))
		got = append(got, repos...)
		if resp.NextPage == 0 {
			break
		}
		if want := repos[len(repos)-1].GetID(); int64(resp.NextPage) != want {
			t.Fatalf("next since %d, want the last id %d", resp.NextPage, want)
		}
		opts.Since = int64(resp.NextPage)
	}
	if !slices.Equal(sizes, []int{100, 100, 100, 1, 0}) {
		t.Fatalf("page sizes %v", sizes)
	}
	for i, r := range got {
		if r.GetID() != since+1+int64(i) {
			t.Fatalf("position %d has id %d, want %d", i, r.GetID(), since+1+int64(i))
		}
	}

	// The listing is GitHub's minimal shape: no counts, dates, license or language.
	_, body := f.get(t, "/repositories?since="+strconv.FormatInt(since, 10))
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"license", "language", "stargazers_count", "created_at", "pushed_at", "updated_at", "topics", "score", "size"} {
		if _, ok := raw[0][key]; ok {
			t.Errorf("/repositories item has %q", key)
		}
	}
	for _, key := range []string{"id", "node_id", "name", "full_name", "private", "owner", "html_url", "description", "fork", "url", "deployments_url"} {
		if _, ok := raw[0][key]; !ok {
			t.Errorf("/repositories item lacks %q", key)
		}
	}

	// A minute later there is more to list from where the walk stopped.
	clk.Advance(time.Minute)
	repos, _, err := c.Repositories.ListAll(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 100 {
		t.Fatalf("after a minute %d new repositories, want 100 (of 120)", len(repos))
	}
}

func TestGetRepository(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	ctx := context.Background()
	res, _, err := c.Search.Repositories(ctx, "created:>=2024-03-01T11:00:00Z fork:true", &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 50}})
	if err != nil {
		t.Fatal(err)
	}
	orgs := 0
	for _, item := range res.Repositories {
		repo, _, err := c.Repositories.Get(ctx, item.GetOwner().GetLogin(), item.GetName())
		if err != nil {
			t.Fatalf("get %s: %v", item.GetFullName(), err)
		}
		if repo.GetID() != item.GetID() || repo.GetFullName() != item.GetFullName() ||
			repo.GetStargazersCount() != item.GetStargazersCount() || repo.GetLicense().GetKey() != item.GetLicense().GetKey() ||
			!repo.GetCreatedAt().Equal(item.GetCreatedAt()) || repo.GetFork() != item.GetFork() {
			t.Errorf("get %s differs from its search item", item.GetFullName())
		}
		if repo.NetworkCount == nil || repo.SubscribersCount == nil {
			t.Errorf("get %s lacks network_count or subscribers_count", item.GetFullName())
		}
		if repo.GetOwner().GetType() == "Organization" {
			orgs++
			if repo.GetOrganization().GetLogin() != repo.GetOwner().GetLogin() {
				t.Errorf("organization-owned %s lacks organization", repo.GetFullName())
			}
		}
	}
	if orgs == 0 {
		t.Log("no organization-owned repository among these 50")
	}

	// Owner and name are case-insensitive, as on GitHub; the answer keeps the real spelling.
	item := res.Repositories[0]
	_, body := f.get(t, "/repos/"+strings.ToUpper(item.GetFullName()))
	var got struct {
		FullName string `json:"full_name"`
		Score    *float64
	}
	if err := json.Unmarshal(body, &got); err != nil || got.FullName != item.GetFullName() || got.Score != nil {
		t.Fatalf("upper-case lookup: %s (err %v)", body, err)
	}

	for _, path := range [][2]string{{item.GetOwner().GetLogin(), "no-such-repo"}, {"nobody", item.GetName()}, {"octocat", "Hello-World"}} {
		_, resp, err := c.Repositories.Get(ctx, path[0], path[1])
		var er *github.ErrorResponse
		if !errors.As(err, &er) || resp.StatusCode != http.StatusNotFound || er.Message != "Not Found" ||
			er.DocumentationURL != "https://docs.github.com/rest/repos/repos#get-a-repository" {
			t.Errorf("get %v: err %v", path, err)
		}
	}
}

func TestLanguagesETagAndNotModified(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	ctx := context.Background()
	res, _, err := c.Search.Repositories(ctx, "created:>=2024-03-01T11:50:00Z", &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	empty, nonEmpty := 0, 0
	for _, r := range res.Repositories {
		langs, resp, err := c.Repositories.ListLanguages(ctx, r.GetOwner().GetLogin(), r.GetName())
		if err != nil {
			t.Fatal(err)
		}
		if len(langs) == 0 {
			empty++
			if r.Language != nil {
				t.Errorf("%s: no languages but language %q", r.GetFullName(), r.GetLanguage())
			}
		} else {
			nonEmpty++
			top := ""
			for l, n := range langs {
				if top == "" || n > langs[top] || (n == langs[top] && l < top) {
					top = l
				}
			}
			if r.GetLanguage() != top {
				t.Errorf("%s: language %q, but the largest is %q", r.GetFullName(), r.GetLanguage(), top)
			}
		}
		if etag := resp.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
			t.Errorf("ETag %q is not a strong entity tag", etag)
		}
	}
	if empty == 0 || nonEmpty == 0 {
		t.Errorf("%d empty and %d non-empty language maps among 100; want both", empty, nonEmpty)
	}

	r := res.Repositories[0]
	path := "repos/" + r.GetFullName() + "/languages"
	resp, body := f.get(t, "/"+path)
	etag := resp.Header.Get("ETag")
	if etag == "" || len(body) == 0 {
		t.Fatal("no ETag or body")
	}
	// go-github has no conditional ListLanguages; a hand-made request shows what a caching
	// client sees. go-github reports the 304 as an *ErrorResponse.
	req, err := c.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	f.ResetStats()
	gresp, err := c.Do(ctx, req, nil)
	var er *github.ErrorResponse
	if gresp == nil || gresp.StatusCode != http.StatusNotModified || !errors.As(err, &er) {
		t.Fatalf("conditional request: resp %v err %v", gresp, err)
	}
	if f.Stats().NotModified != 1 {
		t.Errorf("NotModified = %d", f.Stats().NotModified)
	}
	for _, inm := range []string{"W/" + etag, `"nope", ` + etag, "*"} {
		if resp, body := f.get(t, "/"+path, "If-None-Match", inm); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes", inm, resp.StatusCode, len(body))
		}
	}
	if resp, _ := f.get(t, "/"+path, "If-None-Match", `"other"`); resp.StatusCode != http.StatusOK {
		t.Errorf("a different ETag got %d", resp.StatusCode)
	}
}

func TestRateLimitEndpointSpendsNothing(t *testing.T) {
	f := start(t, Config{Now: newClock(march1).Now})
	c := f.client(t)
	ctx := context.Background()
	if _, _, err := c.Repositories.Get(ctx, "nobody-x", "none"); err == nil {
		t.Fatal("expected 404")
	}
	for i := 0; i < 3; i++ {
		limits, _, err := c.RateLimit.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if limits.Core.Limit != 60 || limits.Core.Remaining != 59 || limits.Search.Limit != 10 || limits.Search.Remaining != 10 {
			t.Fatalf("rate limits %+v", limits)
		}
		if want := march1.Add(time.Hour); !limits.Core.Reset.Time.Equal(want) {
			t.Fatalf("core reset %v, want %v", limits.Core.Reset, want)
		}
	}
	if st := f.Stats(); st.RateLimit != 3 || st.Repo != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHeadersAreGitHubs(t *testing.T) {
	f := start(t, Config{Now: newClock(march1).Now})
	for _, tc := range []struct {
		path, resource string
		status         int
	}{
		{"/search/repositories?q=created:>2024-03-01", "search", 200},
		{"/repositories", "core", 200},
		{"/repos/none/none", "core", 404},
		{"/rate_limit", "core", 200},
		{"/nowhere", "core", 404},
	} {
		resp, _ := f.get(t, tc.path)
		h := resp.Header
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d", tc.path, resp.StatusCode)
		}
		if h.Get("Content-Type") != "application/json; charset=utf-8" ||
			h.Get("X-RateLimit-Resource") != tc.resource ||
			h.Get("X-RateLimit-Limit") == "" || h.Get("X-RateLimit-Remaining") == "" ||
			h.Get("X-RateLimit-Used") == "" || h.Get("X-RateLimit-Reset") == "" ||
			h.Get("X-GitHub-Request-Id") == "" ||
			h.Get("X-GitHub-Api-Version-Selected") != "2022-11-28" ||
			h.Get("X-GitHub-Media-Type") != "github.v3; format=json" {
			t.Errorf("%s: headers %v", tc.path, h)
		}
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err != nil || reset <= march1.Unix() {
			t.Errorf("%s: reset %q", tc.path, h.Get("X-RateLimit-Reset"))
		}
	}
}

func TestServedUnderEnterprisePrefix(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c, err := github.NewClient(f.ts.Client()).WithEnterpriseURLs(f.ts.URL+"/", f.ts.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, resp, err := c.Search.Repositories(ctx, "created:>=2024-03-01T11:00:00Z", &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Header.Get("Link"), f.ts.URL+"/api/v3/search/repositories?") || resp.NextPage != 2 {
		t.Errorf("Link %q", resp.Header.Get("Link"))
	}
	r := res.Repositories[0]
	if _, _, err := c.Repositories.Get(ctx, r.GetOwner().GetLogin(), r.GetName()); err != nil {
		t.Error(err)
	}
	if _, _, err := c.Repositories.ListLanguages(ctx, r.GetOwner().GetLogin(), r.GetName()); err != nil {
		t.Error(err)
	}
	if _, _, err := c.RateLimit.Get(ctx); err != nil {
		t.Error(err)
	}
	if _, _, err := c.Repositories.ListAll(ctx, nil); err != nil {
		t.Error(err)
	}
}

func TestOnlyGetIsServed(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	resp, err := f.ts.Client().Post(f.ts.URL+"/search/repositories?q=x", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST got %d", resp.StatusCode)
	}
}
