package filters

import (
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
)

// pairs yields key, value, key, value... as Parse's arguments.
func pairs(kv ...string) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if !yield([]byte(kv[i]), []byte(kv[i+1])) {
				return
			}
		}
	}
}

// rawArgs splits and decodes a query string the way fasthttp does: empty
// segments are skipped, a key without '=' has an empty value, and an
// undecodable value is kept as sent.
func rawArgs(raw string) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for seg := range strings.SplitSeq(raw, "&") {
			if seg == "" {
				continue
			}
			k, v, _ := strings.Cut(seg, "=")
			if !yield([]byte(unescape(k)), []byte(unescape(v))) {
				return
			}
		}
	}
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func mustParse(t testing.TB, raw string) *Query {
	t.Helper()
	q, p := Parse(rawArgs(raw))
	if p != nil {
		t.Fatalf("Parse(%q): %s", raw, p.JSON())
	}
	return q
}

func ptr[T any](v T) *T { return &v }

// ---- Synthetic snapshots ----

var (
	synthLanguages = []string{"Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C", "C++", "C#",
		"Shell", "HTML", "CSS", "PHP", "Ruby", "Kotlin", "Swift", "Dart", "Jupyter Notebook", "Lua",
		"Haskell", "Scala", "R", "Makefile", "Dockerfile", "Vue", "Svelte", "Zig", "Nix", "OCaml", "Elixir"}
	synthLicenses = []snapshots.License{
		{Key: "mit", SPDXID: "MIT", Name: "MIT License"},
		{Key: "apache-2.0", SPDXID: "Apache-2.0", Name: "Apache License 2.0"},
		{Key: "gpl-3.0", SPDXID: "GPL-3.0", Name: "GNU General Public License v3.0"},
		{Key: "gpl-2.0", SPDXID: "GPL-2.0", Name: "GNU General Public License v2.0"},
		{Key: "lgpl-3.0", SPDXID: "LGPL-3.0", Name: "GNU Lesser General Public License v3.0"},
		{Key: "agpl-3.0", SPDXID: "AGPL-3.0", Name: "GNU Affero General Public License v3.0"},
		{Key: "bsd-3-clause", SPDXID: "BSD-3-Clause", Name: "BSD 3-Clause \"New\" or \"Revised\" License"},
		{Key: "bsd-2-clause", SPDXID: "BSD-2-Clause", Name: "BSD 2-Clause \"Simplified\" License"},
		{Key: "mpl-2.0", SPDXID: "MPL-2.0", Name: "Mozilla Public License 2.0"},
		{Key: "unlicense", SPDXID: "Unlicense", Name: "The Unlicense"},
		{Key: "cc0-1.0", SPDXID: "CC0-1.0", Name: "Creative Commons Zero v1.0 Universal"},
		{Key: "other", SPDXID: "NOASSERTION", Name: "Other"},
	}
	synthWords = []string{"api", "bot", "cli", "data", "demo", "engine", "fast", "game", "graph", "kit",
		"lab", "lite", "ml", "neural", "note", "parser", "plugin", "portfolio", "server", "site",
		"tool", "tracker", "ui", "web", "würfel", "Δelta", "app", "core", "hub", "sdk"}
)

