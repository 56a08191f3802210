package filters

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
)

// vocabulary is what random queries draw from: values that occur in the
// data, near misses, and values that match nothing.
type vocabulary struct {
	languages, licenses, owners, topics, texts []string
	times                                      []time.Time
	counts                                     []int64
}

func vocabularyOf(repos []snapshots.Repository, r *rand.Rand) *vocabulary {
	v := &vocabulary{
		languages: []string{"cobol", "C++", "jupyter notebook"},
		licenses:  []string{"none", "NONE", "gpl", "apache", "bsd", "cc0", "lgpl", "noassertion", "mit", "wtfpl", "gpl-3"},
		owners:    []string{"nobody"},
		topics:    []string{"no-such-topic"},
		texts:     []string{"zz-nothing", " ", "-", "/", "ü"},
		counts:    []int64{0, 1, 2, 3, 5, 10, 100, 1000},
		times:     []time.Time{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, rp := range repos {
		for _, l := range rp.Languages {
			v.languages = append(v.languages, l.Name)
		}
		if rp.Language != nil {
			v.languages = append(v.languages, *rp.Language)
		}
		if rp.License != nil {
			v.licenses = append(v.licenses, rp.License.Key, rp.License.SPDXID)
		}
		v.owners = append(v.owners, rp.Owner)
		v.topics = append(v.topics, rp.Topics...)
		v.texts = append(v.texts, substring(r, rp.FullName))
		if rp.Description != nil && *rp.Description != "" {
			v.texts = append(v.texts, substring(r, *rp.Description))
		}
		for _, t := range rp.Topics {
			v.texts = append(v.texts, substring(r, t))
		}
		v.times = append(v.times, rp.CreatedAt, rp.PushedAt)
		v.counts = append(v.counts, int64(rp.StargazersCount), int64(rp.ForksCount), int64(rp.Size), int64(rp.OpenIssuesCount))
	}
	return v
}

// substring returns a short piece of s, on rune boundaries.
func substring(r *rand.Rand, s string) string {
	rs := []rune(s)
	if len(rs) == 0 {
		return "x"
	}
	i := r.IntN(len(rs))
	j := min(len(rs), i+1+r.IntN(5))
	return string(rs[i:j])
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randomCase(r *rand.Rand, s string) string {
	switch r.IntN(4) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	}
	return s
}

// randomQuery draws a valid query: a few filters, often none.
func randomQuery(r *rand.Rand, v *vocabulary) *refQuery {
	q := &refQuery{bools: map[string]bool{}, counts: map[string]int64{}, times: map[string]time.Time{}, limit: -1}
	p := 0.12 + r.Float64()*0.15
	list := func(from []string) []string {
		if r.Float64() >= p {
			return nil
		}
		out := make([]string, 1+r.IntN(3))
		for i := range out {
			out[i] = pick(r, from)
		}
		return out
	}
	q.languages = list(v.languages)
	q.primaries = list(v.languages)
	q.licenses = list(v.licenses)
	q.owners = list(v.owners)
	q.topics = list(v.topics)
	if r.Float64() < p {
		q.name = pick(r, v.texts)
	}
	if r.Float64() < p {
		q.q = pick(r, v.texts)
	}
	for name := range refBools {
		if r.Float64() < p/3 {
			q.bools[name] = r.IntN(2) == 0
		}
	}
	for _, c := range []string{"stars", "forks", "size"} {
		lo, hi := pick(r, v.counts), pick(r, v.counts)
		if lo > hi {
			lo, hi = hi, lo
		}
		if r.Float64() < p/2 {
			q.counts["min_"+c] = lo
		}
		if r.Float64() < p/2 {
			q.counts["max_"+c] = hi
		}
	}
	if r.Float64() < p/2 {
		q.counts["min_open_issues"] = pick(r, v.counts)
	}
	a, b := randomTime(r, v), randomTime(r, v)
	if a.After(b) {
		a, b = b, a
	}
	if r.Float64() < p {
		q.times["created_after"] = a
	}
	if r.Float64() < p {
		q.times["created_before"] = b
	}
	if r.Float64() < p/2 {
		q.times["pushed_after"] = randomTime(r, v)
	}
	if r.IntN(2) == 0 {
		q.sort = pick(r, sortNames[:])
	}
	if r.IntN(3) == 0 {
		q.order = pick(r, []string{"asc", "desc"})
	}
	if r.IntN(2) == 0 {
		q.limit = pick(r, []int{0, 1, 2, 5, 10, 50, 1000})
	}
	if r.IntN(3) == 0 {
		q.offset = r.IntN(40)
	}
	return q
}

// randomTime is a time from the data, moved a little, or a date; dates
// stand for midnight UTC.
func randomTime(r *rand.Rand, v *vocabulary) time.Time {
	t := pick(r, v.times)
	switch r.IntN(3) {
	case 0:
		return t
	case 1:
		return t.Add(time.Duration(r.IntN(7200)-3600) * time.Second)
	}
	return t.UTC().Truncate(24 * time.Hour)
}

// encode writes q as query pairs, differently each time: case, spacing,
// repeated and duplicated list items, number spelling, time zones,
// explicit defaults, and parameter order.
func (q *refQuery) encode(r *rand.Rand) [][2]string {
	var out [][2]string
	add := func(k, v string) { out = append(out, [2]string{k, v}) }
	list := func(k string, items []string) {
		if len(items) == 0 {
			return
		}
		items = slices.Clone(items)
		if r.IntN(3) == 0 {
			items = append(items, items[0])
		}
		r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		for len(items) > 0 {
			n := 1 + r.IntN(len(items))
			parts := make([]string, n)
			for i, it := range items[:n] {
				parts[i] = randomCase(r, it)
				if r.IntN(4) == 0 {
					parts[i] = " " + parts[i] + " "
				}
			}
			sep := ","
			if r.IntN(5) == 0 {
				sep = ",,"
			}
			add(k, strings.Join(parts, sep))
			items = items[n:]
		}
	}
	list("language", q.languages)
	list("primary_language", q.primaries)
	list("license", q.licenses)
	list("owner", q.owners)
	list("topic", q.topics)
	if q.name != "" {
		add("name", randomCase(r, q.name))
	}
	if q.q != "" {
		add("q", randomCase(r, q.q))
	}
	for k, b := range q.bools {
		s := pick(r, []string{"true", "TRUE", "True", "1"})
		if !b {
			s = pick(r, []string{"false", "FALSE", "False", "0"})
		}
		add(k, s)
	}
	for k, n := range q.counts {
		add(k, strings.Repeat("0", r.IntN(2))+strconv.FormatInt(n, 10))
	}
	for k, t := range q.times {
		switch {
		case t.Equal(t.UTC().Truncate(24*time.Hour)) && r.IntN(2) == 0:
			add(k, t.UTC().Format(time.DateOnly))
		case r.IntN(2) == 0:
			add(k, t.In(time.FixedZone("", 5*3600+1800)).Format(time.RFC3339Nano))
		default:
			add(k, t.UTC().Format(time.RFC3339))
		}
	}
	sort := q.sort
	if sort == "" && r.IntN(4) == 0 {
		sort = "created"
	}
	if sort != "" {
		add("sort", randomCase(r, sort))
	}
	order := q.order
	if order == "" && r.IntN(4) == 0 {
		order = "desc"
		if strings.EqualFold(q.sort, "name") {
			order = "asc"
		}
	}
	if order != "" {
		add("order", randomCase(r, order))
	}
	if q.limit >= 0 {
		add("limit", strconv.Itoa(q.limit))
	}
	if q.offset > 0 || r.IntN(5) == 0 {
		add("offset", strconv.Itoa(q.offset))
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func pairsOf(kv [][2]string) []string {
	var out []string
	for _, p := range kv {
		out = append(out, p[0], p[1])
	}
	return out
}

// crossCheck compares the Index with the reference on n random queries,
// and checks that two encodings of each query share a canonical form.
func crossCheck(t *testing.T, repos []snapshots.Repository, n int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	v := vocabularyOf(repos, r)
	ix := NewIndex(repos)
	var buf []int32
	selected := 0
	for i := range n {
		rq := randomQuery(r, v)
		enc := rq.encode(r)
		q, p := Parse(pairs(pairsOf(enc)...))
		if p != nil {
			t.Fatalf("query %d %q: %s", i, enc, p.JSON())
		}
		q2, p := Parse(pairs(pairsOf(rq.encode(r))...))
		if p != nil {
			t.Fatalf("query %d again: %s", i, p.JSON())
		}
		if q.Canonical() != q2.Canonical() {
			t.Fatalf("query %d: two encodings, two canonical forms:\n%s\n%s", i, q.Canonical(), q2.Canonical())
		}
		var total int
		buf, total = ix.Select(q, buf)
		want, wantTotal := refSelect(repos, rq)
		if total != wantTotal || !slices.Equal(buf, want) && len(want)+len(buf) > 0 {
			t.Fatalf("query %d %s: Select = %v, %d; reference %v, %d", i, q.Canonical(), buf, total, want, wantTotal)
		}
		got, wantStats := ix.Stats(q), refStats(repos, rq)
		if !reflect.DeepEqual(got, wantStats) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(wantStats)
			t.Fatalf("query %d %s: Stats\n got %s\nwant %s", i, q.Canonical(), g, w)
		}
		if got.Selected != nil && got.Selected.Repositories > 0 {
			selected++
		}
	}
	t.Logf("%d queries, %d with a selected language", n, selected)
}

func TestCrossCheckFixtures(t *testing.T) {
	repos := fixtureRepos(t)
	crossCheck(t, repos, 3000, 2024)
}

func TestCrossCheckSynthetic(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 700} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			crossCheck(t, synthRepos(n, uint64(n)), 1000, uint64(n)+7)
		})
	}
}
