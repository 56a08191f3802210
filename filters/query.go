package filters

import (
	"bytes"
	"iter"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type sortKey uint8

const (
	sortCreated sortKey = iota
	sortPushed
	sortStars
	sortForks
	sortSize
	sortName
	numSorts
)

var sortNames = [numSorts]string{"created", "pushed", "stars", "forks", "size", "name"}

type order uint8

const (
	orderDefault order = iota // desc, or asc for sort=name
	orderAsc
	orderDesc
)

const (
	maxCount = math.MaxInt32
	maxLimit = 1000
)

// instant is a time as Unix seconds and nanoseconds: exact for any
// time.Time, and cheaper to compare than one.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

func (a instant) compare(b instant) int {
	if a.sec != b.sec {
		if a.sec < b.sec {
			return -1
		}
		return 1
	}
	return int(a.nsec) - int(b.nsec)
}

// Query is a parsed, valid query. It is immutable, so one Query may be
// shared by goroutines. The zero Query (and a nil *Query) matches every
// repository in the default order.
type Query struct {
	lists    [numLists][]string // lower-case, sorted, without duplicates
	texts    [numTexts]string   // lower-case; "" when not given
	boolSet  uint16             // bit per bool slot: given
	boolVal  uint16             // bit per bool slot: its value
	countSet uint8
	counts   [numCounts]int64
	timeSet  uint8
	times    [numTimes]instant
	sort     sortKey
	order    order
	hasLimit bool
	limit    int
	offset   int
	fields   uint64 // bit per repositoryFields entry; 0 for all
	given    uint64 // bit per params index (at most 64): encode skips the others

	canonical string
	statsLen  int // canonical[:statsLen] is the /stats part
}

// Parse reads the query's key/value pairs, already URL-decoded: with
// fasthttp, Parse(ctx.QueryArgs().All()). It retains nothing it is given.
// An invalid query returns a 400 Problem listing every invalid parameter.
func Parse(args iter.Seq2[[]byte, []byte]) (*Query, *Problem) {
	p := new(parser)
	if args != nil {
		args(p.add) // not a range loop, whose state would cost allocations
	}
	p.errs = p.q.checkBounds(p.errs)
	if len(p.errs) > 0 {
		return nil, invalidQuery(p.errs)
	}
	p.q.normalize()
	p.q.canonical, p.q.statsLen = p.q.encode()
	return &p.q, nil
}

// parser is Parse's state, in one allocation with the Query it fills.
type parser struct {
	q    Query
	errs []ParamError
}

func (ps *parser) add(k, v []byte) bool {
	i, ok := paramIndex[string(k)]
	if !ok {
		msg := "unknown parameter " + strconv.Quote(string(k))
		if s := suggest(string(k), paramNames[:]); s != "" {
			msg += "; did you mean " + strconv.Quote(s) + "?"
		}
		ps.errs = append(ps.errs, ParamError{string(k), string(v), msg})
		return true
	}
	p := &params[i]
	if ps.q.given&(1<<i) != 0 && p.kind != kindList && p.kind != kindFields {
		ps.errs = append(ps.errs, ParamError{p.name, string(v), p.name + " may be given only once"})
		return true
	}
	ps.q.given |= 1 << i
	if msg := checkValue(v); msg != "" {
		ps.errs = append(ps.errs, ParamError{p.name, string(v), msg})
		return true
	}
	ps.errs = ps.q.set(p, v, ps.errs)
	return true
}

var _ [64 - len(params)]struct{} // a bit per parameter in Query.given

var paramNames = func() (names [len(params)]string) {
	for i, p := range params {
		names[i] = p.name
	}
	return names
}()

// checkValue rejects what no parameter accepts. Without control
// characters a needle cannot contain the NUL that separates the fields
// the Index searches, so q cannot match across two of them.
func checkValue(v []byte) string {
	if len(v) == 0 {
		return "must not be empty"
	}
	ascii := true
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return "must not contain control characters"
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if !ascii && !utf8.Valid(v) { // most values are ASCII, and valid
		return "must be valid UTF-8"
	}
	return ""
}

// set stores the non-empty value v of p, or appends why it cannot.
func (q *Query) set(p *param, v []byte, errs []ParamError) []ParamError {
	fail := func(msg string) []ParamError {
		return append(errs, ParamError{p.name, string(v), msg})
	}
	switch p.kind {
	case kindList:
		n := 0
		for item := range bytes.SplitSeq(v, []byte(",")) {
			if item = bytes.TrimSpace(item); len(item) > 0 {
				q.lists[p.slot] = append(q.lists[p.slot], strings.ToLower(string(item)))
				n++
			}
		}
		if n == 0 {
			return fail("must not be empty")
		}
	case kindText:
		q.texts[p.slot] = strings.ToLower(string(v))
	case kindBool:
		var b bool
		switch {
		case string(v) == "1" || strings.EqualFold(string(v), "true"):
			b = true
		case string(v) == "0" || strings.EqualFold(string(v), "false"):
		default:
			return fail("must be true, false, 1 or 0")
		}
		q.boolSet |= 1 << p.slot
		if b {
			q.boolVal |= 1 << p.slot
		}
	case kindCount:
		n, msg := parseCount(v, maxCount)
		if msg != "" {
			return fail(msg)
		}
		q.countSet |= 1 << p.slot
		q.counts[p.slot] = n
	case kindTime:
		t, msg := parseTime(v)
		if msg != "" {
			return fail(msg)
		}
		q.timeSet |= 1 << p.slot
		q.times[p.slot] = t
	case kindSort:
		for i, name := range sortNames {
			if strings.EqualFold(string(v), name) {
				q.sort = sortKey(i)
				return errs
			}
		}
		return fail("must be one of created, pushed, stars, forks, size or name")
	case kindOrder:
		switch {
		case strings.EqualFold(string(v), "asc"):
			q.order = orderAsc
		case strings.EqualFold(string(v), "desc"):
			q.order = orderDesc
		default:
			return fail("must be asc or desc")
		}
	case kindLimit:
		n, msg := parseCount(v, maxLimit)
		if msg != "" {
			return fail(msg)
		}
		q.hasLimit, q.limit = true, int(n)
	case kindOffset:
		n, msg := parseCount(v, maxCount)
		if msg != "" {
			return fail(msg)
		}
		q.offset = int(n)
	case kindFields:
		n := 0
		for item := range bytes.SplitSeq(v, []byte(",")) {
			if item = bytes.TrimSpace(item); len(item) == 0 {
				continue
			}
			n++
			name := strings.ToLower(string(item))
			i, ok := fieldIndex[name]
			if !ok {
				msg := "unknown field " + strconv.Quote(string(item))
				if s := suggest(name, repositoryFields); s != "" {
					msg += "; did you mean " + strconv.Quote(s) + "?"
				}
				errs = append(errs, ParamError{p.name, string(item), msg})
				continue
			}
			q.fields |= 1 << i
		}
		if n == 0 {
			return fail("must not be empty")
		}
	}
	return errs
}

// parseCount reads a decimal integer from 0 to limit.
func parseCount(v []byte, limit int64) (int64, string) {
	digits := v
	if len(v) > 1 && v[0] == '-' {
		digits = v[1:]
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, "must be an integer from 0 to " + strconv.FormatInt(limit, 10)
		}
		if n <= limit {
			n = n*10 + int64(c-'0')
		}
	}
	if len(digits) != len(v) {
		return 0, "must not be negative"
	}
	if n > limit {
		return 0, "must be at most " + strconv.FormatInt(limit, 10)
	}
	return n, ""
}

