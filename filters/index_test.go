package filters

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	mit    = &snapshots.License{Key: "mit", SPDXID: "MIT", Name: "MIT License"}
	gpl3   = &snapshots.License{Key: "gpl-3.0", SPDXID: "GPL-3.0", Name: "GNU General Public License v3.0"}
	lgpl3  = &snapshots.License{Key: "lgpl-3.0", SPDXID: "LGPL-3.0", Name: "GNU Lesser General Public License v3.0"}
	apache = &snapshots.License{Key: "apache-2.0", SPDXID: "Apache-2.0", Name: "Apache License 2.0"}
	other  = &snapshots.License{Key: "other", SPDXID: "NOASSERTION", Name: "Other"}
)

// smallRepos is a snapshot small enough to work out by hand, newest first.
// Repositories 2 and 3 were created at the same second, and 0, 3 and 5
// have the same number of stars, so ids break ties.
func smallRepos() []snapshots.Repository {
	langs := snapshots.LanguagesFromGitHub
	return []snapshots.Repository{{
		ID: 10, FullName: "Alice/Alpha-Tool", Owner: "Alice", Description: ptr("A Fast CLI"),
		CreatedAt: day("2024-03-03T00:00:00Z"), PushedAt: day("2024-03-05T00:00:00Z"),
		Language: ptr("Go"), Languages: langs(map[string]int{"Go": 100, "Shell": 10}), License: mit,
		Topics: []string{"cli", "Go"}, StargazersCount: 5, ForksCount: 1, Size: 100,
		AllowForking: true, HasIssues: true,
	}, {
		ID: 11, FullName: "bob/beta", Owner: "bob",
		CreatedAt: day("2024-03-02T12:00:00Z"), PushedAt: day("2024-03-02T12:00:00Z"),
		Language: ptr("Python"), Languages: langs(map[string]int{"Python": 300}), License: gpl3,
		Topics: []string{"ml"}, StargazersCount: 50, ForksCount: 5, Size: 2000, OpenIssuesCount: 3,
		Fork: true, AllowForking: true,
	}, {
		ID: 12, FullName: "carol/gamma", Owner: "carol", Description: ptr("Machine learning notes"),
		CreatedAt: day("2024-03-02T00:00:00Z"), PushedAt: day("2024-03-04T00:00:00Z"),
		Languages: nil, LanguagesStatus: snapshots.LanguagesPending, License: lgpl3,
		Topics: []string{}, Size: 7, Archived: true,
	}, {
		ID: 9, FullName: "alice/delta", Owner: "alice", Description: ptr("go tools"),
		CreatedAt: day("2024-03-02T00:00:00Z"), PushedAt: day("2024-03-02T00:00:00Z"),
		Language: ptr("Go"), Languages: map[string]snapshots.Language{},
		Topics: []string{"cli"}, StargazersCount: 5, ForksCount: 2, Size: 30, IsTemplate: true,
	}, {
		ID: 13, FullName: "dave/epsilon", Owner: "dave", Description: ptr(""),
		CreatedAt: day("2024-03-01T00:00:00Z"), PushedAt: day("2024-03-06T00:00:00Z"),
		Language: ptr("Jupyter Notebook"), Languages: langs(map[string]int{"Jupyter Notebook": 50, "Python": 50}),
		License: apache, StargazersCount: 1000, ForksCount: 100, Size: 500, OpenIssuesCount: 7,
		HasPages: true, HasDiscussions: true, Topics: []string{"ml", "notebook"},
	}, {
		ID: 14, FullName: "Eve/zeta-go", Owner: "Eve", Description: ptr("Zeta"),
		CreatedAt: day("2024-02-29T23:59:59Z"), PushedAt: day("2024-03-01T00:00:00Z"),
		Language: ptr("Python"), Languages: langs(map[string]int{"Python": 10, "Go": 30}), License: other,
		Topics: []string{"python", "golang", "python"}, StargazersCount: 5, Size: 40,
		HasWiki: true, HasProjects: true, HasDownloads: true,
	}}
}

