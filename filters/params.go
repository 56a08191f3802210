package filters

import (
	"reflect"
	"strings"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Param describes one query parameter, for documentation pages.
type Param struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// ReposOnly marks the parameters that only /repos uses (sort, order,
	// limit, offset, fields); /stats ignores them.
	ReposOnly bool `json:"repos_only,omitempty"`
}

type kind uint8

const (
	kindList kind = iota
	kindText
	kindBool
	kindCount
	kindTime
	kindSort
	kindOrder
	kindLimit
	kindOffset
	kindFields
)

// param is a parameter as the parser sees it. slot indexes the Query array
// of its kind.
type param struct {
	name string
	kind kind
	slot int
	desc string
}

// List slots.
const (
	listLanguage = iota
	listPrimary
	listLicense
	listOwner
	listTopic
	numLists
)

// Text slots.
const (
	textName = iota
	textQ
	numTexts
)

// Boolean slots; the Index keeps one bitset per slot.
const (
	boolOpenIssues = iota
	boolAllowForking
	boolFork
	boolArchived
	boolIsTemplate
	boolHasIssues
	boolHasProjects
	boolHasDownloads
	boolHasWiki
	boolHasPages
	boolHasDiscussions
	numBools
)

// Count slots. Each min_x is followed by its max_x, if any.
const (
	countMinStars = iota
	countMaxStars
	countMinForks
	countMaxForks
	countMinSize
	countMaxSize
	countMinOpenIssues
	numCounts
)

// Time slots.
const (
	timeCreatedAfter = iota
	timeCreatedBefore
	timePushedAfter
	numTimes
)

// params is in canonical order: the canonical string lists parameters in
// this order, and the /stats key is the part before sort.
var params = [...]param{
	{"language", kindList, listLanguage, "comma list of languages, any of which the repository's languages include (case-insensitive)"},
	{"primary_language", kindList, listPrimary, "comma list of languages, any of which is GitHub's primary language of the repository"},
	{"license", kindList, listLicense, "comma list of license keys, SPDX ids or families (apache, gpl); none for no license"},
	{"owner", kindList, listOwner, "comma list of owner logins (exact, case-insensitive)"},
	{"topic", kindList, listTopic, "comma list of topics, any of which the repository has"},
	{"name", kindText, textName, "case-insensitive substring of full_name"},
	{"q", kindText, textQ, "case-insensitive substring of full_name, description or any topic"},
	{"has_open_issues", kindBool, boolOpenIssues, "true: open_issues_count > 0; false: 0"},
	{"allow_forking", kindBool, boolAllowForking, "true or false"},
	{"fork", kindBool, boolFork, "true or false"},
	{"archived", kindBool, boolArchived, "true or false"},
	{"is_template", kindBool, boolIsTemplate, "true or false"},
	{"has_issues", kindBool, boolHasIssues, "true or false"},
	{"has_projects", kindBool, boolHasProjects, "true or false"},
	{"has_downloads", kindBool, boolHasDownloads, "true or false"},
	{"has_wiki", kindBool, boolHasWiki, "true or false"},
	{"has_pages", kindBool, boolHasPages, "true or false"},
	{"has_discussions", kindBool, boolHasDiscussions, "true or false"},
	{"min_stars", kindCount, countMinStars, "at least this many stargazers"},
	{"max_stars", kindCount, countMaxStars, "at most this many stargazers"},
	{"min_forks", kindCount, countMinForks, "at least this many forks"},
	{"max_forks", kindCount, countMaxForks, "at most this many forks"},
	{"min_size", kindCount, countMinSize, "size at least this many KB"},
	{"max_size", kindCount, countMaxSize, "size at most this many KB"},
	{"min_open_issues", kindCount, countMinOpenIssues, "at least this many open issues"},
	{"created_after", kindTime, timeCreatedAfter, "created at or after this RFC 3339 time or YYYY-MM-DD date (UTC)"},
	{"created_before", kindTime, timeCreatedBefore, "created before this RFC 3339 time or YYYY-MM-DD date (UTC)"},
	{"pushed_after", kindTime, timePushedAfter, "pushed at or after this RFC 3339 time or YYYY-MM-DD date (UTC)"},
	{"sort", kindSort, 0, "created (default), pushed, stars, forks, size or name; ties broken by id"},
	{"order", kindOrder, 0, "desc (default) or asc; asc is the default for sort=name"},
	{"limit", kindLimit, 0, "at most this many repositories, 0 to 1000 (default: all)"},
	{"offset", kindOffset, 0, "skip this many matching repositories"},
	{"fields", kindFields, 0, "comma list of repository fields to keep (default: all)"},
}

// paramIndex finds a parameter by its exact name; names are case-sensitive,
// as in GitHub's API, and a near miss gets a suggestion instead.
var paramIndex = func() map[string]int {
	m := make(map[string]int, len(params))
	for i, p := range params {
		m[p.name] = i
	}
	return m
}()

// Parameters returns the known parameters in canonical order.
func Parameters() []Param {
	out := make([]Param, len(params))
	for i, p := range params {
		out[i] = Param{Name: p.name, Description: p.desc, ReposOnly: p.kind >= kindSort}
	}
	return out
}

// repositoryFields are the JSON names of snapshots.Repository in struct
// order, read from its tags so that the two cannot drift apart.
var repositoryFields = func() []string {
	t := reflect.TypeFor[snapshots.Repository]()
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	if len(names) > 64 {
		panic("filters: more than 64 repository fields; widen Query.fields")
	}
	return names
}()

var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(repositoryFields))
	for i, f := range repositoryFields {
		m[f] = i
	}
	return m
}()

// allFields is the fields mask that means every field, which is the same
// as no fields parameter.
var allFields = uint64(1)<<len(repositoryFields) - 1

// RepositoryFields returns the names the fields parameter accepts: the JSON
// names of snapshots.Repository, in struct order.
func RepositoryFields() []string {
	return append([]string(nil), repositoryFields...)
}

// aliases catch names that edit distance cannot: words from other APIs.
var aliases = map[string]string{
	"page":      "offset",
	"per_page":  "limit",
	"query":     "q",
	"search":    "q",
	"stars":     "min_stars",
	"sort_by":   "sort",
	"direction": "order",
}

// suggest returns the candidate closest to name, or "" when none is close
// enough to be a likely typo: fewer edits than name has bytes and at most a
// third of the candidate's, or name is a prefix of it ("lang", "language").
func suggest(name string, candidates []string) string {
	if len(name) > 64 {
		return ""
	}
	n := strings.ToLower(strings.ReplaceAll(name, "-", "_"))
	if a, ok := aliases[n]; ok {
		for _, c := range candidates {
			if c == a {
				return a
			}
		}
	}
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(n, c)
		if (d > max(1, len(c)/3) || d >= len(n)) && !(len(n) >= 3 && strings.HasPrefix(c, n)) {
			continue
		}
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: Levenshtein's, with a swap of neighbours as one edit, the
// commonest typo.
func editDistance(a, b string) int {
	var rows [3][24]int // parameter and field names are shorter
	prev2, prev, row := rows[0][:], rows[1][:], rows[2][:]
	if len(b) >= len(rows[0]) {
		prev2, prev, row = make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			row[j] = min(prev[j]+1, row[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				row[j] = min(row[j], prev2[j-2]+1)
			}
		}
		prev2, prev, row = prev, row, prev2
	}
	return prev[len(b)]
}
