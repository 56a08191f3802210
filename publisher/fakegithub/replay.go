package fakegithub

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// replay serves recorded repositories: the items of search-repositories.json, in the order GitHub
// ranked them, and languages/<owner>/<repo>.json for each.
type replay struct {
	repos  []replayRepo // recorded (best match) order; a ref is an index here
	byID   []int64      // refs in id order
	byName map[string]int64
}

type replayRepo struct {
	id                int64
	name, description string
	created, updated  time.Time
	stars, forks      int64
	fork              bool
	raw, languages    []byte // compact JSON
}

func loadReplay(dir string) (*replay, error) {
	body, err := os.ReadFile(filepath.Join(dir, "search-repositories.json"))
	if err != nil {
		return nil, fmt.Errorf("fakegithub: replay: %w", err)
	}
	var doc struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("fakegithub: replay: search-repositories.json: %w", err)
	}
	r := &replay{byName: map[string]int64{}}
	seen := map[int64]bool{}
	for i, item := range doc.Items {
		var v struct {
			ID          int64     `json:"id"`
			Name        string    `json:"name"`
			FullName    string    `json:"full_name"`
			Description *string   `json:"description"`
			Fork        bool      `json:"fork"`
			CreatedAt   time.Time `json:"created_at"`
			UpdatedAt   time.Time `json:"updated_at"`
			Stars       int64     `json:"stargazers_count"`
			Forks       int64     `json:"forks_count"`
			Owner       struct {
				Login string `json:"login"`
			} `json:"owner"`
		}
		if err := json.Unmarshal(item, &v); err != nil {
			return nil, fmt.Errorf("fakegithub: replay: item %d: %w", i, err)
		}
		if v.ID == 0 || v.FullName == "" || seen[v.ID] {
			return nil, fmt.Errorf("fakegithub: replay: item %d: missing or repeated id or full_name", i)
		}
		seen[v.ID] = true
		var raw bytes.Buffer
		if err := json.Compact(&raw, item); err != nil {
			return nil, err
		}
		// Served as recorded; GitHub gives every search item a score, so one is added if missing.
		fs, err := splitObject(raw.Bytes())
		if err != nil {
			return nil, fmt.Errorf("fakegithub: replay: item %d: %w", i, err)
		}
		if _, ok := lookupField(fs, "score"); !ok {
			raw.Reset()
			raw.Write(joinObject(append(fs, field{"score", json.RawMessage("1.0")})))
		}
		langs, err := readLanguages(dir, v.Owner.Login, v.Name)
		if err != nil {
			return nil, err
		}
		rr := replayRepo{
			id: v.ID, name: v.Name, fork: v.Fork,
			created: v.CreatedAt.UTC(), updated: v.UpdatedAt.UTC(),
			stars: v.Stars, forks: v.Forks, raw: raw.Bytes(), languages: langs,
		}
		if v.Description != nil {
			rr.description = *v.Description
		}
		r.byName[strings.ToLower(v.FullName)] = int64(len(r.repos))
		r.repos = append(r.repos, rr)
		r.byID = append(r.byID, int64(len(r.repos)-1))
	}
	slices.SortFunc(r.byID, func(a, b int64) int { return cmp.Compare(r.repos[a].id, r.repos[b].id) })
	return r, nil
}

// readLanguages returns the recorded languages body, compacted as GitHub sends it; a repository
// recorded without one answers {} (no languages detected).
func readLanguages(dir, owner, name string) ([]byte, error) {
	body, err := os.ReadFile(filepath.Join(dir, "languages", owner, name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return []byte("{}"), nil
	}
	if err != nil {
		return nil, fmt.Errorf("fakegithub: replay: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("fakegithub: replay: languages of %s/%s: %w", owner, name, err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, body); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (r *replay) search(q *query, now time.Time, offset, limit int) searchPage {
	if q.none {
		return searchPage{}
	}
	var rs []ranked
	for i := range r.repos {
		p := &r.repos[i]
		if p.created.After(now) || !q.matchCreated(p.created) || !q.matchForks(p.fork) ||
			!q.matchText(p.name, p.description) {
			continue
		}
		var key int64
		switch q.sort {
		case "stars":
			key = p.stars
		case "forks":
			key = p.forks
		case "updated":
			key = p.updated.Unix()
		}
		rs = append(rs, ranked{key: key, id: p.id, ref: int64(i)})
	}
	if q.sort != "" {
		sortRanked(rs, q.asc)
	}
	lo, hi := window(len(rs), offset, limit)
	page := searchPage{total: len(rs)}
	for _, x := range rs[lo:hi] {
		page.refs = append(page.refs, x.ref)
	}
	return page
}

func (r *replay) since(id int64, now time.Time, limit int) []int64 {
	i, _ := slices.BinarySearchFunc(r.byID, id+1, func(ref, target int64) int {
		return cmp.Compare(r.repos[ref].id, target)
	})
	var refs []int64
	for ; i < len(r.byID) && len(refs) < limit; i++ {
		if ref := r.byID[i]; !r.repos[ref].created.After(now) {
			refs = append(refs, ref)
		}
	}
	return refs
}

func (r *replay) lookup(owner, name string, now time.Time) (int64, bool) {
	ref, ok := r.byName[strings.ToLower(owner+"/"+name)]
	if !ok || r.repos[ref].created.After(now) {
		return 0, false
	}
	return ref, true
}

func (r *replay) object(ref int64, _ time.Time) []byte    { return r.repos[ref].raw }
func (r *replay) languages(ref int64, _ time.Time) []byte { return r.repos[ref].languages }
func (r *replay) id(ref int64) int64                      { return r.repos[ref].id }