func TestSelect(t *testing.T) {
	ix := NewIndex(smallRepos())
	for _, tc := range []struct {
		raw   string
		want  []int32
		total int // when not len(want)
	}{
		{"", []int32{0, 1, 2, 3, 4, 5}, 0},
		// language: null and empty maps match nothing.
		{"language=go", []int32{0, 5}, 0},
		{"language=GO,python", []int32{0, 1, 4, 5}, 0},
		{"language=jupyter+notebook", []int32{4}, 0},
		{"language=cobol", nil, 0},
		{"language=cobol,shell", []int32{0}, 0},
		{"primary_language=go", []int32{0, 3}, 0},
		{"primary_language=Jupyter+Notebook", []int32{4}, 0},
		{"language=go&primary_language=python", []int32{5}, 0},
		// license: key, SPDX id, family, none.
		{"license=gpl", []int32{1}, 0},
		{"license=lgpl", []int32{2}, 0},
		{"license=GPL-3.0", []int32{1}, 0},
		{"license=gp", nil, 0},
		{"license=apache", []int32{4}, 0},
		{"license=Apache-2.0", []int32{4}, 0},
		{"license=none", []int32{3}, 0},
		{"license=NONE,mit", []int32{0, 3}, 0},
		{"license=noassertion", []int32{5}, 0},
		{"license=other", []int32{5}, 0},
		// owner: whole logins, any case.
		{"owner=alice", []int32{0, 3}, 0},
		{"owner=ALICE,eve", []int32{0, 3, 5}, 0},
		{"owner=ali", nil, 0},
		// name and q: substrings.
		{"name=ALPHA", []int32{0}, 0},
		{"name=alice/", []int32{0, 3}, 0},
		{"name=go", []int32{5}, 0},
		{"q=go", []int32{0, 3, 5}, 0},
		{"q=learning", []int32{2}, 0},
		{"q=cli", []int32{0, 3}, 0},
		{"q=notes+machine", nil, 0},
		{"q=gamma+machine", nil, 0}, // not across full_name and description
		{"q=ml", []int32{1, 4}, 0},
		// topic: whole topics, any case, any of them.
		{"topic=cli", []int32{0, 3}, 0},
		{"topic=GO", []int32{0}, 0},
		{"topic=golang,ml", []int32{1, 4, 5}, 0},
		{"topic=python", []int32{5}, 0},
		// Booleans.
		{"has_open_issues=true", []int32{1, 4}, 0},
		{"has_open_issues=false", []int32{0, 2, 3, 5}, 0},
		{"allow_forking=1", []int32{0, 1}, 0},
		{"allow_forking=0", []int32{2, 3, 4, 5}, 0},
		{"fork=true", []int32{1}, 0},
		{"fork=false", []int32{0, 2, 3, 4, 5}, 0},
		{"archived=true", []int32{2}, 0},
		{"is_template=true", []int32{3}, 0},
		{"has_issues=true", []int32{0}, 0},
		{"has_projects=true", []int32{5}, 0},
		{"has_downloads=true", []int32{5}, 0},
		{"has_wiki=true", []int32{5}, 0},
		{"has_pages=true", []int32{4}, 0},
		{"has_discussions=true", []int32{4}, 0},
		{"has_discussions=false&has_pages=false&fork=false&archived=false", []int32{0, 3, 5}, 0},
		// Inclusive bounds.
		{"min_stars=5", []int32{0, 1, 3, 4, 5}, 0},
		{"max_stars=5", []int32{0, 2, 3, 5}, 0},
		{"min_stars=5&max_stars=5", []int32{0, 3, 5}, 0},
		{"min_stars=1001", nil, 0},
		{"min_forks=2", []int32{1, 3, 4}, 0},
		{"max_forks=1", []int32{0, 2, 5}, 0},
		{"min_size=100&max_size=500", []int32{0, 4}, 0},
		{"min_open_issues=3", []int32{1, 4}, 0},
		{"min_open_issues=4", []int32{4}, 0},
		// Times: after inclusive, before exclusive, dates at midnight UTC.
		{"created_after=2024-03-02", []int32{0, 1, 2, 3}, 0},
		{"created_before=2024-03-02", []int32{4, 5}, 0},
		{"created_after=2024-03-01&created_before=2024-03-02", []int32{4}, 0},
		{"created_after=2024-03-02T12:00:00Z", []int32{0, 1}, 0},
		{"created_after=2024-03-02T11:59:59.999999999Z", []int32{0, 1}, 0},
		{"created_after=2024-03-02T12:00:00.000000001Z", []int32{0}, 0},
		{"created_before=2024-03-02T12:00:00Z", []int32{2, 3, 4, 5}, 0},
		{"created_after=2024-03-02T13:00:00%2B01:00", []int32{0, 1}, 0},
		{"created_after=2024-03-02&created_before=2024-03-02", nil, 0},
		{"pushed_after=2024-03-04", []int32{0, 2, 4}, 0},
		// Sorting: ties broken by id, order reverses both.
		{"sort=stars", []int32{4, 1, 5, 0, 3, 2}, 0},
		{"sort=stars&order=asc", []int32{2, 3, 0, 5, 1, 4}, 0},
		{"sort=created&order=asc", []int32{5, 4, 3, 2, 1, 0}, 0},
		{"sort=name", []int32{0, 3, 1, 2, 4, 5}, 0},
		{"sort=name&order=desc", []int32{5, 4, 2, 1, 3, 0}, 0},
		{"sort=pushed", []int32{4, 0, 2, 1, 3, 5}, 0},
		{"sort=forks", []int32{4, 1, 3, 0, 5, 2}, 0},
		{"sort=size&order=asc", []int32{2, 3, 5, 0, 4, 1}, 0},
		{"sort=stars&min_stars=5&max_stars=5", []int32{5, 0, 3}, 0},
		// Paging.
		{"limit=2", []int32{0, 1}, 6},
		{"offset=4", []int32{4, 5}, 6},
		{"offset=10", nil, 6},
		{"limit=0", nil, 6},
		{"limit=2&offset=5", []int32{5}, 6},
		{"sort=stars&limit=3&offset=1", []int32{1, 5, 0}, 6},
		{"sort=stars&order=asc&limit=2&offset=1&min_stars=1", []int32{0, 5}, 5},
		{"language=python&limit=0", nil, 3},
	} {
		q := mustParse(t, tc.raw)
		got, total := ix.Select(q, nil)
		wantTotal := tc.total
		if wantTotal == 0 {
			wantTotal = len(tc.want)
		}
		if !slices.Equal(got, tc.want) || total != wantTotal {
			t.Errorf("%s: Select = %v, %d; want %v, %d", tc.raw, got, total, tc.want, wantTotal)
		}
	}
}

