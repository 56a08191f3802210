package fakegithub

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestCreatedQualifiers(t *testing.T) {
	now := time.Date(2024, 3, 1, 0, 5, 0, 0, time.UTC)
	f := start(t, generous(Config{Now: newClock(now).Now, Rate: 0.5}))
	c := f.client(t)
	// Four minutes across midnight, one repository every two seconds, forks included: 120. Every
	// case below is also restricted to this range, so the expectation is a filter over it.
	universeQ := "created:2024-02-29T23:58:00Z..2024-03-01T00:01:59Z"
	universe, total := searchAll(t, c, universeQ+" fork:true", github.SearchOptions{})
	if total != 120 || len(universe) != 120 {
		t.Fatalf("universe: total %d, %d items", total, len(universe))
	}
	day := func(d int) time.Time { return time.Date(2024, 2, 29+d, 0, 0, 0, 0, time.UTC) } // 0: Feb 29, 1: Mar 1
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	t0130 := at("2024-03-01T00:01:30Z")
	for _, tc := range []struct {
		q    string
		keep func(c time.Time) bool
	}{
		{"created:2024-03-01", func(c time.Time) bool { return !c.Before(day(1)) && c.Before(day(2)) }},
		{"created:>2024-02-29", func(c time.Time) bool { return !c.Before(day(1)) }},
		{"created:>=2024-03-01", func(c time.Time) bool { return !c.Before(day(1)) }},
		{"created:<2024-03-01", func(c time.Time) bool { return c.Before(day(1)) }},
		{"created:<=2024-02-29", func(c time.Time) bool { return c.Before(day(1)) }},
		{"created:>2024-03-01T00:01:30Z", func(c time.Time) bool { return c.After(t0130) }},
		{"created:>=2024-03-01T00:01:30Z", func(c time.Time) bool { return !c.Before(t0130) }},
		{"created:<2024-03-01T00:01:30Z", func(c time.Time) bool { return c.Before(t0130) }},
		{"created:<=2024-03-01T00:01:30Z", func(c time.Time) bool { return !c.After(t0130) }},
		{"created:2024-03-01T00:01:30Z", func(c time.Time) bool { return c.Equal(t0130) }},
		{"created:2024-03-01T00:01:31Z", func(c time.Time) bool { return c.Equal(t0130.Add(time.Second)) }},
		{"created:>=2024-03-01T01:01:30+01:00", func(c time.Time) bool { return !c.Before(t0130) }},
		{"created:2024-02-29T23:59:00Z..2024-03-01T00:00:10Z", func(c time.Time) bool {
			return !c.Before(at("2024-02-29T23:59:00Z")) && !c.After(at("2024-03-01T00:00:10Z"))
		}},
		{"created:2024-02-29..2024-02-29", func(c time.Time) bool { return !c.Before(day(0)) && c.Before(day(1)) }},
		{"created:*..2024-02-29T23:59:59Z", func(c time.Time) bool { return !c.After(at("2024-02-29T23:59:59Z")) }},
		{"created:2024-03-01T00:01:00Z..*", func(c time.Time) bool { return !c.Before(at("2024-03-01T00:01:00Z")) }},
		{"created:2024-03-02..2024-03-05", func(c time.Time) bool { return false }},
	} {
		for _, forks := range []bool{false, true} {
			q := universeQ + " " + tc.q
			if forks {
				q += " fork:true"
			}
			var want []int64
			for _, r := range universe {
				if tc.keep(r.GetCreatedAt().Time) && (forks || !r.GetFork()) {
					want = append(want, r.GetID())
				}
			}
			slices.Sort(want)
			got, total := searchAll(t, c, q, github.SearchOptions{})
			gotIDs := ids(got)
			slices.Sort(gotIDs)
			if total != len(want) || !slices.Equal(gotIDs, want) {
				t.Errorf("%q: total %d, %d items, want %d", q, total, len(gotIDs), len(want))
			}
		}
	}
}

