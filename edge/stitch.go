package edge

import (
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/valyala/fasthttp"

	"github.com/freshrepos/freshrepos/filters"
)

// Stitched gzip answers.
//
// A /repos answer is a concatenation of repository objects that an edition
// holds ready, so its gzip encoding can be a concatenation too. Each
// repository's object is deflated once, at load, on its own (no reference
// to anything before it) and ended with a sync flush, which leaves it
// byte-aligned. An answer is then one gzip member: the 10-byte header, the
// envelope's head as a stored block, the fragments of the repositories it
// lists with a stored "," between two, the rest of the envelope as the
// final stored block, and the trailer: the CRC-32 of the identity bytes,
// combined from each fragment's own CRC without reading those bytes again,
// and their length. Any gzip decoder reads it as one ordinary stream.
//
// Stitching costs a few microseconds for a hundred repositories, against
// hundreds for compressing the answer, but the answer is larger: nothing
// is shared between repositories. So an answer stitched for a query that
// is then asked again is compressed whole in the background and cached
// (see edition.recompress).

// stitchMinBytes is the identity length from which a /repos answer is
// kept as a recipe and, in gzip, stitched. Below it, compressing the
// answer whole costs little (about 100 µs) and the result is small enough
// to cache as it is.
const stitchMinBytes = 40 << 10

// stitchedTags end the ETags of stitched gzip answers: their bytes are
// not those of the same answer compressed whole (which ends in "gz"), and
// depend on how many delta sets were used, which the digit says.
var stitchedTags = func() (t []string) {
	for i := range len(deltaOrders) + 1 {
		t = append(t, "gzs"+strconv.Itoa(i))
	}
	return t
}()

// recipe is a large /repos answer kept as the repositories it lists.
type recipe struct {
	e         *edition
	enc       encoding // identity or gzip
	positions []int32
	total     int
	canon     string
	orders    int // the delta sets stitching uses: its ETag says how many

	// asked counts the requests answered with it; from the second on,
	// a stitched answer is compressed whole in the background, and
	// better holds the result, which is sent from then on.
	asked     atomic.Int32
	upgrading atomic.Bool
	better    atomic.Pointer[representation]

	// keys are the raw query strings it is cached under besides canon, so
	// that what compressing it whole adds is charged to every entry that
	// holds it: one left uncharged would keep it alive, unaccounted for,
	// after the charged one's eviction.
	mu   sync.Mutex
	keys []string
}

// maxRawKeys bounds the spellings of one query a recipe is cached under;
// more are answered by parsing them.
const maxRawKeys = 8

// cost is what a recipe is charged in the cache besides its entry.
func (r *recipe) cost() int { return 64 + 4*len(r.positions) }

// size is what an entry holding the recipe is charged now.
func (r *recipe) size() int {
	n := r.cost()
	if b := r.better.Load(); b != nil {
		n += len(b.body)
	}
	return n
}

// cachedAs records that the recipe is about to be cached under key too,
// unless it already is under maxRawKeys others, and reports whether it
// may be.
func (r *recipe) cachedAs(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.keys, key) {
		return true
	}
	if len(r.keys) >= maxRawKeys {
		return false
	}
	r.keys = append(r.keys, key)
	return true
}

func (r *recipe) rawKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

// resolve returns the representation to send for rep: rep itself, or
// what replaced a stitched answer.
func (rep *representation) resolve() *representation {
	r := rep.recipe
	if r == nil || r.enc != encGzip {
		return rep
	}
	if b := r.better.Load(); b != nil {
		return b
	}
	if r.asked.Add(1) >= 2 {
		r.upgrade()
	}
	return rep
}

// upgradeSlots bounds the answers compressed in the background at once:
// they compete with requests for the CPU.
var upgradeSlots = make(chan struct{}, 1)

// upgrade compresses the answer whole in the background, unless that is
// under way or the slot is taken (a later request tries again).
func (r *recipe) upgrade() {
	if !r.upgrading.CompareAndSwap(false, true) {
		return
	}
	select {
	case upgradeSlots <- struct{}{}:
	default:
		r.upgrading.Store(false)
		return
	}
	go func() {
		defer func() { <-upgradeSlots }()
		e := r.e
		body := compress(e.appendRepos(nil, r.positions, r.total), encGzip, effortFast)
		r.better.Store(&representation{body: body, etag: etagFor(e.version, etagSubject(kindRepos, r.canon), encGzip)})
		s := slot(kindRepos, encGzip)
		e.cache.recharge(s, r.canon, int64(len(body)))
		for _, k := range r.rawKeys() { // read after better is stored: see edition.answer
			e.cache.recharge(s, k, int64(len(body)))
		}
	}()
}