// synthRepos makes n repositories, newest first, deterministically from
// seed, with what the filters care about: ties in every sort key, null and
// empty language maps, missing licenses, repeated topics, mixed case.
func synthRepos(n int, seed uint64) []snapshots.Repository {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	langZipf := rand.NewZipf(r, 1.3, 1, uint64(len(synthLanguages)-1))
	topicZipf := rand.NewZipf(r, 1.1, 2, uint64(max(50, n/20)))
	owners := max(1, n/3)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	word := func() string { return synthWords[r.IntN(len(synthWords))] }
	repos := make([]snapshots.Repository, n)
	created := base
	for i := range repos {
		if r.IntN(4) != 0 { // a quarter share the previous time
			created = created.Add(-time.Duration(1+r.IntN(120)) * time.Second)
		}
		owner := fmt.Sprintf("user%d", r.IntN(owners))
		if r.IntN(3) == 0 {
			owner = strings.ToUpper(owner[:1]) + owner[1:]
		}
		name := word() + "-" + word() + fmt.Sprint(i%97)
		rp := snapshots.Repository{
			ID:              int64(700_000_000 + r.IntN(4*n+1)), // ids may tie across repos
			FullName:        owner + "/" + name,
			Owner:           owner,
			Repository:      name,
			HTMLURL:         "https://github.com/" + owner + "/" + name,
			CreatedAt:       created,
			UpdatedAt:       created.Add(time.Duration(r.IntN(3600)) * time.Second),
			PushedAt:        created.Add(time.Duration(r.IntN(20)) * time.Minute),
			LanguagesStatus: snapshots.LanguagesOK,
			Topics:          []string{},
			Fork:            r.IntN(10) == 0,
			Archived:        r.IntN(30) == 0,
			IsTemplate:      r.IntN(40) == 0,
			AllowForking:    r.IntN(20) != 0,
			Visibility:      "public",
			HasIssues:       r.IntN(8) != 0,
			HasProjects:     r.IntN(3) != 0,
			HasDownloads:    r.IntN(15) != 0,
			HasWiki:         r.IntN(4) != 0,
			HasPages:        r.IntN(9) == 0,
			HasDiscussions:  r.IntN(12) == 0,
			OpenIssuesCount: int(r.ExpFloat64() * 2),
			StargazersCount: int(r.ExpFloat64()*r.ExpFloat64()*20) * r.IntN(2),
			ForksCount:      int(r.ExpFloat64() * 3),
			Size:            r.IntN(5000),
			DefaultBranch:   "main",
		}
		rp.WatchersCount = rp.StargazersCount
		if r.IntN(10) < 7 {
			d := word() + " " + word() + " for " + strings.ToUpper(word())
			rp.Description = &d
		}
		if r.IntN(7) != 0 {
			rp.Language = ptr(synthLanguages[langZipf.Uint64()])
		}
		switch x := r.IntN(20); {
		case x == 0:
			rp.Languages = nil
			rp.LanguagesStatus = snapshots.LanguagesPending
		case x == 1:
			rp.Languages = map[string]snapshots.Language{}
		default:
			m := map[string]int{}
			if rp.Language != nil && r.IntN(12) != 0 {
				m[*rp.Language] = 1 + int(r.ExpFloat64()*50000)
			}
			for range r.IntN(5) {
				m[synthLanguages[langZipf.Uint64()]] = 1 + int(r.ExpFloat64()*5000)
			}
			rp.Languages = snapshots.LanguagesFromGitHub(m)
		}
		if r.IntN(5) >= 2 {
			l := synthLicenses[r.IntN(len(synthLicenses))]
			rp.License = &l
		}
		for range r.IntN(5) {
			t := fmt.Sprintf("topic-%d", topicZipf.Uint64())
			if r.IntN(3) == 0 {
				t = word()
			}
			rp.Topics = append(rp.Topics, t)
		}
		repos[i] = rp
	}
	return repos
}

// ---- Recorded GitHub data ----

const fixtureDir = "../../shared/fixtures/github-2024"

