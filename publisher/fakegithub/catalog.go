package fakegithub

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"time"
)

// catalog is where the repositories come from: synthetic or replayed. A ref is the catalog's own
// handle for one repository; everything it answers is a pure function of its data and now.
type catalog interface {
	// search answers the [offset, offset+limit) window of q's matches at now, in q's order.
	search(q *query, now time.Time, offset, limit int) searchPage
	// since lists up to limit repositories with an id above since, in id order.
	since(id int64, now time.Time, limit int) []int64
	// lookup finds owner/name, case-insensitively, among the repositories existing at now.
	lookup(owner, name string, now time.Time) (int64, bool)
	// object is the repository as a search item, score included.
	object(ref int64, now time.Time) []byte
	// languages is the body of /repos/{owner}/{repo}/languages.
	languages(ref int64, now time.Time) []byte
	// id is the repository's GitHub id.
	id(ref int64) int64
}

// Variants of a repository object that GitHub sends on other endpoints than search.

// fullRepository is the GET /repos/{owner}/{repo} shape: no score, plus the organization (for
// organization-owned repositories), network_count and subscribers_count.
func fullRepository(fs []field) []byte {
	out := make([]field, 0, len(fs)+3)
	for _, f := range fs {
		if f.key != "score" {
			out = append(out, f)
		}
	}
	if owner, ok := lookupField(fs, "owner"); ok {
		var o struct{ Type string }
		if json.Unmarshal(owner, &o) == nil && o.Type == "Organization" {
			out = append(out, field{"organization", owner})
		}
	}
	network := json.RawMessage("0")
	if v, ok := lookupField(fs, "forks_count"); ok {
		network = v
	}
	var watchers int64
	if v, ok := lookupField(fs, "watchers_count"); ok {
		_ = json.Unmarshal(v, &watchers)
	}
	// GitHub counts watchers (subscribers) apart from stargazers; nothing records them, so
	// derive a plausible, stable number.
	subscribers := 1 + watchers/12
	return joinObject(append(out,
		field{"network_count", network},
		field{"subscribers_count", json.RawMessage(itoa(subscribers))}))
}

// minimalKeys are the members of the /repositories listing: the identity and URL templates of
// a repository, without its counts, dates, license or language.
var minimalKeys = func() map[string]bool {
	m := map[string]bool{"id": true, "node_id": true, "name": true, "full_name": true,
		"private": true, "owner": true, "html_url": true, "description": true, "fork": true, "url": true}
	for _, u := range repoURLs {
		m[u.key] = true
	}
	return m
}()

func minimalRepository(fs []field) []byte {
	out := make([]field, 0, len(minimalKeys))
	for _, f := range fs {
		if minimalKeys[f.key] {
			out = append(out, f)
		}
	}
	return joinObject(out)
}

// repoURLs are the hypermedia members of a repository, after "url", in GitHub's order.
var repoURLs = []struct{ key, suffix string }{
	{"forks_url", "/forks"}, {"keys_url", "/keys{/key_id}"},
	{"collaborators_url", "/collaborators{/collaborator}"}, {"teams_url", "/teams"},
	{"hooks_url", "/hooks"}, {"issue_events_url", "/issues/events{/number}"},
	{"events_url", "/events"}, {"assignees_url", "/assignees{/user}"},
	{"branches_url", "/branches{/branch}"}, {"tags_url", "/tags"},
	{"blobs_url", "/git/blobs{/sha}"}, {"git_tags_url", "/git/tags{/sha}"},
	{"git_refs_url", "/git/refs{/sha}"}, {"trees_url", "/git/trees{/sha}"},
	{"statuses_url", "/statuses/{sha}"}, {"languages_url", "/languages"},
	{"stargazers_url", "/stargazers"}, {"contributors_url", "/contributors"},
	{"subscribers_url", "/subscribers"}, {"subscription_url", "/subscription"},
	{"commits_url", "/commits{/sha}"}, {"git_commits_url", "/git/commits{/sha}"},
	{"comments_url", "/comments{/number}"}, {"issue_comment_url", "/issues/comments{/number}"},
	{"contents_url", "/contents/{+path}"}, {"compare_url", "/compare/{base}...{head}"},
	{"merges_url", "/merges"}, {"archive_url", "/{archive_format}{/ref}"},
	{"downloads_url", "/downloads"}, {"issues_url", "/issues{/number}"},
	{"pulls_url", "/pulls{/number}"}, {"milestones_url", "/milestones{/number}"},
	{"notifications_url", "/notifications{?since,all,participating}"},
	{"labels_url", "/labels{/name}"}, {"releases_url", "/releases{/id}"},
	{"deployments_url", "/deployments"},
}

// nodeID builds GitHub's current global node id: a type prefix and the URL-safe base64 of the
// MessagePack array [0, id].
func nodeID(prefix string, id int64) string {
	b := []byte{0x92, 0x00}
	u := uint64(id)
	switch {
	case u < 0x80:
		b = append(b, byte(u))
	case u <= 0xff:
		b = append(b, 0xcc, byte(u))
	case u <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(u))
	case u <= 0xffffffff:
		b = binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0xcf), u)
	}
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b)
}

// Hashing: every pseudo-random choice is a hash of the seed and what it is about, so nothing
// needs to be stored and nothing depends on the order requests arrive in.

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hash3(seed, a, salt uint64) uint64 {
	return mix(seed ^ mix(a^mix(salt+0x9e3779b97f4a7c15)))
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// permute is a bijection of [0, n) keyed by key: a four-round Feistel network over the smallest
// even power of two holding n, walking the cycle until it lands inside. It gives best match an
// order that is stable, cheap at any position, and unrelated to creation order.
func permute(p, n, key uint64) uint64 {
	if n <= 1 {
		return p
	}
	width := bits.Len64(n - 1)
	width += width & 1
	half := uint(width / 2)
	mask := uint64(1)<<half - 1
	x := p
	for {
		l, r := x>>half, x&mask
		for round := uint64(0); round < 4; round++ {
			l, r = r, l^(mix(key^(round<<56)^r)&mask)
		}
		x = l<<half | r
		if x < n {
			return x
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
