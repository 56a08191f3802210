package fakegithub

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// synth is an endless stream of public repositories: repository k has id baseID+k and was created
// at epoch + k/rate. Nothing is stored; every field is a hash of the seed and k (and, for what a
// push changes, of the number of pushes so far), so memory stays flat however many exist and a
// created: range maps straight to a range of k.
type synth struct {
	seed      uint64
	epoch     time.Time
	nsPer     float64 // nanoseconds between two creations
	scanLimit int
}

const (
	baseID      = 740_000_000 // about where GitHub's repository ids stood at the start of 2024
	ownerBaseID = 150_000_000
	// An owner's repositories are its first one, k == owner, and some of the next ownerWindow;
	// stemCount, a prime above ownerWindow, makes their names distinct.
	ownerWindow = 2000
	stemCount   = 2003
	stemStep    = 757
)

// Hash salts, one per independent choice.
const (
	saltOwner uint64 = iota + 1
	saltOwnerBack
	saltLogin
	saltOrg
	saltStem
	saltFork
	saltDesc
	saltHome
	saltStars
	saltForks
	saltIssues
	saltSize
	saltEmpty
	saltPush
	saltFlags
	saltLicense
	saltTopics
	saltBranch
	saltLangSet
	saltLangBytes
	saltBest
	saltVanish
)

func newSynth(cfg Config) *synth {
	return &synth{seed: cfg.Seed, epoch: cfg.Epoch, nsPer: 1e9 / cfg.Rate, scanLimit: cfg.SearchScanLimit}
}

func (g *synth) h(k int64, salt uint64) uint64 { return hash3(g.seed, uint64(k), salt) }

func (g *synth) createdAt(k int64) time.Time {
	return g.epoch.Add(time.Duration(float64(k) * g.nsPer))
}

// firstAt is the smallest k created at or after t.
func (g *synth) firstAt(t time.Time) int64 {
	if !t.After(g.epoch) {
		return 0
	}
	// Far enough for any clock, near enough that the arithmetic stays within a Duration.
	if horizon := g.epoch.AddDate(100, 0, 0); t.After(horizon) {
		t = horizon
	}
	k := int64(math.Ceil(float64(t.Sub(g.epoch)) / g.nsPer))
	for k > 0 && !g.createdAt(k-1).Before(t) {
		k--
	}
	for g.createdAt(k).Before(t) {
		k++
	}
	return k
}

// count is how many repositories exist at now.
func (g *synth) count(now time.Time) int64 { return g.firstAt(now.Add(1)) }

// Forks: exactly one in each block of ten consecutive repositories, at a hashed position, so
// that counting the non-forks of any range takes constant time.
func (g *synth) forkAt(block int64) int64 { return int64(g.h(block, saltFork) % 10) }

func (g *synth) isFork(k int64) bool { return k%10 == g.forkAt(k/10) }

// matchesBefore counts the repositories in [0, x) that mode lets through.
func (g *synth) matchesBefore(x int64, mode forkMode) int64 {
	forks := x / 10
	if x%10 > g.forkAt(x/10) {
		forks++
	}
	switch mode {
	case forksExcluded:
		return x - forks
	case forksOnly:
		return forks
	}
	return x
}

