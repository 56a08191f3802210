package filters

import (
	"fmt"
	"sync"
	"testing"

	"github.com/freshrepos/freshrepos/snapshots"
)

var benchSizes = []int{100, 100_000}

var (
	benchMu      sync.Mutex
	benchRepos   = map[int][]snapshots.Repository{}
	benchIndexes = map[int]*Index{}
)

// benchIndex builds the synthetic snapshot of n repositories once.
func benchIndex(n int) *Index {
	benchMu.Lock()
	defer benchMu.Unlock()
	if ix, ok := benchIndexes[n]; ok {
		return ix
	}
	benchRepos[n] = synthRepos(n, 42)
	benchIndexes[n] = NewIndex(benchRepos[n])
	return benchIndexes[n]
}

// The synthetic snapshot starts at 2024-03-01 and goes back about a minute
// a repository, so a day is about 1,400 of them.
var benchQueries = []struct{ name, raw string }{
	{"all", ""},
	{"page", "limit=100"},
	{"language", "language=python&limit=100"},
	{"language_by_stars", "language=python&sort=stars&limit=50"},
	{"two_languages_all", "language=go,rust"},
	{"owner", "owner=user7"},
	{"owner_wide_range", "owner=user7&created_before=2024-02-25"},
	{"bools_range", "fork=false&archived=false&min_stars=3&sort=pushed&limit=100"},
	{"last_day", "created_after=2024-02-29&limit=100"},
	{"q", "q=web&limit=100"},
	{"q_all_by_name", "q=a&sort=name"},
	{"offset_deep", "license=mit&offset=5000&limit=100"},
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range benchSizes {
		ix := benchIndex(n)
		for _, bq := range benchQueries {
			b.Run(fmt.Sprintf("n=%d/%s", n, bq.name), func(b *testing.B) {
				q := mustParse(b, bq.raw)
				buf := make([]int32, 0, n)
				var total int
				b.ReportAllocs()
				for b.Loop() {
					buf, total = ix.Select(q, buf)
				}
				b.ReportMetric(float64(total), "matches")
			})
		}
	}
}

var benchStatsQueries = []struct{ name, raw string }{
	{"all", ""},
	{"language", "language=python"},
	{"license_bool", "license=mit&fork=false"},
	{"q", "q=web"},
	{"owner", "owner=user7"},
	{"last_day", "created_after=2024-02-29"},
}

func BenchmarkStats(b *testing.B) {
	for _, n := range benchSizes {
		ix := benchIndex(n)
		for _, bq := range benchStatsQueries {
			b.Run(fmt.Sprintf("n=%d/%s", n, bq.name), func(b *testing.B) {
				q := mustParse(b, bq.raw)
				b.ReportAllocs()
				for b.Loop() {
					ix.Stats(q)
				}
			})
		}
	}
}

func BenchmarkParseCanonical(b *testing.B) {
	for _, bq := range []struct{ name, raw string }{
		{"empty", ""},
		{"typical", "language=Python&sort=stars&limit=50"},
		{"many", "language=Python,go&license=mit&fork=false&min_stars=10&created_after=2024-01-01&sort=stars&order=asc&limit=50&offset=50&fields=id,full_name"},
		{"invalid", "lang=python&limit=5000"},
	} {
		b.Run(bq.name, func(b *testing.B) {
			var args [][2][]byte
			for k, v := range rawArgs(bq.raw) {
				args = append(args, [2][]byte{k, v})
			}
			seq := func(yield func([]byte, []byte) bool) {
				for _, a := range args {
					if !yield(a[0], a[1]) {
						return
					}
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if q, _ := Parse(seq); q != nil {
					_ = q.Canonical()
				}
			}
		})
	}
}

func BenchmarkNewIndex(b *testing.B) {
	for _, n := range benchSizes {
		repos := synthRepos(n, 42)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NewIndex(repos)
			}
		})
	}
}