func TestSelectNilAndEmpty(t *testing.T) {
	ix := NewIndex(smallRepos())
	if got, total := ix.Select(nil, nil); !slices.Equal(got, []int32{0, 1, 2, 3, 4, 5}) || total != 6 {
		t.Errorf("Select(nil) = %v, %d", got, total)
	}
	empty := NewIndex(nil)
	for _, raw := range []string{"", "language=go", "fork=false", "sort=name&limit=3", "min_stars=1"} {
		if got, total := empty.Select(mustParse(t, raw), nil); len(got) != 0 || total != 0 {
			t.Errorf("empty index, %s: %v, %d", raw, got, total)
		}
		if b, _ := json.Marshal(empty.Stats(mustParse(t, raw))); string(b) != `{"repositories":0,"total_bytes":0,"languages":{},"licenses":{},"topics":[]}` &&
			raw != "language=go" {
			t.Errorf("empty index stats, %s: %s", raw, b)
		}
	}
}

func TestSelectReusesBuffer(t *testing.T) {
	ix := NewIndex(synthRepos(1000, 3))
	buf := make([]int32, 0, 1000)
	for _, raw := range []string{"", "limit=10", "language=python&sort=stars", "owner=user1", "min_stars=3&sort=name"} {
		q := mustParse(t, raw)
		got, _ := ix.Select(q, buf)
		if len(got) > 0 && &got[0] != &buf[:1][0] {
			t.Errorf("%s: Select did not use the buffer", raw)
		}
		if raceEnabled {
			continue // the race detector makes sync.Pool drop items
		}
		if allocs := testing.AllocsPerRun(20, func() { ix.Select(q, buf) }); allocs > 0 {
			t.Errorf("%s: Select allocates %.1f times with a buffer", raw, allocs)
		}
	}
}

