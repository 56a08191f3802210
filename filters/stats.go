package filters

import "math/bits"

// Stats summarises the repositories a query matches. Maps are keyed by
// lower-case language name and lower-case license key; encoding/json sorts
// map keys, so the encoding is deterministic.
type Stats struct {
	Repositories int                      `json:"repositories"`
	TotalBytes   int64                    `json:"total_bytes"`
	Languages    map[string]LanguageStats `json:"languages"`
	Licenses     map[string]LicenseStats  `json:"licenses"`
	Topics       []TopicCount             `json:"topics"`
	Selected     *SelectedLanguage        `json:"selected,omitempty"`
}

// LanguageStats is one language over the matched repositories: those whose
// languages include it (repositories, bytes, share of total_bytes, 0 when
// that is 0), and those whose primary language it is (primary, avg_*, 0
// when there are none). A language appears when either count is non-zero.
// Name is as first spelt in the snapshot, by a languages map if any.
type LanguageStats struct {
	Name          string  `json:"name"`
	Repositories  int     `json:"repositories"`
	Bytes         int64   `json:"bytes"`
	Share         float64 `json:"share"`
	Primary       int     `json:"primary"`
	AvgForks      float64 `json:"avg_forks"`
	AvgOpenIssues float64 `json:"avg_open_issues"`
	AvgSize       float64 `json:"avg_size"`
}

// LicenseStats counts one license key; "none" counts repositories without a
// license, under the name "No license".
type LicenseStats struct {
	Name         string `json:"name"`
	Repositories int    `json:"repositories"`
}

// TopicCount is one of the 20 most frequent topics, which come by count,
// then by name.
type TopicCount struct {
	Topic        string `json:"topic"`
	Repositories int    `json:"repositories"`
}

// SelectedLanguage details the one language a query selects: every
// matched repository has it, so repositories is the matched count and
// co_languages counts the other languages among them. median_bytes is the
// mean of the two middle values for an even count.
type SelectedLanguage struct {
	Name         string         `json:"name"`
	Repositories int            `json:"repositories"`
	Bytes        int64          `json:"bytes"`
	ShareOfBytes float64        `json:"share_of_bytes"`
	AverageBytes float64        `json:"average_bytes"`
	MedianBytes  float64        `json:"median_bytes"`
	MaxBytes     int64          `json:"max_bytes"`
	Primary      int            `json:"primary"`
	CoLanguages  map[string]int `json:"co_languages"`
}

// maxTopics is how many topics Stats lists.
const maxTopics = 20

// noLicenseName names the "none" license entry.
const noLicenseName = "No license"

// langAgg accumulates one language.
type langAgg struct {
	repos, primary      int
	bytes               int64
	forks, issues, size int64 // sums over the repositories whose primary language it is
}

// topicScratch counts topics without allocating per query: counts has an
// entry per topic of the index and is all zero between uses.
type topicScratch struct {
	counts  []int32
	touched []int32
}

// Stats summarises the repositories q matches, ignoring its sort, order,
// limit, offset and fields. A nil q matches everything.
func (ix *Index) Stats(q *Query) *Stats {
	if q == nil {
		q = &Query{}
	}
	langs := make([]langAgg, len(ix.langs))
	lics := make([]int, len(ix.licKeys)+1) // the last counts no license
	ts := ix.scratch.Get().(*topicScratch)
	st := &Stats{}
	var set bitset
	if q.filtered() {
		m, _ := ix.match(q)
		defer ix.bitsets.Put(m)
		set = *m
	}
	// Positions come in chunks, from the bitset or all of them, so that
	// one tight loop over local slices does the counting.
	var chunk [256]int32
	next, word := 0, 0
	for {
		k := 0
		if set == nil {
			for ; k < len(chunk) && next < ix.n; k++ {
				chunk[k] = int32(next)
				next++
			}
		} else {
			for ; k < len(chunk)-64 && word < len(set); word++ {
				for w := set[word]; w != 0; w &= w - 1 {
					chunk[k] = int32(word<<6 | bits.TrailingZeros64(w))
					k++
				}
			}
		}
		if k == 0 {
			break
		}
		st.TotalBytes += ix.count(chunk[:k], langs, lics, ts)
		st.Repositories += k
	}

	st.Languages = make(map[string]LanguageStats)
	for id, a := range langs {
		if a.repos == 0 && a.primary == 0 {
			continue
		}
		st.Languages[ix.langs[id].key] = LanguageStats{
			Name:          ix.langs[id].name,
			Repositories:  a.repos,
			Bytes:         a.bytes,
			Share:         ratio(a.bytes, st.TotalBytes),
			Primary:       a.primary,
			AvgForks:      ratio(a.forks, int64(a.primary)),
			AvgOpenIssues: ratio(a.issues, int64(a.primary)),
			AvgSize:       ratio(a.size, int64(a.primary)),
		}
	}
	st.Licenses = make(map[string]LicenseStats)
	for k, n := range lics {
		if n == 0 {
			continue
		}
		if k == len(ix.licKeys) {
			st.Licenses["none"] = LicenseStats{noLicenseName, n}
		} else {
			st.Licenses[ix.licKeys[k].key] = LicenseStats{ix.licKeys[k].name, n}
		}
	}
	st.Topics = ix.topTopics(ts)
	ix.scratch.Put(ts)

	if items := q.lists[listLanguage]; len(items) == 1 {
		st.Selected = ix.selected(items[0], langs, st.TotalBytes, set)
	}
	return st
}

