package edge

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/filters"

	"github.com/freshrepos/freshrepos/snapshots"
)

func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, r.IntN(5000))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		cut := 0
		if len(b) > 0 {
			cut = r.IntN(len(b) + 1)
		}
		a, c := b[:cut], b[cut:]
		if got, want := multModP(crc32Shift(uint64(len(c))), crc32.ChecksumIEEE(a))^crc32.ChecksumIEEE(c), crc32.ChecksumIEEE(b); got != want {
			t.Fatalf("combine of %d+%d bytes: %08x, want %08x", len(a), len(c), got, want)
		}
	}
	// power's exponents wrap at 32 bits: x^(2^32) is x.
	if x := uint32(1 << 30); squares(squares(x)[31])[1] != x {
		t.Fatal("x^(2^32) is not x modulo the CRC polynomial")
	}
	for _, n := range []uint64{0, 1, 2, 7, 1000, 65535, 1 << 20, 1<<32 + 5, 1<<40 - 1} {
		if got := multModP(crc32Shift(n), crc32Unshift(n)); got != 1<<31 {
			t.Fatalf("x^(8·%d)·x^-(8·%d) = %08x, want x^0 (%08x)", n, n, got, uint32(1<<31))
		}
	}
	if got, want := crc32Byte(crc32.ChecksumIEEE([]byte("ab")), 'c'), crc32.ChecksumIEEE([]byte("abc")); got != want {
		t.Fatalf("crc32Byte: %08x, want %08x", got, want)
	}
}

// TestMultModP checks the table-driven product against the definition:
// b times each term of a, b multiplied by x one bit at a time.
func TestMultModP(t *testing.T) {
	slow := func(a, b uint32) uint32 {
		var p uint32
		for i := range 32 { // the term x^i of a is its bit 31-i
			if a&(1<<(31-i)) != 0 {
				p ^= b
			}
			b = b>>1 ^ crcPoly&-(b&1)
		}
		return p
	}
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 20000 {
		a, b := r.Uint32(), r.Uint32()
		switch n {
		case 0:
			a, b = 0, 0
		case 1:
			a, b = ^uint32(0), ^uint32(0)
		case 2:
			a, b = 1<<31, ^uint32(0)
		}
		if got, want := multModP(a, b), slow(a, b); got != want {
			t.Fatalf("multModP(%08x, %08x) = %08x, want %08x", a, b, got, want)
		}
	}
}

// testFragments are repository objects of a synthetic snapshot, with a
// few odd ones: empty, a byte, and one longer than a stored block.
func testFragments(t testing.TB, n int) [][]byte {
	t.Helper()
	snap := synthSnapshot(n, 3, t0)
	out := make([][]byte, 0, n+3)
	for i := range snap.Repositories {
		b, err := snapshots.Marshal(&snap.Repositories[i])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	big := bytes.Repeat([]byte(`{"x":"0123456789abcdef"}`), 4000)
	return append(out, nil, []byte("7"), big)
}

// identityOf is what a stitched answer must decode to.
func identityOf(head []byte, frags [][]byte, positions []int32, tail []byte) []byte {
	b := append([]byte(nil), head...)
	for i, p := range positions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, frags[p]...)
	}
	return append(b, tail...)
}

func gunzipKlauspost(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := kgzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("klauspost gzip: %v", err)
	}
	return out
}

// gunzipCommand decodes with the gzip program, which checks the CRC and
// the length; ok is false when there is no gzip program.
func gunzipCommand(t testing.TB, b []byte) (out []byte, ok bool) {
	t.Helper()
	return decodeCommand(t, "gzip", b)
}

// decodeCommand decodes with program -dc (gzip or zstd); ok is false when
// there is no such program.
func decodeCommand(t testing.TB, program string, b []byte) (out []byte, ok bool) {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, false
	}
	cmd := exec.Command(path, "-dc")
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("%s -dc: %v: %s", program, err, stderr.Bytes())
	}
	return out, true
}

