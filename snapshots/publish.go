package snapshots

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Keys and names under a store's prefix.
const (
	LatestKey    = "latest.json"
	prefix       = "snapshots/"
	manifestName = "manifest.json"
	reposName    = "repos.json"
)

// Cache-Control for what a CDN may keep forever, and for the one pointer
// that changes. A short max-age on latest.json bounds how stale a
// CDN-fronted bucket can be.
const (
	ImmutableCacheControl = "public, max-age=31536000, immutable"
	LatestCacheControl    = "public, max-age=5, stale-while-revalidate=30"
)

// Content encodings of the three files of a version.
const (
	EncodingIdentity = "identity"
	EncodingGzip     = "gzip"
	EncodingZstd     = "zstd"
)

// Manifest describes one version. latest.json is a copy of the newest.
type Manifest struct {
	SchemaVersion int       `json:"schema_version"`
	Version       string    `json:"version"`
	GeneratedAt   time.Time `json:"generated_at"`
	ContentSHA256 string    `json:"content_sha256"`
	Repositories  int       `json:"repositories"`
	Languages     Counts    `json:"languages"`
	Files         []File    `json:"files"`
}

// Counts says how many repositories have languages in each status.
type Counts struct {
	OK          int `json:"ok"`
	Pending     int `json:"pending"`
	Unavailable int `json:"unavailable"`
}

