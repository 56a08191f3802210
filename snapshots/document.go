package snapshots

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SchemaVersion is the version of the repos.json and manifest.json formats.
// Readers refuse any other value rather than guess.
const SchemaVersion = 1

// Languages status values. A repository is "pending" when the publisher ran
// out of GitHub budget before asking for its languages; the next run asks
// for it first.
const (
	LanguagesOK          = "ok"
	LanguagesPending     = "pending"
	LanguagesUnavailable = "unavailable"
)

// Snapshot is the repos.json document.
type Snapshot struct {
	SchemaVersion int          `json:"schema_version"`
	Version       string       `json:"version"`
	GeneratedAt   time.Time    `json:"generated_at"`
	Source        Source       `json:"source"`
	Repositories  []Repository `json:"repositories"`
}

// Source says how a snapshot was fetched, so a reader can judge it.
type Source struct {
	API      string `json:"api"`
	Strategy string `json:"strategy"`
	Query    string `json:"query,omitempty"`
}

// Repository is one public repository as published. Field names follow
// GitHub's where GitHub has one, so clients can move between the two.
type Repository struct {
	ID              int64               `json:"id"`
	FullName        string              `json:"full_name"`
	Owner           string              `json:"owner"`
	Repository      string              `json:"repository"`
	Description     *string             `json:"description"`
	HTMLURL         string              `json:"html_url"`
	Homepage        *string             `json:"homepage"`
	CreatedAt       time.Time           `json:"created_at"`
	UpdatedAt       time.Time           `json:"updated_at"`
	PushedAt        time.Time           `json:"pushed_at"`
	Language        *string             `json:"language"`
	Languages       map[string]Language `json:"languages"`
	LanguagesStatus string              `json:"languages_status"`
	License         *License            `json:"license"`
	Topics          []string            `json:"topics"`
	Fork            bool                `json:"fork"`
	Archived        bool                `json:"archived"`
	IsTemplate      bool                `json:"is_template"`
	AllowForking    bool                `json:"allow_forking"`
	Visibility      string              `json:"visibility"`
	HasIssues       bool                `json:"has_issues"`
	HasProjects     bool                `json:"has_projects"`
	HasDownloads    bool                `json:"has_downloads"`
	HasWiki         bool                `json:"has_wiki"`
	HasPages        bool                `json:"has_pages"`
	HasDiscussions  bool                `json:"has_discussions"`
	OpenIssuesCount int                 `json:"open_issues_count"`
	StargazersCount int                 `json:"stargazers_count"`
	WatchersCount   int                 `json:"watchers_count"`
	ForksCount      int                 `json:"forks_count"`
	Size            int                 `json:"size"`
	DefaultBranch   string              `json:"default_branch"`
}

// Language is one entry of a repository's languages map, keyed by the
// lower-case name so that lookups need no case folding.
type Language struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// License is GitHub's license summary.
type License struct {
	Key    string `json:"key"`
	SPDXID string `json:"spdx_id"`
	Name   string `json:"name"`
}

// LanguagesFromGitHub turns GitHub's {"JavaScript": 123} into the published
// map keyed by lower-case name.
func LanguagesFromGitHub(m map[string]int) map[string]Language {
	out := make(map[string]Language, len(m))
	for name, n := range m {
		out[LanguageKey(name)] = Language{Name: name, Bytes: int64(n)}
	}
	return out
}

// normalize makes two snapshots with the same meaning encode to the same
// bytes: times in UTC at second precision, no nil topics.
func (s *Snapshot) normalize() {
	s.SchemaVersion = SchemaVersion
	s.GeneratedAt = s.GeneratedAt.UTC().Truncate(time.Second)
	for i := range s.Repositories {
		r := &s.Repositories[i]
		r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Second)
		r.UpdatedAt = r.UpdatedAt.UTC().Truncate(time.Second)
		r.PushedAt = r.PushedAt.UTC().Truncate(time.Second)
		if r.Topics == nil {
			r.Topics = []string{}
		}
	}
}

// Marshal is the one encoder of published JSON: compact, no HTML escaping
// (the documents are data, not markup), keys of maps sorted by
// encoding/json. The edge answers with it too, so a repository object it
// builds has the bytes it has in repos.json.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Encode returns the deterministic repos.json bytes of s.
func (s *Snapshot) Encode() ([]byte, error) {
	s.normalize()
	return Marshal(s)
}

// ContentDigest is the hex SHA-256 of the repositories alone. repos.json
// also carries its own version and generation time, so hashing the whole
// file could neither name the version nor tell that nothing changed; the
// repositories are what a reader cares about.
func (s *Snapshot) ContentDigest() (string, error) {
	s.normalize()
	b, err := Marshal(s.Repositories)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

const versionTimeLayout = "20060102T150405Z"

var versionPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}$`)

// VersionName names a snapshot: its generation time, so names sort by time,
// then the first 12 hex digits of its content digest.
func VersionName(generatedAt time.Time, digest string) string {
	return generatedAt.UTC().Format(versionTimeLayout) + "-" + digest[:12]
}

// ValidVersion reports whether v has the shape of a version name. Callers
// check it before turning user input into a storage key.
func ValidVersion(v string) bool { return versionPattern.MatchString(v) }

// decodeSnapshot parses repos.json strictly: unknown schema versions and
// trailing garbage are errors, never a half-read snapshot.
func decodeSnapshot(b []byte) (*Snapshot, error) {
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode repos.json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode repos.json: trailing data")
	}
	if s.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("repos.json: schema_version %d, want %d", s.SchemaVersion, SchemaVersion)
	}
	return &s, nil
}

// LanguageKey is the key a language name is stored under.
func LanguageKey(name string) string { return strings.ToLower(name) }