// write sets the response body from the recipe.
func (r *recipe) write(resp *fasthttp.Response) {
	var sets []*deltaSet
	if r.enc == encGzip {
		sets = r.e.gz.Load().deltaSets()[:r.orders]
	}
	r.e.writeRepos(resp, r.enc, r.positions, r.total, sets)
}

// writeRepos sets the response body to the /repos answer listing
// positions, of total matches, in enc (identity or gzip, stitched with
// sets), in the response's own buffer, which fasthttp reuses from one
// request to the next.
func (e *edition) writeRepos(resp *fasthttp.Response, enc encoding, positions []int32, total int, sets []*deltaSet) {
	b := resp.SwapBody(nil)[:0]
	if enc == encGzip {
		var tb [256]byte
		tail := e.appendReposTail(tb[:0], len(positions), total)
		// No bound is reserved: adding one up costs as much as stitching
		// runs, and the body buffers fasthttp pools soon have room.
		b = e.gz.Load().appendGzip(b, reposHead, positions, tail, sets)
	} else {
		b = e.appendRepos(slices.Grow(b, e.reposSize(positions)), positions, total)
	}
	resp.SwapBody(b)
}

// fragmentLevel is the flate level of the fragments: the levels above 1
// save 2 to 3 % of their size for 25 % more load time.
const fragmentLevel = 5

// gzipFragments are the deflated repository objects of an edition.
type gzipFragments struct {
	data []byte
	// off has one entry more than there are repositories: fragment i is
	// data[off[i]:off[i+1]].
	off []uint32
	// crc is the CRC-32 of each identity fragment, size its length, and
	// shift the operator that advances a CRC over that many bytes
	// (x^(8·size) modulo the CRC polynomial), so that combining costs
	// one carry-less multiplication.
	crc, size, shift []uint32

	deltas      atomic.Pointer[[]*deltaSet] // see startDeltas
	deltasBegun atomic.Bool
}

// newGzipFragments deflates each fragment frag(i) for i < n, on as many
// goroutines as there are Ps.
func newGzipFragments(n int, frag func(i int) []byte) *gzipFragments {
	g := &gzipFragments{
		off:   make([]uint32, n+1),
		crc:   make([]uint32, n),
		size:  make([]uint32, n),
		shift: make([]uint32, n),
	}
	const chunk = 512
	chunks := make([][]byte, (n+chunk-1)/chunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Go(func() {
			var out sliceWriter
			zw, _ := flate.NewWriter(&out, fragmentLevel) // the level is a constant
			for {
				c := int(next.Add(1) - 1)
				if c >= len(chunks) {
					return
				}
				out.b = nil
				for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
					f := frag(i)
					start := len(out.b)
					zw.Reset(&out)
					zw.Write(f) // writes to a sliceWriter cannot fail
					zw.Flush()
					g.off[i+1] = uint32(len(out.b) - start) // a length for now
					g.crc[i] = crc32.ChecksumIEEE(f)
					g.size[i] = uint32(len(f))
					g.shift[i] = crc32Shift(uint64(len(f)))
				}
				chunks[c] = out.b
			}
		})
	}
	wg.Wait()
	total := 0
	for _, c := range chunks {
		total += len(c)
	}
	g.data = make([]byte, 0, total)
	for _, c := range chunks {
		g.data = append(g.data, c...)
	}
	for i := range n {
		g.off[i+1] += g.off[i]
	}
	return g
}

