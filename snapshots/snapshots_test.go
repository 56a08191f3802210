package snapshots_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
)

func str(s string) *string { return &s }

// makeSnapshot builds n repositories whose content depends on tag, so two
// tags give two different versions.
func makeSnapshot(n int, tag string, at time.Time) *snapshots.Snapshot {
	s := &snapshots.Snapshot{GeneratedAt: at, Source: snapshots.Source{API: "https://api.github.com/", Strategy: "search"}}
	for i := range n {
		r := snapshots.Repository{
			ID: int64(1000 + n - i), FullName: fmt.Sprintf("owner%d/repo-%s-%d", i%7, tag, i), Owner: fmt.Sprintf("owner%d", i%7),
			Repository: fmt.Sprintf("repo-%s-%d", tag, i), Description: str("a <b>bold</b> ünïcode ☃ description"),
			HTMLURL:   fmt.Sprintf("https://github.com/owner%d/repo-%s-%d", i%7, tag, i),
			CreatedAt: t0.Add(-time.Duration(i) * time.Second), UpdatedAt: t0, PushedAt: t0,
			Language: str("Go"), LanguagesStatus: snapshots.LanguagesOK,
			Languages:  map[string]snapshots.Language{"go": {Name: "Go", Bytes: int64(100 * i)}, "shell": {Name: "Shell", Bytes: 7}, "c++": {Name: "C++", Bytes: 3}},
			License:    &snapshots.License{Key: "mit", SPDXID: "MIT", Name: "MIT License"},
			Visibility: "public", AllowForking: true, HasIssues: true, OpenIssuesCount: i % 3, DefaultBranch: "main",
		}
		switch i % 5 {
		case 1:
			r.Languages, r.LanguagesStatus, r.Language, r.License = nil, snapshots.LanguagesPending, nil, nil
		case 2:
			r.Languages, r.LanguagesStatus = nil, snapshots.LanguagesUnavailable
		case 3:
			r.Topics = []string{"go", "cli"}
		}
		s.Repositories = append(s.Repositories, r)
	}
	return s
}

var t0 = time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*dirstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := dirstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func TestEncodingIsDeterministic(t *testing.T) {
	a := makeSnapshot(50, "x", t0)
	b := makeSnapshot(50, "x", t0.Add(300*time.Millisecond).In(time.FixedZone("CET", 3600)))
	// Same meaning, built another way: maps filled in another order.
	for i := range b.Repositories {
		if b.Repositories[i].Languages != nil {
			m := map[string]snapshots.Language{}
			for _, k := range []string{"c++", "shell", "go"} {
				m[k] = b.Repositories[i].Languages[k]
			}
			b.Repositories[i].Languages = m
		}
	}
	ea, err := snapshots.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := snapshots.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea.Identity, eb.Identity) || !bytes.Equal(ea.Gzip, eb.Gzip) || !bytes.Equal(ea.Zstd, eb.Zstd) {
		t.Fatal("the same snapshot encoded to different bytes")
	}
	if ea.Manifest.Version != eb.Manifest.Version || !snapshots.ValidVersion(ea.Manifest.Version) || !strings.HasPrefix(ea.Manifest.Version, "20261127T160000Z-") {
		t.Fatalf("versions %q %q", ea.Manifest.Version, eb.Manifest.Version)
	}
	// HTML and unicode are written as they are, and null stays null.
	for _, want := range []string{`"description":"a <b>bold</b> ünïcode ☃ description"`, `"languages":null`, `"license":null`, `"topics":[]`,
		`"languages":{"c++":{"name":"C++","bytes":3},"go":{"name":"Go","bytes":0},"shell":{"name":"Shell","bytes":7}}`, `"schema_version":1,"version":"2026`} {
		if !bytes.Contains(ea.Identity, []byte(want)) {
			t.Errorf("repos.json lacks %s", want)
		}
	}
	c := makeSnapshot(50, "y", t0)
	ec, _ := snapshots.Encode(c)
	if ec.Manifest.Version == ea.Manifest.Version {
		t.Fatal("different repositories, same version")
	}
}