// selectMatch is the i-th repository at or after a that mode lets through.
func (g *synth) selectMatch(a, i int64, mode forkMode) int64 {
	base := g.matchesBefore(a, mode)
	lo, hi := a, a+10*(i+2)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if g.matchesBefore(mid+1, mode)-base > i {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (g *synth) search(q *query, now time.Time, offset, limit int) searchPage {
	if q.none {
		return searchPage{}
	}
	a, b := int64(0), g.count(now)
	if !q.lo.IsZero() {
		a = max(a, g.firstAt(q.lo))
	}
	if !q.hi.IsZero() {
		b = min(b, g.firstAt(q.hi))
	}
	if a >= b {
		return searchPage{}
	}
	bestKey := g.seed ^ saltBest
	if len(q.words) == 0 && q.sort == "" {
		// Best match over any range without looking at each repository.
		total := g.matchesBefore(b, q.forks) - g.matchesBefore(a, q.forks)
		lo, hi := window(int(total), offset, limit)
		refs := make([]int64, 0, hi-lo)
		for p := lo; p < hi; p++ {
			i := permute(uint64(p), uint64(total), bestKey)
			refs = append(refs, g.selectMatch(a, int64(i), q.forks))
		}
		return searchPage{total: int(total), refs: refs}
	}
	page := searchPage{}
	exact := g.matchesBefore(b, q.forks) - g.matchesBefore(a, q.forks)
	if b-a > int64(g.scanLimit) {
		a, page.incomplete = b-int64(g.scanLimit), true
	}
	var rs []ranked
	for k := a; k < b; k++ {
		if !q.matchForks(g.isFork(k)) {
			continue
		}
		if len(q.words) > 0 {
			desc, _ := g.description(k)
			if !q.matchText(g.name(k, g.ownerOf(k)), desc) {
				continue
			}
		}
		rs = append(rs, ranked{key: g.sortKey(k, q.sort, now), id: baseID + k, ref: k})
	}
	page.total = len(rs)
	if len(q.words) == 0 {
		page.total = int(exact) // counting needs no scan; only the ranking was cut short
	}
	lo, hi := window(len(rs), offset, limit)
	if q.sort == "" {
		for p := lo; p < hi; p++ {
			page.refs = append(page.refs, rs[permute(uint64(p), uint64(len(rs)), bestKey)].ref)
		}
		return page
	}
	sortRanked(rs, q.asc)
	for _, r := range rs[lo:hi] {
		page.refs = append(page.refs, r.ref)
	}
	return page
}

func (g *synth) sortKey(k int64, by string, now time.Time) int64 {
	switch by {
	case "stars":
		return g.stars(k)
	case "forks":
		return g.forksCount(k)
	case "updated":
		return g.pushedAt(k, now).Unix()
	}
	return 0
}

func (g *synth) since(id int64, now time.Time, limit int) []int64 {
	k0 := max(0, id-baseID+1)
	n := g.count(now)
	var refs []int64
	for k := k0; k < n && len(refs) < limit; k++ {
		refs = append(refs, k)
	}
	return refs
}

func (g *synth) id(k int64) int64 { return baseID + k }

func (g *synth) lookup(owner, name string, now time.Time) (int64, bool) {
	o, ok := parseLogin(owner)
	if !ok || o < 0 || g.ownerOf(o) != o || !strings.EqualFold(g.login(o), owner) {
		return 0, false
	}
	t := stemTable()
	idx, ok := t.index[strings.ToLower(name)]
	if !ok {
		return 0, false
	}
	d := (idx - g.stemBase(o) + stemCount) % stemCount * t.stepInverse % stemCount
	k := o + d
	if d > ownerWindow || k >= g.count(now) || g.ownerOf(k) != o {
		return 0, false
	}
	return k, true
}

// Owners.

// ownerOf is the first repository of k's owner: k itself for a new owner, else an earlier
// repository within ownerWindow whose owner was new.
func (g *synth) ownerOf(k int64) int64 {
	if k == 0 || g.h(k, saltOwner)%100 < 60 {
		return k
	}
	j := k - 1 - int64(g.h(k, saltOwnerBack)%ownerWindow)
	if j < 0 || (j != 0 && g.h(j, saltOwner)%100 >= 60) {
		return k
	}
	return j
}

func (g *synth) isOrg(o int64) bool { return g.h(o, saltOrg)%100 < 20 }

// login embeds the owner's number (decimal after a word, or base 36 after the last hyphen) so
// that /repos/{owner}/{repo} can be answered without an index.
func (g *synth) login(o int64) string {
	h := g.h(o, saltLogin)
	b36 := strconv.FormatInt(o, 36)
	if g.isOrg(o) {
		w := orgWords[h%uint64(len(orgWords))] + "-" + orgSuffixes[(h>>8)%uint64(len(orgSuffixes))]
		if h>>20&1 == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		return w + "-" + b36
	}
	w := handles[h%uint64(len(handles))]
	switch (h >> 16) % 4 {
	case 0:
		return w + strconv.FormatInt(o, 10)
	case 1:
		return strings.ToUpper(w[:1]) + w[1:] + "-" + b36
	case 2:
		return w + "-" + b36
	default:
		return w + "dev" + strconv.FormatInt(o, 10)
	}
}

func parseLogin(login string) (int64, bool) {
	if i := strings.LastIndexByte(login, '-'); i >= 0 {
		v, err := strconv.ParseInt(strings.ToLower(login[i+1:]), 36, 64)
		return v, err == nil
	}
	j := len(login)
	for j > 0 && login[j-1] >= '0' && login[j-1] <= '9' {
		j--
	}
	v, err := strconv.ParseInt(login[j:], 10, 64)
	return v, err == nil
}

func (g *synth) ownerJSON(o int64, login string) []byte {
	id := ownerBaseID + o
	typ, prefix := "User", "U"
	if g.isOrg(o) {
		typ, prefix = "Organization", "O"
	}
	api := "https://api.github.com/users/" + login
	var w objWriter
	w.open()
	w.str("login", login)
	w.int("id", id)
	w.str("node_id", nodeID(prefix, id))
	w.str("avatar_url", "https://avatars.githubusercontent.com/u/"+itoa(id)+"?v=4")
	w.str("gravatar_id", "")
	w.str("url", api)
	w.str("html_url", "https://github.com/"+login)
	w.str("followers_url", api+"/followers")
	w.str("following_url", api+"/following{/other_user}")
	w.str("gists_url", api+"/gists{/gist_id}")
	w.str("starred_url", api+"/starred{/owner}{/repo}")
	w.str("subscriptions_url", api+"/subscriptions")
	w.str("organizations_url", api+"/orgs")
	w.str("repos_url", api+"/repos")
	w.str("events_url", api+"/events{/privacy}")
	w.str("received_events_url", api+"/received_events")
	w.str("type", typ)
	w.bool("site_admin", false)
	return w.close()
}

// Repository names.

func (g *synth) stemBase(o int64) int64 { return int64(g.h(o, saltStem) % stemCount) }

func (g *synth) name(k, o int64) string {
	return stemTable().names[(g.stemBase(o)+(k-o)*stemStep)%stemCount]
}

type stems struct {
	names       []string
	index       map[string]int64 // lower-case name → position
	stepInverse int64
}

// stemTable is built once: stemCount distinct (case-insensitively) repository names in the
// styles people use.
var stemTable = sync.OnceValue(func() *stems {
	t := &stems{index: map[string]int64{}}
	add := func(s string) {
		if len(t.names) < stemCount {
			if _, dup := t.index[strings.ToLower(s)]; !dup {
				t.index[strings.ToLower(s)] = int64(len(t.names))
				t.names = append(t.names, s)
			}
		}
	}
	for _, s := range specialNames {
		add(s)
	}
	for i, n := range nouns {
		for j, a := range adjectives {
			switch (i + j) % 6 {
			case 0, 1:
				add(a + "-" + n)
			case 2:
				add(a + "_" + n)
			case 3:
				add(strings.ToUpper(a[:1]) + a[1:] + strings.ToUpper(n[:1]) + n[1:])
			case 4:
				add(a + n)
			default:
				add(a + "." + n)
			}
		}
	}
	if len(t.names) != stemCount {
		panic("fakegithub: not enough distinct repository names")
	}
	// stemStep's inverse modulo the prime stemCount, by Fermat: step^(p-2).
	inv, b, e := int64(1), int64(stemStep), int64(stemCount-2)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			inv = inv * b % stemCount
		}
		b = b * b % stemCount
	}
	t.stepInverse = inv
	return t
})

