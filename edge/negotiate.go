package edge

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"
)

// encoding is a content coding the edge answers in.
type encoding uint8

const (
	encIdentity encoding = iota
	encGzip
	encZstd
	numEncodings
)

// encodingNames are the Content-Encoding values, and metric labels.
var encodingNames = [numEncodings]string{"identity", "gzip", "zstd"}

// encodingTags end ETags, so each encoding of an answer has its own.
var encodingTags = [numEncodings]string{"id", "gz", "zst"}

// negotiate picks the encoding for the Accept-Encoding field values: the
// acceptable coding with the highest q-value, ties going to zstd, then
// gzip, then identity. Without the field, or when nothing listed is
// acceptable, the answer is identity, as RFC 9110 (12.5.3) recommends.
// gzipTies reports that the pick is zstd and gzip is as welcome: an answer
// that is stitched in gzip but would have to be compressed in zstd for
// this one request then goes in gzip.
func negotiate(values [][]byte) (enc encoding, gzipTies bool) {
	if len(values) == 0 {
		return encIdentity, false
	}
	// q-values in thousandths; -1 when the coding is not listed.
	qz, qg, qi, qs := -1, -1, -1, -1
	for _, v := range values {
		for len(v) > 0 {
			var elem []byte
			if i := bytes.IndexByte(v, ','); i >= 0 {
				elem, v = v[:i], v[i+1:]
			} else {
				elem, v = v, nil
			}
			name, params, _ := bytes.Cut(elem, []byte(";"))
			name = trimOWS(name)
			if len(name) == 0 {
				continue
			}
			q, ok := qValue(params)
			if !ok {
				continue
			}
			var p *int
			switch {
			case equalFold(name, "zstd"):
				p = &qz
			case equalFold(name, "gzip"), equalFold(name, "x-gzip"):
				p = &qg
			case equalFold(name, "identity"):
				p = &qi
			case string(name) == "*":
				p = &qs
			default:
				continue
			}
			*p = max(*p, q)
		}
	}
	if qz < 0 {
		qz = max(qs, 0)
	}
	if qg < 0 {
		qg = max(qs, 0)
	}
	if qi < 0 {
		// Identity is acceptable unless excluded, but a listed coding
		// with any weight is preferred to it.
		qi = 1
		if qs == 0 {
			qi = 0
		}
	}
	best, bq := encIdentity, 0
	for _, c := range [...]struct {
		enc encoding
		q   int
	}{{encZstd, qz}, {encGzip, qg}, {encIdentity, qi}} {
		if c.q > bq {
			best, bq = c.enc, c.q
		}
	}
	return best, best == encZstd && qg == qz
}

// qValue reads the q parameter among params (";q=0.5;x=y"), in
// thousandths; 1000 when absent. ok is false when it is malformed, and the
// element is then ignored.
func qValue(params []byte) (q int, ok bool) {
	q = 1000
	for len(params) > 0 {
		var p []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, nil
		}
		k, val, found := bytes.Cut(p, []byte("="))
		if !found || !equalFold(trimOWS(k), "q") {
			continue
		}
		return parseQ(trimOWS(val))
	}
	return q, true
}