// bytes returns how much memory the fragments hold.
func (g *gzipFragments) bytes() int {
	return len(g.data) + 4*(len(g.off)+len(g.crc)+len(g.size)+len(g.shift))
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// gzipHeader is a gzip member header without a name, time or extra
// field, from an unknown OS, as compress/gzip writes it.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// storedComma is a non-final stored deflate block holding ",".
var storedComma = [...]byte{0x00, 0x01, 0x00, 0xfe, 0xff, ','}

// appendGzip appends to dst the gzip encoding of head, then the
// fragments at positions joined by commas, then tail. A fragment that
// follows its predecessor in the order of one of sets is taken from that
// set, and a run of such fragments is one copy from it, its CRC taken
// from the set's running CRCs.
func (g *gzipFragments) appendGzip(dst, head []byte, positions []int32, tail []byte, sets []*deltaSet) []byte {
	dst = append(dst, gzipHeader[:]...)
	dst, crc := appendStored(dst, head, false, 0)
	size := uint32(len(head))
	hint, i := 0, 0
	if d, j := prefixRun(sets, positions); d != nil {
		// The order's start: one copy from its prefix. What follows in d's
		// order is taken from d's deltas below, whose dictionary (the
		// fragment before and a comma) is still what was decoded last.
		last := j - 1
		dst = append(dst, d.prefix[:d.end[last]]...)
		crc = multModP(d.pow[last], crc) ^ d.running[last]
		size += d.cum[last]
		i = j
	}
	for i < len(positions) {
		p := positions[i]
		if i > 0 {
			if d := findSet(sets, &hint, positions[i-1], p); d != nil {
				// A run: positions[i:j] follow one another in d's order.
				j := i + 1
				for r := d.rank[p]; j < len(positions) && d.rank[positions[j]] == r+1; j++ {
					r++
				}
				// Their bytes, a comma before each, lie one after the other
				// in d, and so do their CRCs: a run costs one copy and two
				// multiplications however long it is.
				q0, q1 := positions[i], positions[j-1]
				dst = append(dst, d.data[d.at[q0]:d.at[q1]+d.n[q1]]...)
				first, last := d.rank[q0], d.rank[q1]
				shift := multModP(d.pow[last], d.ipow[first-1]) // x^(8·the run's length)
				crc = multModP(shift, crc^d.running[first-1]) ^ d.running[last]
				size += d.cum[last] - d.cum[first-1]
				i = j
				continue
			}
			dst = append(dst, storedComma[:]...)
			crc = crc32Byte(crc, ',')
			size++
		}
		dst = append(dst, g.data[g.off[p]:g.off[p+1]]...)
		crc = multModP(g.shift[p], crc) ^ g.crc[p]
		size += g.size[p]
		i++
	}
	dst, crc = appendStored(dst, tail, true, crc)
	size += uint32(len(tail))
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	return binary.LittleEndian.AppendUint32(dst, size) // ISIZE: the length modulo 2^32
}

// Delta sets.
//
// A fragment deflated on its own cannot refer to the repository before
// it, and so repeats every key and every common value: it takes about
// half of its identity size, where a whole-body compression takes a
// tenth. But most large answers list repositories in one of the orders
// the index keeps (a sort key and a direction) with no gap: the newest
// 100, the most starred 50. A delta set holds, for one such order, each
// fragment deflated with the one before it in that order (and the comma
// between them) as the preset dictionary: in a stitched stream that
// dictionary is exactly what was decoded just before, so its references
// hold, and such a run compresses about as well as a whole body (twice its
// size, against five times for fragments on their own).

// deltaOrders are the orders delta sets are made for, most used first.
var deltaOrders = []string{
	"sort=created&order=desc", "sort=stars&order=desc", "sort=pushed&order=desc", "sort=forks&order=desc",
	"sort=size&order=desc", "sort=name&order=asc", "sort=created&order=asc", "sort=stars&order=asc",
	"sort=pushed&order=asc", "sort=forks&order=asc", "sort=size&order=asc", "sort=name&order=desc",
}

// deltaBudget bounds the fragments deflated for delta sets per edition:
// fewer orders get one when there are many repositories.
const deltaBudget = 240_000

// deltaSet is one order's deltas.
type deltaSet struct {
	rank []int32 // fragment i is the rank[i]-th of the order
	// running[r] is the CRC-32 of the fragments of ranks 0 to r joined by
	// commas, cum[r] their length, and pow[r] and ipow[r] x^(8·cum[r]) and
	// its inverse modulo the CRC polynomial: so the CRC of any run of ranks
	// comes from its two ends.
	running, cum, pow, ipow []uint32
	// data[at[i]:at[i]+n[i]] is a stored comma then fragment i's delta;
	// data holds them in the order's order.
	data  []byte
	at, n []uint32
	// prefix[:end[r]] is the fragments of ranks 0 to r joined by commas,
	// deflated as one stream with a sync flush after each fragment, for
	// the first len(end) ranks: the start of the order, which the most
	// asked answers are (the newest 100), compressed with all that comes
	// before as history rather than one fragment, about a quarter smaller
	// than its run of deltas.
	prefix []byte
	end    []uint32
}

// prefixRanks is how many ranks of each order a delta set's prefix
// covers: filters' largest limit. An answer without a limit may list more;
// it goes on past the prefix with the deltas. (deltaBudget does not count
// these: at most 12,000 fragments more per edition.)
const prefixRanks = 1000

// newDeltaSet deflates, for each fragment after the first of order, the
// fragment (frag) with its predecessor and a comma as the dictionary.
// Where that does not help, the fragment deflated on its own is kept. It
// also deflates the first prefix fragments of order as one stream.
func newDeltaSet(g *gzipFragments, order []int32, frag func(i int32) []byte, prefix int) *deltaSet {
	n := len(order)
	d := &deltaSet{rank: make([]int32, n), at: make([]uint32, n), n: make([]uint32, n)}
	d.running, d.cum, d.pow, d.ipow = make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n)
	var out, pre sliceWriter
	zw, _ := flate.NewWriter(&out, fragmentLevel) // the level is a constant
	pw, _ := flate.NewWriter(&pre, fragmentLevel)
	d.end = make([]uint32, min(n, prefix))
	comma := []byte{','}
	var dict []byte
	for r, i := range order {
		d.rank[i] = int32(r)
		if r < len(d.end) {
			// In the rare case that history does not help, the stored comma
			// and the fragment on their own take its place, as below: the
			// stream goes on from the same decoded bytes either way.
			start, alone := len(pre.b), g.data[g.off[i]:g.off[i+1]]
			lone := len(alone)
			if r > 0 {
				pw.Write(comma) // writes to a sliceWriter cannot fail
				lone += len(storedComma)
			}
			pw.Write(frag(i))
			pw.Flush()
			if len(pre.b)-start > lone {
				pre.b = pre.b[:start]
				if r > 0 {
					pre.b = append(pre.b, storedComma[:]...)
				}
				pre.b = append(pre.b, alone...)
			}
			d.end[r] = uint32(len(pre.b))
		}
		if r == 0 {
			d.running[0], d.cum[0] = g.crc[i], g.size[i]
			d.pow[0], d.ipow[0] = g.shift[i], crc32Unshift(uint64(g.size[i]))
			continue
		}
		d.running[r] = multModP(g.shift[i], crc32Byte(d.running[r-1], ',')) ^ g.crc[i]
		d.cum[r] = d.cum[r-1] + 1 + g.size[i]
		d.pow[r] = multModP(d.pow[r-1], multModP(g.shift[i], shifts[0])) // the comma too
		d.ipow[r] = multModP(d.ipow[r-1], crc32Unshift(1+uint64(g.size[i])))
		start := len(out.b)
		out.b = append(out.b, storedComma[:]...)
		dict = append(append(dict[:0], frag(order[r-1])...), ',')
		zw.ResetDict(&out, dict)
		zw.Write(frag(i)) // writes to a sliceWriter cannot fail
		zw.Flush()
		if alone := g.data[g.off[i]:g.off[i+1]]; len(out.b)-start-len(storedComma) >= len(alone) {
			out.b = append(out.b[:start+len(storedComma)], alone...)
		}
		d.at[i], d.n[i] = uint32(start), uint32(len(out.b)-start)
	}
	d.data, d.prefix = slices.Clip(out.b), slices.Clip(pre.b)
	return d
}

