package filters

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestParseCanonical covers every parameter's accepted spellings through
// the canonical form they come to.
func TestParseCanonical(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", ""},
		// Lists: case, spaces, empty items, duplicates, order, repeats.
		{"language=Python", "language=python"},
		{"language=python,Go", "language=go,python"},
		{"language=go&language=python&language=GO", "language=go,python"},
		{"language=+go+,,python,", "language=go,python"},
		{"language=C%2B%2B,c%23,Jupyter+Notebook", "language=c%23,c%2B%2B,jupyter%20notebook"},
		{"primary_language=TypeScript", "primary_language=typescript"},
		{"license=MIT,Apache", "license=apache,mit"},
		{"license=none", "license=none"},
		{"license=GPL-3.0", "license=gpl-3.0"},
		{"owner=Torvalds,octocat", "owner=octocat,torvalds"},
		{"topic=CLI&topic=rust", "topic=cli,rust"},
		// Substrings: lower-cased, not trimmed, escaped.
		{"name=Pandas", "name=pandas"},
		{"q=Machine+Learning", "q=machine%20learning"},
		{"q=+x", "q=%20x"},
		{"q=a%26b%3Dc,d", "q=a%26b%3Dc%2Cd"},
		{"q=%C3%9Cber", "q=%C3%BCber"},
		// Booleans.
		{"fork=true", "fork=true"},
		{"fork=TRUE", "fork=true"},
		{"fork=1", "fork=true"},
		{"fork=False", "fork=false"},
		{"fork=0", "fork=false"},
		{"has_open_issues=1&allow_forking=0&archived=true&is_template=false", "has_open_issues=true&allow_forking=false&archived=true&is_template=false"},
		{"has_issues=1&has_projects=1&has_downloads=1&has_wiki=1&has_pages=1&has_discussions=1",
			"has_issues=true&has_projects=true&has_downloads=true&has_wiki=true&has_pages=true&has_discussions=true"},
		// Counts: leading zeros, a zero minimum means nothing, a zero maximum does.
		{"min_stars=010", "min_stars=10"},
		{"min_stars=0", ""},
		{"max_stars=0", "max_stars=0"},
		{"min_stars=5&max_stars=5", "min_stars=5&max_stars=5"},
		{"min_forks=1&max_forks=2&min_size=3&max_size=4&min_open_issues=5", "min_forks=1&max_forks=2&min_size=3&max_size=4&min_open_issues=5"},
		{"max_size=2147483647", "max_size=2147483647"},
		// Times: dates are midnight UTC; zones and fractions normalised.
		{"created_after=2024-03-01", "created_after=2024-03-01T00:00:00Z"},
		{"created_after=2024-03-01T00:00:00Z", "created_after=2024-03-01T00:00:00Z"},
		{"created_after=2024-03-01T02:00:00%2B02:00", "created_after=2024-03-01T00:00:00Z"},
		{"created_before=2024-03-01T00:00:00.500-01:00", "created_before=2024-03-01T01:00:00.5Z"},
		{"pushed_after=2024-03-01T00:00:00,25Z", "pushed_after=2024-03-01T00:00:00.25Z"},
		{"created_after=2024-03-01&created_before=2024-03-01", "created_after=2024-03-01T00:00:00Z&created_before=2024-03-01T00:00:00Z"},
		// Sort and order, with their defaults.
		{"sort=created", ""},
		{"sort=created&order=desc", ""},
		{"order=DESC", ""},
		{"order=asc", "order=asc"},
		{"sort=Stars", "sort=stars"},
		{"sort=stars&order=desc", "sort=stars"},
		{"sort=pushed&order=asc", "sort=pushed&order=asc"},
		{"sort=forks", "sort=forks"},
		{"sort=size", "sort=size"},
		{"sort=name", "sort=name"},
		{"sort=name&order=asc", "sort=name"},
		{"sort=name&order=desc", "sort=name&order=desc"},
		// Paging.
		{"limit=0", "limit=0"},
		{"limit=1000", "limit=1000"},
		{"limit=007", "limit=7"},
		{"offset=0", ""},
		{"offset=20", "offset=20"},
		// Fields: struct order, case, all of them means none.
		{"fields=stargazers_count,ID,full_name", "fields=id,full_name,stargazers_count"},
		{"fields=id&fields=id", "fields=id"},
		{"fields=" + strings.Join(repositoryFields, ","), ""},
		// Everything, in canonical order.
		{"fields=id&offset=1&limit=2&order=asc&sort=stars&pushed_after=2024-01-01&created_before=2024-01-03&created_after=2024-01-02&min_open_issues=1&max_size=9&min_size=1&max_forks=9&min_forks=1&max_stars=9&min_stars=1&has_discussions=1&fork=0&q=x&name=y&topic=t&owner=o&license=l&primary_language=p&language=g",
			"language=g&primary_language=p&license=l&owner=o&topic=t&name=y&q=x&fork=false&has_discussions=true&min_stars=1&max_stars=9&min_forks=1&max_forks=9&min_size=1&max_size=9&min_open_issues=1&created_after=2024-01-02T00:00:00Z&created_before=2024-01-03T00:00:00Z&pushed_after=2024-01-01T00:00:00Z&sort=stars&order=asc&limit=2&offset=1&fields=id"},
	} {
		q, p := Parse(rawArgs(tc.raw))
		if p != nil {
			t.Errorf("Parse(%q): %s", tc.raw, p.JSON())
			continue
		}
		if got := q.Canonical(); got != tc.want {
			t.Errorf("Parse(%q).Canonical() = %q, want %q", tc.raw, got, tc.want)
		}
		// The canonical form is a query string meaning the same.
		if again := mustParse(t, q.Canonical()).Canonical(); again != q.Canonical() {
			t.Errorf("canonical %q re-parses to %q", q.Canonical(), again)
		}
	}
}

