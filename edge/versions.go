package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"github.com/freshrepos/freshrepos/snapshots"
)

// errNoVersion is a version the store does not have (404).
var errNoVersion = errors.New("edge: no such snapshot version")

// versions keeps the editions of versions other than the current one,
// most recently used first, for ?snapshot=.
//
// Loading one holds a whole snapshot while its edition is built, at a
// core's work for as long as that takes: so versions are loaded one at a
// time (slot), and a client that asks for many at once costs one more
// snapshot's memory, not one per version it names.
type versions struct {
	mu     sync.Mutex
	list   []*edition
	max    int
	flight singleflight.Group
	slot   loadSlot
}

func newVersions(n int) *versions {
	return &versions{max: n, slot: newLoadSlot()}
}

// loadSlot lets one load at a time hold what it reads from the store:
// the others wait their turn rather than each holding a copy of their own.
type loadSlot struct {
	c      chan struct{}
	queued atomic.Int32 // loads waiting for the slot, for tests
}

func newLoadSlot() loadSlot { return loadSlot{c: make(chan struct{}, 1)} }

// acquire waits for the slot until ctx ends; release gives it back.
func (l *loadSlot) acquire(ctx context.Context) error {
	l.queued.Add(1)
	defer l.queued.Add(-1)
	select {
	case l.c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errBusy, ctx.Err())
	}
}

func (l *loadSlot) release() { <-l.c }

// errBusy is a load that waited for the slot until LoadTimeout: it says
// nothing of what it was to load, and is not remembered as its failure.
var errBusy = errors.New("edge: waiting for another load")

// get returns the edition of version, if kept, and marks it used.
func (v *versions) get(version []byte) *edition {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, e := range v.list {
		if e.version == string(version) {
			copy(v.list[1:i+1], v.list[:i])
			v.list[0] = e
			return e
		}
	}
	return nil
}

// add keeps e, forgetting the least recently used edition beyond max.
func (v *versions) add(e *edition) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, x := range v.list {
		if x.version == e.version {
			v.list = append(v.list[:i], v.list[i+1:]...)
			break
		}
	}
	v.list = append([]*edition{e}, v.list...)
	if len(v.list) > v.max {
		clear(v.list[v.max:])
		v.list = v.list[:v.max]
	}
}

// take removes and returns the edition of version, if kept: it is about
// to become the current one.
func (v *versions) take(version string) *edition {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, e := range v.list {
		if e.version == version {
			v.list = append(v.list[:i], v.list[i+1:]...)
			return e
		}
	}
	return nil
}

func (v *versions) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.list)
}

// failures remembers for a moment the versions that could not be had
// (not in the store, corrupt, or the store failing), so that asking for
// made-up or broken versions over and over costs one store request per
// ttl, not one per request. A missing version may be published any
// moment, so ttl is at most a poll interval.
type failures struct {
	mu    sync.Mutex
	until map[string]failure
	ttl   time.Duration
}

type failure struct {
	err   error
	until time.Time
}

const maxFailures = 4096

// get returns the error a recent attempt at key ended with, or nil.
func (f *failures) get(key []byte, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x, ok := f.until[string(key)]; ok && now.Before(x.until) {
		return x.err
	}
	return nil
}

func (f *failures) add(key string, err error, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.until == nil || len(f.until) >= maxFailures {
		f.until = map[string]failure{}
	}
	f.until[key] = failure{err, now.Add(f.ttl)}
}