func TestForksNeedAQualifier(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	rng := "created:2024-03-01T11:00:00Z..2024-03-01T11:01:39Z " // 200 repositories
	count := func(q string, opts github.SearchOptions) (n, forks int) {
		all, total := searchAll(t, c, q, opts)
		if total != len(all) {
			t.Fatalf("%q: total %d, %d items", q, total, len(all))
		}
		for _, r := range all {
			if r.GetFork() {
				forks++
			}
		}
		return len(all), forks
	}
	if n, forks := count(rng+"is:public", github.SearchOptions{}); n != 180 || forks != 0 {
		t.Errorf("without fork: %d repositories, %d forks", n, forks)
	}
	if n, forks := count(rng+"fork:true", github.SearchOptions{}); n != 200 || forks != 20 {
		t.Errorf("fork:true: %d repositories, %d forks", n, forks)
	}
	if n, forks := count(rng+"fork:only", github.SearchOptions{}); n != 20 || forks != 20 {
		t.Errorf("fork:only: %d repositories, %d forks", n, forks)
	}
	// The same holds when each repository must be looked at (sorting).
	stars := github.SearchOptions{Sort: "stars"}
	if n, forks := count(rng+"is:public", stars); n != 180 || forks != 0 {
		t.Errorf("sorted, without fork: %d repositories, %d forks", n, forks)
	}
	if n, forks := count(rng+"fork:true", stars); n != 200 || forks != 20 {
		t.Errorf("sorted, fork:true: %d repositories, %d forks", n, forks)
	}
	if n, forks := count(rng+"fork:only", stars); n != 20 || forks != 20 {
		t.Errorf("sorted, fork:only: %d repositories, %d forks", n, forks)
	}
}

func TestSortOrders(t *testing.T) {
	clk := newClock(march1)
	f := start(t, generous(Config{Now: clk.Now}))
	c := f.client(t)
	q := "created:2024-03-01T08:00:00Z..2024-03-01T08:00:49Z" // 90 non-forks, some pushed since
	best, _ := searchAll(t, c, q, github.SearchOptions{})
	set := ids(best)
	slices.Sort(set)
	for _, by := range []string{"stars", "forks", "updated"} {
		key := func(r *github.Repository) int64 {
			switch by {
			case "stars":
				return int64(r.GetStargazersCount())
			case "forks":
				return int64(r.GetForksCount())
			}
			return r.GetUpdatedAt().Unix()
		}
		for _, order := range []string{"desc", "asc", ""} {
			got, total := searchAll(t, c, q, github.SearchOptions{Sort: by, Order: order})
			if total != 90 {
				t.Fatalf("sort=%s order=%s: total %d", by, order, total)
			}
			distinct := map[int64]bool{}
			for i := 1; i < len(got); i++ {
				a, b := key(got[i-1]), key(got[i])
				distinct[a] = true
				if (order == "asc" && a > b) || (order != "asc" && a < b) {
					t.Fatalf("sort=%s order=%s: position %d has %d after %d", by, order, i, b, a)
				}
			}
			if len(distinct) < 3 {
				t.Errorf("sort=%s: only %d distinct values, the data lacks variety", by, len(distinct))
			}
			gotSet := ids(got)
			slices.Sort(gotSet)
			if !slices.Equal(gotSet, set) {
				t.Errorf("sort=%s order=%s returns a different set", by, order)
			}
		}
	}
}

func TestBestMatchIsStableAndNotCreationOrder(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	for _, q := range []string{
		"created:2024-03-01T08:00:00Z..2024-03-01T08:00:49Z",   // computed without looking at each repository
		"created:2024-03-01T08:00:00Z..2024-03-01T08:00:49Z a", // free text: looked at one by one
	} {
		first, _ := searchAll(t, c, q, github.SearchOptions{})
		again, _ := searchAll(t, c, q, github.SearchOptions{})
		if !slices.Equal(ids(first), ids(again)) {
			t.Errorf("%q: best match differs between two identical searches", q)
		}
		got := ids(first)
		if len(got) < 30 {
			t.Fatalf("%q: only %d results", q, len(got))
		}
		asc := slices.Clone(got)
		slices.Sort(asc)
		desc := slices.Clone(asc)
		slices.Reverse(desc)
		if slices.Equal(got, asc) || slices.Equal(got, desc) {
			t.Errorf("%q: best match is creation order", q)
		}
	}
}