func TestRepositoryFieldsAreComplete(t *testing.T) {
	e, err := snapshots.Encode(makeSnapshot(1, "x", t0))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Repositories []map[string]json.RawMessage `json:"repositories"`
	}
	if err := json.Unmarshal(e.Identity, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(`id full_name owner repository description html_url homepage created_at updated_at pushed_at
		language languages languages_status license topics fork archived is_template allow_forking visibility has_issues
		has_projects has_downloads has_wiki has_pages has_discussions open_issues_count stargazers_count watchers_count
		forks_count size default_branch`) {
		if _, ok := doc.Repositories[0][f]; !ok {
			t.Errorf("repository object lacks %q", f)
		}
	}
}

func TestCompressedEncodingsDecodeToIdentity(t *testing.T) {
	e, err := snapshots.Encode(makeSnapshot(200, "x", t0))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(e.Gzip)) // the standard library's reader
	if err != nil {
		t.Fatal(err)
	}
	gz, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(gz, e.Identity) {
		t.Fatalf("gzip does not decode to repos.json: %v", err)
	}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	zs, err := dec.DecodeAll(e.Zstd, nil)
	if err != nil || !bytes.Equal(zs, e.Identity) {
		t.Fatalf("zstd does not decode to repos.json: %v", err)
	}
	if len(e.Gzip) >= len(e.Identity) || len(e.Zstd) >= len(e.Identity) {
		t.Fatalf("compression did not compress: %d %d %d", len(e.Identity), len(e.Gzip), len(e.Zstd))
	}
}

func TestPublishLayoutAndLoad(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	s := makeSnapshot(30, "x", t0)
	m, published, err := snapshots.Publish(ctx, st, s)
	if err != nil || !published {
		t.Fatalf("publish: %v %v", published, err)
	}
	infos, _ := st.List(ctx, "")
	var keys []string
	for _, o := range infos {
		keys = append(keys, o.Key)
	}
	v := m.Version
	want := []string{"latest.json", "snapshots/" + v + "/manifest.json", "snapshots/" + v + "/repos.json", "snapshots/" + v + "/repos.json.gz", "snapshots/" + v + "/repos.json.zst"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("layout: %v\nwant %v", keys, want)
	}
	for key, meta := range map[string]snapshots.Meta{
		"latest.json":                        {ContentType: "application/json", CacheControl: snapshots.LatestCacheControl},
		"snapshots/" + v + "/repos.json.gz":  {ContentType: "application/json", ContentEncoding: "gzip", CacheControl: snapshots.ImmutableCacheControl},
		"snapshots/" + v + "/repos.json.zst": {ContentType: "application/json", ContentEncoding: "zstd", CacheControl: snapshots.ImmutableCacheControl},
		"snapshots/" + v + "/repos.json":     {ContentType: "application/json", CacheControl: snapshots.ImmutableCacheControl},
	} {
		obj, err := st.Get(ctx, key, "")
		if err != nil || obj.Meta != meta {
			t.Errorf("%s: meta %+v, want %+v (%v)", key, obj.Meta, meta, err)
		}
	}
	latest, _, err := snapshots.Latest(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := snapshots.ReadManifest(ctx, st, v)
	if err != nil || fmt.Sprint(*latest) != fmt.Sprint(*manifest) || fmt.Sprint(*manifest) != fmt.Sprint(m) {
		t.Fatalf("latest.json is not a copy of the manifest: %+v / %+v (%v)", latest, manifest, err)
	}
	if m.Repositories != 30 || m.Languages != (snapshots.Counts{OK: 18, Pending: 6, Unavailable: 6}) || len(m.Files) != 3 {
		t.Fatalf("manifest: %+v", m)
	}
	loaded, err := snapshots.Load(ctx, st, latest)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := snapshots.Encode(loaded)
	if f, _ := m.File(snapshots.EncodingIdentity); again.Manifest.Files[0].SHA256 != f.SHA256 {
		t.Fatal("a loaded snapshot does not re-encode to the published bytes")
	}
}

// Snapshots of no repository and of one load back, whichever encoding is
// the smallest (for a few hundred bytes, zstd's smallest window is larger
// than the file).
func TestTinySnapshotsLoad(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1} {
		st, _ := newStore(t)
		m, _, err := snapshots.Publish(ctx, st, makeSnapshot(n, "tiny", t0))
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := snapshots.Load(ctx, st, &m)
		if err != nil {
			t.Fatalf("%d repositories: %v", n, err)
		}
		if len(loaded.Repositories) != n || loaded.Version != m.Version {
			t.Fatalf("%d repositories: loaded %d, version %s", n, len(loaded.Repositories), loaded.Version)
		}
	}
}

