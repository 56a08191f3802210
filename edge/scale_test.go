package edge

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Vocabulary of synthSnapshot, close to the fake GitHub's synthetic mode:
// about 870 bytes of JSON per repository, the same fields filled the same
// way, unicode in descriptions.
var (
	synthHandles   = []string{"alice", "bob", "kenji", "priya", "mateo", "olu", "sven", "lin", "fatima", "diego", "yuki", "chen", "anna", "omar", "codewizard", "pixelpusher", "bytebandit", "devnull", "nightowl", "coffeecoder"}
	synthWords     = []string{"quiet", "rapid", "tiny", "smart", "awesome", "cloud", "rusty", "pixel", "quantum", "solar", "turbo", "zen", "lunar", "magic", "polar", "retro", "cosmic", "tools", "blog", "api", "bot", "app", "wallet", "engine", "notes", "kit", "lab", "hub"}
	synthLanguages = []string{"Python", "JavaScript", "TypeScript", "HTML", "Java", "CSS", "C#", "Shell", "C++", "Jupyter Notebook", "Go", "Rust", "Dockerfile", "C", "PHP", "Vue", "SCSS", "Swift", "Ruby", "Dart", "Kotlin", "Makefile", "CMake", "PowerShell", "R", "Lua", "Zig", "Astro", "Svelte", "Haskell"}
	synthLicenses  = []*snapshots.License{nil, nil, nil, nil, {Key: "mit", SPDXID: "MIT", Name: "MIT License"}, {Key: "mit", SPDXID: "MIT", Name: "MIT License"},
		{Key: "apache-2.0", SPDXID: "Apache-2.0", Name: "Apache License 2.0"}, {Key: "gpl-3.0", SPDXID: "GPL-3.0", Name: "GNU General Public License v3.0"},
		{Key: "bsd-3-clause", SPDXID: "BSD-3-Clause", Name: "BSD 3-Clause \"New\" or \"Revised\" License"}, {Key: "other", SPDXID: "NOASSERTION", Name: "Other"}}
	synthTopics = []string{"data-science", "nextjs", "javascript", "golang", "openai", "android", "rust", "arduino", "hacktoberfest", "kubernetes", "cli", "react", "machine-learning", "docker"}
	synthDescs  = []string{"个人 %s，基于 %s 实现。", "한국어 %s 프로젝트 (%s)", "A <b>small</b> %s written in %s — “fast” & simple", "My %s experiments with %s ☃", "Ein %s für %s: schnell, klein, ünïcode"}
)

// synthSnapshot builds n repositories, newest first, from seed.
func synthSnapshot(n int, seed uint64, at time.Time) *snapshots.Snapshot {
	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	s := &snapshots.Snapshot{GeneratedAt: at, Source: snapshots.Source{API: "https://api.github.com/", Strategy: "search"},
		Repositories: make([]snapshots.Repository, n)}
	for i := range n {
		owner := pick(synthHandles) + strconv.Itoa(100000+r.IntN(900000))
		name := pick(synthWords) + []string{"-", "_", ".", ""}[r.IntN(4)] + pick(synthWords)
		created := at.Add(-time.Duration(i) * 500 * time.Millisecond).Truncate(time.Second)
		repo := snapshots.Repository{
			ID: int64(1_200_000_000 - i), FullName: owner + "/" + name, Owner: owner, Repository: name,
			HTMLURL: "https://github.com/" + owner + "/" + name, CreatedAt: created, UpdatedAt: created,
			PushedAt: created.Add(time.Duration(r.IntN(3600)) * time.Second), LanguagesStatus: snapshots.LanguagesOK,
			License: synthLicenses[r.IntN(len(synthLicenses))], Topics: []string{},
			Fork: r.IntN(10) == 0, Archived: r.IntN(50) == 0, IsTemplate: r.IntN(100) == 0, AllowForking: r.IntN(10) != 0,
			Visibility: "public", HasIssues: true, HasProjects: r.IntN(3) != 0, HasDownloads: true, HasWiki: r.IntN(4) == 0,
			HasPages: r.IntN(20) == 0, HasDiscussions: r.IntN(30) == 0, OpenIssuesCount: int(r.ExpFloat64() * 2),
			StargazersCount: int(r.ExpFloat64() * r.ExpFloat64() * 5), ForksCount: int(r.ExpFloat64()), Size: int(r.ExpFloat64() * 5000),
			DefaultBranch: []string{"main", "main", "master", "dev"}[r.IntN(4)],
		}
		repo.WatchersCount = repo.StargazersCount
		if r.IntN(4) != 0 {
			d := fmt.Sprintf(pick(synthDescs), pick(synthWords), pick(synthLanguages))
			repo.Description = &d
		}
		if r.IntN(8) == 0 {
			h := "https://" + owner + ".github.io/" + name
			repo.Homepage = &h
		}
		switch {
		case r.IntN(12) == 0:
			repo.LanguagesStatus = snapshots.LanguagesPending
		case r.IntN(10) == 0: // an empty repository
			repo.Languages = map[string]snapshots.Language{}
		default:
			repo.Languages = map[string]snapshots.Language{}
			for range 1 + r.IntN(4) {
				l := pick(synthLanguages)
				repo.Languages[snapshots.LanguageKey(l)] = snapshots.Language{Name: l, Bytes: int64(1 + r.IntN(800000))}
			}
			for _, l := range repo.Languages {
				repo.Language = &l.Name
				break
			}
		}
		for range r.IntN(4) {
			repo.Topics = append(repo.Topics, pick(synthTopics))
		}
		s.Repositories[i] = repo
	}
	return s
}