// parseTime reads an RFC 3339 time or a date, which is midnight UTC. The
// year range keeps the canonical form, which is in UTC, parseable.
func parseTime(v []byte) (instant, string) {
	layout := time.RFC3339
	if len(v) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, string(v))
	if err != nil {
		return instant{}, "must be an RFC 3339 time or a YYYY-MM-DD date"
	}
	if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
		return instant{}, "must be from 0000-01-01 to 9999-12-31 in UTC"
	}
	return instantOf(t), ""
}

// boundPairs are the minimums with their maximums.
var boundPairs = [...][2]int{
	{countMinStars, countMaxStars},
	{countMinForks, countMaxForks},
	{countMinSize, countMaxSize},
}

var countParams, timeParams = func() (c [numCounts]*param, t [numTimes]*param) {
	for i := range params {
		switch p := &params[i]; p.kind {
		case kindCount:
			c[p.slot] = p
		case kindTime:
			t[p.slot] = p
		}
	}
	return c, t
}()

// checkBounds rejects a minimum above its maximum, which could only ever
// match nothing and is more likely a mistake.
func (q *Query) checkBounds(errs []ParamError) []ParamError {
	for _, b := range boundPairs {
		lo, hi := b[0], b[1]
		if q.countSet&(1<<lo) != 0 && q.countSet&(1<<hi) != 0 && q.counts[lo] > q.counts[hi] {
			hiName := countParams[hi].name
			errs = append(errs, ParamError{countParams[lo].name, strconv.FormatInt(q.counts[lo], 10),
				"must not be greater than " + hiName + " (" + strconv.FormatInt(q.counts[hi], 10) + ")"})
		}
	}
	const lo, hi = timeCreatedAfter, timeCreatedBefore
	if q.timeSet&(1<<lo) != 0 && q.timeSet&(1<<hi) != 0 && q.times[lo].compare(q.times[hi]) > 0 {
		errs = append(errs, ParamError{timeParams[lo].name, formatInstant(q.times[lo]),
			"must not be later than " + timeParams[hi].name + " (" + formatInstant(q.times[hi]) + ")"})
	}
	return errs
}

func formatInstant(t instant) string {
	return string(appendInstant(nil, t))
}

func appendInstant(b []byte, t instant) []byte {
	return time.Unix(t.sec, int64(t.nsec)).UTC().AppendFormat(b, time.RFC3339Nano)
}