// prefixRun returns the set among sets whose prefix holds the longest
// run of positions from the first, and the run's length; or nil and 0
// when no set's order begins with positions[0].
func prefixRun(sets []*deltaSet, positions []int32) (*deltaSet, int) {
	var best *deltaSet
	longest := 0
	for _, d := range sets {
		if len(positions) == 0 || len(d.end) == 0 || d.rank[positions[0]] != 0 {
			continue
		}
		ps, rank := positions[:min(len(positions), len(d.end))], d.rank
		j := 1
		for j < len(ps) && rank[ps[j]] == int32(j) {
			j++
		}
		if j > longest {
			best, longest = d, j
		}
		if j == len(positions) {
			break // no set does better
		}
	}
	return best, longest
}

// findSet returns the first of sets in whose order p follows prev, trying
// sets[*hint] first and leaving there the one found, or nil.
func findSet(sets []*deltaSet, hint *int, prev, p int32) *deltaSet {
	if len(sets) == 0 {
		return nil
	}
	if h := *hint; h < len(sets) && sets[h].rank[p] == sets[h].rank[prev]+1 {
		return sets[h]
	}
	for h, d := range sets {
		if d.rank[p] == d.rank[prev]+1 {
			*hint = h
			return d
		}
	}
	return nil
}

// deltaSets returns the delta sets made so far, in deltaOrders' order.
func (g *gzipFragments) deltaSets() []*deltaSet {
	if p := g.deltas.Load(); p != nil {
		return *p
	}
	return nil
}