// scaleQueries are filtered queries, each different, that select many
// repositories: the kind no cache can help with.
func scaleQuery(k kind, i int) string {
	langs := []string{"python", "javascript", "typescript", "go", "rust", "java", "c%2B%2B", "shell"}
	sorts := []string{"created", "pushed", "stars", "forks", "size", "name"}
	if k == kindStats {
		return "/stats?language=" + langs[i%len(langs)] + "&max_stars=" + strconv.Itoa(1_000_000+i)
	}
	return "/repos?language=" + langs[i%len(langs)] + "&sort=" + sorts[i/len(langs)%len(sorts)] +
		"&limit=" + strconv.Itoa(50+i%51) + "&max_stars=" + strconv.Itoa(1_000_000+i)
}

// rssBytes reads the resident set size and its peak since resetPeakRSS.
func rssBytes() (rss, peak int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			peak = v << 10
		}
	}
	return rss, peak
}

// resetPeakRSS starts VmHWM afresh (Linux 4.0 and later).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// BenchmarkScale loads synthetic snapshots of 100, 10,000 and 100,000
// repositories from a directory store, as an edge does (fetch, verify,
// decode, index, precompute), and then times filtered /repos and /stats
// answers that no cache has seen. load reports the memory the loaded
// edition holds (heap-MB), the process's resident set after the load
// (rss-MB) and its peak during it (peak-rss-MB).
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{100, 10_000, 100_000} {
		b.Run("repos="+strconv.Itoa(n), func(b *testing.B) {
			st := newStore(b)
			m := publish(b, st, synthSnapshot(n, 1, t0))
			b.Run("load", func(b *testing.B) {
				// Each load starts with the memory of the one before
				// given back to the system (cold), as after a start;
				// then one more with it kept by the Go heap (warm), as
				// when an edge loads one publication after another.
				debug.FreeOSMemory()
				base := heapInuse()
				var held *edition
				var cold, warm time.Duration
				var rss, peak int64
				load := func() time.Duration {
					start := time.Now()
					mm, l, err := newFollower(st).Next(context.Background())
					if err != nil || mm == nil || mm.Version != m.Version {
						b.Fatalf("load: %v", err)
					}
					if held, err = buildEdition(mm, l, 64<<20); err != nil {
						b.Fatal(err)
					}
					return time.Since(start)
				}
				for b.Loop() {
					held = nil
					debug.FreeOSMemory()
					resetPeakRSS()
					cold = load()
					_, peak = rssBytes()
					waitBackground(held)
					debug.FreeOSMemory()
					rss, _ = rssBytes()
				}
				b.StopTimer()
				heap := heapInuse() - base
				held = nil
				runtime.GC()
				warm = load()
				// Its compression in the background would otherwise hold
				// this edition into the next -count, counted there.
				waitBackground(held)
				b.ReportMetric(float64(cold.Milliseconds()), "load-ms")
				b.ReportMetric(float64(warm.Milliseconds()), "warm-load-ms")
				b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
				b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
				b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
				runtime.KeepAlive(held)
			})
			s, err := New(Config{Logger: quietLogger()}, st)
			if err != nil {
				b.Fatal(err)
			}
			if !s.poll(context.Background(), newFollower(st)) || s.current.Load() == nil {
				b.Fatal("poll failed")
			}
			h := s.Handler()
			for _, k := range []kind{kindRepos, kindStats} {
				for _, ae := range []string{"gzip", ""} {
					name := "filtered-" + kindNames[k] + "-" + cmpOr(ae, "identity")
					b.Run(name, func(b *testing.B) {
						ctx := new(fasthttp.RequestCtx)
						req := &ctx.Request
						if ae != "" {
							req.Header.Set(fasthttp.HeaderAcceptEncoding, ae)
						}
						var body int
						i := 0
						for b.Loop() {
							i++
							req.SetRequestURI(scaleQuery(k, i))
							ctx.Response.Reset()
							h(ctx)
							if ctx.Response.StatusCode() != 200 {
								b.Fatalf("%s: %d %s", req.URI(), ctx.Response.StatusCode(), ctx.Response.Body())
							}
							body += len(ctx.Response.Body())
						}
						b.ReportMetric(float64(body)/float64(i), "body-bytes")
					})
				}
			}
		})
	}
}

// waitBackground waits for what a large edition builds after it is
// served: the gzip fragments and the compressed unfiltered answers.
func waitBackground(e *edition) {
	for e.gz.Load() == nil || e.static[kindRepos][encGzip].Load() == nil || e.static[kindRepos][encZstd].Load() == nil {
		time.Sleep(time.Millisecond)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