func TestStitchedGzipDecodesToIdentity(t *testing.T) {
	frags := testFragments(t, 200)
	g := newGzipFragments(len(frags), func(i int) []byte { return frags[i] })
	r := rand.New(rand.NewPCG(4, 5))
	// Two orders with delta sets: the fragments' own, and a shuffle.
	orders := [][]int32{make([]int32, len(frags)), nil}
	for i := range orders[0] {
		orders[0][i] = int32(i)
	}
	orders[1] = slices.Clone(orders[0])
	r.Shuffle(len(orders[1]), func(i, j int) { orders[1][i], orders[1][j] = orders[1][j], orders[1][i] })
	frag := func(i int32) []byte { return frags[i] }
	// The first set's prefix covers a quarter of its order, so that runs
	// go on past it; the second's, all of it.
	sets := []*deltaSet{newDeltaSet(g, orders[0], frag, len(frags)/4), newDeltaSet(g, orders[1], frag, prefixRanks)}
	head, tail := []byte(`{"repositories":[`), []byte(`],"count":3,"total":9,"snapshot":{"version":"v"}}`)
	bigTail := bytes.Repeat([]byte("t"), 70000) // two stored blocks
	var withCommand int
	for iter := range 60 {
		var positions []int32
		switch iter {
		case 0: // none
		case 1:
			for i := range frags {
				positions = append(positions, int32(i))
			}
		default:
			// An order's start (a prefix), a third of the time; then runs
			// of one order or the other, and random picks.
			if r.IntN(3) == 0 {
				o := orders[r.IntN(2)]
				positions = append(positions, o[:1+r.IntN(len(o))]...)
			}
			for range r.IntN(8) {
				switch n := r.IntN(30); r.IntN(3) {
				case 2:
					for range n {
						positions = append(positions, int32(r.IntN(len(frags))))
					}
				default:
					o := orders[r.IntN(2)]
					at := r.IntN(len(o))
					positions = append(positions, o[at:min(len(o), at+n)]...)
				}
			}
		}
		useSets := sets[:iter%3]
		tl := tail
		if iter == 2 {
			tl = bigTail
		}
		want := identityOf(head, frags, positions, tl)
		got := g.appendGzip([]byte("prefix"), head, positions, tl, useSets)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatal("appendGzip did not append")
		}
		got = got[len("prefix"):]
		if b := gunzip(t, got); !bytes.Equal(b, want) {
			t.Fatalf("iteration %d: compress/gzip decodes %d bytes, want %d", iter, len(b), len(want))
		}
		if b := gunzipKlauspost(t, got); !bytes.Equal(b, want) {
			t.Fatalf("iteration %d: klauspost decodes %d bytes, want %d", iter, len(b), len(want))
		}
		if iter < 10 {
			if b, ok := gunzipCommand(t, got); ok {
				withCommand++
				if !bytes.Equal(b, want) {
					t.Fatalf("iteration %d: gzip -dc gives %d bytes, want %d", iter, len(b), len(want))
				}
			}
		}
	}
	if withCommand == 0 {
		t.Log("no gzip program: checked with the Go decoders only")
	}
}

// stitchBench is 75 fragments of a 1,000-repository synthetic snapshot.
func stitchBench(b *testing.B) (*gzipFragments, [][]byte, []int32) {
	frags := testFragments(b, 1000)[:1000]
	g := newGzipFragments(len(frags), func(i int) []byte { return frags[i] })
	positions := make([]int32, 75)
	for i := range positions {
		positions[i] = int32(i * 13 % 1000)
	}
	return g, frags, positions
}

// BenchmarkStitchGzip is the whole cost of a stitched body of 75
// repositories, into a buffer that is reused.
func BenchmarkStitchGzip(b *testing.B) {
	g, _, positions := stitchBench(b)
	head, tail := []byte(`{"repositories":[`), []byte(`],"count":75,"total":1000,"snapshot":{"version":"20261127T160000Z-0123456789ab","generated_at":"2026-11-27T16:00:00Z"}}`)
	buf := g.appendGzip(nil, head, positions, tail, nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = g.appendGzip(buf[:0], head, positions, tail, nil)
	}
}

