package filters

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Index answers queries over one snapshot. NewIndex does the sorting and
// grouping once — posting lists per language, owner, topic and license, a
// bitset per boolean, every sort order as a permutation with its inverse —
// so that a query costs a few passes over n/64 bitset words plus about
// what it matches. The substrings name and q are the exception: they are
// tested on each repository the other parameters leave. An Index is
// read-only and safe for concurrent use.
type Index struct {
	n     int
	words int // uint64 words in a bitset of n bits

	ids     []int64
	cols    [numCols][]int64
	created []instant
	pushed  []instant
	bools   [numBools]bitset

	// text holds, per repository, its lower-case full_name, then a NUL and
	// the description if any, then a NUL and each topic: one substring
	// search per repository for q, a prefix of it for name.
	text      string
	textStart []int // n+1 offsets
	nameEnd   []int

	langs     []langInfo
	langID    map[string]int32
	langStart []int32 // n+1 offsets into langIDs and langBytes
	langIDs   []int32
	langBytes []int64
	primaryOf []int32 // lang id, or -1

	owners map[string][]int32

	topics     []string // sorted, so a topic id orders like its name
	topicID    map[string]int32
	topicRepos [][]int32
	topicStart []int32 // n+1 offsets into topicIDs
	topicIDs   []int32

	licVariants []licVariant
	licKeys     []licKey
	licOf       []int32 // index into licKeys, or -1
	noLicense   []int32

	// perm[s] lists positions by ascending (key, id, position) of sort s;
	// rank[s] is its inverse.
	perm [numSorts][]int32
	rank [numSorts][]int32

	bitsets sync.Pool // *bitset of words words, contents undefined
	scratch sync.Pool // *topicScratch
}

// Columns of counts.
const (
	colStars = iota
	colForks
	colSize
	colIssues
	numCols
)

// countCol is the column each count slot bounds.
var countCol = [numCounts]int{colStars, colStars, colForks, colForks, colSize, colSize, colIssues}

type langInfo struct {
	key, name string
	repos     []int32 // ascending positions whose languages include it
	primary   []int32 // ascending positions whose primary language it is
	byBytes   []int32 // repos by ascending (bytes, position)
	bytes     []int64 // the bytes of byBytes
}

// licVariant is one (key, SPDX id) pair, both lower-case: what license
// values match against.
type licVariant struct {
	key, spdx string
	repos     []int32
}

// licKey is what statistics group by.
type licKey struct {
	key, name string
}

type bitset []uint64

func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) unset(i int32)    { b[i>>6] &^= 1 << (uint(i) & 63) }