func TestSearchCapsAtAThousandResults(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	ctx := context.Background()
	q := "created:2024-03-01T00:00:00Z..2024-03-01T11:59:59Z" // 86400 repositories, 77760 not forks
	opts := &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100}}
	res, resp, err := c.Search.Repositories(ctx, q, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotal() != 77760 || resp.LastPage != 10 {
		t.Fatalf("total %d last page %d, want 77760 and 10", res.GetTotal(), resp.LastPage)
	}
	opts.Page = 10
	res, resp, err = c.Search.Repositories(ctx, q, opts)
	if err != nil || len(res.Repositories) != 100 || resp.NextPage != 0 {
		t.Fatalf("page 10: err %v, %d items, next %d", err, len(res.Repositories), resp.NextPage)
	}
	opts.Page = 11
	_, resp, err = c.Search.Repositories(ctx, q, opts)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity ||
		er.Message != "Only the first 1000 search results are available" ||
		er.DocumentationURL != "https://docs.github.com/v3/search/" {
		t.Fatalf("page 11: %v", err)
	}

	opts = &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 30, Page: 34}}
	res, resp, err = c.Search.Repositories(ctx, q, opts)
	if err != nil || len(res.Repositories) != 10 || resp.LastPage != 0 || resp.NextPage != 0 || resp.PrevPage != 33 {
		t.Fatalf("per_page 30, page 34: err %v, %d items, links %+v", err, len(res.Repositories), resp)
	}
	opts.Page = 35
	if _, resp, err = c.Search.Repositories(ctx, q, opts); resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("per_page 30, page 35: %v", err)
	}
	// Sorted searches have the same cap.
	sorted := &github.SearchOptions{Sort: "updated", ListOptions: github.ListOptions{PerPage: 100, Page: 10}}
	res, resp, err = c.Search.Repositories(ctx, q, sorted)
	if err != nil || len(res.Repositories) != 100 || res.GetTotal() != 77760 || resp.NextPage != 0 {
		t.Fatalf("sorted page 10: err %v", err)
	}
	sorted.Page = 11
	if _, resp, err = c.Search.Repositories(ctx, q, sorted); resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("sorted page 11: %v", err)
	}
}

func TestLargeSearchesStayCheap(t *testing.T) {
	// Six years of repositories at 2 per second; best match never looks at each one, and a
	// search that must is cut to the newest SearchScanLimit and says so.
	f := start(t, generous(Config{Now: newClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)).Now, SearchScanLimit: 5000}))
	c := f.client(t)
	ctx := context.Background()
	res, _, err := c.Search.Repositories(ctx, "is:public", &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100, Page: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotal() < 300_000_000 || res.GetIncompleteResults() || len(res.Repositories) != 100 {
		t.Fatalf("total %d incomplete %v items %d", res.GetTotal(), res.GetIncompleteResults(), len(res.Repositories))
	}
	exact := res.GetTotal()
	res, _, err = c.Search.Repositories(ctx, "is:public", &github.SearchOptions{Sort: "stars"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.GetIncompleteResults() || res.GetTotal() != exact {
		t.Errorf("sorted over everything: incomplete %v total %d, want true %d", res.GetIncompleteResults(), res.GetTotal(), exact)
	}
}

func TestFreeTextMatchesNameOrDescription(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	rng := "created:2024-03-01T10:00:00Z..2024-03-01T10:02:29Z " // 270 non-forks
	all, _ := searchAll(t, c, rng, github.SearchOptions{})
	word := ""
	for _, r := range all {
		if name := r.GetName(); strings.Contains(name, "-") {
			word, _, _ = strings.Cut(name, "-")
			break
		}
	}
	if word == "" {
		t.Fatal("no hyphenated name")
	}
	var want []int64
	for _, r := range all {
		if strings.Contains(strings.ToLower(r.GetName()), word) || strings.Contains(strings.ToLower(r.GetDescription()), word) {
			want = append(want, r.GetID())
		}
	}
	slices.Sort(want)
	got, total := searchAll(t, c, rng+strings.ToUpper(word), github.SearchOptions{})
	gotIDs := ids(got)
	slices.Sort(gotIDs)
	if total != len(want) || !slices.Equal(gotIDs, want) {
		t.Errorf("%q: %d results, want %d", word, total, len(want))
	}
}

func TestSearchValidation(t *testing.T) {
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	c := f.client(t)
	ctx := context.Background()
	for _, tc := range []struct{ q, message string }{
		{"", "Validation Failed"},
		{"created:>=yesterday", "Validation Failed"},
		{"created:2024-13-01", "Validation Failed"},
	} {
		_, resp, err := c.Search.Repositories(ctx, tc.q, nil)
		var er *github.ErrorResponse
		if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity || er.Message != tc.message || len(er.Errors) != 1 {
			t.Errorf("%q: %v", tc.q, err)
		}
	}
	res, _, err := c.Search.Repositories(ctx, "is:private", nil)
	if err != nil || res.GetTotal() != 0 || len(res.Repositories) != 0 {
		t.Errorf("is:private: %v %v", res, err)
	}
	res, _, err = c.Search.Repositories(ctx, "created:>2030-01-01", nil)
	if err != nil || res.GetTotal() != 0 {
		t.Errorf("future: %v %v", res, err)
	}
	open, _, err := c.Search.Repositories(ctx, "created:>=2024-03-01T11:00:00Z", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err = c.Search.Repositories(ctx, "created:2024-03-01T11:00:00Z..9999-12-31", nil)
	if err != nil || res.GetTotal() != open.GetTotal() || res.GetTotal() < 6480 {
		t.Errorf("until the year 9999: %v (%v), open-ended: %v", res.GetTotal(), err, open.GetTotal())
	}
}