func TestStatsCanonical(t *testing.T) {
	for _, tc := range []struct{ raw, repos, stats string }{
		{"", "", ""},
		{"sort=stars&limit=5&offset=5&order=asc&fields=id", "sort=stars&order=asc&limit=5&offset=5&fields=id", ""},
		{"language=go&sort=stars", "language=go&sort=stars", "language=go"},
		{"pushed_after=2024-01-01&limit=1", "pushed_after=2024-01-01T00:00:00Z&limit=1", "pushed_after=2024-01-01T00:00:00Z"},
	} {
		q := mustParse(t, tc.raw)
		if q.Canonical() != tc.repos || q.StatsCanonical() != tc.stats {
			t.Errorf("%q: Canonical %q, StatsCanonical %q; want %q, %q", tc.raw, q.Canonical(), q.StatsCanonical(), tc.repos, tc.stats)
		}
	}
	var nilQuery *Query
	if nilQuery.Canonical() != "" || nilQuery.StatsCanonical() != "" || nilQuery.Fields() != nil {
		t.Error("a nil Query is not the empty query")
	}
}

func TestCanonicalDistinguishes(t *testing.T) {
	// Queries that differ in meaning never share a key.
	raws := []string{
		"", "language=go", "language=go,rust", "primary_language=go", "topic=go", "owner=go", "name=go", "q=go",
		"license=gpl", "license=gpl-3.0", "fork=true", "fork=false", "archived=true",
		"min_stars=1", "max_stars=1", "min_forks=1", "min_open_issues=1",
		"created_after=2024-01-01", "created_before=2024-01-01", "pushed_after=2024-01-01",
		"sort=stars", "sort=stars&order=asc", "order=asc", "sort=name&order=desc",
		"limit=1", "limit=2", "offset=1", "fields=id", "fields=id,owner",
		"q=go,rust", "q=go%26rust", "q=go&name=rust",
	}
	seen := map[string]string{}
	for _, raw := range raws {
		c := mustParse(t, raw).Canonical()
		if prev, ok := seen[c]; ok {
			t.Errorf("%q and %q share canonical %q", prev, raw, c)
		}
		seen[c] = raw
	}
}