// count adds the repositories at positions to the per-language, license
// and topic counts, and returns their language bytes.
func (ix *Index) count(positions []int32, langs []langAgg, lics []int, ts *topicScratch) (total int64) {
	langStart, langIDs, langBytes := ix.langStart, ix.langIDs, ix.langBytes
	primaryOf, licOf, none := ix.primaryOf, ix.licOf, len(lics)-1
	forks, issues, size := ix.cols[colForks], ix.cols[colIssues], ix.cols[colSize]
	topicStart, topicIDs, counts := ix.topicStart, ix.topicIDs, ts.counts
	for _, i := range positions {
		for j := langStart[i]; j < langStart[i+1]; j++ {
			l := &langs[langIDs[j]]
			l.repos++
			l.bytes += langBytes[j]
			total += langBytes[j]
		}
		if p := primaryOf[i]; p >= 0 {
			l := &langs[p]
			l.primary++
			l.forks += forks[i]
			l.issues += issues[i]
			l.size += size[i]
		}
		if k := licOf[i]; k >= 0 {
			lics[k]++
		} else {
			lics[none]++
		}
		for _, t := range topicIDs[topicStart[i]:topicStart[i+1]] {
			if counts[t] == 0 {
				ts.touched = append(ts.touched, t)
			}
			counts[t]++
		}
	}
	return total
}

// topTopics returns the most frequent topics, ties by name, and leaves ts
// zeroed for the next query.
func (ix *Index) topTopics(ts *topicScratch) []TopicCount {
	top := make([]int32, 0, maxTopics+1) // topic ids, best first
	before := func(a, b int32) bool {
		return ts.counts[a] > ts.counts[b] || ts.counts[a] == ts.counts[b] && a < b
	}
	for _, t := range ts.touched {
		if len(top) == maxTopics && !before(t, top[len(top)-1]) {
			continue
		}
		j := len(top)
		top = append(top, t)
		for ; j > 0 && before(t, top[j-1]); j-- {
			top[j] = top[j-1]
		}
		top[j] = t
		top = top[:min(len(top), maxTopics)]
	}
	out := make([]TopicCount, len(top))
	for j, t := range top {
		out[j] = TopicCount{ix.topics[t], int(ts.counts[t])}
	}
	for _, t := range ts.touched {
		ts.counts[t] = 0
	}
	ts.touched = ts.touched[:0]
	return out
}

// selected details language key over the matched set, which the language
// filter has made a subset of its repositories.
func (ix *Index) selected(key string, langs []langAgg, total int64, set bitset) *SelectedLanguage {
	sel := &SelectedLanguage{Name: key, CoLanguages: map[string]int{}}
	id, ok := ix.langID[key]
	if !ok {
		return sel
	}
	l, a := &ix.langs[id], langs[id]
	sel.Name = l.name
	sel.Repositories = a.repos
	sel.Bytes = a.bytes
	sel.ShareOfBytes = ratio(a.bytes, total)
	sel.AverageBytes = ratio(a.bytes, int64(a.repos))
	sel.Primary = a.primary
	for other, o := range langs {
		if other != int(id) && o.repos > 0 {
			sel.CoLanguages[ix.langs[other].key] = o.repos
		}
	}
	if a.repos == 0 {
		return sel
	}
	// The language's repositories by bytes, walked until the middle of
	// the matched ones, and back from the top for the largest.
	lo, hi := (a.repos-1)/2, a.repos/2
	var mid [2]int64
	k := 0
	for j, p := range l.byBytes {
		if !set.has(p) {
			continue
		}
		if k == lo {
			mid[0] = l.bytes[j]
		}
		if k == hi {
			mid[1] = l.bytes[j]
			break
		}
		k++
	}
	sel.MedianBytes = (float64(mid[0]) + float64(mid[1])) / 2
	for j := len(l.byBytes) - 1; j >= 0; j-- {
		if set.has(l.byBytes[j]) {
			sel.MaxBytes = l.bytes[j]
			break
		}
	}
	return sel
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