// BenchmarkStitchGzipRun is 75 consecutive repositories of an order that
// has a delta set (the default one, say): from the middle of the order
// (deltas), and from its start (the prefix).
func BenchmarkStitchGzipRun(b *testing.B) {
	g, frags, _ := stitchBench(b)
	order := make([]int32, len(frags))
	for i := range order {
		order[i] = int32(i)
	}
	sets := []*deltaSet{newDeltaSet(g, order, func(i int32) []byte { return frags[i] }, prefixRanks)}
	head, tail := []byte(`{"repositories":[`), []byte(`],"count":75,"total":1000,"snapshot":{"version":"20261127T160000Z-0123456789ab","generated_at":"2026-11-27T16:00:00Z"}}`)
	for _, bc := range []struct {
		name      string
		positions []int32
	}{{"mid", order[100:175]}, {"start", order[:75]}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := g.appendGzip(nil, head, bc.positions, tail, sets)
			alone := g.appendGzip(nil, head, bc.positions, tail, nil)
			whole := compress(identityOf(head, frags, bc.positions, tail), encGzip, effortFast)
			b.ReportAllocs()
			for b.Loop() {
				buf = g.appendGzip(buf[:0], head, bc.positions, tail, sets)
			}
			b.ReportMetric(float64(len(buf)), "bytes")
			b.ReportMetric(float64(len(alone)), "bytes-alone")
			b.ReportMetric(float64(len(whole)), "bytes-whole")
		})
	}
}

// BenchmarkDeltaSet is the making of one order's delta set of 1,000
// fragments, without a prefix and with one over the whole order: what the
// prefix adds to the background work after a snapshot's first stitched
// answer.
func BenchmarkDeltaSet(b *testing.B) {
	g, frags, _ := stitchBench(b)
	order := make([]int32, len(frags))
	for i := range order {
		order[i] = int32(i)
	}
	frag := func(i int32) []byte { return frags[i] }
	for _, prefix := range []int{0, prefixRanks} {
		b.Run("prefix="+strconv.Itoa(prefix), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				newDeltaSet(g, order, frag, prefix)
			}
		})
	}
}

// TestPrefixIsSmaller checks that an order's start is stitched from the
// prefix, which compresses better than the same run of deltas, and that a
// run going on past the prefix is stitched in full.
func TestPrefixIsSmaller(t *testing.T) {
	frags := testFragments(t, 300)
	g := newGzipFragments(len(frags), func(i int) []byte { return frags[i] })
	order := make([]int32, len(frags))
	for i := range order {
		order[i] = int32(len(frags) - 1 - i)
	}
	frag := func(i int32) []byte { return frags[i] }
	withPrefix, without := newDeltaSet(g, order, frag, 100), newDeltaSet(g, order, frag, 0)
	head, tail := []byte(`{"repositories":[`), []byte(`]}`)
	for _, n := range []int{2, 50, 100, 101, 300} {
		positions := order[:n]
		want := identityOf(head, frags, positions, tail)
		a := g.appendGzip(nil, head, positions, tail, []*deltaSet{withPrefix})
		b := g.appendGzip(nil, head, positions, tail, []*deltaSet{without})
		for _, body := range [][]byte{a, b} {
			if got := gunzip(t, body); !bytes.Equal(got, want) {
				t.Fatalf("%d repositories: decodes to %d bytes, want %d", n, len(got), len(want))
			}
		}
		if len(a) >= len(b) {
			t.Errorf("%d repositories: %d bytes from the prefix, %d from deltas alone", n, len(a), len(b))
		}
		t.Logf("%d repositories: %d bytes from the prefix, %d from deltas alone", n, len(a), len(b))
	}
}

