package snapshots

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrCorrupt marks a version whose stored bytes do not match its manifest.
// Versions never change, so retrying it is pointless until latest.json
// moves on; any other load error may be passing and is worth a retry.
var ErrCorrupt = errors.New("snapshots: corrupt snapshot")

// Follower follows a store's latest.json. It remembers what it has seen so
// that an unchanged pointer costs one conditional request, a corrupt
// version is not fetched again and again, and a passing failure is retried.
// It is not safe for concurrent use: one goroutine polls.
type Follower struct {
	Store   Store
	etag    string // of the latest.json last dealt with
	version string // last loaded
}

// Next returns the newest snapshot when latest.json names one that differs
// from the last returned, or nil, nil when there is nothing new. On error,
// whatever the caller is serving stays as it is.
func (f *Follower) Next(ctx context.Context) (*Manifest, *Snapshot, error) {
	m, etag, err := Latest(ctx, f.Store, f.etag)
	if errors.Is(err, ErrNotModified) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	if m.Version == f.version {
		f.etag = etag
		return nil, nil, nil
	}
	s, err := Load(ctx, f.Store, m)
	if errors.Is(err, ErrCorrupt) {
		f.etag = etag
	}
	if err != nil {
		return nil, nil, err
	}
	f.etag, f.version = etag, m.Version
	return m, s, nil
}

// Latest reads latest.json. With the ETag of the last successful read it
// returns ErrNotModified when nothing changed, without transferring it.
// The returned ETag is what to pass next time.
func Latest(ctx context.Context, st Store, ifNoneMatch string) (*Manifest, string, error) {
	obj, err := st.Get(ctx, LatestKey, ifNoneMatch)
	if err != nil {
		return nil, "", err
	}
	m, err := decodeManifest(obj.Body)
	if err != nil {
		return nil, "", fmt.Errorf("latest.json: %w", err)
	}
	return m, obj.ETag, nil
}

// ReadManifest reads the manifest of one version.
func ReadManifest(ctx context.Context, st Store, version string) (*Manifest, error) {
	if !ValidVersion(version) {
		return nil, fmt.Errorf("snapshots: invalid version %q", version)
	}
	obj, err := st.Get(ctx, VersionKey(version, manifestName), "")
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(obj.Body)
	if err != nil {
		return nil, err
	}
	if m.Version != version {
		return nil, fmt.Errorf("manifest of %s names %s", version, m.Version)
	}
	return m, nil
}

// Load fetches the smallest encoding the manifest lists, verifies its size
// and SHA-256 and those of the decoded repos.json, and decodes it. Any
// mismatch is an error: a caller never gets half a snapshot.
func Load(ctx context.Context, st Store, m *Manifest) (*Snapshot, error) {
	identity, ok := m.File(EncodingIdentity)
	if !ok {
		return nil, fmt.Errorf("snapshot %s: manifest lists no repos.json", m.Version)
	}
	pick := identity
	for _, f := range m.Files {
		if f.Size < pick.Size && (f.Encoding == EncodingGzip || f.Encoding == EncodingZstd) {
			pick = f
		}
	}
	obj, err := st.Get(ctx, pick.Key, "")
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", m.Version, err)
	}
	if err := verify(obj.Body, pick); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %v", ErrCorrupt, m.Version, err)
	}
	body, err := decode(obj.Body, pick.Encoding, identity.Size)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %s: %v", ErrCorrupt, m.Version, pick.Key, err)
	}
	if err := verify(body, identity); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: decoded %v", ErrCorrupt, m.Version, err)
	}
	s, err := decodeSnapshot(body)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %v", ErrCorrupt, m.Version, err)
	}
	if s.Version != m.Version || len(s.Repositories) != m.Repositories {
		return nil, fmt.Errorf("%w: snapshot %s: repos.json says version %s with %d repositories, manifest says %d",
			ErrCorrupt, m.Version, s.Version, len(s.Repositories), m.Repositories)
	}
	return s, nil
}

func verify(b []byte, f File) error {
	if int64(len(b)) != f.Size {
		return fmt.Errorf("%s: %d bytes, manifest says %d", f.Key, len(b), f.Size)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return fmt.Errorf("%s: sha256 %s, manifest says %s", f.Key, got, f.SHA256)
	}
	return nil
}

// decode reads at most want+1 bytes, so a corrupt stream cannot blow up
// memory before the size check catches it.
func decode(b []byte, encoding string, want int64) ([]byte, error) {
	var r io.Reader
	switch encoding {
	case EncodingIdentity:
		return b, nil
	case EncodingGzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	case EncodingZstd:
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(want)+1))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unknown encoding %q", encoding)
	}
	out, err := io.ReadAll(io.LimitReader(r, want+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > want {
		return nil, errors.New("decodes to more bytes than the manifest says")
	}
	return out, nil
}