// Repository fields.

func pick[T any](h uint64, items []T) T { return items[h%uint64(len(items))] }

// weighted picks an index with probability proportional to its weight.
func weighted(h uint64, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := int(h % uint64(total))
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *synth) description(k int64) (string, bool) {
	h := g.h(k, saltDesc)
	if h%100 < 28 {
		return "", false
	}
	h >>= 8
	s := pick(h, descriptions)
	s = strings.ReplaceAll(s, "{noun}", pick(h>>8, nouns))
	s = strings.ReplaceAll(s, "{lang}", languageNames[weighted(h>>16, languageWeights)])
	return s, true
}

func (g *synth) stars(k int64) int64 {
	h := g.h(k, saltStars)
	switch u := unit(h); {
	case u < 0.62:
		return 0
	case u < 0.85:
		return 1 + int64(h%3)
	case u < 0.96:
		return 3 + int64(h%40)
	case u < 0.995:
		return 40 + int64(h%900)
	default:
		return 1000 + int64(h%40000)
	}
}

func (g *synth) forksCount(k int64) int64 {
	h := g.h(k, saltForks)
	if s := g.stars(k); s > 0 {
		return int64(h % uint64(s/4+2))
	}
	if h%100 < 5 {
		return 1
	}
	return 0
}

func (g *synth) empty(k int64) bool { return g.h(k, saltEmpty)%100 < 12 }