// BenchmarkCRC32 compares the two ways of computing the trailer's CRC of
// 75 fragments: combining their CRCs, or hashing their bytes.
func BenchmarkCRC32(b *testing.B) {
	g, frags, positions := stitchBench(b)
	b.Run("combine", func(b *testing.B) {
		var crc uint32
		for b.Loop() {
			for _, p := range positions {
				crc = multModP(g.shift[p], crc) ^ g.crc[p]
			}
		}
	})
	b.Run("update", func(b *testing.B) {
		var crc uint32
		for b.Loop() {
			for _, p := range positions {
				crc = crc32.Update(crc, crc32.IEEETable, frags[p])
			}
		}
	})
}

// BenchmarkCompressWhole is what stitching saves: compressing the same 75
// repositories as one body at the level of cached answers.
func BenchmarkCompressWhole(b *testing.B) {
	_, frags, positions := stitchBench(b)
	body := identityOf([]byte(`{"repositories":[`), frags, positions, []byte(`]}`))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		compress(body, encGzip, effortFast)
	}
}

// stitchQueries are /repos queries whose answers are large enough to be
// stitched in a 400-repository snapshot, and some that are not.
var stitchQueries = []string{
	"limit=100", "limit=50&sort=stars", "limit=77&sort=name&order=desc", "offset=20&limit=90&sort=pushed&order=asc",
	"fork=false&limit=80", "language=python,javascript,typescript,go", "sort=size", "limit=3", "language=zig",
	"q=a&limit=60", "limit=0", "offset=1000",
}

func TestStitchedAnswersDecodeToIdentity(t *testing.T) {
	st := newStore(t)
	publish(t, st, synthSnapshot(400, 9, t0))
	te := startEdge(t, st, Config{}, true)
	e := te.current.Load()
	allDeltas(t, e)
	r := rand.New(rand.NewPCG(6, 7))
	sorts := []string{"created", "pushed", "stars", "forks", "size", "name"}
	queries := append([]string(nil), stitchQueries...)
	for range 40 {
		q := "limit=" + strconv.Itoa(r.IntN(160)) + "&sort=" + sorts[r.IntN(len(sorts))]
		if r.IntN(2) == 0 {
			q += "&order=asc"
		}
		if r.IntN(3) == 0 {
			q += "&offset=" + strconv.Itoa(r.IntN(300))
		}
		if r.IntN(3) == 0 {
			q += "&language=" + []string{"python", "go,rust", "javascript,typescript,html"}[r.IntN(3)]
		}
		if r.IntN(4) == 0 {
			q += "&max_stars=" + strconv.Itoa(r.IntN(5))
		}
		queries = append(queries, q)
	}
	stitched, commanded := 0, 0
	for _, q := range queries {
		url := te.url + "/repos?" + q
		parsed, p := filters.Parse(args(t, q))
		if p != nil {
			t.Fatalf("%s: %s", q, p.JSON())
		}
		want, err := e.renderRepos(parsed)
		if err != nil {
			t.Fatal(err)
		}
		id := get(t, url).status(t, 200).header(t, "Content-Encoding", "")
		if !bytes.Equal(id.body, want) {
			t.Fatalf("%s: identity answer is not the rendered one", q)
		}
		gz := get(t, url, "Accept-Encoding", "gzip").status(t, 200).header(t, "Content-Encoding", "gzip")
		etag := gz.Header.Get("ETag")
		if large := len(want) >= stitchMinBytes; large != stitchedETag.MatchString(etag) {
			t.Fatalf("%s: %d bytes answered with ETag %s", q, len(want), etag)
		}
		if !bytes.Equal(gunzip(t, gz.body), want) || !bytes.Equal(gunzipKlauspost(t, gz.body), want) {
			t.Fatalf("%s: gzip answer does not decode to the identity answer", q)
		}
		if commanded < 8 {
			if b, ok := gunzipCommand(t, gz.body); ok {
				commanded++
				if !bytes.Equal(b, want) {
					t.Fatalf("%s: gzip -dc does not give the identity answer", q)
				}
			}
		}
		zs := get(t, url, "Accept-Encoding", "zstd").status(t, 200).header(t, "Content-Encoding", "zstd")
		if !bytes.Equal(unzstd(t, zs.body), want) {
			t.Fatalf("%s: zstd answer does not decode to the identity answer", q)
		}
		if commanded < 8 {
			if b, ok := decodeCommand(t, "zstd", zs.body); ok && !bytes.Equal(b, want) {
				t.Fatalf("%s: zstd -dc does not give the identity answer", q)
			}
		}
		if !stitchedETag.MatchString(etag) {
			continue
		}
		stitched++
		// The client that has it revalidates: 304, and it was asked for
		// again, so it is compressed whole in the background.
		get(t, url, "Accept-Encoding", "gzip", "If-None-Match", etag).status(t, 304)
		var whole reply
		waitFor(t, "the answer compressed whole", func() bool {
			whole = get(t, url, "Accept-Encoding", "gzip").status(t, 200)
			return whole.Header.Get("ETag") != etag
		})
		if tag := whole.Header.Get("ETag"); tag != stitchedETag.ReplaceAllString(etag, `-gz"`) {
			t.Fatalf("%s: ETag %s after %s", q, tag, etag)
		}
		if !bytes.Equal(gunzip(t, whole.body), want) {
			t.Fatalf("%s: the whole compression does not decode to the identity answer", q)
		}
		if len(whole.body) >= len(gz.body) {
			t.Errorf("%s: compressed whole in %d bytes, stitched in %d", q, len(whole.body), len(gz.body))
		}
		// The stitched copy is still as current as the whole one: a
		// client that has it keeps it (its own tag in the 304).
		get(t, url, "Accept-Encoding", "gzip", "If-None-Match", etag).status(t, 304).header(t, "ETag", etag)
	}
	if stitched < 10 {
		t.Errorf("only %d of %d answers were stitched", stitched, len(queries))
	}
}