// NewIndex indexes repos, which it does not retain; positions returned by
// Select are indices into it. Repositories need not be in any order.
func NewIndex(repos []snapshots.Repository) *Index {
	n := len(repos)
	if n > math.MaxInt32 {
		panic("filters: too many repositories")
	}
	ix := &Index{n: n, words: (n + 63) / 64}
	ix.bitsets.New = func() any { b := make(bitset, ix.words); return &b }
	ix.ids = make([]int64, n)
	for c := range ix.cols {
		ix.cols[c] = make([]int64, n)
	}
	ix.created = make([]instant, n)
	ix.pushed = make([]instant, n)
	for b := range ix.bools {
		ix.bools[b] = make(bitset, ix.words)
	}
	ix.textStart = make([]int, n+1)
	ix.nameEnd = make([]int, n)
	ix.langID = map[string]int32{}
	ix.langStart = make([]int32, n+1)
	ix.primaryOf = make([]int32, n)
	ix.owners = map[string][]int32{}
	ix.licOf = make([]int32, n)

	var (
		text       strings.Builder
		langNamed  []uint8 // per lang id: 0 unnamed, 1 named by a primary language, 2 by a languages map
		langPairs  [][]posBytes
		keys       []string
		topicNames []string // per repository, deduplicated, flat
		topicEnd   = make([]int32, n)
		licKeyIdx  = map[string]int32{}
		variantIdx = map[[2]string]int32{}
	)
	lang := func(key string) int32 {
		id, ok := ix.langID[key]
		if !ok {
			id = int32(len(ix.langs))
			ix.langID[key] = id
			ix.langs = append(ix.langs, langInfo{key: key})
			langNamed = append(langNamed, 0)
			langPairs = append(langPairs, nil)
		}
		return id
	}
	for i := range repos {
		r, pos := &repos[i], int32(i)
		ix.ids[i] = r.ID
		ix.cols[colStars][i] = int64(r.StargazersCount)
		ix.cols[colForks][i] = int64(r.ForksCount)
		ix.cols[colSize][i] = int64(r.Size)
		ix.cols[colIssues][i] = int64(r.OpenIssuesCount)
		ix.created[i] = instantOf(r.CreatedAt)
		ix.pushed[i] = instantOf(r.PushedAt)
		for slot, v := range [numBools]bool{
			boolOpenIssues: r.OpenIssuesCount > 0, boolAllowForking: r.AllowForking,
			boolFork: r.Fork, boolArchived: r.Archived, boolIsTemplate: r.IsTemplate,
			boolHasIssues: r.HasIssues, boolHasProjects: r.HasProjects,
			boolHasDownloads: r.HasDownloads, boolHasWiki: r.HasWiki,
			boolHasPages: r.HasPages, boolHasDiscussions: r.HasDiscussions,
		} {
			if v {
				ix.bools[slot].set(pos)
			}
		}

		ix.textStart[i] = text.Len()
		text.WriteString(strings.ToLower(r.FullName))
		ix.nameEnd[i] = text.Len()
		if r.Description != nil {
			text.WriteByte(0)
			text.WriteString(strings.ToLower(*r.Description))
		}
		start := len(topicNames)
		for _, t := range r.Topics {
			t = strings.ToLower(t)
			text.WriteByte(0)
			text.WriteString(t)
			if !slices.Contains(topicNames[start:], t) {
				topicNames = append(topicNames, t)
			}
		}
		topicEnd[i] = int32(len(topicNames))

		// Map order is random; sorted keys make the index deterministic.
		keys = keys[:0]
		for k := range r.Languages {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			l := r.Languages[k]
			id := lang(k)
			if langNamed[id] < 2 {
				ix.langs[id].name, langNamed[id] = l.Name, 2
			}
			ix.langs[id].repos = append(ix.langs[id].repos, pos)
			langPairs[id] = append(langPairs[id], posBytes{l.Bytes, pos})
			ix.langIDs = append(ix.langIDs, id)
			ix.langBytes = append(ix.langBytes, l.Bytes)
		}
		ix.langStart[i+1] = int32(len(ix.langIDs))

		ix.primaryOf[i] = -1
		if r.Language != nil {
			id := lang(snapshots.LanguageKey(*r.Language))
			if langNamed[id] == 0 {
				ix.langs[id].name, langNamed[id] = *r.Language, 1
			}
			ix.langs[id].primary = append(ix.langs[id].primary, pos)
			ix.primaryOf[i] = id
		}

		owner := strings.ToLower(r.Owner)
		ix.owners[owner] = append(ix.owners[owner], pos)

		ix.licOf[i] = -1
		if r.License == nil {
			ix.noLicense = append(ix.noLicense, pos)
		} else {
			key, spdx := strings.ToLower(r.License.Key), strings.ToLower(r.License.SPDXID)
			k, ok := licKeyIdx[key]
			if !ok {
				k = int32(len(ix.licKeys))
				licKeyIdx[key] = k
				ix.licKeys = append(ix.licKeys, licKey{key, r.License.Name})
			}
			ix.licOf[i] = k
			v, ok := variantIdx[[2]string{key, spdx}]
			if !ok {
				v = int32(len(ix.licVariants))
				variantIdx[[2]string{key, spdx}] = v
				ix.licVariants = append(ix.licVariants, licVariant{key: key, spdx: spdx})
			}
			ix.licVariants[v].repos = append(ix.licVariants[v].repos, pos)
		}
	}
	ix.textStart[n] = text.Len()
	ix.text = text.String()

	for id, pairs := range langPairs {
		slices.SortFunc(pairs, func(a, b posBytes) int {
			return cmp.Or(cmp.Compare(a.bytes, b.bytes), cmp.Compare(a.pos, b.pos))
		})
		l := &ix.langs[id]
		l.byBytes = make([]int32, len(pairs))
		l.bytes = make([]int64, len(pairs))
		for j, p := range pairs {
			l.byBytes[j], l.bytes[j] = p.pos, p.bytes
		}
	}

	ix.indexTopics(topicNames, topicEnd)
	ix.scratch.New = func() any { return &topicScratch{counts: make([]int32, len(ix.topics))} }

	for s := range numSorts {
		ix.perm[s], ix.rank[s] = ix.order(sortKey(s))
	}
	return ix
}