func TestUnchangedSnapshotIsNotRepublished(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	m1, published, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0))
	if err != nil || !published {
		t.Fatal(published, err)
	}
	before, _ := st.List(ctx, "")
	m2, published, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0.Add(2*time.Minute)))
	if err != nil || published || m2.Version != m1.Version {
		t.Fatalf("second publish of the same repositories: published=%v version %s (was %s) %v", published, m2.Version, m1.Version, err)
	}
	after, _ := st.List(ctx, "")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("store changed:\n%v\n%v", before, after)
	}
	if _, published, _ := snapshots.Publish(ctx, st, makeSnapshot(10, "y", t0.Add(4*time.Minute))); !published {
		t.Fatal("changed repositories were not published")
	}
}

// Unchanged repositories are published again when the version latest.json
// names is no longer whole: edges could not load it.
func TestUnchangedButMissingIsRepublished(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, _, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0)); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"repos.json.gz", "manifest.json", "repos.json"} {
		cur, _, err := snapshots.Latest(ctx, st, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, snapshots.VersionKey(cur.Version, name)); err != nil {
			t.Fatal(err)
		}
		m, published, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0.Add(time.Duration(i+1)*time.Minute)))
		if err != nil || !published || m.Version == cur.Version {
			t.Fatalf("%s gone: published=%v version %s (was %s) %v", name, published, m.Version, cur.Version, err)
		}
		if _, err := snapshots.Load(ctx, st, &m); err != nil {
			t.Errorf("%s gone: the new version does not load: %v", name, err)
		}
	}
	// A file rewritten at another size is not the version either.
	cur, _, _ := snapshots.Latest(ctx, st, "")
	if err := st.Put(ctx, snapshots.VersionKey(cur.Version, "repos.json.zst"), []byte("x"), snapshots.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, published, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0.Add(time.Hour))); err != nil || !published {
		t.Errorf("a truncated file: published=%v %v", published, err)
	}
}