// edition returns the edition of a valid version: the current one, a kept
// one, or one loaded now, once however many requests ask for it.
func (s *Server) edition(version []byte) (*edition, error) {
	if e := s.current.Load(); e != nil && e.version == string(version) {
		return e, nil
	}
	if e := s.versions.get(version); e != nil {
		return e, nil
	}
	if err := s.failed.get(version, time.Now()); err != nil {
		return nil, err
	}
	v := string(version)
	r, err, _ := s.versions.flight.Do(v, func() (any, error) {
		if e := s.versions.get([]byte(v)); e != nil {
			return e, nil
		}
		e, err := s.loadEdition(v)
		if err != nil {
			if !errors.Is(err, errBusy) {
				s.failed.add(v, err, time.Now())
			}
			return nil, err
		}
		s.versions.add(e)
		s.log.Info("edge: loaded snapshot on demand", "version", v)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return r.(*edition), nil
}

// loadEdition loads and builds version v from the store.
func (s *Server) loadEdition(v string) (*edition, error) {
	ctx, cancel := context.WithTimeout(s.loadCtx, s.cfg.LoadTimeout)
	defer cancel()
	m, err := s.manifest(ctx, v)
	if err != nil {
		return nil, err
	}
	if err := s.versions.slot.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.versions.slot.release()
	ctx, cancelRead := s.readContext()
	defer cancelRead()
	snap, err := loadSnapshot(ctx, s.store, m)
	if err != nil {
		return nil, err
	}
	return buildEdition(m, snap, s.pinnedCacheBytes())
}

// readContext bounds a read that has waited for its slot with a
// LoadTimeout of its own: a wait that used up most of the first would
// leave a slow store too little time, and the timeout would be remembered
// as the version's failure though nothing was wrong with it.
func (s *Server) readContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.loadCtx, s.cfg.LoadTimeout)
}

// manifest returns the manifest of a valid version, from memory when an
// edition of it is loaded.
func (s *Server) manifest(ctx context.Context, v string) (*snapshots.Manifest, error) {
	if e := s.current.Load(); e != nil && e.version == v {
		return e.manifest, nil
	}
	if e := s.versions.get([]byte(v)); e != nil {
		return e.manifest, nil
	}
	m, err := snapshots.ReadManifest(ctx, s.store, v)
	if errors.Is(err, snapshots.ErrNotFound) {
		return nil, errNoVersion
	}
	return m, err
}

// file is a stored file of a version, verified against its manifest.
type file struct {
	rep          representation
	generatedAt  time.Time
	lastModified []byte
}

var fileNames = [numEncodings]string{"repos.json", "repos.json.gz", "repos.json.zst"}

// file returns a version's repos.json in encoding enc, from the store
// once and from memory afterwards. The key is built from the checked
// version, never taken from the request, and the bytes must match the
// manifest's size and SHA-256: a corrupt file is never served. Reading
// one holds the whole file, so files are read one at a time (fileSlot).
func (s *Server) file(version []byte, enc encoding) (*file, error) {
	if f := s.files.get(int(enc), version); f != nil {
		return f, nil
	}
	key := fileNames[enc] + "/" + string(version)
	if err := s.failed.get([]byte(key), time.Now()); err != nil {
		return nil, err
	}
	v := string(version)
	r, err, _ := s.fileFlight.Do(key, func() (any, error) {
		if f := s.files.getString(int(enc), v); f != nil {
			return f, nil
		}
		f, err := s.loadFile(v, enc)
		if err != nil {
			if !errors.Is(err, errBusy) {
				s.failed.add(key, err, time.Now())
			}
			return nil, err
		}
		s.files.put(int(enc), v, f, len(f.rep.body))
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return r.(*file), nil
}

// loadFile reads and verifies one file of version v from the store.
func (s *Server) loadFile(v string, enc encoding) (*file, error) {
	ctx, cancel := context.WithTimeout(s.loadCtx, s.cfg.LoadTimeout)
	defer cancel()
	m, err := s.manifest(ctx, v)
	if err != nil {
		return nil, err
	}
	want, ok := m.File(encodingNames[enc])
	if !ok {
		return nil, errNoVersion
	}
	if err := s.fileSlot.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.fileSlot.release()
	ctx, cancelRead := s.readContext()
	defer cancelRead()
	obj, err := s.store.Get(ctx, snapshots.VersionKey(v, fileNames[enc]), "")
	if errors.Is(err, snapshots.ErrNotFound) {
		return nil, errNoVersion // pruned since the manifest was read
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(obj.Body)
	if int64(len(obj.Body)) != want.Size || hex.EncodeToString(sum[:]) != want.SHA256 {
		return nil, fmt.Errorf("%w: %s does not match its manifest", snapshots.ErrCorrupt, snapshots.VersionKey(v, fileNames[enc]))
	}
	gen := m.GeneratedAt.UTC()
	return &file{
		rep:          representation{body: obj.Body, etag: []byte(`"` + want.SHA256[:32] + `"`)},
		generatedAt:  gen,
		lastModified: fasthttp.AppendHTTPDate(nil, gen),
	}, nil
}