type posBytes struct {
	bytes int64
	pos   int32
}

// indexTopics numbers topics in name order, so that ties in topic counts
// break by name without comparing strings.
func (ix *Index) indexTopics(names []string, end []int32) {
	ix.topics = slices.Clone(names)
	slices.Sort(ix.topics)
	ix.topics = slices.Compact(ix.topics)
	ix.topicID = make(map[string]int32, len(ix.topics))
	for id, t := range ix.topics {
		ix.topicID[t] = int32(id)
	}
	ix.topicRepos = make([][]int32, len(ix.topics))
	ix.topicStart = make([]int32, ix.n+1)
	ix.topicIDs = make([]int32, len(names))
	start := int32(0)
	for i := range ix.n {
		ix.topicStart[i] = start
		for j := start; j < end[i]; j++ {
			id := ix.topicID[names[j]]
			ix.topicIDs[j] = id
			ix.topicRepos[id] = append(ix.topicRepos[id], int32(i))
		}
		start = end[i]
	}
	ix.topicStart[ix.n] = start
}

// order returns the permutation of sort s and its inverse.
func (ix *Index) order(s sortKey) (perm, rank []int32) {
	var key func(a, b int32) int
	switch s {
	case sortCreated:
		key = func(a, b int32) int { return ix.created[a].compare(ix.created[b]) }
	case sortPushed:
		key = func(a, b int32) int { return ix.pushed[a].compare(ix.pushed[b]) }
	case sortStars:
		key = ix.compareCol(colStars)
	case sortForks:
		key = ix.compareCol(colForks)
	case sortSize:
		key = ix.compareCol(colSize)
	case sortName:
		key = func(a, b int32) int { return strings.Compare(ix.name(a), ix.name(b)) }
	}
	perm = make([]int32, ix.n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		return cmp.Or(key(a, b), cmp.Compare(ix.ids[a], ix.ids[b]), cmp.Compare(a, b))
	})
	rank = make([]int32, ix.n)
	for k, p := range perm {
		rank[p] = int32(k)
	}
	return perm, rank
}

func (ix *Index) compareCol(c int) func(a, b int32) int {
	col := ix.cols[c]
	return func(a, b int32) int { return cmp.Compare(col[a], col[b]) }
}

// name is the lower-case full_name of position i.
func (ix *Index) name(i int32) string { return ix.text[ix.textStart[i]:ix.nameEnd[i]] }

func (ix *Index) getBitset() *bitset { return ix.bitsets.Get().(*bitset) }

