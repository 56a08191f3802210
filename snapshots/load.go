package snapshots

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrCorrupt marks a version whose stored bytes do not match its manifest,
// or a manifest (latest.json included) that cannot be read at all.
// Versions never change, so retrying it is pointless until latest.json
// moves on; any other load error may be passing and is worth a retry.
var ErrCorrupt = errors.New("snapshots: corrupt snapshot")

// Follower follows a store's latest.json. It remembers what it has seen so
// that an unchanged pointer costs one conditional request, a corrupt
// version is not fetched again and again, and a passing failure is retried.
// Load is how a version is loaded (Load, for a *Snapshot; a reader that
// keeps the bytes as published, for the edge); it must wrap ErrCorrupt
// for what will never load. Not safe for concurrent use: one goroutine
// polls.
type Follower[T any] struct {
	Store   Store
	Load    func(context.Context, Store, *Manifest) (T, error)
	etag    string // of the latest.json last dealt with
	version string // last loaded
}

// Follow returns a Follower of st that loads with Load.
func Follow(st Store) *Follower[*Snapshot] {
	return &Follower[*Snapshot]{Store: st, Load: Load}
}

// Next returns the newest snapshot when latest.json names one that differs
// from the last returned, or nil and T's zero value when there is nothing
// new. On error, whatever the caller is serving stays as it is.
func (f *Follower[T]) Next(ctx context.Context) (*Manifest, T, error) {
	var none T
	m, etag, err := Latest(ctx, f.Store, f.etag)
	if errors.Is(err, ErrNotModified) {
		return nil, none, nil
	} else if err != nil {
		if errors.Is(err, ErrCorrupt) {
			f.etag = etag // a broken latest.json is read again once it changes
		}
		return nil, none, err
	}
	if m.Version == f.version {
		f.etag = etag
		return nil, none, nil
	}
	s, err := f.Load(ctx, f.Store, m)
	if errors.Is(err, ErrCorrupt) {
		f.etag = etag
	}
	if err != nil {
		return nil, none, err
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
		return nil, obj.ETag, fmt.Errorf("latest.json: %w", err) // its ETag, to wait for another
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

// Fetch fetches the smallest encoding of repos.json the manifest lists,
// verifies its size and SHA-256 and those of the decoded bytes, and returns
// repos.json with room bytes of spare capacity after it, for a caller that
// builds on it in place. Any mismatch is an error wrapping ErrCorrupt.
func Fetch(ctx context.Context, st Store, m *Manifest, room int) ([]byte, error) {
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
	body, err := decode(obj.Body, pick.Encoding, identity.Size, room)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %s: %v", ErrCorrupt, m.Version, pick.Key, err)
	}
	if err := verify(body, identity); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: decoded %v", ErrCorrupt, m.Version, err)
	}
	return body, nil
}

// Load fetches and verifies repos.json (see Fetch) and decodes it. A
// caller never gets half a snapshot.
func Load(ctx context.Context, st Store, m *Manifest) (*Snapshot, error) {
	body, err := Fetch(ctx, st, m, 0)
	if err != nil {
		return nil, err
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

// zstdDecoder is shared: DecodeAll is safe for concurrent use, and one
// decoder per load costs allocations for nothing.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
})

// decode decodes b into a buffer of the size the manifest gives (plus
// room), and fails rather than go beyond it, so a corrupt stream cannot
// blow up memory before the size check catches it.
func decode(b []byte, encoding string, want int64, room int) ([]byte, error) {
	switch encoding {
	case EncodingIdentity:
		if room == 0 {
			return b, nil
		}
		return append(make([]byte, 0, int(want)+room), b...), nil
	case EncodingZstd:
		d, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		var h zstd.Header
		if err := h.Decode(b); err != nil {
			return nil, err
		}
		if !h.HasFCS {
			// No size up front: stream, and stop one byte past the manifest's.
			zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			defer zr.Close()
			return readBounded(zr, want, room)
		}
		if h.FrameContentSize != uint64(want) {
			return nil, fmt.Errorf("frame says %d bytes, manifest says %d", h.FrameContentSize, want)
		}
		out, err := d.DecodeAll(b, make([]byte, 0, int(want)+room))
		if err != nil {
			return nil, err
		}
		if int64(len(out)) > want {
			return nil, errors.New("decodes to more bytes than the manifest says")
		}
		return out, nil
	case EncodingGzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return readBounded(zr, want, room)
	}
	return nil, fmt.Errorf("unknown encoding %q", encoding)
}

func readBounded(r io.Reader, want int64, room int) ([]byte, error) {
	out := bytes.NewBuffer(make([]byte, 0, int(want)+room))
	if _, err := out.ReadFrom(io.LimitReader(r, want+1)); err != nil {
		return nil, err
	}
	if int64(out.Len()) > want {
		return nil, errors.New("decodes to more bytes than the manifest says")
	}
	return out.Bytes(), nil
}