// parseQ reads qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
func parseQ(b []byte) (int, bool) {
	if len(b) == 0 || (b[0] != '0' && b[0] != '1') {
		return 0, false
	}
	q := int(b[0]-'0') * 1000
	if len(b) == 1 {
		return q, true
	}
	if b[1] != '.' || len(b) > 5 {
		return 0, false
	}
	scale := 100
	for _, c := range b[2:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares b to s, ignoring ASCII case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// etagMatches reports whether If-None-Match field values match etag, a
// quoted strong entity tag, by weak comparison (RFC 9110 13.1.2): a W/
// prefix is ignored, and * matches any current representation.
func etagMatches(values [][]byte, etag []byte) bool { return etagIn(values, etag, false) }

// etagIn reports whether field values list etag, or *. With strong (for
// If-Match), a weak entity tag matches nothing.
func etagIn(values [][]byte, etag []byte, strong bool) bool {
	for _, v := range values {
		for {
			tag, weak, star, rest, ok := nextTag(v)
			if !ok {
				break
			}
			if star || bytes.Equal(tag, etag) && !(strong && weak) {
				return true
			}
			v = rest
		}
	}
	return false
}

// nextTag reads the first element of an entity-tag list: the tag with its
// quotes and without any W/ (nil if the element is not an entity tag),
// whether it was weak, whether it was *, and the rest of the list. ok is
// false at the list's end.
func nextTag(v []byte) (tag []byte, weak, star bool, rest []byte, ok bool) {
	v = skipListSep(v)
	if len(v) == 0 {
		return nil, false, false, nil, false
	}
	if v[0] == '*' {
		return nil, false, true, v[1:], true
	}
	weak = len(v) >= 2 && v[0] == 'W' && v[1] == '/'
	if weak {
		v = v[2:]
	}
	if len(v) == 0 || v[0] != '"' {
		// Not an entity tag: skip to the next element.
		if i := bytes.IndexByte(v, ','); i >= 0 {
			return nil, weak, false, v[i:], true
		}
		return nil, weak, false, nil, true
	}
	end := bytes.IndexByte(v[1:], '"')
	if end < 0 {
		return nil, weak, false, nil, false
	}
	return v[:end+2], weak, false, v[end+2:], true
}

// sibling returns the entity tag, among If-None-Match field values, that
// names the answer whose tag is etag in another encoding in accept, or
// nil; a weak one keeps its W/, since a cache updates a copy it keeps from
// a 304 only if the 304 names that copy's validator as it has it.
// (A weak match of etag itself gets etag, strong: RFC 9110 15.4.5 has a
// 304 carry the ETag a 200 would, and a weakened tag comes from whatever
// changed the bytes downstream, which keeps its own validators.)
// An edition's answers are tagged "{version}-{digest}-{encoding}", so a
// tag that agrees with etag up to its last '-' names the same snapshot and
// query, and its end says the encoding: "id", "gz", "zst", or "gzsN" for
// gzip stitched with N delta sets, which grow while an edge node runs, and
// which a node that has compressed the answer whole no longer sends.
func sibling(values [][]byte, etag []byte, accept [numEncodings]bool) []byte {
	i := bytes.LastIndexByte(etag, '-')
	if i < 0 {
		return nil
	}
	prefix := etag[:i+1]
	for _, v := range values {
		for {
			v = skipListSep(v)
			tag, weak, _, rest, ok := nextTag(v)
			if !ok {
				break
			}
			if len(tag) > len(prefix) && bytes.HasPrefix(tag, prefix) {
				if enc, known := tagEncoding(tag[len(prefix) : len(tag)-1]); known && accept[enc] {
					if weak {
						return v[:len("W/")+len(tag)]
					}
					return tag
				}
			}
			v = rest
		}
	}
	return nil
}

// tagEncoding is the encoding an ETag's last part names.
func tagEncoding(t []byte) (encoding, bool) {
	for enc, name := range encodingTags {
		if string(t) == name {
			return encoding(enc), true
		}
	}
	n, ok := bytes.CutPrefix(t, []byte("gzs"))
	if !ok || len(n) == 0 || len(n) > 2 || n[0] == '0' && len(n) > 1 {
		return 0, false
	}
	sets := 0
	for _, c := range n {
		if c < '0' || c > '9' {
			return 0, false
		}
		sets = sets*10 + int(c-'0')
	}
	return encGzip, sets <= len(deltaOrders)
}

func skipListSep(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == ',') {
		b = b[1:]
	}
	return b
}

// verdict is what a request's preconditions say to answer.
type verdict int

const (
	sendIt           verdict = iota
	notModifiedNow           // 304
	failedIfMatch            // 412
	failedUnmodified         // 412, If-Unmodified-Since
)

// fields are the request header fields the edge reads, in one walk over
// the header: PeekAll would walk it once per field, and normalize the
// name it is given each time. Names are compared in any case, as fasthttp
// keeps them as sent (httpServer). Trailers, where these fields have no
// business, are not looked in.
type fields struct {
	acceptEncoding, ifMatch, ifNoneMatch, xForwardedFor lines
	// The dates are single values: the first line with one counts.
	ifModifiedSince, ifUnmodifiedSince []byte
}

func (f *fields) read(h *fasthttp.RequestHeader) {
	for k, v := range h.All() {
		switch len(k) { // the names' lengths, to compare each name with one or two
		case len(fasthttp.HeaderIfMatch):
			if sameName(k, fasthttp.HeaderIfMatch) {
				f.ifMatch.add(v)
			}
		case len(fasthttp.HeaderIfNoneMatch):
			if sameName(k, fasthttp.HeaderIfNoneMatch) {
				f.ifNoneMatch.add(v)
			}
		case len(fasthttp.HeaderAcceptEncoding): // and X-Forwarded-For
			if sameName(k, fasthttp.HeaderAcceptEncoding) {
				f.acceptEncoding.add(v)
			} else if sameName(k, fasthttp.HeaderXForwardedFor) {
				f.xForwardedFor.add(v)
			}
		case len(fasthttp.HeaderIfModifiedSince):
			if len(f.ifModifiedSince) == 0 && sameName(k, fasthttp.HeaderIfModifiedSince) {
				f.ifModifiedSince = v
			}
		case len(fasthttp.HeaderIfUnmodifiedSince):
			if len(f.ifUnmodifiedSince) == 0 && sameName(k, fasthttp.HeaderIfUnmodifiedSince) {
				f.ifUnmodifiedSince = v
			}
		}
	}
}

// sameName reports whether the field name k is name, ignoring ASCII case.
func sameName(k []byte, name string) bool {
	return string(k) == name || equalFold(k, name) // the first as nearly every client spells it
}

// encoding negotiates the encoding of the answer.
func (f *fields) encoding() (enc encoding, gzipTies bool) {
	v := f.acceptEncoding.all()
	if len(v) == 1 {
		if n, ok := commonAcceptEncodings[string(v[0])]; ok {
			return n.enc, n.gzipTies
		}
	}
	return negotiate(v)
}

// commonAcceptEncodings are the Accept-Encoding values that browsers,
// curl, CDNs and HTTP libraries send, negotiated once: one line spelled as
// one of them is looked up rather than parsed, in half the instructions.
var commonAcceptEncodings = func() map[string]negotiated {
	m := make(map[string]negotiated)
	for _, v := range []string{
		"gzip", "zstd", "br", "deflate", "identity", "*",
		"gzip, deflate", "gzip,deflate", "deflate, gzip", "gzip, br", "br, gzip", "br,gzip",
		"gzip, deflate, br", "gzip,deflate,br", "gzip, deflate, br, zstd", "gzip,deflate,br,zstd",
		"deflate, gzip, br, zstd", "br;q=1.0, gzip;q=0.8, *;q=0.1", "zstd, gzip", "gzip, zstd",
	} {
		enc, ties := negotiate([][]byte{[]byte(v)})
		m[v] = negotiated{enc, ties}
	}
	return m
}()

type negotiated struct {
	enc      encoding
	gzipTies bool
}

// lines are the lines of a header field, the first few held in place so
// that reading them allocates nothing.
type lines struct {
	n     int
	first [2][]byte
	more  [][]byte // all of them, once there are more than first holds
}

func (l *lines) add(v []byte) {
	switch {
	case l.n < len(l.first):
		l.first[l.n] = v
	case l.more == nil:
		// A copy: l.first's own address stored in l would move every
		// fields value to the heap.
		l.more = append(append(make([][]byte, 0, 2*len(l.first)), l.first[:]...), v)
	default:
		l.more = append(l.more, v)
	}
	l.n++
}

func (l *lines) all() [][]byte {
	if l.more != nil {
		return l.more
	}
	return l.first[:l.n]
}

// preconditions evaluates the preconditions of a GET or HEAD in RFC 9110
// 13.2.2's order: If-Match, else If-Unmodified-Since (412 when false:
// the client's copy is not the current one); then If-None-Match, else
// If-Modified-Since (304 when the client has it). If-Match is read across
// all its lines, as If-None-Match is, and is absent when every line is
// empty.
func preconditions(f *fields, etag, lastModifiedHTTP []byte, lastModified time.Time) verdict {
	if im := f.ifMatch.all(); !allEmpty(im) {
		if !etagIn(im, etag, true) {
			return failedIfMatch
		}
	} else if ius := f.ifUnmodifiedSince; len(ius) > 0 && !lastModified.IsZero() && !bytes.Equal(ius, lastModifiedHTTP) {
		if t, err := fasthttp.ParseHTTPDate(ius); err == nil && lastModified.After(t) {
			return failedUnmodified // an invalid date is ignored
		}
	}
	if notModified(f, etag, lastModifiedHTTP, lastModified) {
		return notModifiedNow
	}
	return sendIt
}

func allEmpty(values [][]byte) bool {
	for _, v := range values {
		if len(v) > 0 {
			return false
		}
	}
	return true
}

// notModified evaluates If-None-Match when present, else
// If-Modified-Since.
func notModified(f *fields, etag, lastModifiedHTTP []byte, lastModified time.Time) bool {
	if inm := f.ifNoneMatch.all(); len(inm) > 0 {
		return etagMatches(inm, etag)
	}
	ims := f.ifModifiedSince
	if len(ims) == 0 || lastModified.IsZero() {
		return false
	}
	if bytes.Equal(ims, lastModifiedHTTP) {
		return true
	}
	t, err := fasthttp.ParseHTTPDate(ims)
	if err != nil {
		return false // an invalid date is ignored
	}
	return !lastModified.After(t)
}