// Select returns the positions of the repositories that q matches, in q's
// order, after its offset and limit, appended to dst[:0] so that a caller
// can reuse one buffer; and total, the number of matches before offset and
// limit. A nil q matches everything.
func (ix *Index) Select(q *Query, dst []int32) (positions []int32, total int) {
	if q == nil {
		q = &Query{}
	}
	dst = dst[:0]
	desc := q.desc()
	if !q.filtered() {
		perm := ix.perm[q.sort]
		lo, hi := q.window(ix.n)
		if !desc {
			return append(dst, perm[lo:hi]...), ix.n
		}
		dst = append(dst, perm[ix.n-hi:ix.n-lo]...)
		slices.Reverse(dst)
		return dst, ix.n
	}
	m, total := ix.match(q)
	defer ix.bitsets.Put(m)
	lo, hi := q.window(total)
	if lo >= hi {
		return dst, total
	}
	set := *m
	perm := ix.perm[q.sort]
	// Walking the permutation takes about n*hi/total steps to find hi
	// matches. Setting each match's rank in a second bitset and reading
	// that in order takes about total + n/32.
	if float64(4*total+ix.words*2) >= float64(ix.n)*float64(hi)/float64(total) {
		return ix.walk(set, perm, desc, lo, hi, dst), total
	}
	rs := ix.getBitset()
	defer ix.bitsets.Put(rs)
	ranks, rank := *rs, ix.rank[q.sort]
	clear(ranks)
	for wi, w := range set {
		for ; w != 0; w &= w - 1 {
			ranks.set(rank[wi<<6|bits.TrailingZeros64(w)])
		}
	}
	return inRankOrder(ranks, perm, desc, lo, hi, dst), total
}

// inRankOrder appends perm[r] for the ranks r set in ranks, at [lo, hi) of
// ascending or descending rank order.
func inRankOrder(ranks bitset, perm []int32, desc bool, lo, hi int, dst []int32) []int32 {
	k := 0
	for n := 0; n < len(ranks) && k < hi; n++ {
		wi, w := n, ranks[n]
		if desc {
			wi = len(ranks) - 1 - n
			w = bits.Reverse64(ranks[wi]) // so that the highest bit comes first
		}
		for ; w != 0 && k < hi; w &= w - 1 {
			b := bits.TrailingZeros64(w)
			if desc {
				b = 63 - b
			}
			if k >= lo {
				dst = append(dst, perm[wi<<6|b])
			}
			k++
		}
	}
	return dst
}

// walk appends the matches in set at [lo, hi) of perm's order, or of its
// reverse, stopping as soon as it has them.
func (ix *Index) walk(set bitset, perm []int32, desc bool, lo, hi int, dst []int32) []int32 {
	// Two loops, so that neither tests the direction for each repository;
	// the matches before lo are skipped in a loop of their own.
	k, j, step := 0, 0, 1
	if desc {
		j, step = len(perm)-1, -1
	}
	for ; k < lo && uint(j) < uint(len(perm)); j += step {
		if set.has(perm[j]) {
			k++
		}
	}
	for ; k < hi && uint(j) < uint(len(perm)); j += step {
		if p := perm[j]; set.has(p) {
			dst = append(dst, p)
			k++
		}
	}
	return dst
}

// window is the range [lo, hi) of the total matches that q lists.
func (q *Query) window(total int) (lo, hi int) {
	lo = min(q.offset, total)
	hi = total
	if q.hasLimit {
		hi = min(lo+q.limit, total)
	}
	return lo, hi
}