var stitchedETag = regexp.MustCompile(`-gzs[0-9]+"$`)

// A client revalidating a copy of the same answer in another form than the
// one the edge would send now gets a 304 naming its copy, when it takes
// that form as readily: a stitched gzip answer once the edge has compressed
// it whole, or has more delta sets (as another edge node may), or a gzip
// copy where the answer, asked again, goes in zstd. Anything else is sent.
func TestRevalidationAcrossForms(t *testing.T) {
	st := newStore(t)
	old := publish(t, st, synthSnapshot(300, 8, t0))
	publish(t, st, synthSnapshot(400, 9, t0.Add(time.Minute)))
	te := startEdge(t, st, Config{}, true)
	const both = "gzip, zstd"
	url := te.url + "/repos?limit=120&sort=stars"
	first := get(t, url, "Accept-Encoding", both).status(t, 200).header(t, "Content-Encoding", "gzip")
	stitched := first.Header.Get("ETag")
	if !stitchedETag.MatchString(stitched) {
		t.Fatalf("first answer's ETag %s: not stitched", stitched)
	}
	// Asked again, the answer goes in zstd; the stitched copy is kept.
	get(t, url, "Accept-Encoding", both).status(t, 200).header(t, "Content-Encoding", "zstd")
	zst := get(t, url, "Accept-Encoding", both, "If-None-Match", stitched).status(t, 304).header(t, "ETag", stitched).Header
	if zst.Get("Vary") != "Accept-Encoding" || !sameCaching(zst.Get("Cache-Control"), first.Header.Get("Cache-Control")) ||
		zst.Get("X-Snapshot-Version") != "" || zst.Get("Last-Modified") != "" {
		t.Errorf("304 headers %v", zst)
	}
	prefix := stitchedETag.ReplaceAllString(stitched, "") // "{version}-{digest}
	for _, c := range []struct {
		ae, inm string
		status  int
	}{
		{both, prefix + `-gzs12"`, 304},                             // stitched with more delta sets elsewhere
		{both, `W/` + prefix + `-gz"`, 304},                         // If-None-Match compares weakly, and the 304 names the client's copy as it has it
		{both, `"x", ` + prefix + `-zst"`, 304},                     // the current tag, in a list
		{"gzip", prefix + `-zst"`, 200},                             // zstd is not acceptable
		{"gzip;q=0.5, zstd", prefix + `-gzs3"`, 200},                // gzip is less welcome than zstd
		{both, prefix + `-gzs13"`, 200},                             // no such stitching
		{both, prefix + `-gzs03"`, 200},                             // nor spelling
		{both, prefix + `-br"`, 200},                                // nor encoding
		{both, prefix + `-id"`, 200},                                // identity is acceptable, but less welcome
		{both, strings.Replace(prefix, "-", "-0", 1) + `-gz"`, 200}, // another version
	} {
		r := get(t, url, "Accept-Encoding", c.ae, "If-None-Match", c.inm).status(t, c.status)
		if c.status == 304 {
			tags := strings.Split(c.inm, ", ")
			r.header(t, "ETag", tags[len(tags)-1])
		}
	}
	// If-None-Match fields are one list, though the first be empty.
	for _, first := range []string{"", ","} {
		get(t, url, "Accept-Encoding", both, "If-None-Match", first, "If-None-Match", prefix+`-gz"`).status(t, 304).
			header(t, "ETag", prefix+`-gz"`)
	}
	// Another query's tag, or the old snapshot's, is not this answer's.
	other := get(t, te.url+"/repos?limit=121&sort=stars", "Accept-Encoding", both).status(t, 200).Header.Get("ETag")
	get(t, url, "Accept-Encoding", both, "If-None-Match", other).status(t, 200)
	pinned := get(t, url+"&snapshot="+old.Version, "Accept-Encoding", "gzip").status(t, 200).Header.Get("ETag")
	get(t, url, "Accept-Encoding", both, "If-None-Match", pinned).status(t, 200)
	// If-Match is not widened: the client's copy must be the one sent.
	problemOf(t, get(t, url, "Accept-Encoding", both, "If-Match", stitched), 412)
}