// startDeltas makes the edition's delta sets in the background, one order
// after the other, the first time an answer is stitched: an edition never
// asked for one makes none.
func (e *edition) startDeltas() {
	g := e.gz.Load()
	if g.deltasBegun.Load() || !g.deltasBegun.CompareAndSwap(false, true) {
		return
	}
	n := len(e.fragOff) - 1
	orders := min(len(deltaOrders), deltaBudget/max(n, 1))
	if n < 2 || orders == 0 {
		return
	}
	go func() {
		var sets []*deltaSet
		for _, raw := range deltaOrders[:orders] {
			q, p := filters.Parse(func(yield func(k, v []byte) bool) {
				for kv := range strings.SplitSeq(raw, "&") {
					k, v, _ := strings.Cut(kv, "=")
					if !yield([]byte(k), []byte(v)) {
						return
					}
				}
			})
			if p != nil {
				panic("edge: delta order " + raw + ": " + string(p.JSON()))
			}
			order, _ := e.index.Select(q, nil)
			set := newDeltaSet(g, order, e.frag, prefixRanks)
			published := append(slices.Clip(sets), set) // a new slice: readers hold the old one
			g.deltas.Store(&published)
			sets = published
		}
	}()
}

// appendStored appends p as stored deflate blocks, the last one final
// when final is set, and returns crc updated with p. dst must end on a
// byte boundary of the stream. (The CRC is of the bytes as copied into
// dst: crc32.Update would make p escape to the heap.)
func appendStored(dst, p []byte, final bool, crc uint32) ([]byte, uint32) {
	for {
		n := min(len(p), 0xffff)
		var bfinal byte
		if final && n == len(p) {
			bfinal = 1
		}
		dst = append(dst, bfinal, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, p[:n]...)
		crc = crc32.Update(crc, crc32.IEEETable, dst[len(dst)-n:])
		if p = p[n:]; len(p) == 0 {
			return dst, crc
		}
	}
}

// The CRC-32 arithmetic below is zlib's crc32_combine: a CRC is a
// polynomial over GF(2), bit-reflected, and the CRC of a concatenation
// A‖B is crc(A)·x^(8·len(B)) + crc(B) modulo the CRC polynomial.

const crcPoly = 0xedb88320 // IEEE, reflected

// multModP returns a·b modulo the CRC polynomial, in the reflected
// representation where 1<<31 is x^0. The carry-less product of two
// reflected numbers is the reflected product: shifted left by one, its
// high half holds x^0 to x^31 and its low half x^32 to x^63, which four
// steps of the CRC's own table bring down (each multiplies by x^8).
func multModP(a, b uint32) uint32 {
	d := clmul32(a, b) << 1
	h := uint32(d)
	for range 4 {
		h = crc32.IEEETable[byte(h)] ^ h>>8
	}
	return uint32(d>>32) ^ h
}

// clmul32 is the carry-less product of a and b, four bits of a at a time.
func clmul32(a, b uint32) uint64 {
	var t [16]uint64
	t[1] = uint64(b)
	for i := 2; i < 16; i += 2 {
		t[i] = t[i/2] << 1
		t[i+1] = t[i] ^ t[1]
	}
	var p uint64
	for k := 0; k < 32; k += 4 {
		p ^= t[a>>k&15] << k
	}
	return p
}

// xInv is x^-1 modulo the CRC polynomial P: x is invertible as P's
// constant term is 1, and x·(P-1)/x = P-1 = 1 modulo P. (P-1)/x is P
// without its constant term, each term one degree down.
const xInv = uint32(crcPoly&^(1<<31))<<1 | 1

// shifts[k] is x^(8·2^k) modulo the CRC polynomial, what advances a CRC
// over 2^k bytes, and unshifts[k] its inverse.
var shifts, unshifts = squares(1 << 23), squares(squares(xInv)[3]) // x^8 and x^-8

// squares returns p^(2^k) modulo the CRC polynomial for k < 32.
func squares(p uint32) (t [32]uint32) {
	for k := range t {
		t[k] = p
		p = multModP(p, p)
	}
	return t
}

// crc32Shift returns x^(8·n) modulo the CRC polynomial: what multiplying
// a CRC by advances it over n bytes.
func crc32Shift(n uint64) uint32 { return power(&shifts, n) }

// crc32Unshift returns x^-(8·n), the inverse of crc32Shift(n).
func crc32Unshift(n uint64) uint32 { return power(&unshifts, n) }

// power returns p^n modulo the CRC polynomial, sq being squares(p): the
// product of sq[k] for the bits k set in n. Any power of x to the 2^32 is
// itself modulo this polynomial, so the exponents wrap at 32 bits.
func power(sq *[32]uint32, n uint64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 0; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multModP(sq[k&31], p)
		}
	}
	return p
}

// crc32Byte is crc32.Update(crc, crc32.IEEETable, []byte{c}).
func crc32Byte(crc uint32, c byte) uint32 {
	crc = ^crc
	crc = crc32.IEEETable[byte(crc)^c] ^ crc>>8
	return ^crc
}
