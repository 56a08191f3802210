package fakegithub

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

type recordedItem struct {
	raw       json.RawMessage
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	FullName  string    `json:"full_name"`
	CreatedAt time.Time `json:"created_at"`
	Stars     int       `json:"stargazers_count"`
	Owner     struct {
		Login string `json:"login"`
	} `json:"owner"`
}

// recorded reads the fixture the way a test should: independently of the fake.
func recorded(t *testing.T) (string, []recordedItem) {
	t.Helper()
	dir := needFixtures(t)
	body, err := os.ReadFile(filepath.Join(dir, "search-repositories.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Items []json.RawMessage }
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	items := make([]recordedItem, len(doc.Items))
	for i, raw := range doc.Items {
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			t.Fatal(err)
		}
		items[i].raw = raw
	}
	return dir, items
}

func startReplay(t *testing.T, dir string) *fake {
	return start(t, generous(Config{ReplayDir: dir, Now: newClock(time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC)).Now}))
}

func TestReplayServesTheRecordedLanguages(t *testing.T) {
	dir, items := recorded(t)
	f := startReplay(t, dir)
	c := f.client(t)
	if len(items) != 100 {
		t.Fatalf("%d recorded items", len(items))
	}
	for _, it := range items {
		want, err := os.ReadFile(filepath.Join(dir, "languages", it.Owner.Login, it.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		resp, got := f.get(t, "/repos/"+it.FullName+"/languages")
		if resp.StatusCode != 200 || !jsonEqual(t, got, want) {
			t.Errorf("%s: %d %s, recorded %s", it.FullName, resp.StatusCode, got, want)
		}
		langs, _, err := c.Repositories.ListLanguages(context.Background(), it.Owner.Login, it.Name)
		var wantMap map[string]int
		_ = json.Unmarshal(want, &wantMap)
		if err != nil || !maps.Equal(langs, wantMap) {
			t.Errorf("%s via go-github: %v %v", it.FullName, langs, err)
		}
		if inm, body := f.get(t, "/repos/"+it.FullName+"/languages", "If-None-Match", resp.Header.Get("ETag")); inm.StatusCode != 304 || len(body) != 0 {
			t.Errorf("%s: conditional request got %d", it.FullName, inm.StatusCode)
		}
	}
	if st := f.Stats(); st.Languages != 300 || st.NotModified != 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestReplayCreatedFilter(t *testing.T) {
	dir, items := recorded(t)
	f := startReplay(t, dir)
	c := f.client(t)
	for _, tc := range []struct {
		q    string
		keep func(time.Time) bool
	}{
		{"created:2015-01-01..2020-12-31", func(c time.Time) bool {
			return !c.Before(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)) && c.Before(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
		}},
		{"created:>=2022-04-22T21:28:32Z", func(c time.Time) bool { return !c.Before(time.Date(2022, 4, 22, 21, 28, 32, 0, time.UTC)) }},
		{"created:>2022-04-22T21:28:32Z", func(c time.Time) bool { return c.After(time.Date(2022, 4, 22, 21, 28, 32, 0, time.UTC)) }},
	} {
		var want []recordedItem
		for _, it := range items {
			if tc.keep(it.CreatedAt) {
				want = append(want, it)
			}
		}
		if len(want) == 0 || len(want) == len(items) {
			t.Fatalf("%q keeps %d of %d recorded items: not a useful case", tc.q, len(want), len(items))
		}
		got, total := searchAll(t, c, tc.q, github.SearchOptions{ListOptions: github.ListOptions{PerPage: 7}})
		// Best match over replayed items is the order GitHub recorded.
		if total != len(want) || len(got) != len(want) {
			t.Fatalf("%q: total %d, %d items, want %d", tc.q, total, len(got), len(want))
		}
		for i := range want {
			if got[i].GetID() != want[i].ID {
				t.Fatalf("%q: position %d is %s, recorded order has %s", tc.q, i, got[i].GetFullName(), want[i].FullName)
			}
		}
		// Items are the recorded objects, field for field.
		_, body := f.get(t, "/search/repositories?per_page=100&q="+url.QueryEscape(tc.q))
		var page struct{ Items []json.RawMessage }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for i, raw := range page.Items {
			if !jsonEqual(t, raw, want[i].raw) {
				t.Errorf("%q: item %d is not the recorded one", tc.q, i)
			}
		}
	}
}

func TestReplayOrderAndSorting(t *testing.T) {
	dir, items := recorded(t)
	f := startReplay(t, dir)
	c := f.client(t)
	all, total := searchAll(t, c, "is:public", github.SearchOptions{ListOptions: github.ListOptions{PerPage: 30}})
	if total != 100 || len(all) != 100 {
		t.Fatalf("total %d, %d items", total, len(all))
	}
	for i, it := range items {
		if all[i].GetID() != it.ID {
			t.Fatalf("position %d: %s, recorded %s", i, all[i].GetFullName(), it.FullName)
		}
	}
	stars, _ := searchAll(t, c, "is:public", github.SearchOptions{Sort: "stars", Order: "desc"})
	for i := 1; i < len(stars); i++ {
		if stars[i].GetStargazersCount() > stars[i-1].GetStargazersCount() {
			t.Fatalf("stars not descending at %d", i)
		}
	}
	if stars[0].GetStargazersCount() != slices.MaxFunc(items, func(a, b recordedItem) int { return a.Stars - b.Stars }).Stars {
		t.Error("the most starred recorded repository is not first")
	}
	updated, _ := searchAll(t, c, "is:public", github.SearchOptions{Sort: "updated", Order: "asc"})
	for i := 1; i < len(updated); i++ {
		if updated[i].GetUpdatedAt().Before(updated[i-1].GetUpdatedAt().Time) {
			t.Fatalf("updated not ascending at %d", i)
		}
	}
	// Before the recordings were made, fewer of them existed.
	early := start(t, generous(Config{ReplayDir: dir, Now: newClock(time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)).Now}))
	some, total := searchAll(t, early.client(t), "is:public", github.SearchOptions{})
	if total == 0 || total >= 100 || len(some) != total {
		t.Errorf("in 2016: %d", total)
	}
}

func TestReplayGetAndListAll(t *testing.T) {
	dir, items := recorded(t)
	f := startReplay(t, dir)
	c := f.client(t)
	ctx := context.Background()
	for _, it := range items {
		repo, _, err := c.Repositories.Get(ctx, it.Owner.Login, it.Name)
		if err != nil {
			t.Fatal(err)
		}
		if repo.GetID() != it.ID || repo.GetStargazersCount() != it.Stars || !repo.GetCreatedAt().Time.Equal(it.CreatedAt) || repo.NetworkCount == nil {
			t.Errorf("%s: %v", it.FullName, repo)
		}
		// The object is the recorded one without score, plus what only this endpoint has.
		_, body := f.get(t, "/repos/"+it.FullName)
		var got, want map[string]json.RawMessage
		_ = json.Unmarshal(body, &got)
		_ = json.Unmarshal(it.raw, &want)
		delete(want, "score")
		for _, k := range []string{"network_count", "subscribers_count", "organization"} {
			delete(got, k)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if !jsonEqual(t, a, b) {
			t.Errorf("%s: not the recorded object", it.FullName)
		}
	}

	byID := slices.Clone(items)
	slices.SortFunc(byID, func(a, b recordedItem) int { return int(a.ID - b.ID) })
	repos, resp, err := c.Repositories.ListAll(ctx, nil)
	if err != nil || len(repos) != 100 || int64(resp.NextPage) != byID[99].ID {
		t.Fatalf("list all: %v, %d repositories, next %d", err, len(repos), resp.NextPage)
	}
	for i := range repos {
		if repos[i].GetID() != byID[i].ID || repos[i].CreatedAt != nil || repos[i].License != nil {
			t.Fatalf("position %d: %v", i, repos[i])
		}
	}
	repos, resp, err = c.Repositories.ListAll(ctx, &github.RepositoryListAllOptions{Since: byID[49].ID})
	if err != nil || len(repos) != 50 || repos[0].GetID() != byID[50].ID {
		t.Fatalf("since the 50th: %v, %d", err, len(repos))
	}
	repos, resp, err = c.Repositories.ListAll(ctx, &github.RepositoryListAllOptions{Since: int64(resp.NextPage)})
	if err != nil || len(repos) != 0 || resp.NextPage != 0 {
		t.Fatalf("past the end: %v, %d, next %d", err, len(repos), resp.NextPage)
	}
	_, body := f.get(t, "/repositories?since="+strconv.FormatInt(byID[98].ID, 10))
	var one []map[string]json.RawMessage
	if err := json.Unmarshal(body, &one); err != nil || len(one) != 1 {
		t.Fatalf("%s", body)
	}
	if _, ok := one[0]["stargazers_count"]; ok {
		t.Error("listing has stargazers_count")
	}
}

func TestReplayRejectsABadDirectory(t *testing.T) {
	if _, err := New(Config{ReplayDir: t.TempDir()}); err == nil {
		t.Error("an empty directory was accepted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "search-repositories.json"), []byte(`{"items":[{"id":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{ReplayDir: dir}); err == nil {
		t.Error("an item without full_name was accepted")
	}
	// A recording without a languages file answers {} for it.
	item := `{"id":7,"name":"r","full_name":"o/r","owner":{"login":"o","type":"User"},"created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-01T00:00:00Z","fork":false,"stargazers_count":0,"watchers_count":0,"forks_count":0}`
	if err := os.WriteFile(filepath.Join(dir, "search-repositories.json"), []byte(`{"items":[`+item+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := start(t, Config{ReplayDir: dir})
	if resp, body := f.get(t, "/repos/O/R/languages"); resp.StatusCode != 200 || string(body) != "{}" {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}
