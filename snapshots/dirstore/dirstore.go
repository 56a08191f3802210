// Package dirstore keeps snapshots in a local directory: the embedded
// default, with nothing to install. Several processes may share the
// directory: writes are atomic renames, so a reader in another process sees
// an old object or a new one, never a partial one.
package dirstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Store is a snapshots.Store over the directory Root.
type Store struct {
	Root string
}

// New returns a Store rooted at dir, creating the directory.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	return &Store{Root: dir}, nil
}

func (s *Store) path(key string) string { return filepath.Join(s.Root, filepath.FromSlash(key)) }

// metaPath is a hidden sidecar: a file has no place for a Content-Type, and
// keys may not start with a dot, so the sidecar can never be listed or
// overwritten as an object.
func metaPath(p string) string { return filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".meta") }

// Put implements snapshots.Store.
func (s *Store) Put(ctx context.Context, key string, body []byte, meta snapshots.Meta) error {
	if err := snapshots.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	m, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := writeAtomic(metaPath(p), m); err != nil {
		return err
	}
	return writeAtomic(p, body)
}

// writeAtomic writes a temporary file beside p, syncs it and renames it over
// p, then syncs the directory so the rename survives a crash.
func writeAtomic(p string, body []byte) error {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(body); err != nil {
		f.Close()
		return fmt.Errorf("dirstore: write %s: %w", p, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("dirstore: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("dirstore: sync %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// etag changes with every rename over the file: a rename brings a new
// inode, and the modification time and size come with it.
func etag(fi os.FileInfo) string {
	return fmt.Sprintf(`"%x-%x-%x"`, inode(fi), fi.ModTime().UnixNano(), fi.Size())
}

// Get implements snapshots.Store. The body is read from the descriptor that
// was stat'ed, so the ETag always describes the bytes returned.
func (s *Store) Get(ctx context.Context, key, ifNoneMatch string) (*snapshots.Object, error) {
	if err := snapshots.CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := s.path(key)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, snapshots.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	if fi.IsDir() {
		return nil, snapshots.ErrNotFound
	}
	info := snapshots.ObjectInfo{Key: key, Size: fi.Size(), ETag: etag(fi), LastModified: fi.ModTime().UTC()}
	if ifNoneMatch != "" && ifNoneMatch == info.ETag {
		return nil, snapshots.ErrNotModified
	}
	body, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("dirstore: read %s: %w", key, err)
	}
	info.Meta = readMeta(p)
	return &snapshots.Object{ObjectInfo: info, Body: body}, nil
}

func readMeta(p string) snapshots.Meta {
	var m snapshots.Meta
	if b, err := os.ReadFile(metaPath(p)); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

// List implements snapshots.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]snapshots.ObjectInfo, error) {
	// Walk only the deepest directory the prefix names.
	start := s.Root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = s.path(prefix[:i])
	}
	var out []snapshots.ObjectInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() && p != start {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				return nil
			}
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(s.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walked
		} else if err != nil {
			return err
		}
		out = append(out, snapshots.ObjectInfo{Key: key, Size: fi.Size(), ETag: etag(fi), LastModified: fi.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dirstore: list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements snapshots.Store. Empty directories left behind are
// removed so that pruning does not leave a trail of them.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := snapshots.CheckKey(key); err != nil {
		return err
	}
	p := s.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dirstore: %w", err)
	}
	if err := os.Remove(metaPath(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dirstore: %w", err)
	}
	for dir := filepath.Dir(p); dir != filepath.Clean(s.Root) && strings.HasPrefix(dir, filepath.Clean(s.Root)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty, or already gone
			break
		}
	}
	return nil
}