// fixtureRepos converts the recorded search response and languages into a
// snapshot. Every tenth repository gets null languages, as if pending, so
// the data has some.
func fixtureRepos(t testing.TB) []snapshots.Repository {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "search-repositories.json"))
	if os.IsNotExist(err) {
		t.Skipf("no fixtures at %s", fixtureDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Items []struct {
			ID       int64  `json:"id"`
			Name     string `json:"name"`
			FullName string `json:"full_name"`
			Owner    struct {
				Login string `json:"login"`
			} `json:"owner"`
			Description     *string            `json:"description"`
			HTMLURL         string             `json:"html_url"`
			Homepage        *string            `json:"homepage"`
			CreatedAt       time.Time          `json:"created_at"`
			UpdatedAt       time.Time          `json:"updated_at"`
			PushedAt        time.Time          `json:"pushed_at"`
			Language        *string            `json:"language"`
			License         *snapshots.License `json:"license"`
			Topics          []string           `json:"topics"`
			Fork            bool               `json:"fork"`
			Archived        bool               `json:"archived"`
			IsTemplate      bool               `json:"is_template"`
			AllowForking    bool               `json:"allow_forking"`
			Visibility      string             `json:"visibility"`
			HasIssues       bool               `json:"has_issues"`
			HasProjects     bool               `json:"has_projects"`
			HasDownloads    bool               `json:"has_downloads"`
			HasWiki         bool               `json:"has_wiki"`
			HasPages        bool               `json:"has_pages"`
			HasDiscussions  bool               `json:"has_discussions"`
			OpenIssuesCount int                `json:"open_issues_count"`
			StargazersCount int                `json:"stargazers_count"`
			WatchersCount   int                `json:"watchers_count"`
			ForksCount      int                `json:"forks_count"`
			Size            int                `json:"size"`
			DefaultBranch   string             `json:"default_branch"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	repos := make([]snapshots.Repository, len(resp.Items))
	for i, it := range resp.Items {
		r := snapshots.Repository{
			ID: it.ID, FullName: it.FullName, Owner: it.Owner.Login, Repository: it.Name,
			Description: it.Description, HTMLURL: it.HTMLURL, Homepage: it.Homepage,
			CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, PushedAt: it.PushedAt,
			Language: it.Language, License: it.License, Topics: it.Topics,
			Fork: it.Fork, Archived: it.Archived, IsTemplate: it.IsTemplate, AllowForking: it.AllowForking,
			Visibility: it.Visibility, HasIssues: it.HasIssues, HasProjects: it.HasProjects,
			HasDownloads: it.HasDownloads, HasWiki: it.HasWiki, HasPages: it.HasPages,
			HasDiscussions: it.HasDiscussions, OpenIssuesCount: it.OpenIssuesCount,
			StargazersCount: it.StargazersCount, WatchersCount: it.WatchersCount,
			ForksCount: it.ForksCount, Size: it.Size, DefaultBranch: it.DefaultBranch,
			LanguagesStatus: snapshots.LanguagesPending,
		}
		if i%10 != 9 {
			lb, err := os.ReadFile(filepath.Join(fixtureDir, "languages", it.FullName+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]int
			if err := json.Unmarshal(lb, &m); err != nil {
				t.Fatal(err)
			}
			r.Languages = snapshots.LanguagesFromGitHub(m)
			r.LanguagesStatus = snapshots.LanguagesOK
		}
		repos[i] = r
	}
	// Newest first, as snapshots are.
	slices.SortStableFunc(repos, func(a, b snapshots.Repository) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return repos
}

// ---- The reference: the specification, written plainly ----

// refQuery is a query as the tests generate it, before it is encoded.
type refQuery struct {
	languages, primaries, licenses, owners, topics []string
	name, q                                        string
	bools                                          map[string]bool
	counts                                         map[string]int64
	times                                          map[string]time.Time
	sort, order                                    string
	limit, offset                                  int // limit -1: none
}

var refBools = map[string]func(*snapshots.Repository) bool{
	"has_open_issues": func(r *snapshots.Repository) bool { return r.OpenIssuesCount > 0 },
	"allow_forking":   func(r *snapshots.Repository) bool { return r.AllowForking },
	"fork":            func(r *snapshots.Repository) bool { return r.Fork },
	"archived":        func(r *snapshots.Repository) bool { return r.Archived },
	"is_template":     func(r *snapshots.Repository) bool { return r.IsTemplate },
	"has_issues":      func(r *snapshots.Repository) bool { return r.HasIssues },
	"has_projects":    func(r *snapshots.Repository) bool { return r.HasProjects },
	"has_downloads":   func(r *snapshots.Repository) bool { return r.HasDownloads },
	"has_wiki":        func(r *snapshots.Repository) bool { return r.HasWiki },
	"has_pages":       func(r *snapshots.Repository) bool { return r.HasPages },
	"has_discussions": func(r *snapshots.Repository) bool { return r.HasDiscussions },
}

var refCounts = map[string]func(*snapshots.Repository) int64{
	"stars":       func(r *snapshots.Repository) int64 { return int64(r.StargazersCount) },
	"forks":       func(r *snapshots.Repository) int64 { return int64(r.ForksCount) },
	"size":        func(r *snapshots.Repository) int64 { return int64(r.Size) },
	"open_issues": func(r *snapshots.Repository) int64 { return int64(r.OpenIssuesCount) },
}

func anyOf(items []string, f func(string) bool) bool {
	if len(items) == 0 {
		return true
	}
	return slices.ContainsFunc(items, f)
}

func (rq *refQuery) matches(r *snapshots.Repository) bool {
	lower := strings.ToLower
	ok := anyOf(rq.languages, func(l string) bool {
		_, has := r.Languages[lower(strings.TrimSpace(l))]
		return r.Languages != nil && has
	}) && anyOf(rq.primaries, func(l string) bool {
		return r.Language != nil && lower(*r.Language) == lower(strings.TrimSpace(l))
	}) && anyOf(rq.licenses, func(l string) bool {
		l = lower(strings.TrimSpace(l))
		if l == "none" {
			return r.License == nil
		}
		return r.License != nil && (lower(r.License.Key) == l || lower(r.License.SPDXID) == l ||
			strings.HasPrefix(lower(r.License.Key), l+"-"))
	}) && anyOf(rq.owners, func(o string) bool {
		return lower(r.Owner) == lower(strings.TrimSpace(o))
	}) && anyOf(rq.topics, func(t string) bool {
		return slices.ContainsFunc(r.Topics, func(rt string) bool { return lower(rt) == lower(strings.TrimSpace(t)) })
	})
	if !ok {
		return false
	}
	if rq.name != "" && !strings.Contains(lower(r.FullName), lower(rq.name)) {
		return false
	}
	if rq.q != "" {
		q := lower(rq.q)
		if !strings.Contains(lower(r.FullName), q) &&
			!(r.Description != nil && strings.Contains(lower(*r.Description), q)) &&
			!slices.ContainsFunc(r.Topics, func(t string) bool { return strings.Contains(lower(t), q) }) {
			return false
		}
	}
	for name, want := range rq.bools {
		if refBools[name](r) != want {
			return false
		}
	}
	for name, bound := range rq.counts {
		v := refCounts[name[4:]](r)
		if strings.HasPrefix(name, "min_") && v < bound || strings.HasPrefix(name, "max_") && v > bound {
			return false
		}
	}
	for name, t := range rq.times {
		switch name {
		case "created_after":
			if r.CreatedAt.Before(t) {
				return false
			}
		case "created_before":
			if !r.CreatedAt.Before(t) {
				return false
			}
		case "pushed_after":
			if r.PushedAt.Before(t) {
				return false
			}
		}
	}
	return true
}

func (rq *refQuery) matched(repos []snapshots.Repository) []int32 {
	var out []int32
	for i := range repos {
		if rq.matches(&repos[i]) {
			out = append(out, int32(i))
		}
	}
	return out
}

// refSelect sorts all matches by comparing the repositories themselves.
func refSelect(repos []snapshots.Repository, rq *refQuery) ([]int32, int) {
	m := rq.matched(repos)
	sortName := cmp.Or(strings.ToLower(rq.sort), "created")
	desc := sortName != "name"
	if rq.order != "" {
		desc = strings.EqualFold(rq.order, "desc")
	}
	slices.SortFunc(m, func(a, b int32) int {
		ra, rb := &repos[a], &repos[b]
		var c int
		switch sortName {
		case "created":
			c = ra.CreatedAt.Compare(rb.CreatedAt)
		case "pushed":
			c = ra.PushedAt.Compare(rb.PushedAt)
		case "stars":
			c = cmp.Compare(ra.StargazersCount, rb.StargazersCount)
		case "forks":
			c = cmp.Compare(ra.ForksCount, rb.ForksCount)
		case "size":
			c = cmp.Compare(ra.Size, rb.Size)
		case "name":
			c = strings.Compare(strings.ToLower(ra.FullName), strings.ToLower(rb.FullName))
		}
		c = cmp.Or(c, cmp.Compare(ra.ID, rb.ID), cmp.Compare(a, b))
		if desc {
			return -c
		}
		return c
	})
	total := len(m)
	m = m[min(rq.offset, total):]
	if rq.limit >= 0 {
		m = m[:min(rq.limit, len(m))]
	}
	return m, total
}

// refStats computes the statistics with maps and sorting.
func refStats(repos []snapshots.Repository, rq *refQuery) *Stats {
	// Names as first spelt by a languages map, else by a primary language.
	names := map[string]string{}
	for _, r := range repos {
		for k, l := range r.Languages {
			if _, ok := names[k]; !ok {
				names[k] = l.Name
			}
		}
	}
	for _, r := range repos {
		if r.Language != nil {
			if _, ok := names[strings.ToLower(*r.Language)]; !ok {
				names[strings.ToLower(*r.Language)] = *r.Language
			}
		}
	}
	licNames := map[string]string{}
	for _, r := range repos {
		if r.License != nil {
			if _, ok := licNames[strings.ToLower(r.License.Key)]; !ok {
				licNames[strings.ToLower(r.License.Key)] = r.License.Name
			}
		}
	}

	st := &Stats{Languages: map[string]LanguageStats{}, Licenses: map[string]LicenseStats{}, Topics: []TopicCount{}}
	type sums struct{ forks, issues, size int64 }
	prim := map[string]sums{}
	topics := map[string]int{}
	m := rq.matched(repos)
	for _, i := range m {
		r := &repos[i]
		st.Repositories++
		for k, l := range r.Languages {
			ls := st.Languages[k]
			ls.Name = names[k]
			ls.Repositories++
			ls.Bytes += l.Bytes
			st.Languages[k] = ls
			st.TotalBytes += l.Bytes
		}
		if r.Language != nil {
			k := strings.ToLower(*r.Language)
			ls := st.Languages[k]
			ls.Name = names[k]
			ls.Primary++
			st.Languages[k] = ls
			s := prim[k]
			s.forks += int64(r.ForksCount)
			s.issues += int64(r.OpenIssuesCount)
			s.size += int64(r.Size)
			prim[k] = s
		}
		key, name := "none", "No license"
		if r.License != nil {
			key = strings.ToLower(r.License.Key)
			name = licNames[key]
		}
		st.Licenses[key] = LicenseStats{name, st.Licenses[key].Repositories + 1}
		seen := map[string]bool{}
		for _, t := range r.Topics {
			if t = strings.ToLower(t); !seen[t] {
				seen[t] = true
				topics[t]++
			}
		}
	}
	for k, ls := range st.Languages {
		if st.TotalBytes > 0 {
			ls.Share = float64(ls.Bytes) / float64(st.TotalBytes)
		}
		if ls.Primary > 0 {
			s := prim[k]
			ls.AvgForks = float64(s.forks) / float64(ls.Primary)
			ls.AvgOpenIssues = float64(s.issues) / float64(ls.Primary)
			ls.AvgSize = float64(s.size) / float64(ls.Primary)
		}
		st.Languages[k] = ls
	}
	for t, n := range topics {
		st.Topics = append(st.Topics, TopicCount{t, n})
	}
	slices.SortFunc(st.Topics, func(a, b TopicCount) int {
		return cmp.Or(cmp.Compare(b.Repositories, a.Repositories), strings.Compare(a.Topic, b.Topic))
	})
	st.Topics = st.Topics[:min(len(st.Topics), 20)]

	if len(rq.languages) > 0 {
		distinct := map[string]bool{}
		for _, l := range rq.languages {
			distinct[strings.ToLower(strings.TrimSpace(l))] = true
		}
		if len(distinct) == 1 {
			var key string
			for key = range distinct {
			}
			sel := &SelectedLanguage{Name: key, CoLanguages: map[string]int{}}
			if n, ok := names[key]; ok {
				sel.Name = n
			}
			var sizes []int64
			for _, i := range m {
				r := &repos[i]
				sizes = append(sizes, r.Languages[key].Bytes)
				sel.Bytes += r.Languages[key].Bytes
				if r.Language != nil && strings.ToLower(*r.Language) == key {
					sel.Primary++
				}
				for k := range r.Languages {
					if k != key {
						sel.CoLanguages[k]++
					}
				}
			}
			sel.Repositories = len(sizes)
			if len(sizes) > 0 {
				slices.Sort(sizes)
				sel.AverageBytes = float64(sel.Bytes) / float64(len(sizes))
				sel.MedianBytes = (float64(sizes[(len(sizes)-1)/2]) + float64(sizes[len(sizes)/2])) / 2
				sel.MaxBytes = sizes[len(sizes)-1]
			}
			if st.TotalBytes > 0 {
				sel.ShareOfBytes = float64(sel.Bytes) / float64(st.TotalBytes)
			}
			st.Selected = sel
		}
	}
	return st
}
