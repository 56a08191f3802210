package fakegithub

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

type forkMode int

const (
	forksExcluded forkMode = iota // GitHub leaves forks out unless asked
	forksIncluded
	forksOnly
)

// query is a parsed search: created_at must lie in [lo, hi) (zero bounds are open), compared at
// the one-second resolution GitHub stores.
type query struct {
	lo, hi time.Time
	forks  forkMode
	words  []string // lower-case free text, each must occur in the name or description
	none   bool     // a qualifier no public repository satisfies (is:private)
	sort   string   // "" (best match), "stars", "forks" or "updated"
	asc    bool
}

type queryError string

func (e queryError) Error() string { return string(e) }

func parseQuery(q, sortBy, order string) (*query, error) {
	pq := &query{}
	switch sortBy {
	case "stars", "forks", "updated":
		pq.sort = sortBy
	}
	pq.asc = order == "asc"
	for _, tok := range strings.Fields(q) {
		tok = strings.Trim(tok, `"`)
		key, val, ok := strings.Cut(tok, ":")
		if !ok || key == "" || val == "" {
			if tok != "" {
				pq.words = append(pq.words, strings.ToLower(tok))
			}
			continue
		}
		switch strings.ToLower(key) {
		case "is":
			if strings.EqualFold(val, "private") || strings.EqualFold(val, "internal") {
				pq.none = true
			}
		case "fork":
			switch strings.ToLower(val) {
			case "true":
				pq.forks = forksIncluded
			case "only":
				pq.forks = forksOnly
			}
		case "created":
			if err := pq.addCreated(val); err != nil {
				return nil, err
			}
		default:
			// Other qualifiers (type:, language:, stars: ...) are accepted and have no effect.
		}
	}
	return pq, nil
}

func (q *query) addCreated(v string) error {
	var lo, hi time.Time
	var err error
	switch {
	case strings.Contains(v, ".."):
		a, b, _ := strings.Cut(v, "..")
		if a != "*" {
			if lo, _, err = when(a); err != nil {
				return err
			}
		}
		if b != "*" {
			if _, hi, err = when(b); err != nil {
				return err
			}
		}
	case strings.HasPrefix(v, ">="):
		lo, _, err = when(v[2:])
	case strings.HasPrefix(v, "<="):
		_, hi, err = when(v[2:])
	case strings.HasPrefix(v, ">"):
		_, lo, err = when(v[1:])
	case strings.HasPrefix(v, "<"):
		hi, _, err = when(v[1:])
	default:
		lo, hi, err = when(v)
	}
	if err != nil {
		return err
	}
	if !lo.IsZero() && (q.lo.IsZero() || lo.After(q.lo)) {
		q.lo = lo
	}
	if !hi.IsZero() && (q.hi.IsZero() || hi.Before(q.hi)) {
		q.hi = hi
	}
	return nil
}

// when turns a date or date-time into the whole seconds it covers: [start, end).
func when(s string) (start, end time.Time, err error) {
	if t, e := time.Parse(time.DateOnly, s); e == nil {
		return t, t.AddDate(0, 0, 1), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, e := time.Parse(layout, s); e == nil {
			t = t.UTC()
			floor := t.Truncate(time.Second)
			start = floor
			if floor.Before(t) {
				start = floor.Add(time.Second)
			}
			return start, floor.Add(time.Second), nil
		}
	}
	return start, end, queryError(fmt.Sprintf("The search query contains an invalid date: %q", s))
}

func (q *query) matchCreated(c time.Time) bool {
	return (q.lo.IsZero() || !c.Before(q.lo)) && (q.hi.IsZero() || c.Before(q.hi))
}

func (q *query) matchForks(fork bool) bool {
	switch q.forks {
	case forksExcluded:
		return !fork
	case forksOnly:
		return fork
	}
	return true
}

func (q *query) matchText(name, description string) bool {
	if len(q.words) == 0 {
		return true
	}
	name, description = strings.ToLower(name), strings.ToLower(description)
	for _, w := range q.words {
		if !strings.Contains(name, w) && !strings.Contains(description, w) {
			return false
		}
	}
	return true
}

// ranked is a search match with its sort key; ref is the catalog's handle for it.
type ranked struct {
	key, id, ref int64
}

// sortRanked orders by key, then id, both in the requested direction, so pages never overlap.
func sortRanked(rs []ranked, asc bool) {
	slices.SortFunc(rs, func(a, b ranked) int {
		c := cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.id, b.id))
		if asc {
			return c
		}
		return -c
	})
}

// searchPage is one page of search results; refs are in the requested order.
type searchPage struct {
	total      int
	refs       []int64
	incomplete bool
}

// window returns the [offset, offset+limit) part of a list of n ordered things.
func window(n, offset, limit int) (lo, hi int) {
	lo = min(offset, n)
	hi = min(offset+limit, n)
	return lo, hi
}
