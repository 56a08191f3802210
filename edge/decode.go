package edge

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/freshrepos/freshrepos/snapshots"
)

// decodeRepository decodes one repository object of repos.json into r,
// as json.Unmarshal would. The publisher writes every object with the
// same encoder, so the members always come in the same order; read in
// that order, with the values of the types expected, an object decodes
// several times faster than through encoding/json's reflection, which
// took most of the time of loading a large snapshot. Anything else (a
// member out of place, an escape in a string, a number that is not a
// plain integer) is left to json.Unmarshal, which also reports what is
// wrong.
func decodeRepository(b []byte, r *snapshots.Repository) error {
	d := repoDecoder{b: b, ok: true}
	d.decode(r)
	if d.ok && d.i == len(b) {
		return nil
	}
	*r = snapshots.Repository{}
	return json.Unmarshal(b, r)
}

// repoDecoder reads the fixed layout; ok turns false at the first thing
// it does not expect, and everything after is skipped.
type repoDecoder struct {
	b  []byte
	i  int
	ok bool
}

func (d *repoDecoder) decode(r *snapshots.Repository) {
	d.lit(`{"id":`)
	r.ID = d.int()
	d.lit(`,"full_name":`)
	r.FullName = d.str()
	d.lit(`,"owner":`)
	r.Owner = d.str()
	d.lit(`,"repository":`)
	r.Repository = d.str()
	d.lit(`,"description":`)
	r.Description = d.strOrNull()
	d.lit(`,"html_url":`)
	r.HTMLURL = d.str()
	d.lit(`,"homepage":`)
	r.Homepage = d.strOrNull()
	d.lit(`,"created_at":`)
	r.CreatedAt = d.time()
	d.lit(`,"updated_at":`)
	r.UpdatedAt = d.time()
	d.lit(`,"pushed_at":`)
	r.PushedAt = d.time()
	d.lit(`,"language":`)
	r.Language = d.strOrNull()
	d.lit(`,"languages":`)
	if !d.null() {
		d.lit(`{`)
		r.Languages = map[string]snapshots.Language{}
		for first := true; d.ok && d.peek() != '}'; first = false {
			if !first {
				d.lit(`,`)
			}
			key := d.str()
			d.lit(`:{"name":`)
			name := d.str()
			d.lit(`,"bytes":`)
			r.Languages[key] = snapshots.Language{Name: name, Bytes: d.int()}
			d.lit(`}`)
		}
		d.lit(`}`)
	}
	d.lit(`,"languages_status":`)
	r.LanguagesStatus = d.str()
	d.lit(`,"license":`)
	if !d.null() {
		r.License = new(snapshots.License)
		d.lit(`{"key":`)
		r.License.Key = d.str()
		d.lit(`,"spdx_id":`)
		r.License.SPDXID = d.str()
		d.lit(`,"name":`)
		r.License.Name = d.str()
		d.lit(`}`)
	}
	d.lit(`,"topics":`)
	if !d.null() {
		d.lit(`[`)
		r.Topics = []string{}
		for first := true; d.ok && d.peek() != ']'; first = false {
			if !first {
				d.lit(`,`)
			}
			r.Topics = append(r.Topics, d.str())
		}
		d.lit(`]`)
	}
	d.lit(`,"fork":`)
	r.Fork = d.bool()
	d.lit(`,"archived":`)
	r.Archived = d.bool()
	d.lit(`,"is_template":`)
	r.IsTemplate = d.bool()
	d.lit(`,"allow_forking":`)
	r.AllowForking = d.bool()
	d.lit(`,"visibility":`)
	r.Visibility = d.str()
	d.lit(`,"has_issues":`)
	r.HasIssues = d.bool()
	d.lit(`,"has_projects":`)
	r.HasProjects = d.bool()
	d.lit(`,"has_downloads":`)
	r.HasDownloads = d.bool()
	d.lit(`,"has_wiki":`)
	r.HasWiki = d.bool()
	d.lit(`,"has_pages":`)
	r.HasPages = d.bool()
	d.lit(`,"has_discussions":`)
	r.HasDiscussions = d.bool()
	d.lit(`,"open_issues_count":`)
	r.OpenIssuesCount = int(d.int())
	d.lit(`,"stargazers_count":`)
	r.StargazersCount = int(d.int())
	d.lit(`,"watchers_count":`)
	r.WatchersCount = int(d.int())
	d.lit(`,"forks_count":`)
	r.ForksCount = int(d.int())
	d.lit(`,"size":`)
	r.Size = int(d.int())
	d.lit(`,"default_branch":`)
	r.DefaultBranch = d.str()
	d.lit(`}`)
}

func (d *repoDecoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	d.ok = false
	return 0
}

// lit consumes s, which must come next.
func (d *repoDecoder) lit(s string) {
	if d.ok && len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return
	}
	d.ok = false
}

func (d *repoDecoder) null() bool {
	if d.ok && len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// raw returns the contents of a string with no escape, no control
// character and valid UTF-8, which json.Unmarshal would return as they
// are.
func (d *repoDecoder) raw() []byte {
	if !d.ok || d.i >= len(d.b) || d.b[d.i] != '"' {
		d.ok = false
		return nil
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !ascii && !utf8.Valid(s) {
				d.ok = false
				return nil
			}
			d.i = j + 1
			return s
		case c == '\\' || c < 0x20:
			d.ok = false
			return nil
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	d.ok = false
	return nil
}

func (d *repoDecoder) str() string {
	if s := d.raw(); d.ok {
		return string(s)
	}
	return ""
}

func (d *repoDecoder) strOrNull() *string {
	if d.null() {
		return nil
	}
	s := d.str()
	if !d.ok {
		return nil
	}
	return &s
}

// int reads an integer of at most 18 digits, which cannot overflow.
func (d *repoDecoder) int() int64 {
	if !d.ok {
		return 0
	}
	j, neg := d.i, false
	if j < len(d.b) && d.b[j] == '-' {
		neg = true
		j++
	}
	start := j
	var n int64
	for ; j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9'; j++ {
		n = n*10 + int64(d.b[j]-'0')
	}
	digits := j - start
	if digits == 0 || digits > 18 || digits > 1 && d.b[start] == '0' {
		d.ok = false
		return 0
	}
	d.i = j
	if neg {
		return -n
	}
	return n
}

func (d *repoDecoder) bool() bool {
	switch {
	case !d.ok:
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		d.i += 4
		return true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		d.i += 5
		return false
	}
	d.ok = false
	return false
}

// time reads a time as the publisher writes them, in UTC to the second
// ("2006-01-02T15:04:05Z"); any other form is left to time.Parse as
// encoding/json uses it.
func (d *repoDecoder) time() time.Time {
	s := d.raw()
	if !d.ok {
		return time.Time{}
	}
	if len(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		num := func(a, b int) int {
			n := 0
			for _, c := range s[a:b] {
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, dd, h, mi, se := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
		if y >= 0 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= daysIn(mo, y) && h >= 0 && h < 24 && mi >= 0 && mi < 60 && se >= 0 && se < 60 {
			return time.Date(y, time.Month(mo), dd, h, mi, se, 0, time.UTC)
		}
	}
	var t time.Time
	if err := t.UnmarshalJSON(d.b[d.i-len(s)-2 : d.i]); err != nil {
		d.ok = false
	}
	return t
}

func daysIn(m, y int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
