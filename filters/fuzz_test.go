package filters

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// refFromQuery reads a parsed Query back into the reference's terms, so
// the fuzzer can compare the Index with the reference on any query.
func refFromQuery(q *Query) *refQuery {
	rq := &refQuery{
		languages: q.lists[listLanguage], primaries: q.lists[listPrimary], licenses: q.lists[listLicense],
		owners: q.lists[listOwner], topics: q.lists[listTopic],
		name: q.texts[textName], q: q.texts[textQ],
		bools: map[string]bool{}, counts: map[string]int64{}, times: map[string]time.Time{},
		sort: sortNames[q.sort], limit: -1, offset: q.offset,
	}
	for _, p := range params {
		switch p.kind {
		case kindBool:
			if q.boolSet&(1<<p.slot) != 0 {
				rq.bools[p.name] = q.boolVal&(1<<p.slot) != 0
			}
		case kindCount:
			if q.countSet&(1<<p.slot) != 0 {
				rq.counts[p.name] = q.counts[p.slot]
			}
		case kindTime:
			if q.timeSet&(1<<p.slot) != 0 {
				rq.times[p.name] = time.Unix(q.times[p.slot].sec, int64(q.times[p.slot].nsec))
			}
		}
	}
	switch q.order {
	case orderAsc:
		rq.order = "asc"
	case orderDesc:
		rq.order = "desc"
	}
	if q.hasLimit {
		rq.limit = q.limit
	}
	return rq
}

var fuzzSeeds = []string{
	"",
	"language=python",
	"language=Go,rust&language=python&sort=stars&order=asc&limit=10&offset=5",
	"primary_language=C%2B%2B&license=gpl,none&owner=Octocat",
	"q=machine+learning&name=bot&topic=cli,api",
	"fork=false&archived=0&has_open_issues=TRUE&has_pages=1",
	"min_stars=3&max_stars=10&min_forks=0&max_size=999&min_open_issues=1",
	"created_after=2024-02-01&created_before=2024-03-01T00:00:00%2B01:00&pushed_after=2024-02-29T23:00:00.5Z",
	"fields=id,full_name,languages&limit=0",
	"lang=go&min_stars=-1&limit=1001&sort=up&sort=down&fields=stars",
	"created_after=0000-01-01T00:00:00%2B01:00",
	"q=%00&name=%FF&language=,,",
}

// FuzzParse checks that Parse never panics, that a Query's canonical form
// parses back to itself, that a Problem is well formed, and that the Index
// agrees with the reference on whatever the query means.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	repos := synthRepos(300, 11)
	ix := NewIndex(repos)
	f.Fuzz(func(t *testing.T, raw string) {
		q, p := Parse(rawArgs(raw))
		if p != nil {
			if q != nil || p.Status != 400 || p.Type != "about:blank" || len(p.Errors) == 0 || !json.Valid(p.JSON()) {
				t.Fatalf("bad problem for %q: %s", raw, p.JSON())
			}
			return
		}
		c := q.Canonical()
		for i := 0; i < len(c); i++ {
			if c[i] <= ' ' || c[i] >= 0x7f {
				t.Fatalf("canonical %q has byte %#x", c, c[i])
			}
		}
		if !strings.HasPrefix(c, q.StatsCanonical()) {
			t.Fatalf("stats key %q is not a prefix of %q", q.StatsCanonical(), c)
		}
		q2, p2 := Parse(rawArgs(c))
		if p2 != nil {
			t.Fatalf("canonical %q of %q does not parse: %s", c, raw, p2.JSON())
		}
		if q2.Canonical() != c || q2.StatsCanonical() != q.StatsCanonical() {
			t.Fatalf("%q: canonical %q re-parses to %q", raw, c, q2.Canonical())
		}

		rq := refFromQuery(q)
		got, total := ix.Select(q, nil)
		want, wantTotal := refSelect(repos, rq)
		if total != wantTotal || !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("%s: Select = %v, %d; reference %v, %d", c, got, total, want, wantTotal)
		}
		if st, wantSt := ix.Stats(q), refStats(repos, rq); !reflect.DeepEqual(st, wantSt) {
			g, _ := json.Marshal(st)
			w, _ := json.Marshal(wantSt)
			t.Fatalf("%s: Stats\n got %s\nwant %s", c, g, w)
		}
	})
}
