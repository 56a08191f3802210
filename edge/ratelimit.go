package edge

import (
	"bytes"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps a token bucket per client address, so that one client
// over its rate is refused while every other client is served. Buckets
// that have refilled are forgotten, so memory follows the clients active
// in the last few seconds, not all clients ever seen.
type limiter struct {
	rate    rate.Limit
	burst   int
	trusted []netip.Prefix
	shards  [64]limiterShard

	policy []byte // the RateLimit-Policy value, the same for everyone
	window int    // seconds a full bucket takes to refill
}

type limiterShard struct {
	mu        sync.Mutex
	buckets   map[netip.Addr]*rate.Limiter
	lastSweep time.Time
}

// sweepEvery is how often a shard forgets the buckets that are full.
const sweepEvery = time.Minute

func newLimiter(perSecond float64, burst int, trusted []netip.Prefix) *limiter {
	l := &limiter{rate: rate.Limit(perSecond), burst: burst, trusted: trusted}
	for i := range l.shards {
		l.shards[i].buckets = map[netip.Addr]*rate.Limiter{}
	}
	l.window = max(1, int(math.Ceil(float64(burst)/perSecond)))
	// draft-ietf-httpapi-ratelimit-headers: quota q per window w seconds.
	l.policy = []byte(`"per-client";q=` + strconv.Itoa(burst) + `;w=` + strconv.Itoa(l.window))
	return l
}

// decision is what allow found; the numbers feed the RateLimit header.
type decision struct {
	ok         bool
	remaining  int // requests allowed right now
	reset      int // seconds until the bucket is full again
	retryAfter int // seconds until the next request is allowed, when !ok
}

// allow takes a token from client's bucket.
func (l *limiter) allow(client netip.Addr, now time.Time) decision {
	sh := &l.shards[shardOf(client)]
	sh.mu.Lock()
	b := sh.buckets[client]
	if b == nil {
		if now.Sub(sh.lastSweep) > sweepEvery {
			l.sweep(sh, now)
		}
		b = rate.NewLimiter(l.rate, l.burst)
		sh.buckets[client] = b
	}
	ok := b.AllowN(now, 1)
	tokens := b.TokensAt(now)
	sh.mu.Unlock()

	d := decision{ok: ok, remaining: max(0, int(tokens))}
	d.reset = max(0, int(math.Ceil((float64(l.burst)-tokens)/float64(l.rate))))
	if !ok {
		d.retryAfter = max(1, int(math.Ceil((1-tokens)/float64(l.rate))))
	}
	return d
}

// sweep forgets the buckets that are full: a new bucket would be the same.
func (l *limiter) sweep(sh *limiterShard, now time.Time) {
	sh.lastSweep = now
	for a, b := range sh.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(sh.buckets, a)
		}
	}
}

func shardOf(a netip.Addr) int {
	b := a.As16()
	var h uint64 = 14695981039346656037
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int(h % 64)
}

// clientKey is the bucket of a client address: an IPv4 address, or the
// /64 of an IPv6 one, since a single IPv6 client usually has a whole /64
// and could otherwise take a new address per request.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// clientAddr is the address a request is limited as: the peer, unless the
// peer is a trusted proxy, in which case the nearest address in
// X-Forwarded-For that is not a trusted proxy (addresses further left
// were written by whoever sent the request, and could be anything).
func (l *limiter) clientAddr(remote net.IP, xff [][]byte) netip.Addr {
	peer, _ := netip.AddrFromSlice(remote)
	peer = peer.Unmap()
	if !l.isTrusted(peer) {
		return peer
	}
	for i := len(xff) - 1; i >= 0; i-- {
		v := xff[i]
		for len(v) > 0 {
			j := bytes.LastIndexByte(v, ',')
			item := trimOWS(v[j+1:])
			if j < 0 {
				v = nil
			} else {
				v = v[:j]
			}
			if len(item) == 0 {
				continue
			}
			a, err := netip.ParseAddr(string(item))
			if err != nil {
				return peer // a garbled chain: limit the proxy, not a guess
			}
			a = a.Unmap()
			if !l.isTrusted(a) {
				return a
			}
		}
	}
	return peer
}

func (l *limiter) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