func TestStats(t *testing.T) {
	ix := NewIndex(smallRepos())
	for _, tc := range []struct{ raw, want string }{
		{"", `{"repositories":6,"total_bytes":550,` +
			`"languages":{"go":{"name":"Go","repositories":2,"bytes":130,"share":0.23636363636363636,"primary":2,"avg_forks":1.5,"avg_open_issues":0,"avg_size":65},` +
			`"jupyter notebook":{"name":"Jupyter Notebook","repositories":1,"bytes":50,"share":0.09090909090909091,"primary":1,"avg_forks":100,"avg_open_issues":7,"avg_size":500},` +
			`"python":{"name":"Python","repositories":3,"bytes":360,"share":0.6545454545454545,"primary":2,"avg_forks":2.5,"avg_open_issues":1.5,"avg_size":1020},` +
			`"shell":{"name":"Shell","repositories":1,"bytes":10,"share":0.01818181818181818,"primary":0,"avg_forks":0,"avg_open_issues":0,"avg_size":0}},` +
			`"licenses":{"apache-2.0":{"name":"Apache License 2.0","repositories":1},"gpl-3.0":{"name":"GNU General Public License v3.0","repositories":1},` +
			`"lgpl-3.0":{"name":"GNU Lesser General Public License v3.0","repositories":1},"mit":{"name":"MIT License","repositories":1},` +
			`"none":{"name":"No license","repositories":1},"other":{"name":"Other","repositories":1}},` +
			`"topics":[{"topic":"cli","repositories":2},{"topic":"ml","repositories":2},{"topic":"go","repositories":1},{"topic":"golang","repositories":1},` +
			`{"topic":"notebook","repositories":1},{"topic":"python","repositories":1}]}`},
		// One language selected; an even count takes the mean of the middle two.
		{"language=go", `{"repositories":2,"total_bytes":150,` +
			`"languages":{"go":{"name":"Go","repositories":2,"bytes":130,"share":0.8666666666666667,"primary":1,"avg_forks":1,"avg_open_issues":0,"avg_size":100},` +
			`"python":{"name":"Python","repositories":1,"bytes":10,"share":0.06666666666666667,"primary":1,"avg_forks":0,"avg_open_issues":0,"avg_size":40},` +
			`"shell":{"name":"Shell","repositories":1,"bytes":10,"share":0.06666666666666667,"primary":0,"avg_forks":0,"avg_open_issues":0,"avg_size":0}},` +
			`"licenses":{"mit":{"name":"MIT License","repositories":1},"other":{"name":"Other","repositories":1}},` +
			`"topics":[{"topic":"cli","repositories":1},{"topic":"go","repositories":1},{"topic":"golang","repositories":1},{"topic":"python","repositories":1}],` +
			`"selected":{"name":"Go","repositories":2,"bytes":130,"share_of_bytes":0.8666666666666667,"average_bytes":65,"median_bytes":65,"max_bytes":100,"primary":1,` +
			`"co_languages":{"python":1,"shell":1}}}`},
		{"language=python,python&sort=stars&limit=1", `{"repositories":3,"total_bytes":440,` +
			`"languages":{"go":{"name":"Go","repositories":1,"bytes":30,"share":0.06818181818181818,"primary":0,"avg_forks":0,"avg_open_issues":0,"avg_size":0},` +
			`"jupyter notebook":{"name":"Jupyter Notebook","repositories":1,"bytes":50,"share":0.11363636363636363,"primary":1,"avg_forks":100,"avg_open_issues":7,"avg_size":500},` +
			`"python":{"name":"Python","repositories":3,"bytes":360,"share":0.8181818181818182,"primary":2,"avg_forks":2.5,"avg_open_issues":1.5,"avg_size":1020}},` +
			`"licenses":{"apache-2.0":{"name":"Apache License 2.0","repositories":1},"gpl-3.0":{"name":"GNU General Public License v3.0","repositories":1},"other":{"name":"Other","repositories":1}},` +
			`"topics":[{"topic":"ml","repositories":2},{"topic":"golang","repositories":1},{"topic":"notebook","repositories":1},{"topic":"python","repositories":1}],` +
			`"selected":{"name":"Python","repositories":3,"bytes":360,"share_of_bytes":0.8181818181818182,"average_bytes":120,"median_bytes":50,"max_bytes":300,"primary":2,` +
			`"co_languages":{"go":1,"jupyter notebook":1}}}`},
		// Two languages select none; no bytes make every share 0.
		{"language=go,python&owner=nobody", `{"repositories":0,"total_bytes":0,"languages":{},"licenses":{},"topics":[]}`},
		{"owner=alice&name=delta", `{"repositories":1,"total_bytes":0,` +
			`"languages":{"go":{"name":"Go","repositories":0,"bytes":0,"share":0,"primary":1,"avg_forks":2,"avg_open_issues":0,"avg_size":30}},` +
			`"licenses":{"none":{"name":"No license","repositories":1}},"topics":[{"topic":"cli","repositories":1}]}`},
		// A language nobody has is still selected, by its key.
		{"language=Cobol", `{"repositories":0,"total_bytes":0,"languages":{},"licenses":{},"topics":[],` +
			`"selected":{"name":"cobol","repositories":0,"bytes":0,"share_of_bytes":0,"average_bytes":0,"median_bytes":0,"max_bytes":0,"primary":0,"co_languages":{}}}`},
	} {
		b, err := json.Marshal(ix.Stats(mustParse(t, tc.raw)))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s: Stats\n got %s\nwant %s", tc.raw, b, tc.want)
		}
	}
}