// match returns the bitset of the repositories q matches, for the caller
// to put back in ix.bitsets, and their number. It starts from the most
// selective cheap source — a narrow range of a sort order, posting lists,
// boolean bitsets — and checks the remaining bounds and substrings on the
// candidates only.
func (ix *Index) match(q *Query) (*bitset, int) {
	acc := ix.getBitset()
	set := *acc
	have := false
	// Bounds left to check on each candidate.
	counts, times := q.countSet, q.timeSet
	// The repositories within the bounds of one sort key: set the run,
	// or when it is most of them, clear what is outside it. Either way
	// those bounds need no checking on each candidate. But a list (an
	// owner, a rare language) may leave so few candidates that checking
	// them costs less than clearing half the repositories.
	sp, a, b, ok := ix.narrowestSpan(q)
	if ok && b-a >= ix.n/2 && slices.ContainsFunc(q.lists[:], func(l []string) bool { return len(l) > 0 }) {
		ok = false
	}
	if ok {
		perm := ix.perm[sp.s]
		if b-a < ix.n/2 {
			clear(set)
			for _, p := range perm[a:b] {
				set.set(p)
			}
		} else {
			ix.fill(set)
			for _, p := range perm[:a] {
				set.unset(p)
			}
			for _, p := range perm[b:] {
				set.unset(p)
			}
		}
		have = true
		counts &^= slotBit(sp.lo) | slotBit(sp.hi)
		times &^= slotBit(sp.tlo) | slotBit(sp.thi)
	}
	var tmp *bitset
	for slot, items := range q.lists {
		if len(items) == 0 {
			continue
		}
		dst := set
		if have {
			if tmp == nil {
				tmp = ix.getBitset()
			}
			dst = *tmp
		}
		clear(dst)
		if !ix.union(dst, slot, items) {
			clear(set)
			if tmp != nil {
				ix.bitsets.Put(tmp)
			}
			return acc, 0
		}
		if have {
			for i := range set {
				set[i] &= dst[i]
			}
		}
		have = true
	}
	if tmp != nil {
		ix.bitsets.Put(tmp)
	}
	for slot := range numBools {
		if q.boolSet&(1<<slot) == 0 {
			continue
		}
		src, want := ix.bools[slot], q.boolVal&(1<<slot) != 0
		switch {
		case !have && want:
			copy(set, src)
		case !have:
			for i := range set {
				set[i] = ^src[i]
			}
			ix.clearTail(set)
		case want:
			for i := range set {
				set[i] &= src[i]
			}
		default:
			for i := range set {
				set[i] &^= src[i]
			}
		}
		have = true
	}
	if !have {
		ix.fill(set)
	}
	if counts != 0 || times != 0 || q.texts != [numTexts]string{} {
		for wi, w := range set {
			for w != 0 {
				b := bits.TrailingZeros64(w)
				w &= w - 1
				if !ix.rowMatches(q, counts, times, int32(wi<<6|b)) {
					set[wi] &^= 1 << b
				}
			}
		}
	}
	total := 0
	for _, w := range set {
		total += bits.OnesCount64(w)
	}
	return acc, total
}

// fill sets the bits of all n repositories.
func (ix *Index) fill(set bitset) {
	for i := range set {
		set[i] = ^uint64(0)
	}
	ix.clearTail(set)
}

// clearTail clears the bits past n, which complements set.
func (ix *Index) clearTail(set bitset) {
	if r := ix.n & 63; r != 0 {
		set[len(set)-1] &= 1<<r - 1
	}
}

// union sets in dst the repositories that match any of items in list slot,
// and reports whether there was any.
func (ix *Index) union(dst bitset, slot int, items []string) bool {
	found := false
	add := func(ps []int32) {
		for _, p := range ps {
			dst.set(p)
		}
		found = found || len(ps) > 0
	}
	for _, item := range items {
		switch slot {
		case listLanguage, listPrimary:
			if id, ok := ix.langID[item]; ok {
				if slot == listLanguage {
					add(ix.langs[id].repos)
				} else {
					add(ix.langs[id].primary)
				}
			}
		case listOwner:
			add(ix.owners[item])
		case listTopic:
			if id, ok := ix.topicID[item]; ok {
				add(ix.topicRepos[id])
			}
		case listLicense:
			if item == "none" {
				add(ix.noLicense)
				continue
			}
			for _, v := range ix.licVariants {
				if licenseMatches(v.key, v.spdx, item) {
					add(v.repos)
				}
			}
		}
	}
	return found
}

// licenseMatches reports whether a license value matches a lower-case key
// and SPDX id: either equals it, or the key is in the family of the value.
func licenseMatches(key, spdx, value string) bool {
	return key == value || spdx == value ||
		len(key) > len(value) && key[len(value)] == '-' && strings.HasPrefix(key, value)
}