// pushPeriod is how often k gets pushed to after its creation (0: never).
func (g *synth) pushPeriod(k int64) time.Duration {
	h := g.h(k, saltPush)
	if g.empty(k) || h%100 >= 25 {
		return 0
	}
	return pick(h>>8, []time.Duration{90 * time.Second, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour})
}

func (g *synth) pushes(k int64, now time.Time) int64 {
	p := g.pushPeriod(k)
	if p == 0 {
		return 0
	}
	return max(0, int64(now.Sub(g.createdAt(k))/p))
}

func (g *synth) pushedAt(k int64, now time.Time) time.Time {
	return g.createdAt(k).Add(time.Duration(g.pushes(k, now)) * g.pushPeriod(k)).UTC().Truncate(time.Second)
}

type langBytes struct {
	name  string
	bytes int64
}

// langs is the language breakdown after the given number of pushes: which languages is fixed
// per repository, how many bytes of each changes with every push.
func (g *synth) langs(k, pushes int64) []langBytes {
	if g.empty(k) {
		return nil
	}
	hs := g.h(k, saltLangSet)
	n := 1 + weighted(hs, []int{35, 25, 20, 10, 5, 3, 2})
	hb := hash3(g.seed^mix(uint64(pushes)+1), uint64(k), saltLangBytes)
	var out []langBytes
	for i := uint64(0); len(out) < n && i < 40; i++ {
		name := languageNames[weighted(mix(hs+i), languageWeights)]
		if slices.ContainsFunc(out, func(l langBytes) bool { return l.name == name }) {
			continue
		}
		scale := uint64(2_000_000) >> min(uint64(len(out))*3, 20)
		out = append(out, langBytes{name, 1 + int64(mix(hb+i)%scale)})
	}
	slices.SortFunc(out, func(a, b langBytes) int {
		if a.bytes != b.bytes {
			if a.bytes > b.bytes {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

func (g *synth) languages(k int64, now time.Time) []byte {
	var w objWriter
	w.open()
	for _, l := range g.langs(k, g.pushes(k, now)) {
		w.int(l.name, l.bytes)
	}
	return w.close()
}

func (g *synth) object(k int64, now time.Time) []byte {
	id := baseID + k
	o := g.ownerOf(k)
	login := g.login(o)
	name := g.name(k, o)
	full := login + "/" + name
	api := "https://api.github.com/repos/" + full
	html := "https://github.com/" + full
	pushes := g.pushes(k, now)
	langs := g.langs(k, pushes)
	pushed := g.pushedAt(k, now).Format(time.RFC3339)
	fl := g.h(k, saltFlags)
	flag := func(bit uint, percent uint64) bool { return (fl>>(bit*7))%100 < percent }
	stars, forks := g.stars(k), g.forksCount(k)
	issues := int64(0)
	if hi := g.h(k, saltIssues); hi%100 >= 80 {
		issues = int64(hi >> 8 % 12)
	}
	size := int64(0)
	if !g.empty(k) {
		hs := g.h(k, saltSize)
		size = 1 + int64(hs%(1<<(6+hs>>8%14))) + pushes*int64(hs>>32%50)
	}

	w := objWriter{b: make([]byte, 0, 6<<10)}
	w.open()
	w.int("id", id)
	w.str("node_id", nodeID("R", id))
	w.str("name", name)
	w.str("full_name", full)
	w.bool("private", false)
	w.raw("owner", g.ownerJSON(o, login))
	w.str("html_url", html)
	if d, ok := g.description(k); ok {
		w.str("description", d)
	} else {
		w.null("description")
	}
	w.bool("fork", g.isFork(k))
	w.str("url", api)
	for _, u := range repoURLs {
		w.str(u.key, api+u.suffix)
	}
	w.str("created_at", g.createdAt(k).UTC().Truncate(time.Second).Format(time.RFC3339))
	w.str("updated_at", pushed)
	w.str("pushed_at", pushed)
	w.str("git_url", "git://github.com/"+full+".git")
	w.str("ssh_url", "git@github.com:"+full+".git")
	w.str("clone_url", html+".git")
	w.str("svn_url", html)
	switch hh := g.h(k, saltHome); {
	case hh%100 < 55:
		w.null("homepage")
	case hh%100 < 85:
		w.str("homepage", "")
	case hh%100 < 93:
		w.str("homepage", "https://"+strings.ToLower(login)+".github.io/"+name)
	default:
		w.str("homepage", "https://"+strings.ToLower(name)+".vercel.app")
	}
	w.int("size", size)
	w.int("stargazers_count", stars)
	w.int("watchers_count", stars)
	if len(langs) == 0 {
		w.null("language")
	} else {
		w.str("language", langs[0].name)
	}
	w.bool("has_issues", !flag(0, 3))
	w.bool("has_projects", !flag(1, 5))
	w.bool("has_downloads", true)
	w.bool("has_wiki", !flag(2, 10))
	w.bool("has_pages", flag(3, 6))
	w.bool("has_discussions", flag(4, 4))
	w.int("forks_count", forks)
	w.null("mirror_url")
	w.bool("archived", flag(5, 2))
	w.bool("disabled", false)
	w.int("open_issues_count", issues)
	if l := licenses[weighted(g.h(k, saltLicense), licenseWeights)]; l == "" {
		w.null("license")
	} else {
		w.raw("license", []byte(l))
	}
	w.bool("allow_forking", true)
	w.bool("is_template", flag(6, 1))
	w.bool("web_commit_signoff_required", false)
	w.strings("topics", g.topics(k))
	w.str("visibility", "public")
	w.int("forks", forks)
	w.int("open_issues", issues)
	w.int("watchers", stars)
	w.str("default_branch", branches[weighted(g.h(k, saltBranch), branchWeights)])
	w.raw("score", []byte("1.0"))
	return w.close()
}

func (g *synth) topics(k int64) []string {
	h := g.h(k, saltTopics)
	if h%100 < 78 {
		return []string{}
	}
	n := 1 + int(h>>8%5)
	var out []string
	for i := uint64(0); len(out) < n; i++ {
		t := pick(mix(h+i), topicNames)
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