// allDeltas makes e's delta sets and waits for them, so that stitched
// answers do not change in the middle of a test.
func allDeltas(t testing.TB, e *edition) {
	t.Helper()
	e.startDeltas()
	want := min(len(deltaOrders), deltaBudget/(len(e.fragOff)-1))
	waitFor(t, "the delta sets", func() bool { return len(e.gz.Load().deltaSets()) == want })
}

// args turns a query string into what filters.Parse reads.
func args(t testing.TB, q string) iter.Seq2[[]byte, []byte] {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return func(yield func([]byte, []byte) bool) {
		for k, vs := range v {
			for _, x := range vs {
				if !yield([]byte(k), []byte(x)) {
					return
				}
			}
		}
	}
}

func TestStitchedHeadAndLength(t *testing.T) {
	st := newStore(t)
	publish(t, st, synthSnapshot(200, 2, t0))
	te := startEdge(t, st, Config{}, true)
	allDeltas(t, te.current.Load())
	for _, ae := range []string{"gzip", ""} {
		url := te.url + "/repos?limit=100&sort=forks"
		head := do(t, http.MethodHead, url, "Accept-Encoding", ae).status(t, 200)
		g := get(t, url, "Accept-Encoding", ae).status(t, 200)
		if len(head.body) != 0 || head.Header.Get("Content-Length") != strconv.Itoa(len(g.body)) {
			t.Errorf("%q: HEAD Content-Length %s, %d bytes; GET %d bytes", ae, head.Header.Get("Content-Length"), len(head.body), len(g.body))
		}
	}
}

// Writing a recipe, stitched or not, allocates nothing once the
// response's buffer has grown.
func TestRecipeWriteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, _ := loadedServer(t, 500)
	e := s.current.Load()
	positions := make([]int32, 90)
	for i := range positions {
		positions[i] = int32(i * 5)
	}
	for _, enc := range []encoding{encIdentity, encGzip} {
		r := &recipe{e: e, enc: enc, positions: positions, total: 500, orders: 1}
		if enc == encGzip {
			allDeltas(t, e)
		}
		var resp fasthttp.Response
		r.write(&resp)
		if allocs := testing.AllocsPerRun(100, func() { r.write(&resp) }); allocs != 0 {
			t.Errorf("%s: %v allocations per write", encodingNames[enc], allocs)
		}
	}
}