// File is one encoding of repos.json.
type File struct {
	Key      string `json:"key"`
	Encoding string `json:"encoding"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// VersionKey is the key of a file in a version's folder.
func VersionKey(version, name string) string { return prefix + version + "/" + name }

// File returns the file of the given encoding, if the manifest lists it.
func (m *Manifest) File(encoding string) (File, bool) {
	for _, f := range m.Files {
		if f.Encoding == encoding {
			return f, true
		}
	}
	return File{}, false
}

// Encoded is a snapshot's three encodings, ready to be stored or served.
type Encoded struct {
	Manifest Manifest
	Identity []byte
	Gzip     []byte
	Zstd     []byte
}

// Encode names the snapshot, encodes repos.json and compresses it. It sets
// s.Version.
func Encode(s *Snapshot) (*Encoded, error) {
	digest, err := s.ContentDigest()
	if err != nil {
		return nil, err
	}
	s.Version = VersionName(s.GeneratedAt, digest)
	identity, err := s.Encode()
	if err != nil {
		return nil, err
	}
	gz, err := gzipBest(identity)
	if err != nil {
		return nil, err
	}
	zs, err := zstdHigh(identity)
	if err != nil {
		return nil, err
	}
	e := &Encoded{Identity: identity, Gzip: gz, Zstd: zs}
	e.Manifest = Manifest{
		SchemaVersion: SchemaVersion,
		Version:       s.Version,
		GeneratedAt:   s.GeneratedAt,
		ContentSHA256: digest,
		Repositories:  len(s.Repositories),
	}
	for _, r := range s.Repositories {
		switch r.LanguagesStatus {
		case LanguagesOK:
			e.Manifest.Languages.OK++
		case LanguagesPending:
			e.Manifest.Languages.Pending++
		case LanguagesUnavailable:
			e.Manifest.Languages.Unavailable++
		}
	}
	for _, f := range []struct {
		name, enc string
		body      []byte
	}{{reposName, EncodingIdentity, identity}, {reposName + ".gz", EncodingGzip, gz}, {reposName + ".zst", EncodingZstd, zs}} {
		sum := sha256.Sum256(f.body)
		e.Manifest.Files = append(e.Manifest.Files, File{
			Key: VersionKey(s.Version, f.name), Encoding: f.enc, Size: int64(len(f.body)), SHA256: hex.EncodeToString(sum[:]),
		})
	}
	return e, nil
}

func gzipBest(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// zstdEncoder is shared: building one at the best level allocates large
// tables, and EncodeAll is safe for concurrent use.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
})

func zstdHigh(b []byte) ([]byte, error) {
	enc, err := zstdEncoder()
	if err != nil {
		return nil, err
	}
	return enc.EncodeAll(b, nil), nil
}

// Publish stores a snapshot and points latest.json at it, unless the
// repositories are the same as those latest.json already names and that
// version is whole in the store, in which case nothing is written and
// published is false. The version's files and manifest are written before
// latest.json, so latest.json never names a version that is not whole.
func Publish(ctx context.Context, st Store, s *Snapshot) (m Manifest, published bool, err error) {
	digest, err := s.ContentDigest()
	if err != nil {
		return Manifest{}, false, err
	}
	// A latest.json that cannot be read (truncated, say) is replaced, as
	// if there were none: only a publication can repair it.
	cur, err := readLatest(ctx, st)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
		return Manifest{}, false, fmt.Errorf("publish: read latest: %w", err)
	}
	if err == nil && cur.ContentSHA256 == digest {
		// Unchanged, but its files may have gone since (deleted by hand,
		// or by a bucket's lifecycle rule): then it is published again,
		// as a new version, or edges could never load it.
		whole, err := isWhole(ctx, st, cur)
		if err != nil {
			return Manifest{}, false, fmt.Errorf("publish: check %s: %w", cur.Version, err)
		}
		if whole {
			return *cur, false, nil
		}
	}
	e, err := Encode(s)
	if err != nil {
		return Manifest{}, false, err
	}
	manifest, err := Marshal(e.Manifest)
	if err != nil {
		return Manifest{}, false, err
	}
	v := e.Manifest.Version
	for _, o := range []struct {
		name string
		body []byte
		enc  string
	}{{reposName, e.Identity, ""}, {reposName + ".gz", e.Gzip, "gzip"}, {reposName + ".zst", e.Zstd, "zstd"}, {manifestName, manifest, ""}} {
		meta := Meta{ContentType: "application/json", ContentEncoding: o.enc, CacheControl: ImmutableCacheControl}
		if err := st.Put(ctx, VersionKey(v, o.name), o.body, meta); err != nil {
			return Manifest{}, false, fmt.Errorf("publish %s: %w", v, err)
		}
	}
	if err := st.Put(ctx, LatestKey, manifest, Meta{ContentType: "application/json", CacheControl: LatestCacheControl}); err != nil {
		return Manifest{}, false, fmt.Errorf("publish %s: latest.json: %w", v, err)
	}
	return e.Manifest, true, nil
}

// isWhole reports whether every file m lists, and the version's manifest,
// is in the store at its size: one listing, not a read of each.
func isWhole(ctx context.Context, st Store, m *Manifest) (bool, error) {
	infos, err := st.List(ctx, VersionKey(m.Version, ""))
	if err != nil {
		return false, err
	}
	sizes := make(map[string]int64, len(infos))
	for _, o := range infos {
		sizes[o.Key] = o.Size
	}
	if _, ok := sizes[VersionKey(m.Version, manifestName)]; !ok {
		return false, nil
	}
	for _, f := range m.Files {
		if size, ok := sizes[f.Key]; !ok || size != f.Size {
			return false, nil
		}
	}
	return true, nil
}

func readLatest(ctx context.Context, st Store) (*Manifest, error) {
	obj, err := st.Get(ctx, LatestKey, "")
	if err != nil {
		return nil, err
	}
	return decodeManifest(obj.Body)
}

// decodeManifest reads a manifest. One that is not JSON, or names no
// schema version or no valid version, is corrupt; one of a later schema
// version is not: it is a newer publisher's, and not ours to overwrite.
func decodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: decode manifest: %v", ErrCorrupt, err)
	}
	if m.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("manifest: schema_version %d, want %d", m.SchemaVersion, SchemaVersion)
	}
	if m.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%w: manifest: schema_version %d, want %d", ErrCorrupt, m.SchemaVersion, SchemaVersion)
	}
	if !ValidVersion(m.Version) {
		return nil, fmt.Errorf("%w: manifest: bad version %q", ErrCorrupt, m.Version)
	}
	return &m, nil
}

// Versions lists the versions in the store, oldest first.
func Versions(ctx context.Context, st Store) ([]string, error) {
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range infos {
		v, name, ok := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
		if ok && name == manifestName && ValidVersion(v) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Prune deletes all but the newest keep versions, never the one latest.json
// names, and returns the versions it deleted. A version's manifest goes
// first, so a half-deleted version is never listed as one.
func Prune(ctx context.Context, st Store, keep int) ([]string, error) {
	if keep < 1 {
		keep = 1
	}
	cur, err := readLatest(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("prune: read latest: %w", err)
	}
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	byVersion := map[string][]string{}
	var versions []string
	for _, o := range infos {
		v, _, ok := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
		if !ok || !ValidVersion(v) {
			continue
		}
		if _, seen := byVersion[v]; !seen {
			versions = append(versions, v)
		}
		byVersion[v] = append(byVersion[v], o.Key)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(versions)))
	var deleted []string
	for i, v := range versions {
		if i < keep || v == cur.Version {
			continue
		}
		keys := byVersion[v]
		sort.Slice(keys, func(i, j int) bool {
			return strings.HasSuffix(keys[i], "/"+manifestName) && !strings.HasSuffix(keys[j], "/"+manifestName)
		})
		for _, k := range keys {
			if err := st.Delete(ctx, k); err != nil {
				return deleted, fmt.Errorf("prune %s: %w", v, err)
			}
		}
		deleted = append(deleted, v)
	}
	return deleted, nil
}