// TestParseErrors covers every kind of error, each alone, then all at once.
func TestParseErrors(t *testing.T) {
	type perr = ParamError
	for _, tc := range []struct {
		raw  string
		want []perr
	}{
		// Unknown parameters, with and without a suggestion.
		{"lang=go", []perr{{"lang", "go", `unknown parameter "lang"; did you mean "language"?`}}},
		{"Language=go", []perr{{"Language", "go", `unknown parameter "Language"; did you mean "language"?`}}},
		{"langauge=go", []perr{{"langauge", "go", `unknown parameter "langauge"; did you mean "language"?`}}},
		{"min-stars=1", []perr{{"min-stars", "1", `unknown parameter "min-stars"; did you mean "min_stars"?`}}},
		{"min_star=1", []perr{{"min_star", "1", `unknown parameter "min_star"; did you mean "min_stars"?`}}},
		{"licence=mit", []perr{{"licence", "mit", `unknown parameter "licence"; did you mean "license"?`}}},
		{"per_page=10", []perr{{"per_page", "10", `unknown parameter "per_page"; did you mean "limit"?`}}},
		{"page=2", []perr{{"page", "2", `unknown parameter "page"; did you mean "offset"?`}}},
		{"stars=2", []perr{{"stars", "2", `unknown parameter "stars"; did you mean "min_stars"?`}}},
		{"xyzzy=1", []perr{{"xyzzy", "1", `unknown parameter "xyzzy"`}}},
		{"=1", []perr{{"", "1", `unknown parameter ""`}}},
		// Empty values and list values with no items.
		{"language=", []perr{{"language", "", "must not be empty"}}},
		{"language", []perr{{"language", "", "must not be empty"}}},
		{"language=,+,", []perr{{"language", ", ,", "must not be empty"}}},
		{"q=", []perr{{"q", "", "must not be empty"}}},
		{"fields=,", []perr{{"fields", ",", "must not be empty"}}},
		// Characters no value may hold.
		{"q=a%00b", []perr{{"q", "a\x00b", "must not contain control characters"}}},
		{"name=a%0Ab", []perr{{"name", "a\nb", "must not contain control characters"}}},
		{"owner=%FF", []perr{{"owner", "\xff", "must be valid UTF-8"}}},
		{"owner=%FFab", []perr{{"owner", "\xffab", "must be valid UTF-8"}}},
		{"owner=a%80", []perr{{"owner", "a\x80", "must be valid UTF-8"}}},
		// Booleans.
		{"fork=yes", []perr{{"fork", "yes", "must be true, false, 1 or 0"}}},
		{"archived=2", []perr{{"archived", "2", "must be true, false, 1 or 0"}}},
		{"has_open_issues=t", []perr{{"has_open_issues", "t", "must be true, false, 1 or 0"}}},
		// Numbers.
		{"min_stars=abc", []perr{{"min_stars", "abc", "must be an integer from 0 to 2147483647"}}},
		{"min_stars=1.5", []perr{{"min_stars", "1.5", "must be an integer from 0 to 2147483647"}}},
		{"min_stars=%2B5", []perr{{"min_stars", "+5", "must be an integer from 0 to 2147483647"}}},
		{"min_stars=+5", []perr{{"min_stars", " 5", "must be an integer from 0 to 2147483647"}}},
		{"min_stars=1e3", []perr{{"min_stars", "1e3", "must be an integer from 0 to 2147483647"}}},
		{"max_forks=-1", []perr{{"max_forks", "-1", "must not be negative"}}},
		{"offset=-5", []perr{{"offset", "-5", "must not be negative"}}},
		{"min_stars=-", []perr{{"min_stars", "-", "must be an integer from 0 to 2147483647"}}},
		{"min_stars=--1", []perr{{"min_stars", "--1", "must be an integer from 0 to 2147483647"}}},
		{"max_size=2147483648", []perr{{"max_size", "2147483648", "must be at most 2147483647"}}},
		{"offset=99999999999999999999999", []perr{{"offset", "99999999999999999999999", "must be at most 2147483647"}}},
		{"limit=1001", []perr{{"limit", "1001", "must be at most 1000"}}},
		{"limit=-1", []perr{{"limit", "-1", "must not be negative"}}},
		{"limit=all", []perr{{"limit", "all", "must be an integer from 0 to 1000"}}},
		// A minimum above its maximum.
		{"min_stars=10&max_stars=5", []perr{{"min_stars", "10", "must not be greater than max_stars (5)"}}},
		{"max_forks=0&min_forks=1", []perr{{"min_forks", "1", "must not be greater than max_forks (0)"}}},
		{"min_size=3&max_size=2", []perr{{"min_size", "3", "must not be greater than max_size (2)"}}},
		{"created_after=2024-01-02&created_before=2024-01-01T23:59:59Z", []perr{{"created_after", "2024-01-02T00:00:00Z",
			"must not be later than created_before (2024-01-01T23:59:59Z)"}}},
		// Single-valued parameters given twice, even with the same value.
		{"sort=stars&sort=stars", []perr{{"sort", "stars", "sort may be given only once"}}},
		{"q=a&q=b", []perr{{"q", "b", "q may be given only once"}}},
		{"limit=1&limit=2&limit=3", []perr{{"limit", "2", "limit may be given only once"}, {"limit", "3", "limit may be given only once"}}},
		{"fork=x&fork=1", []perr{{"fork", "x", "must be true, false, 1 or 0"}, {"fork", "1", "fork may be given only once"}}},
		// Dates.
		{"created_after=2024-13-01", []perr{{"created_after", "2024-13-01", "must be an RFC 3339 time or a YYYY-MM-DD date"}}},
		{"created_after=2024-02-30", []perr{{"created_after", "2024-02-30", "must be an RFC 3339 time or a YYYY-MM-DD date"}}},
		{"created_before=yesterday", []perr{{"created_before", "yesterday", "must be an RFC 3339 time or a YYYY-MM-DD date"}}},
		{"pushed_after=2024-01-01T00:00:00", []perr{{"pushed_after", "2024-01-01T00:00:00", "must be an RFC 3339 time or a YYYY-MM-DD date"}}},
		{"pushed_after=2024-01-01+00:00:00Z", []perr{{"pushed_after", "2024-01-01 00:00:00Z", "must be an RFC 3339 time or a YYYY-MM-DD date"}}},
		{"pushed_after=1700000000", []perr{{"pushed_after", "1700000000", "must be an RFC 3339 time or a YYYY-MM-DD date"}}},
		{"created_after=0000-01-01T00:00:00%2B01:00", []perr{{"created_after", "0000-01-01T00:00:00+01:00", "must be from 0000-01-01 to 9999-12-31 in UTC"}}},
		// Sort and order.
		{"sort=updated", []perr{{"sort", "updated", "must be one of created, pushed, stars, forks, size or name"}}},
		{"sort=-stars", []perr{{"sort", "-stars", "must be one of created, pushed, stars, forks, size or name"}}},
		{"order=up", []perr{{"order", "up", "must be asc or desc"}}},
		// Fields, each bad item on its own.
		{"fields=id,ful_name,stars", []perr{
			{"fields", "ful_name", `unknown field "ful_name"; did you mean "full_name"?`},
			{"fields", "stars", `unknown field "stars"`}}},
		// All errors, in the order given, bounds last.
		{"min_stars=9&lang=go&max_stars=1&fork=maybe&sort=up&sort=down", []perr{
			{"lang", "go", `unknown parameter "lang"; did you mean "language"?`},
			{"fork", "maybe", "must be true, false, 1 or 0"},
			{"sort", "up", "must be one of created, pushed, stars, forks, size or name"},
			{"sort", "down", "sort may be given only once"},
			{"min_stars", "9", "must not be greater than max_stars (1)"}}},
	} {
		q, p := Parse(rawArgs(tc.raw))
		if p == nil {
			t.Errorf("Parse(%q) = %q, want errors %v", tc.raw, q.Canonical(), tc.want)
			continue
		}
		if q != nil || p.Status != 400 || p.Type != "about:blank" || p.Title != "Bad Request" {
			t.Errorf("Parse(%q): query %v, problem %s", tc.raw, q, p.JSON())
		}
		if !slices.Equal(p.Errors, tc.want) {
			t.Errorf("Parse(%q) errors:\n got %q\nwant %q", tc.raw, p.Errors, tc.want)
		}
	}
}