// A latest.json that cannot be read is corrupt, and the next publication
// replaces it: only a publication can repair it. One of another schema
// version is left alone: it may be a newer publisher's.
func TestUnreadableLatestIsReplaced(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	m1, _, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := st.Get(ctx, snapshots.LatestKey, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range [][]byte{whole.Body[:len(whole.Body)/2], []byte(`{"schema_version":1,"version":"../x"}`), []byte(`{}`), []byte(`null`)} {
		if err := st.Put(ctx, snapshots.LatestKey, body, snapshots.Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := snapshots.Latest(ctx, st, ""); !errors.Is(err, snapshots.ErrCorrupt) {
			t.Errorf("latest.json %.40q: %v, want ErrCorrupt", body, err)
		}
		// The same repositories: published again all the same.
		m, published, err := snapshots.Publish(ctx, st, makeSnapshot(10, "x", t0.Add(time.Minute)))
		if err != nil || !published {
			t.Fatalf("publish over %.40q: published=%v %v", body, published, err)
		}
		if got, _, err := snapshots.Latest(ctx, st, ""); err != nil || got.Version != m.Version || m.Version == m1.Version {
			t.Errorf("latest.json names %v (%v), want %s", got, err, m.Version)
		}
	}
	newer := bytes.Replace(whole.Body, []byte(`"schema_version":1`), []byte(`"schema_version":2`), 1)
	if bytes.Equal(newer, whole.Body) {
		t.Fatal("the manifest has no schema_version 1 to replace")
	}
	if err := st.Put(ctx, snapshots.LatestKey, newer, snapshots.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := snapshots.Publish(ctx, st, makeSnapshot(10, "z", t0.Add(2*time.Minute))); err == nil || errors.Is(err, snapshots.ErrCorrupt) {
		t.Errorf("publish over a newer schema's latest.json: %v, want an error, not ErrCorrupt", err)
	}
	if got, _ := st.Get(ctx, snapshots.LatestKey, ""); !bytes.Equal(got.Body, newer) {
		t.Error("a newer schema's latest.json was overwritten")
	}
}

func TestPruneKeepsNewestAndLatest(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	var versions []string
	for i := range 5 {
		m, _, err := snapshots.Publish(ctx, st, makeSnapshot(5, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, m.Version)
	}
	deleted, err := snapshots.Prune(ctx, st, 2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(deleted) != fmt.Sprint([]string{versions[2], versions[1], versions[0]}) {
		t.Fatalf("deleted %v", deleted)
	}
	left, _ := snapshots.Versions(ctx, st)
	if fmt.Sprint(left) != fmt.Sprint(versions[3:]) {
		t.Fatalf("left %v, want %v", left, versions[3:])
	}
	// latest.json names a version older than the newest K: it stays.
	old, _, err := snapshots.Publish(ctx, st, makeSnapshot(5, "old", t0.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshots.Prune(ctx, st, 1); err != nil {
		t.Fatal(err)
	}
	left, _ = snapshots.Versions(ctx, st)
	if fmt.Sprint(left) != fmt.Sprint([]string{old.Version, versions[4]}) {
		t.Fatalf("left %v, want %v and %v", left, old.Version, versions[4])
	}
	if _, err := snapshots.Load(ctx, st, &old); err != nil {
		t.Fatalf("the version latest.json names no longer loads: %v", err)
	}
}

// corrupt rewrites the stored repos.json.zst of a version (the encoding a
// loader picks, being the smallest).
func corrupt(t *testing.T, dir, version string, damage func([]byte) []byte) {
	t.Helper()
	p := filepath.Join(dir, "snapshots", version, "repos.json.zst")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, damage(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptSnapshotKeepsPreviousCurrent(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)-10] },
		"empty":        func(b []byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, dir := newStore(t)
			f := snapshots.Follow(st)
			m1, _, err := snapshots.Publish(ctx, st, makeSnapshot(20, "good", t0))
			if err != nil {
				t.Fatal(err)
			}
			cur, s, err := f.Next(ctx)
			if err != nil || cur.Version != m1.Version || len(s.Repositories) != 20 {
				t.Fatalf("first load: %v", err)
			}
			m2, _, err := snapshots.Publish(ctx, st, makeSnapshot(20, "bad", t0.Add(time.Minute)))
			if err != nil {
				t.Fatal(err)
			}
			corrupt(t, dir, m2.Version, damage)
			if _, err := snapshots.Load(ctx, st, &m2); !errors.Is(err, snapshots.ErrCorrupt) {
				t.Fatalf("Load of a corrupt version: %v, want ErrCorrupt", err)
			}
			m, s, err := f.Next(ctx)
			if !errors.Is(err, snapshots.ErrCorrupt) || m != nil || s != nil {
				t.Fatalf("Next over a corrupt version: %v %v", m, err)
			}
			// Not fetched again while latest.json names it.
			if m, _, err := f.Next(ctx); m != nil || err != nil {
				t.Fatalf("Next again: %v %v", m, err)
			}
			m3, _, err := snapshots.Publish(ctx, st, makeSnapshot(20, "fixed", t0.Add(2*time.Minute)))
			if err != nil {
				t.Fatal(err)
			}
			if m, s, err := f.Next(ctx); err != nil || m.Version != m3.Version || s.Version != m3.Version {
				t.Fatalf("recovery: %v %v", m, err)
			}
		})
	}
}

func TestFollowerUnchangedCostsNothing(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	counting := &countingStore{Store: st}
	f := snapshots.Follow(counting)
	if _, _, err := f.Next(ctx); !errors.Is(err, snapshots.ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	snapshots.Publish(ctx, st, makeSnapshot(3, "a", t0))
	if m, _, err := f.Next(ctx); err != nil || m == nil {
		t.Fatal(m, err)
	}
	counting.reset()
	for range 5 {
		if m, s, err := f.Next(ctx); m != nil || s != nil || err != nil {
			t.Fatal(m, err)
		}
	}
	if counting.bodies != 0 || counting.gets != 5 {
		t.Fatalf("5 unchanged polls transferred %d bodies in %d gets", counting.bodies, counting.gets)
	}
}

// A latest.json that cannot be read is reported once, then read again only
// when it changes: its polls cost no body meanwhile.
func TestFollowerWaitsOutABrokenLatest(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	counting := &countingStore{Store: st}
	f := snapshots.Follow(counting)
	m1, _, err := snapshots.Publish(ctx, st, makeSnapshot(3, "a", t0))
	if err != nil {
		t.Fatal(err)
	}
	if m, _, err := f.Next(ctx); err != nil || m == nil {
		t.Fatal(m, err)
	}
	whole, _ := st.Get(ctx, snapshots.LatestKey, "")
	if err := st.Put(ctx, snapshots.LatestKey, whole.Body[:len(whole.Body)/2], snapshots.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Next(ctx); !errors.Is(err, snapshots.ErrCorrupt) {
		t.Fatalf("a truncated latest.json: %v, want ErrCorrupt", err)
	}
	counting.reset()
	for range 5 {
		if m, s, err := f.Next(ctx); m != nil || s != nil || err != nil {
			t.Fatal(m, err)
		}
	}
	if counting.bodies != 0 || counting.gets != 5 {
		t.Fatalf("5 polls of the same broken latest.json transferred %d bodies in %d gets", counting.bodies, counting.gets)
	}
	m2, _, err := snapshots.Publish(ctx, st, makeSnapshot(3, "b", t0.Add(time.Minute)))
	if err != nil || m2.Version == m1.Version {
		t.Fatal(m2.Version, err)
	}
	if m, _, err := f.Next(ctx); err != nil || m == nil || m.Version != m2.Version {
		t.Fatalf("once replaced: %v %v", m, err)
	}
}

type countingStore struct {
	snapshots.Store
	mu           sync.Mutex
	gets, bodies int
}

func (c *countingStore) reset() { c.mu.Lock(); c.gets, c.bodies = 0, 0; c.mu.Unlock() }

func (c *countingStore) Get(ctx context.Context, key, inm string) (*snapshots.Object, error) {
	obj, err := c.Store.Get(ctx, key, inm)
	c.mu.Lock()
	c.gets++
	if err == nil {
		c.bodies++
	}
	c.mu.Unlock()
	return obj, err
}

// TestPublishRacingLoads: readers in other goroutines load whatever
// latest.json names while versions are published; none ever sees an error
// or a snapshot other than one that was published whole.
func TestPublishRacingLoads(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	published := sync.Map{} // version → tag
	m, _, err := snapshots.Publish(ctx, st, makeSnapshot(300, "t0", t0))
	if err != nil {
		t.Fatal(err)
	}
	published.Store(m.Version, "t0")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	loads := make([]int, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := snapshots.Follow(st)
			for {
				select {
				case <-stop:
					return
				default:
				}
				time.Sleep(time.Millisecond)
				m, s, err := f.Next(ctx)
				if err != nil {
					errs <- err
					return
				}
				if m == nil {
					continue
				}
				tag, ok := published.Load(m.Version)
				if !ok || len(s.Repositories) != 300 || !strings.Contains(s.Repositories[299].FullName, "-"+tag.(string)+"-") {
					errs <- fmt.Errorf("loaded %s, not a whole published snapshot", m.Version)
					return
				}
				loads[g]++
			}
		}()
	}
	for i := 1; i <= 15; i++ {
		tag := fmt.Sprintf("t%d", i)
		s := makeSnapshot(300, tag, t0.Add(time.Duration(i)*time.Minute))
		e, _ := snapshots.Encode(s)
		published.Store(e.Manifest.Version, tag)
		if _, _, err := snapshots.Publish(ctx, st, s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("loads per reader: %v", loads)
	for _, n := range loads {
		if n == 0 {
			t.Fatal("a reader never loaded a snapshot")
		}
	}
}