// What the cache's entries hold stays within its bound, large answers kept
// as recipes included, once compressed whole, and however the clients
// spell their queries.
func TestRecipesStayWithinTheCacheBound(t *testing.T) {
	const limit = 256 << 10
	st := newStore(t)
	m := publish(t, st, makeSnapshot(2000, "a", t0))
	l, err := loadSnapshot(context.Background(), st, &m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEdition(&m, l, limit)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(i int) string { return "order=desc&offset=" + strconv.Itoa(i+1) } // not the canonical form
	for i := range 100 {
		q, p := filters.Parse(args(t, raw(i)))
		if p != nil {
			t.Fatal(string(p.JSON()))
		}
		rep, err := e.answer(kindRepos, encGzip, []byte(raw(i)), q)
		if err != nil {
			t.Fatal(err)
		}
		if rep.recipe == nil {
			t.Fatalf("%s: not kept as a recipe", raw(i))
		}
		waitFor(t, "the answer compressed whole", func() bool { return rep.resolve() != rep })
		for j := range i + 1 { // clients ask again as they asked before
			e.lookup(kindRepos, encGzip, []byte(raw(j)))
		}
	}
	e.cache.mu.RLock()
	defer e.cache.mu.RUnlock()
	held, seen := 0, map[*representation]bool{}
	for _, m := range e.cache.maps {
		for _, en := range m {
			r := en.val
			if seen[r] {
				continue
			}
			seen[r] = true
			held += len(r.body)
			if r.recipe != nil {
				held += r.recipe.cost()
				if b := r.recipe.better.Load(); b != nil {
					held += len(b.body)
				}
			}
		}
	}
	if held > limit {
		t.Errorf("the cache's entries hold %d bytes, more than its bound of %d (charged %d)", held, limit, e.cache.used)
	}
}

// TestPrefixSubstitution checks the prefix's fallback: fragments of
// random letters from a four-letter alphabet are often larger deflated
// after the others (the matches that history offers cost more than the
// ones in the fragment) than a stored comma and the fragment deflated on
// its own, which then take their place in the prefix; the stream must
// still decode, from any rank on, and within the prefix or past it. (The
// count of replacements depends on klauspost's encoder: should a release
// make history never cost more on these, look for fragments where it does.)
func TestPrefixSubstitution(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	frags := make([][]byte, 40)
	for i := range frags {
		frags[i] = make([]byte, 100+r.IntN(300))
		for k := range frags[i] {
			frags[i][k] = "abcd"[r.IntN(4)]
		}
	}
	g := newGzipFragments(len(frags), func(i int) []byte { return frags[i] })
	order := make([]int32, len(frags))
	for i := range order {
		order[i] = int32(i)
	}
	d := newDeltaSet(g, order, func(i int32) []byte { return frags[i] }, len(frags)/2)
	head, tail := []byte(`{"repositories":[`), []byte(`]}`)
	for n := 1; n <= len(order); n++ {
		positions := order[:n]
		got := g.appendGzip(nil, head, positions, tail, []*deltaSet{d})
		if b := gunzip(t, got); !bytes.Equal(b, identityOf(head, frags, positions, tail)) {
			t.Fatalf("%d repositories: decodes to %d bytes, want %d", n, len(b), len(identityOf(head, frags, positions, tail)))
		}
	}
	substituted := 0
	for rank := 1; rank < len(d.end); rank++ {
		i := order[rank]
		lone := append(storedComma[:len(storedComma):len(storedComma)], g.data[g.off[i]:g.off[i+1]]...)
		if bytes.Equal(d.prefix[d.end[rank-1]:d.end[rank]], lone) {
			substituted++
		}
	}
	if substituted == 0 {
		t.Error("no fragment of the prefix was replaced by its stored comma and lone deflate")
	}
	t.Logf("%d of %d ranks replaced", substituted, len(d.end)-1)
}