func TestProblemJSON(t *testing.T) {
	_, p := Parse(pairs("lang", "go", "limit", "<1001>"))
	want := `{"type":"about:blank","title":"Bad Request","status":400,` +
		`"detail":"lang: unknown parameter \"lang\"; did you mean \"language\"? (and 1 more; see errors)",` +
		`"errors":[{"parameter":"lang","value":"go","message":"unknown parameter \"lang\"; did you mean \"language\"?"},` +
		`{"parameter":"limit","value":"<1001>","message":"must be an integer from 0 to 1000"}]}`
	if got := string(p.JSON()); got != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
	if got := p.Error(); !strings.HasPrefix(got, "400 Bad Request: lang: unknown parameter") {
		t.Errorf("Error() = %q", got)
	}

	nf := NewProblem(404, "Not Found", "no such snapshot")
	if got, want := string(nf.JSON()), `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such snapshot"}`; got != want {
		t.Errorf("NewProblem JSON = %s, want %s", got, want)
	}
	if got := NewProblem(429, "Too Many Requests", "").Error(); got != "429 Too Many Requests" {
		t.Errorf("Error() = %q", got)
	}
}

func TestFields(t *testing.T) {
	if f := mustParse(t, "").Fields(); f != nil {
		t.Errorf("no fields: %q, want nil", f)
	}
	if f := mustParse(t, "fields=topics,ID,languages,topics").Fields(); !slices.Equal(f, []string{"id", "languages", "topics"}) {
		t.Errorf("Fields() = %q", f)
	}
	all := RepositoryFields()
	if len(all) != 32 || all[0] != "id" || all[len(all)-1] != "default_branch" || !slices.Contains(all, "languages_status") {
		t.Errorf("RepositoryFields() = %q", all)
	}
	all[0] = "changed"
	if RepositoryFields()[0] != "id" {
		t.Error("RepositoryFields returns the package's own slice")
	}
}

