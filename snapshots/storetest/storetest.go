// Package storetest is the one conformance suite every snapshots.Store
// backend must pass, so that code written against the directory store
// behaves the same on S3.
package storetest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
)

// Run runs the suite. newStore returns an empty store, a fresh one per call.
func Run(t *testing.T, newStore func(t *testing.T) snapshots.Store) {
	ctx := context.Background()

	t.Run("PutGetRoundTrip", func(t *testing.T) {
		s := newStore(t)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(`{"hello":"world"}`))
		zw.Close()
		meta := snapshots.Meta{ContentType: "application/json", ContentEncoding: "gzip", CacheControl: "public, max-age=31536000, immutable"}
		if err := s.Put(ctx, "snapshots/v1/repos.json.gz", gz.Bytes(), meta); err != nil {
			t.Fatal(err)
		}
		obj, err := s.Get(ctx, "snapshots/v1/repos.json.gz", "")
		if err != nil {
			t.Fatal(err)
		}
		// A backend must hand back the stored bytes, not decode them.
		if !bytes.Equal(obj.Body, gz.Bytes()) {
			t.Fatalf("body: got %d bytes, want the %d gzip bytes stored", len(obj.Body), gz.Len())
		}
		if obj.Meta != meta {
			t.Fatalf("meta: got %+v, want %+v", obj.Meta, meta)
		}
		if obj.Size != int64(gz.Len()) || obj.ETag == "" || obj.LastModified.IsZero() || obj.Key != "snapshots/v1/repos.json.gz" {
			t.Fatalf("info: %+v", obj.ObjectInfo)
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "latest.json", ""); !errors.Is(err, snapshots.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "latest.json", `"abc"`); !errors.Is(err, snapshots.ErrNotFound) {
			t.Fatalf("conditional: got %v, want ErrNotFound", err)
		}
	})

	t.Run("ConditionalGet", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "latest.json", "one")
		first, err := s.Get(ctx, "latest.json", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "latest.json", first.ETag); !errors.Is(err, snapshots.ErrNotModified) {
			t.Fatalf("same ETag: got %v, want ErrNotModified", err)
		}
		put(t, s, "latest.json", "two!")
		second, err := s.Get(ctx, "latest.json", first.ETag)
		if err != nil {
			t.Fatalf("after overwrite: %v", err)
		}
		if string(second.Body) != "two!" || second.ETag == first.ETag {
			t.Fatalf("after overwrite: body %q etag %s (was %s)", second.Body, second.ETag, first.ETag)
		}
		if _, err := s.Get(ctx, "latest.json", second.ETag); !errors.Is(err, snapshots.ErrNotModified) {
			t.Fatalf("new ETag: got %v, want ErrNotModified", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		keys := []string{"snapshots/20260102T000000Z-bbbbbbbbbbbb/repos.json", "latest.json",
			"snapshots/20260101T000000Z-aaaaaaaaaaaa/manifest.json", "snapshots/20260101T000000Z-aaaaaaaaaaaa/repos.json"}
		for i, k := range keys {
			put(t, s, k, fmt.Sprintf("body-%d", i))
		}
		got := listKeys(t, s, "snapshots/")
		want := []string{"snapshots/20260101T000000Z-aaaaaaaaaaaa/manifest.json", "snapshots/20260101T000000Z-aaaaaaaaaaaa/repos.json", "snapshots/20260102T000000Z-bbbbbbbbbbbb/repos.json"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("list snapshots/: got %v, want %v", got, want)
		}
		if got := listKeys(t, s, "snapshots/20260102"); fmt.Sprint(got) != fmt.Sprint(want[2:]) {
			t.Fatalf("list by partial name: got %v", got)
		}
		if got := listKeys(t, s, ""); len(got) != 4 || got[0] != "latest.json" {
			t.Fatalf("list all: got %v", got)
		}
		if got := listKeys(t, s, "nothing/"); len(got) != 0 {
			t.Fatalf("list nothing/: got %v", got)
		}
		infos, err := s.List(ctx, "latest")
		if err != nil || len(infos) != 1 || infos[0].Size != int64(len("body-1")) || infos[0].ETag == "" {
			t.Fatalf("list info: %+v %v", infos, err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "snapshots/v/repos.json", "x")
		put(t, s, "snapshots/w/repos.json", "y")
		if err := s.Delete(ctx, "snapshots/v/repos.json"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "snapshots/v/repos.json", ""); !errors.Is(err, snapshots.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.Delete(ctx, "snapshots/v/repos.json"); err != nil {
			t.Fatalf("delete missing: %v", err)
		}
		if got := listKeys(t, s, ""); fmt.Sprint(got) != "[snapshots/w/repos.json]" {
			t.Fatalf("list after delete: %v", got)
		}
	})

	t.Run("RejectsBadKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "/abs", "../escape", "a/../../b", "a//b", "dir/", ".hidden", "a/.meta"} {
			if err := s.Put(ctx, k, []byte("x"), snapshots.Meta{}); err == nil {
				t.Errorf("Put(%q) succeeded", k)
			}
			if _, err := s.Get(ctx, k, ""); err == nil || errors.Is(err, snapshots.ErrNotFound) {
				t.Errorf("Get(%q): %v, want a key error", k, err)
			}
		}
	})

	t.Run("PublishAndFollow", func(t *testing.T) {
		s := newStore(t)
		f := snapshots.Follow(s)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		snap := func(name string) *snapshots.Snapshot {
			return &snapshots.Snapshot{GeneratedAt: at, Repositories: []snapshots.Repository{{ID: 1, FullName: "o/" + name, LanguagesStatus: snapshots.LanguagesOK}}}
		}
		m1, published, err := snapshots.Publish(ctx, s, snap("a"))
		if err != nil || !published {
			t.Fatal(published, err)
		}
		m, got, err := f.Next(ctx)
		if err != nil || m.Version != m1.Version || got.Repositories[0].FullName != "o/a" {
			t.Fatalf("first Next: %+v %v", m, err)
		}
		if m, _, err := f.Next(ctx); m != nil || err != nil {
			t.Fatalf("unchanged Next: %+v %v", m, err)
		}
		at = at.Add(time.Minute)
		m2, _, err := snapshots.Publish(ctx, s, snap("b"))
		if err != nil {
			t.Fatal(err)
		}
		if m, got, err := f.Next(ctx); err != nil || m.Version != m2.Version || got.Repositories[0].FullName != "o/b" {
			t.Fatalf("Next after a publish: %+v %v", m, err)
		}
		if v, err := snapshots.Versions(ctx, s); err != nil || len(v) != 2 {
			t.Fatalf("versions: %v %v", v, err)
		}
		if deleted, err := snapshots.Prune(ctx, s, 1); err != nil || len(deleted) != 1 || deleted[0] != m1.Version {
			t.Fatalf("prune: %v %v", deleted, err)
		}
	})

	t.Run("OverwriteIsAtomicForReaders", func(t *testing.T) {
		s := newStore(t)
		a, b := bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 300<<10)
		if err := s.Put(ctx, "latest.json", a, snapshots.Meta{}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan error, 4)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					obj, err := s.Get(ctx, "latest.json", "")
					if err != nil {
						errs <- err
						return
					}
					if !bytes.Equal(obj.Body, a) && !bytes.Equal(obj.Body, b) {
						errs <- fmt.Errorf("reader saw a mixed or partial object of %d bytes", len(obj.Body))
						return
					}
				}
			}()
		}
		for i := range 20 {
			body := a
			if i%2 == 0 {
				body = b
			}
			if err := s.Put(ctx, "latest.json", body, snapshots.Meta{}); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

func put(t *testing.T, s snapshots.Store, key, body string) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(body), snapshots.Meta{ContentType: "application/json"}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func listKeys(t *testing.T, s snapshots.Store, prefix string) []string {
	t.Helper()
	infos, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	keys := make([]string, len(infos))
	for i, o := range infos {
		keys[i] = o.Key
	}
	return keys
}
