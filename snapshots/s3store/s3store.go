// Package s3store keeps snapshots in S3-compatible object storage (MinIO,
// AWS S3, R2…) through minio-go. Edges scale out over one bucket; S3's
// single-object PUT is atomic, which is all the Store promises.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Store is a snapshots.Store over one bucket and an optional key prefix.
type Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

// Config says where the bucket is. FromEnv fills it from AWS's standard
// variables, so that the same settings work for the aws CLI and for us.
type Config struct {
	Endpoint  string // URL, e.g. http://127.0.0.1:9000; empty means AWS S3
	AccessKey string
	SecretKey string
	Region    string
	Bucket    string
	Prefix    string
}

// FromEnv reads AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_REGION, and the bucket and prefix from an s3://BUCKET[/PREFIX] URL.
func FromEnv(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("s3store: store URL %q is not s3://BUCKET[/PREFIX]", rawURL)
	}
	return Config{
		Endpoint:  os.Getenv("AWS_ENDPOINT_URL"),
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		Region:    os.Getenv("AWS_REGION"),
		Bucket:    u.Host,
		Prefix:    strings.Trim(u.Path, "/"),
	}, nil
}

// New connects and creates the bucket when it is missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	endpoint, secure := "s3.amazonaws.com", true
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("s3store: AWS_ENDPOINT_URL %q is not a URL", cfg.Endpoint)
		}
		endpoint, secure = u.Host, u.Scheme != "http"
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		creds = credentials.NewIAM("")
	}
	client, err := minio.New(endpoint, &minio.Options{Creds: creds, Secure: secure, Region: region})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	s := &Store{client: client, bucket: cfg.Bucket}
	if cfg.Prefix != "" {
		s.prefix = strings.Trim(cfg.Prefix, "/") + "/"
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3store: bucket %q: %w", cfg.Bucket, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("s3store: create bucket %q: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

// Put implements snapshots.Store.
func (s *Store) Put(ctx context.Context, key string, body []byte, meta snapshots.Meta) error {
	if err := snapshots.CheckKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		ContentType:     meta.ContentType,
		ContentEncoding: meta.ContentEncoding,
		CacheControl:    meta.CacheControl,
		SendContentMd5:  true,
	})
	if err != nil {
		return fmt.Errorf("s3store: put %s: %w", key, err)
	}
	return nil
}

// Get implements snapshots.Store.
func (s *Store) Get(ctx context.Context, key, ifNoneMatch string) (*snapshots.Object, error) {
	if err := snapshots.CheckKey(key); err != nil {
		return nil, err
	}
	var opts minio.GetObjectOptions
	if ifNoneMatch != "" {
		if err := opts.SetMatchETagExcept(strings.Trim(ifNoneMatch, `"`)); err != nil {
			return nil, err
		}
	}
	// One request: Client.GetObject may issue more than one, and an
	// overwrite between them fails its If-Match.
	rc, st, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		return nil, s.wrap(key, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return nil, s.wrap(key, err)
	}
	if int64(len(body)) != st.Size {
		return nil, fmt.Errorf("s3store: get %s: read %d of %d bytes", key, len(body), st.Size)
	}
	return &snapshots.Object{ObjectInfo: s.info(key, st), Body: body}, nil
}

func (s *Store) info(key string, st minio.ObjectInfo) snapshots.ObjectInfo {
	return snapshots.ObjectInfo{
		Key:          key,
		Size:         st.Size,
		ETag:         `"` + strings.Trim(st.ETag, `"`) + `"`,
		LastModified: st.LastModified.UTC(),
		Meta: snapshots.Meta{
			ContentType:     st.ContentType,
			ContentEncoding: firstNonEmpty(st.ContentEncoding, st.Metadata.Get("Content-Encoding")),
			CacheControl:    st.Metadata.Get("Cache-Control"),
		},
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Store) wrap(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return snapshots.ErrNotModified
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound:
		return snapshots.ErrNotFound
	}
	return fmt.Errorf("s3store: get %s: %w", key, err)
}

// List implements snapshots.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]snapshots.ObjectInfo, error) {
	var out []snapshots.ObjectInfo
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("s3store: list %q: %w", prefix, o.Err)
		}
		out = append(out, snapshots.ObjectInfo{
			Key:          strings.TrimPrefix(o.Key, s.prefix),
			Size:         o.Size,
			ETag:         `"` + strings.Trim(o.ETag, `"`) + `"`,
			LastModified: o.LastModified.UTC(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements snapshots.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := snapshots.CheckKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(s.wrap(key, err), snapshots.ErrNotFound) {
		return fmt.Errorf("s3store: delete %s: %w", key, err)
	}
	return nil
}
