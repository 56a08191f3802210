package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshrepos/freshrepos/snapshots"
)

// The edge loads snapshots itself rather than with snapshots.Load, with
// the same checks, for two reasons of speed: snapshots.Load decodes
// repos.json on one goroutine, and the edge then had to marshal every
// repository again to get its JSON, though repos.json holds exactly those
// bytes (one encoder writes both). For 100,000 repositories (88 MB) that
// took 8 seconds. Here repos.json is split into its repository objects
// without decoding, the objects are decoded on every P for the index (by
// decodeRepository, which reads the publisher's layout directly), and their
// bytes are kept as they are.

// newFollower returns a follower of st's latest.json that loads with
// loadSnapshot.
func newFollower(st snapshots.Store) *snapshots.Follower[*loaded] {
	return &snapshots.Follower[*loaded]{Store: st, Load: loadSnapshot}
}

// loaded is a verified snapshot as an edition is built from it.
type loaded struct {
	version     string
	generatedAt time.Time
	repos       []snapshots.Repository
	// body is the start of the unfiltered /repos answer: reposHead, then
	// the repository objects as published, joined by commas (object i is
	// body[off[i] : off[i+1]-1]), with room after it for the rest when
	// the document allowed building it in place.
	body []byte
	off  []int
}

// loadSnapshot fetches repos.json verified by snapshots.Fetch and reads it
// strictly. Any mismatch is an error
// wrapping snapshots.ErrCorrupt.
func loadSnapshot(ctx context.Context, st snapshots.Store, m *snapshots.Manifest) (*loaded, error) {
	body, err := snapshots.Fetch(ctx, st, m, 512) // room for the end of the /repos answer, built in place
	if err != nil {
		return nil, err
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: snapshot %s: %s", snapshots.ErrCorrupt, m.Version, fmt.Sprintf(format, args...))
	}
	l, err := readDocument(body)
	if err != nil {
		return nil, corrupt("%v", err)
	}
	if l.version != m.Version || len(l.repos) != m.Repositories {
		return nil, corrupt("repos.json says version %s with %d repositories, manifest says %d", l.version, len(l.repos), m.Repositories)
	}
	return l, nil
}

// readDocument reads repos.json as snapshots does (unknown members
// ignored, trailing data and other schema versions refused), but splits
// the repositories array into its objects first, and decodes those on
// every P.
func readDocument(b []byte) (*loaded, error) {
	var (
		schema int
		l      loaded
		spans  [][2]int // of the repository objects in b
		seen   bool
	)
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errors.New("repos.json: not a JSON object")
	}
	i = skipSpace(b, i+1)
	for first := true; ; first = false {
		if i < len(b) && b[i] == '}' && first {
			i++
			break
		}
		if i >= len(b) || b[i] != '"' {
			return nil, fmt.Errorf("repos.json: offset %d: want a member name", i)
		}
		end := skipString(b, i)
		if end < 0 {
			return nil, fmt.Errorf("repos.json: offset %d: unterminated string", i)
		}
		var key string
		if err := json.Unmarshal(b[i:end], &key); err != nil {
			return nil, fmt.Errorf("repos.json: offset %d: %w", i, err)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, fmt.Errorf("repos.json: offset %d: want ':'", i)
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if end < 0 {
			return nil, fmt.Errorf("repos.json: offset %d: malformed value of %q", i, key)
		}
		v := b[i:end]
		var err error
		switch key {
		case "schema_version":
			err = json.Unmarshal(v, &schema)
		case "version":
			err = json.Unmarshal(v, &l.version)
		case "generated_at":
			err = json.Unmarshal(v, &l.generatedAt)
		case "repositories":
			spans, err = splitArray(b, i, end)
			seen = true
		}
		if err != nil {
			return nil, fmt.Errorf("repos.json: %s: %w", key, err)
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		return nil, fmt.Errorf("repos.json: offset %d: want ',' or '}'", i)
	}
	if skipSpace(b, i) != len(b) {
		return nil, errors.New("decode repos.json: trailing data")
	}
	if schema != snapshots.SchemaVersion {
		return nil, fmt.Errorf("repos.json: schema_version %d, want %d", schema, snapshots.SchemaVersion)
	}
	if !seen {
		spans = nil
	}

	// The objects, joined by commas, after reposHead: the document's own
	// bytes when they are laid out so, as the publisher writes them (the
	// head then overwrites the end of the members before the list, once
	// the objects are decoded).
	n := len(spans)
	l.off = make([]int, n+1)
	base := -1
	if n > 0 && spans[0][0] >= len(reposHead) && compactList(b, spans) {
		base = spans[0][0] - len(reposHead)
		l.body = b[base:spans[n-1][1]]
		for k, sp := range spans {
			l.off[k] = sp[0] - base
		}
	} else {
		l.body = append(make([]byte, 0, len(b)+256), reposHead...)
		for k, sp := range spans {
			if k > 0 {
				l.body = append(l.body, ',')
			}
			l.off[k] = len(l.body)
			l.body = append(l.body, b[sp[0]:sp[1]]...)
		}
	}
	l.off[n] = len(l.body) + 1

	l.repos = make([]snapshots.Repository, n)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		errMu  sync.Mutex
		errAny error
	)
	const chunk = 256
	for range min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk) {
		wg.Go(func() {
			for {
				c := int(next.Add(chunk)) - chunk
				if c >= n {
					return
				}
				for k := c; k < min(n, c+chunk); k++ {
					if err := decodeRepository(l.body[l.off[k]:l.off[k+1]-1], &l.repos[k]); err != nil {
						errMu.Lock()
						errAny = cmpErr(errAny, fmt.Errorf("repos.json: repository %d: %w", k, err))
						errMu.Unlock()
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if errAny != nil {
		return nil, errAny
	}
	if base >= 0 {
		copy(l.body, reposHead)
	}
	return &l, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// compactList reports whether the objects at spans are separated by
// exactly one comma each.
func compactList(b []byte, spans [][2]int) bool {
	for k := 1; k < len(spans); k++ {
		if spans[k][0] != spans[k-1][1]+1 || b[spans[k-1][1]] != ',' {
			return false
		}
	}
	return true
}

// splitArray returns the spans of the objects in the JSON array
// b[start:end].
func splitArray(b []byte, start, end int) ([][2]int, error) {
	if b[start] == 'n' && string(b[start:end]) == "null" {
		return nil, nil
	}
	if b[start] != '[' {
		return nil, errors.New("not an array")
	}
	var spans [][2]int
	i := skipSpace(b, start+1)
	if i < end && b[i] == ']' {
		return spans, nil
	}
	for {
		if i >= end || b[i] != '{' {
			return nil, fmt.Errorf("offset %d: want an object", i)
		}
		j := skipValue(b, i)
		if j < 0 || j > end {
			return nil, fmt.Errorf("offset %d: malformed object", i)
		}
		spans = append(spans, [2]int{i, j})
		i = skipSpace(b, j)
		if i < end && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i == end-1 && b[i] == ']' {
			return spans, nil
		}
		return nil, fmt.Errorf("offset %d: want ',' or ']'", i)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the offset just after the string that starts at
// b[i], or -1.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		backslashes := 0
		for q-1-backslashes >= j && b[q-1-backslashes] == '\\' {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// skipValue returns the offset just after the JSON value that starts at
// b[i], or -1. It checks only what it needs to find the end: whatever it
// skips is decoded strictly afterwards.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return j
		}
		j++
	}
	return j
}
