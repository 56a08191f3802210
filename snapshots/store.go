package snapshots

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Store is the little a snapshot needs from object storage. It is small on
// purpose (litestream's ReplicaClient is the model): every backend must
// pass the same conformance suite, and a small interface is one a new
// backend can honestly pass.
type Store interface {
	// Put writes an object whole. Readers see the old object or the new
	// one, never a mix.
	Put(ctx context.Context, key string, body []byte, meta Meta) error
	// Get reads an object. With a non-empty ifNoneMatch equal to the
	// object's current ETag it returns ErrNotModified and no body, so an
	// unchanged latest.json costs next to nothing to poll.
	Get(ctx context.Context, key, ifNoneMatch string) (*Object, error)
	// List returns every object whose key starts with prefix, sorted by
	// key. Listings leave Meta empty: S3 does not return it cheaply.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// Meta is what a CDN or a browser fetching an object straight from the
// bucket needs to handle it right.
type Meta struct {
	ContentType     string `json:"content_type,omitempty"`
	ContentEncoding string `json:"content_encoding,omitempty"`
	CacheControl    string `json:"cache_control,omitempty"`
}

// ObjectInfo describes a stored object. ETag is opaque and changes
// whenever the object is rewritten.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	Meta         Meta
}

// Object is an object's info and body.
type Object struct {
	ObjectInfo
	Body []byte
}

var (
	// ErrNotFound is returned by Get for a missing key.
	ErrNotFound = errors.New("snapshots: object not found")
	// ErrNotModified is returned by Get when ifNoneMatch still matches.
	ErrNotModified = errors.New("snapshots: object not modified")
)

// CheckKey rejects keys that could escape a prefix or a directory. Backends
// call it so that no caller can reach outside the store.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("snapshots: invalid key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") || strings.ContainsAny(seg, "\\\x00") {
			return fmt.Errorf("snapshots: invalid key %q", key)
		}
	}
	return nil
}
