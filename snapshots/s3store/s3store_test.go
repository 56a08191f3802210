package s3store_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/s3store"
	"github.com/freshrepos/freshrepos/snapshots/storetest"
)

var bucketSeq atomic.Int64

// newTestStore connects to the MinIO that `make test` starts. Without one,
// the test fails: MinIO-backed tests may skip only under -short.
func newTestStore(t *testing.T) snapshots.Store {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		if testing.Short() {
			t.Skip("no AWS_ENDPOINT_URL; MinIO tests skipped under -short")
		}
		t.Fatal("AWS_ENDPOINT_URL is not set: run `make test`, which starts MinIO")
	}
	bucket := fmt.Sprintf("conf-%d-%d", time.Now().UnixNano(), bucketSeq.Add(1))
	cfg, err := s3store.FromEnv("s3://" + bucket + "/some/prefix")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := s3store.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newTestStore)
}

func TestFromEnv(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
	t.Setenv("AWS_REGION", "eu-west-3")
	cfg, err := s3store.FromEnv("s3://bucket/a/b/")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bucket != "bucket" || cfg.Prefix != "a/b" || cfg.Region != "eu-west-3" || cfg.Endpoint != "http://127.0.0.1:9" {
		t.Fatalf("%+v", cfg)
	}
	for _, bad := range []string{"file:./data", "s3://", "s3:///x", "http://bucket"} {
		if _, err := s3store.FromEnv(bad); err == nil {
			t.Errorf("FromEnv(%q) succeeded", bad)
		}
	}
}
