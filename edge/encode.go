package edge

import (
	"encoding/binary"
	"encoding/hex"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// representation is one encoding of one answer, with its ETag, ready to
// be written as is. It is never modified once built: the same bytes go to
// every client, and a response may still be writing them after the
// representation has left every cache.
type representation struct {
	body []byte
	etag []byte // quoted strong entity tag
	// recipe, when set, writes the body on each request instead (a large
	// /repos answer; see stitch.go).
	recipe *recipe
}

// resource is an answer in every encoding.
type resource [numEncodings]*representation

// effort says how hard to compress: best for what is built once per
// snapshot, fast for answers built on a request's behalf.
type effort uint8

const (
	effortFast effort = iota
	effortBest
)

var gzipLevels = [...]int{effortFast: 5, effortBest: gzip.BestCompression}

// gzipWriters pool, per effort, a gzip writer with the buffer it writes
// to.
var gzipWriters [len(gzipLevels)]sync.Pool

type pooledGzip struct {
	zw  *gzip.Writer
	out sliceWriter
}

var zstdEncoders = [...]func() (*zstd.Encoder, error){
	effortFast: sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	}),
	effortBest: sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	}),
}

// compress encodes b. The output depends only on b, enc and e, so every
// edge node running the same build sends the same bytes under the same
// ETag.
func compress(b []byte, enc encoding, e effort) []byte {
	if enc == encIdentity {
		return b
	}
	return compressTo(make([]byte, 0, len(b)/4+64), b, enc, e)
}

// compressTo appends the encoding of b to dst.
func compressTo(dst, b []byte, enc encoding, e effort) []byte {
	switch enc {
	case encGzip:
		pg, _ := gzipWriters[e].Get().(*pooledGzip)
		if pg == nil {
			pg = new(pooledGzip)
			var err error
			if pg.zw, err = gzip.NewWriterLevel(&pg.out, gzipLevels[e]); err != nil {
				panic(err) // the levels are constants
			}
		}
		pg.out.b = dst
		pg.zw.Reset(&pg.out)
		pg.zw.Write(b) // writes to a sliceWriter cannot fail
		pg.zw.Close()
		dst, pg.out.b = pg.out.b, nil
		gzipWriters[e].Put(pg)
		return dst
	case encZstd:
		ze, err := zstdEncoders[e]()
		if err != nil {
			panic(err) // the options are constants
		}
		return ze.EncodeAll(b, dst)
	}
	return append(dst, b...)
}

// etagFor is the strong ETag of an answer: the snapshot version, a digest
// of what was asked (route and canonical query), and the encoding. Nothing
// in it depends on the node or the time, so every edge node agrees.
func etagFor(version, what string, enc encoding) []byte {
	return etagTagged(version, what, encodingTags[enc])
}

// etagTagged is etagFor with the tag that ends it given.
func etagTagged(version, what, tag string) []byte {
	return appendETag(make([]byte, 0, len(version)+32), version, []byte(what), tag)
}

// appendQueryETag appends etagTagged(version, etagSubject(k, canonical),
// tag), allocating nothing when canonical is under 200 bytes.
func appendQueryETag(b []byte, version string, k kind, canonical, tag string) []byte {
	var buf [256]byte
	what := append(append(append(buf[:0], kindNames[k]...), '?'), canonical...)
	return appendETag(b, version, what, tag)
}

// appendETag's digest is 48 bits of xxHash64, not of SHA-256 (which cost
// twenty times more on each answer no cache holds): it need not resist an
// attacker, since a tag is only compared with tags of the same resource
// (a URL's query, or the OpenAPI document's revisions); a collision could
// at worst give two of them one tag.
func appendETag(b []byte, version string, what []byte, tag string) []byte {
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], xxhash.Sum64(what))
	b = append(b, '"')
	b = append(b, version...)
	b = append(b, '-')
	b = hex.AppendEncode(b, sum[:6])
	b = append(b, '-')
	b = append(b, tag...)
	return append(b, '"')
}

// newResource encodes identity in every encoding.
func newResource(identity []byte, version, what string, e effort) resource {
	var r resource
	for enc := range numEncodings {
		r[enc] = &representation{body: compress(identity, enc, e), etag: etagFor(version, what, enc)}
	}
	return r
}