func TestStatsTopTopics(t *testing.T) {
	// Topic tN is on N repositories, for N from 1 to 30, so the top 20 are
	// t30 down to t11; tied topics come in name order.
	var repos []snapshots.Repository
	for i := range 30 {
		r := snapshots.Repository{ID: int64(i), FullName: fmt.Sprintf("o/r%d", i), Owner: "o"}
		for n := i + 1; n <= 30; n++ {
			r.Topics = append(r.Topics, fmt.Sprintf("t%d", n))
		}
		r.Topics = append(r.Topics, "b-tie", "a-tie")
		repos = append(repos, r)
	}
	st := NewIndex(repos).Stats(nil)
	var got []string
	for _, tc := range st.Topics {
		got = append(got, fmt.Sprintf("%s:%d", tc.Topic, tc.Repositories))
	}
	want := []string{"a-tie:30", "b-tie:30", "t30:30", "t29:29", "t28:28", "t27:27", "t26:26", "t25:25", "t24:24", "t23:23",
		"t22:22", "t21:21", "t20:20", "t19:19", "t18:18", "t17:17", "t16:16", "t15:15", "t14:14", "t13:13"}
	if !slices.Equal(got, want) {
		t.Errorf("topics\n got %v\nwant %v", got, want)
	}
}

// TestConcurrent lets the race detector watch the pools.
func TestConcurrent(t *testing.T) {
	repos := synthRepos(2000, 5)
	ix := NewIndex(repos)
	queries := []string{"", "language=python", "language=go&sort=stars&limit=5", "fork=false&topic=topic-2", "q=web", "min_stars=2"}
	want := make([]string, len(queries))
	for i, raw := range queries {
		b, _ := json.Marshal(ix.Stats(mustParse(t, raw)))
		want[i] = string(b)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var buf []int32
			for k := range 30 {
				i := (g + k) % len(queries)
				q := mustParse(t, queries[i])
				buf, _ = ix.Select(q, buf)
				if b, _ := json.Marshal(ix.Stats(q)); string(b) != want[i] {
					t.Errorf("%s: stats differ under concurrency", queries[i])
				}
			}
		})
	}
	wg.Wait()
}