// rowMatches checks q's substrings, and its bounds in the counts and
// times slot masks, on position i.
func (ix *Index) rowMatches(q *Query, counts, times uint8, i int32) bool {
	for s := counts; s != 0; s &= s - 1 {
		slot := bits.TrailingZeros8(s)
		v := ix.cols[countCol[slot]][i]
		if isMinimum[slot] {
			if v < q.counts[slot] {
				return false
			}
		} else if v > q.counts[slot] {
			return false
		}
	}
	if times != 0 {
		if times&(1<<timeCreatedAfter) != 0 && ix.created[i].compare(q.times[timeCreatedAfter]) < 0 ||
			times&(1<<timeCreatedBefore) != 0 && ix.created[i].compare(q.times[timeCreatedBefore]) >= 0 ||
			times&(1<<timePushedAfter) != 0 && ix.pushed[i].compare(q.times[timePushedAfter]) < 0 {
			return false
		}
	}
	if s := q.texts[textName]; s != "" && !strings.Contains(ix.name(i), s) {
		return false
	}
	if s := q.texts[textQ]; s != "" && !strings.Contains(ix.text[ix.textStart[i]:ix.textStart[i+1]], s) {
		return false
	}
	return true
}

type spanSort struct {
	s        sortKey
	lo, hi   int // count slots, or -1
	tlo, thi int // time slots, or -1
}

// spanSorts says which sort order each bound of a query is a range of.
var spanSorts = [...]spanSort{
	{sortCreated, -1, -1, timeCreatedAfter, timeCreatedBefore},
	{sortPushed, -1, -1, timePushedAfter, -1},
	{sortStars, countMinStars, countMaxStars, -1, -1},
	{sortForks, countMinForks, countMaxForks, -1, -1},
	{sortSize, countMinSize, countMaxSize, -1, -1},
}

// narrowestSpan returns the sort whose permutation holds the repositories
// within q's bounds on its key in the shortest run [a, b).
func (ix *Index) narrowestSpan(q *Query) (sp spanSort, a, b int, ok bool) {
	for i := range spanSorts {
		if sa, sb, sok := ix.span(q, i); sok && (!ok || sb-sa < b-a) {
			sp, a, b, ok = spanSorts[i], sa, sb, true
		}
	}
	return sp, a, b, ok
}

// slotBit is the mask bit of a slot, or 0 for -1.
func slotBit(slot int) uint8 {
	if slot < 0 {
		return 0
	}
	return 1 << slot
}

// span binary-searches the permutation of spanSorts[i] for q's bounds.
func (ix *Index) span(q *Query, i int) (a, b int, ok bool) {
	sp := spanSorts[i]
	perm := ix.perm[sp.s]
	a, b = 0, ix.n
	if sp.lo >= 0 {
		col := ix.cols[countCol[sp.lo]]
		if q.countSet&(1<<sp.lo) != 0 {
			lo := q.counts[sp.lo]
			a = sort.Search(ix.n, func(k int) bool { return col[perm[k]] >= lo })
			ok = true
		}
		if q.countSet&(1<<sp.hi) != 0 {
			hi := q.counts[sp.hi]
			b = sort.Search(ix.n, func(k int) bool { return col[perm[k]] > hi })
			ok = true
		}
	} else {
		col := ix.created
		if sp.s == sortPushed {
			col = ix.pushed
		}
		if q.timeSet&(1<<sp.tlo) != 0 {
			lo := q.times[sp.tlo]
			a = sort.Search(ix.n, func(k int) bool { return col[perm[k]].compare(lo) >= 0 })
			ok = true
		}
		if sp.thi >= 0 && q.timeSet&(1<<sp.thi) != 0 {
			hi := q.times[sp.thi]
			b = sort.Search(ix.n, func(k int) bool { return col[perm[k]].compare(hi) >= 0 })
			ok = true
		}
	}
	return a, max(a, b), ok
}
