package fakegithub

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

func TestNewIsFast(t *testing.T) {
	began := time.Now()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("New(Config{}) took %v", time.Since(began))
	// Nothing was generated ahead, yet by 2026 over a hundred million repositories exist.
	if n := s.cat.(*synth).count(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); n < 100_000_000 {
		t.Errorf("only %d repositories exist now", n)
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearchPage(b *testing.B) {
	s, err := New(generous(Config{Now: func() time.Time { return march1 }}))
	if err != nil {
		b.Fatal(err)
	}
	c := github.NewClient(nil)
	req, _ := c.NewRequest("GET", "search/repositories?per_page=100&q=created:>=2024-03-01T11:00:00Z", nil)
	for b.Loop() {
		w := &discard{h: map[string][]string{}}
		s.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatal(w.status)
		}
	}
}

type discard struct {
	h      map[string][]string
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }

func TestSyntheticDataIsAFunctionOfSeedRateAndNow(t *testing.T) {
	path := "/search/repositories?per_page=100&q=created:>=2024-03-01T11:50:00Z"
	body := func(cfg Config) string {
		_, b := start(t, generous(cfg)).get(t, path)
		return string(b)
	}
	clk := newClock(march1)
	a := body(Config{Now: clk.Now, Seed: 1})
	if a != body(Config{Now: clk.Now, Seed: 1}) {
		t.Error("same seed, rate and time: different answers")
	}
	if a == body(Config{Now: clk.Now, Seed: 2}) {
		t.Error("another seed: the same answer")
	}
	if a == body(Config{Now: clk.Now, Seed: 1, Rate: 3}) {
		t.Error("another rate: the same answer")
	}
}

func TestRepositoriesAppearAsTheClockMoves(t *testing.T) {
	clk := newClock(march1)
	f := start(t, generous(Config{Now: clk.Now}))
	c := f.client(t)
	ctx := context.Background()
	q := "created:>=2024-03-01T11:59:00Z fork:true"
	res, _, err := c.Search.Repositories(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotal() != 121 {
		t.Fatalf("total %d, want 121: a minute at 2 per second, the newest created now", res.GetTotal())
	}
	newest, _ := searchAll(t, c, "created:"+march1.Format(time.RFC3339)+" fork:true", github.SearchOptions{})
	if len(newest) != 1 || !newest[0].GetCreatedAt().Time.Equal(march1) {
		t.Fatalf("created exactly now: %d", len(newest))
	}
	clk.Advance(30*time.Second + 250*time.Millisecond)
	res, _, err = c.Search.Repositories(ctx, q, nil)
	if err != nil || res.GetTotal() != 181 {
		t.Fatalf("30.25 s later: total %d (%v), want 181", res.GetTotal(), err)
	}
	if _, _, err := c.Repositories.Get(ctx, newest[0].GetOwner().GetLogin(), newest[0].GetName()); err != nil {
		t.Fatal(err)
	}
	// Not yet created repositories are unknown, whatever their name.
	clk2 := newClock(march1.Add(-time.Hour))
	early := start(t, generous(Config{Now: clk2.Now}))
	if _, resp, _ := early.client(t).Repositories.Get(ctx, newest[0].GetOwner().GetLogin(), newest[0].GetName()); resp == nil || resp.StatusCode != 404 {
		t.Error("a repository created in the future is found")
	}
}

func TestPushesChangeLanguagesAndETag(t *testing.T) {
	clk := newClock(march1)
	f := start(t, generous(Config{Now: clk.Now}))
	g := f.cat.(*synth)
	// Repositories created in the last 100 seconds that are pushed every 90 seconds, and some that
	// are never pushed again.
	var pushed, still []int64
	for k := g.count(march1) - 200; k < g.count(march1); k++ {
		switch p := g.pushPeriod(k); {
		case p == 90*time.Second:
			pushed = append(pushed, k)
		case p == 0 && !g.empty(k):
			still = append(still, k)
		}
	}
	if len(pushed) == 0 || len(still) == 0 {
		t.Fatalf("%d pushed every 90 s, %d never", len(pushed), len(still))
	}
	type snap struct{ etag, body, pushedAt string }
	look := func(k int64) snap {
		o := g.ownerOf(k)
		full := g.login(o) + "/" + g.name(k, o)
		resp, body := f.get(t, "/repos/"+full+"/languages")
		_, repo := f.get(t, "/repos/"+full)
		var r struct {
			PushedAt string `json:"pushed_at"`
		}
		if err := json.Unmarshal(repo, &r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", full, resp.StatusCode, err)
		}
		return snap{resp.Header.Get("ETag"), string(body), r.PushedAt}
	}
	before := map[int64]snap{}
	for _, k := range append(pushed, still...) {
		before[k] = look(k)
	}
	clk.Advance(10 * time.Second)
	for _, k := range still {
		if look(k) != before[k] {
			t.Errorf("repository %d changed without a push", k)
		}
	}
	clk.Advance(100 * time.Second) // every 90-second repository has been pushed at least once
	for _, k := range pushed {
		now := look(k)
		if now.pushedAt == before[k].pushedAt || now.etag == before[k].etag || now.body == before[k].body {
			t.Errorf("repository %d pushed (%s → %s) but its languages stayed", k, before[k].pushedAt, now.pushedAt)
		}
	}
	for _, k := range still {
		if look(k) != before[k] {
			t.Errorf("repository %d changed without a push", k)
		}
	}
}

func TestNamesRoundTrip(t *testing.T) {
	tab := stemTable()
	if len(tab.names) != stemCount || len(tab.index) != stemCount {
		t.Fatalf("%d names, %d distinct", len(tab.names), len(tab.index))
	}
	if stemStep*tab.stepInverse%stemCount != 1 {
		t.Fatal("stepInverse is wrong")
	}
	if len(languageNames) != len(languageWeights) || len(licenses) != len(licenseWeights) || len(branches) != len(branchWeights) {
		t.Fatal("a weight table does not match its names")
	}
	g := newSynth(Config{Seed: 5, Rate: 2, Epoch: defaultEpoch, SearchScanLimit: 1})
	now := g.createdAt(50_000)
	owners := map[int64]map[string]bool{}
	for k := int64(0); k < 20_000; k++ {
		o := g.ownerOf(k)
		login, name := g.login(o), g.name(k, o)
		if owners[o] == nil {
			owners[o] = map[string]bool{}
		}
		if owners[o][strings.ToLower(name)] {
			t.Fatalf("owner %s has two repositories named %s", login, name)
		}
		owners[o][strings.ToLower(name)] = true
		for _, l := range []string{login, strings.ToUpper(login)} {
			if got, ok := g.lookup(l, strings.ToUpper(name), now); !ok || got != k {
				t.Fatalf("lookup(%s, %s) = %d %v, want %d", l, name, got, ok, k)
			}
		}
		if !validName(login, 39) || !validName(name, 100) {
			t.Fatalf("invalid login or name %s/%s", login, name)
		}
	}
	several := 0
	for _, names := range owners {
		if len(names) > 1 {
			several++
		}
	}
	if several < 100 {
		t.Errorf("only %d owners with several repositories", several)
	}
	for _, bad := range [][2]string{{"nobody", "x"}, {"alice-zz", "dotfiles"}, {"alice1", "no-such-name"}, {"", ""}} {
		if _, ok := g.lookup(bad[0], bad[1], now); ok {
			t.Errorf("lookup(%q, %q) found something", bad[0], bad[1])
		}
	}
}

// validName: what GitHub allows in logins and repository names.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func TestSyntheticVariety(t *testing.T) {
	clk := newClock(march1)
	f := start(t, generous(Config{Now: clk.Now}))
	g := f.cat.(*synth)
	counts := map[string]int{}
	licenseKeys := map[string]bool{}
	owners := map[string]int{}
	n := g.count(march1)
	const sample = 2000
	for k := n - sample; k < n; k++ {
		var r struct {
			Description *string
			Homepage    *string
			License     *struct{ Key string }
			Language    *string
			Fork        bool
			Archived    bool
			IsTemplate  bool `json:"is_template"`
			HasPages    bool `json:"has_pages"`
			Topics      []string
			Stars       int `json:"stargazers_count"`
			Issues      int `json:"open_issues_count"`
			Owner       struct{ Login, Type string }
			Branch      string `json:"default_branch"`
		}
		if err := json.Unmarshal(g.object(k, march1), &r); err != nil {
			t.Fatal(err)
		}
		inc := func(key string, cond bool) {
			if cond {
				counts[key]++
			}
		}
		inc("null description", r.Description == nil)
		inc("non-ASCII description", r.Description != nil && !isASCII(*r.Description))
		inc("null homepage", r.Homepage == nil)
		inc("empty homepage", r.Homepage != nil && *r.Homepage == "")
		inc("null license", r.License == nil)
		inc("null language", r.Language == nil)
		inc("fork", r.Fork)
		inc("archived", r.Archived)
		inc("template", r.IsTemplate)
		inc("pages", r.HasPages)
		inc("topics", len(r.Topics) > 0)
		inc("stars", r.Stars > 0)
		inc("issues", r.Issues > 0)
		inc("organization", r.Owner.Type == "Organization")
		inc("master", r.Branch == "master")
		inc("empty languages", string(g.languages(k, march1)) == "{}")
		if r.License != nil {
			licenseKeys[r.License.Key] = true
		}
		owners[r.Owner.Login]++
	}
	for key, want := range map[string][2]int{ // expected share in percent: at least, at most
		"null description": {20, 36}, "non-ASCII description": {10, 60}, "null homepage": {45, 65},
		"empty homepage": {20, 40}, "null license": {38, 52}, "null language": {8, 16}, "fork": {9, 10},
		"archived": {1, 4}, "template": {0, 3}, "pages": {3, 10}, "topics": {15, 30}, "stars": {30, 45},
		"issues": {14, 26}, "organization": {12, 28}, "master": {18, 30}, "empty languages": {8, 16},
	} {
		share := counts[key] * 100 / sample
		if share < want[0] || share > want[1] || counts[key] == 0 {
			t.Errorf("%s: %d%%, want %d–%d%%", key, share, want[0], want[1])
		}
	}
	if counts["null language"] != counts["empty languages"] {
		t.Errorf("%d null languages but %d empty language maps", counts["null language"], counts["empty languages"])
	}
	if len(licenseKeys) < 8 {
		t.Errorf("only licenses %v", licenseKeys)
	}
	several := 0
	for _, c := range owners {
		if c > 1 {
			several++
		}
	}
	if several == 0 {
		t.Error("no owner has several repositories")
	}
}

func isASCII(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func TestSyntheticShapeMatchesRecordedGitHub(t *testing.T) {
	dir := needFixtures(t)
	raw, err := os.ReadFile(filepath.Join(dir, "search-repositories.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &recorded); err != nil {
		t.Fatal(err)
	}
	keys := func(obj []byte) []string {
		fs, err := splitObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.key)
		}
		return out
	}
	want := keys(recorded.Items[0])
	f := start(t, generous(Config{Now: newClock(march1).Now}))
	_, body := f.get(t, "/search/repositories?q=created:>=2024-03-01T11:59:00Z")
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	for _, item := range page.Items {
		if got := keys(item); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("synthetic item keys\n%v\nrecorded\n%v", got, want)
		}
		var owner, recOwner struct {
			Owner json.RawMessage
		}
		_ = json.Unmarshal(item, &owner)
		_ = json.Unmarshal(recorded.Items[0], &recOwner)
		if strings.Join(keys(owner.Owner), ",") != strings.Join(keys(recOwner.Owner), ",") {
			t.Fatalf("owner keys %v, recorded %v", keys(owner.Owner), keys(recOwner.Owner))
		}
	}
}

func TestNodeIDs(t *testing.T) {
	// From the recorded response: repository 484576373 is R_kgDOHOIMdQ.
	if got := nodeID("R", 484576373); got != "R_kgDOHOIMdQ" {
		t.Errorf("nodeID = %s", got)
	}
	for _, id := range []int64{1, 200, 60000, 1 << 40} {
		if !strings.HasPrefix(nodeID("U", id), "U_kgD") && !strings.HasPrefix(nodeID("U", id), "U_kgA") {
			t.Errorf("nodeID(%d) = %s", id, nodeID("U", id))
		}
	}
}