func TestParameters(t *testing.T) {
	ps := Parameters()
	if len(ps) != len(params) {
		t.Fatalf("%d parameters", len(ps))
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
		if p.Description == "" {
			t.Errorf("%s has no description", p.Name)
		}
		if want := slices.Contains([]string{"sort", "order", "limit", "offset", "fields"}, p.Name); p.ReposOnly != want {
			t.Errorf("%s: ReposOnly %v", p.Name, p.ReposOnly)
		}
	}
	// The list, every one of them.
	for _, n := range strings.Fields(`language primary_language license owner name q topic has_open_issues
		allow_forking fork archived is_template has_issues has_projects has_downloads has_wiki has_pages
		has_discussions min_stars max_stars min_forks max_forks min_size max_size min_open_issues
		created_after created_before pushed_after sort order limit offset fields`) {
		if !slices.Contains(names, n) {
			t.Errorf("missing parameter %s", n)
		}
	}
	if b, err := json.Marshal(ps[0]); err != nil || !strings.HasPrefix(string(b), `{"name":"language","description":`) {
		t.Errorf("Param JSON %s, %v", b, err)
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"lang", "language"},
		{"LANGUAGE", "language"},
		{"primary", "primary_language"},
		{"topics", "topic"},
		{"owners", "owner"},
		{"ordr", "order"},
		{"srot", "sort"},
		{"created", "created_after"},
		{"has_issue", "has_issues"},
		{"query", "q"},
		{"zzzzzzzzzzzz", ""},
		{strings.Repeat("a", 100), ""},
	} {
		if got := suggest(tc.in, paramNames[:]); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