// normalize removes what does not change the meaning, so that equal
// meanings encode equally.
func (q *Query) normalize() {
	for i := range q.lists {
		if len(q.lists[i]) > 1 {
			slices.Sort(q.lists[i])
			q.lists[i] = slices.Compact(q.lists[i])
		}
	}
	if q.order == q.defaultOrder() {
		q.order = orderDefault
	}
	for i := 0; i < numCounts; i++ {
		if isMinimum[i] && q.counts[i] == 0 {
			q.countSet &^= 1 << i
		}
	}
	if q.fields == allFields {
		q.fields = 0
	}
}

// isMinimum tells min_x slots from max_x ones.
var isMinimum = func() (m [numCounts]bool) {
	for slot, p := range countParams {
		m[slot] = strings.HasPrefix(p.name, "min_")
	}
	return m
}()

func (q *Query) defaultOrder() order {
	if q.sort == sortName {
		return orderAsc
	}
	return orderDesc
}

// desc reports whether matches are listed from the largest key down.
func (q *Query) desc() bool {
	o := q.order
	if o == orderDefault {
		o = q.defaultOrder()
	}
	return o == orderDesc
}

// encode returns the canonical string and the length of its /stats part.
func (q *Query) encode() (string, int) {
	var buf [256]byte
	b := buf[:0]
	statsLen := 0
	for i := range params {
		p := &params[i]
		if p.kind == kindSort {
			statsLen = len(b)
		}
		if q.given&(1<<i) == 0 {
			continue
		}
		start := len(b)
		if start > 0 {
			b = append(b, '&')
		}
		b = append(b, p.name...)
		b = append(b, '=')
		if v := q.appendValue(b, p); v != nil {
			b = v
		} else {
			b = b[:start]
		}
	}
	return string(b), statsLen
}

// appendValue appends the canonical value of p, or returns nil when p is
// absent or has its default value.
func (q *Query) appendValue(b []byte, p *param) []byte {
	switch p.kind {
	case kindList:
		if len(q.lists[p.slot]) == 0 {
			return nil
		}
		for i, item := range q.lists[p.slot] {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEscaped(b, item)
		}
	case kindText:
		if q.texts[p.slot] == "" {
			return nil
		}
		b = appendEscaped(b, q.texts[p.slot])
	case kindBool:
		if q.boolSet&(1<<p.slot) == 0 {
			return nil
		}
		b = strconv.AppendBool(b, q.boolVal&(1<<p.slot) != 0)
	case kindCount:
		if q.countSet&(1<<p.slot) == 0 {
			return nil
		}
		b = strconv.AppendInt(b, q.counts[p.slot], 10)
	case kindTime:
		if q.timeSet&(1<<p.slot) == 0 {
			return nil
		}
		b = appendInstant(b, q.times[p.slot])
	case kindSort:
		if q.sort == sortCreated {
			return nil
		}
		b = append(b, sortNames[q.sort]...)
	case kindOrder:
		switch q.order {
		case orderDefault:
			return nil
		case orderAsc:
			b = append(b, "asc"...)
		case orderDesc:
			b = append(b, "desc"...)
		}
	case kindLimit:
		if !q.hasLimit {
			return nil
		}
		b = strconv.AppendInt(b, int64(q.limit), 10)
	case kindOffset:
		if q.offset == 0 {
			return nil
		}
		b = strconv.AppendInt(b, int64(q.offset), 10)
	case kindFields:
		if q.fields == 0 {
			return nil
		}
		first := true
		for i, f := range repositoryFields {
			if q.fields&(1<<i) != 0 {
				if !first {
					b = append(b, ',')
				}
				b, first = append(b, f...), false
			}
		}
	}
	return b
}

// appendEscaped percent-encodes all but unreserved characters and the
// colon of times, so the canonical string is itself a valid query string
// that parses back to the same Query.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == ':' {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// Canonical returns the query's cache key for /repos: equal for queries
// that differ only in parameter order, case, duplicates, list order or
// default values, and "" for the unfiltered default listing. It is itself a
// query string. It removes syntactic differences only: license=apache and
// license=apache,apache-2.0 mean the same but encode differently.
func (q *Query) Canonical() string {
	if q == nil {
		return ""
	}
	return q.canonical
}

// StatsCanonical is Canonical without the parameters /stats ignores (sort,
// order, limit, offset, fields), so /stats shares one cache entry for them.
func (q *Query) StatsCanonical() string {
	if q == nil {
		return ""
	}
	return q.canonical[:q.statsLen]
}

// Fields returns the repository fields to keep, in struct order, or nil to
// keep them all.
func (q *Query) Fields() []string {
	if q == nil || q.fields == 0 {
		return nil
	}
	out := make([]string, 0, bits.OnesCount64(q.fields))
	for i, f := range repositoryFields {
		if q.fields&(1<<i) != 0 {
			out = append(out, f)
		}
	}
	return out
}

// filtered reports whether q can exclude a repository.
func (q *Query) filtered() bool {
	return q.statsLen > 0
}
