package edge

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshrepos/freshrepos/envflag"
)

// Config is how an edge is run. The zero value of a field means its
// default (see DefaultConfig), except where its comment says that 0 or ""
// turns something off.
type Config struct {
	// Addr is the public listen address.
	Addr string
	// MetricsAddr serves /metrics and /debug/pprof/; it must differ from
	// Addr, since neither belongs on the public port. "" for none.
	MetricsAddr string

	// PollInterval is how often latest.json is polled.
	PollInterval time.Duration
	// PublishInterval is how often the publisher publishes: Cache-Control
	// lets clients keep an answer until the next publication is due.
	PublishInterval time.Duration
	// LoadTimeout bounds one poll, or one load of a version asked for by
	// ?snapshot= or /snapshots/{version}/…: its wait for a turn, and then
	// its read, each.
	LoadTimeout time.Duration

	// CacheBytes bounds the cache of filtered answers of the newest
	// snapshot. The versions kept for ?snapshot= share another CacheBytes
	// between them, and so do the downloads of /snapshots/{version}/….
	// Negative turns caching off (concurrent misses are still collapsed);
	// the flag and CACHE_BYTES say so with 0.
	CacheBytes int64
	// SnapshotLRU is how many versions besides the newest are kept in
	// memory for ?snapshot=.
	SnapshotLRU int

	// RateLimitPerIP is the sustained requests per second allowed to one
	// client address (an IPv6 client is its /64); 0 disables limiting.
	RateLimitPerIP float64
	// RateLimitBurst is the token bucket's size: requests a client may
	// make at once after being idle.
	RateLimitBurst int
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	// From anyone else it is ignored, so that a client cannot pick the
	// address it is limited as.
	TrustedProxies []netip.Prefix
	// MaxConnsPerIP limits concurrent connections from one address; 0 for
	// no limit. Behind a CDN, every connection comes from a few addresses.
	MaxConnsPerIP int

	ReadTimeout     time.Duration // reading a whole request
	WriteTimeout    time.Duration // writing a whole response
	IdleTimeout     time.Duration // between requests on a keep-alive connection
	ShutdownTimeout time.Duration // for in-flight requests after ctx is cancelled

	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body (413 beyond); nothing here reads
	// one.
	MaxBodyBytes int

	// Logger receives what the edge logs; slog.Default() when nil.
	Logger *slog.Logger
	// Registry receives the edge's metrics; a new registry with the Go
	// and process collectors when nil. MetricsAddr serves it when it is
	// also a prometheus.Gatherer, prometheus.DefaultGatherer otherwise.
	Registry prometheus.Registerer

	envErr error // an environment variable RegisterFlags could not parse
}

// DefaultConfig returns the defaults, as the flags document them.
func DefaultConfig() Config {
	return Config{
		Addr:            ":5000",
		MetricsAddr:     "127.0.0.1:9090",
		PollInterval:    2 * time.Second,
		PublishInterval: 2 * time.Minute,
		LoadTimeout:     time.Minute,
		CacheBytes:      64 << 20,
		SnapshotLRU:     4,
		RateLimitBurst:  20,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    30 * time.Second,
		IdleTimeout:     60 * time.Second,
		ShutdownTimeout: 15 * time.Second,
		MaxHeaderBytes:  8 << 10,
		MaxBodyBytes:    4 << 10,
	}
}

// withDefaults fills the zero fields that have a default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	setDur := func(p *time.Duration, def time.Duration) {
		if *p <= 0 {
			*p = def
		}
	}
	setDur(&c.PollInterval, d.PollInterval)
	setDur(&c.PublishInterval, d.PublishInterval)
	setDur(&c.LoadTimeout, d.LoadTimeout)
	setDur(&c.ReadTimeout, d.ReadTimeout)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.ShutdownTimeout, d.ShutdownTimeout)
	if c.CacheBytes < 0 {
		c.CacheBytes = 0
	} else if c.CacheBytes == 0 {
		c.CacheBytes = d.CacheBytes
	}
	if c.SnapshotLRU <= 0 {
		c.SnapshotLRU = d.SnapshotLRU
	}
	if c.RateLimitBurst <= 0 {
		c.RateLimitBurst = max(d.RateLimitBurst, int(c.RateLimitPerIP+0.5))
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c *Config) validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr {
		return fmt.Errorf("edge: metrics address %s is the public address", c.Addr)
	}
	if c.RateLimitPerIP < 0 {
		return fmt.Errorf("edge: negative rate limit %v", c.RateLimitPerIP)
	}
	return nil
}

// RegisterFlags defines the edge's flags on fs, each defaulting to its
// environment variable (PORT, POLL_INTERVAL, …) when that is set. An
// environment variable that does not parse makes New fail.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	env := envflag.Reader{Prefix: "edge"}
	addr := d.Addr
	if p := os.Getenv("PORT"); p != "" {
		addr = p
		if !strings.Contains(p, ":") {
			addr = ":" + p
		}
	}
	fs.StringVar(&c.Addr, "addr", addr, "public listen address (env PORT: a port, or host:port)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env.String("METRICS_ADDR", d.MetricsAddr), "address of /metrics and /debug/pprof/, never the public one; empty for none (env METRICS_ADDR)")
	fs.DurationVar(&c.PollInterval, "poll-interval", env.Duration("POLL_INTERVAL", d.PollInterval), "how often to poll latest.json (env POLL_INTERVAL)")
	fs.DurationVar(&c.PublishInterval, "publish-interval", env.Duration("PUBLISH_INTERVAL", d.PublishInterval), "the publisher's interval; answers are cacheable until the next publication is due (env PUBLISH_INTERVAL)")
	fs.DurationVar(&c.LoadTimeout, "load-timeout", env.Duration("LOAD_TIMEOUT", d.LoadTimeout), "time limit for one poll, and for one store read of a version (?snapshot=) or a download; the wait for a turn to read has a LOAD_TIMEOUT of its own (env LOAD_TIMEOUT)")
	c.CacheBytes = envflag.Get(&env, "CACHE_BYTES", d.CacheBytes, parseCacheBytes)
	fs.Var((*cacheBytes)(&c.CacheBytes), "cache-bytes", "bound on the cache of filtered answers, e.g. 64MiB; 0 turns caching off (env CACHE_BYTES)")
	fs.IntVar(&c.SnapshotLRU, "snapshot-lru", env.Int("SNAPSHOT_LRU", d.SnapshotLRU), "versions kept in memory for ?snapshot= besides the newest (env SNAPSHOT_LRU)")
	fs.Float64Var(&c.RateLimitPerIP, "rate-limit-per-ip", env.Float("RATE_LIMIT_PER_IP", 0), "requests per second per client address; 0 disables (env RATE_LIMIT_PER_IP)")
	fs.IntVar(&c.RateLimitBurst, "rate-limit-burst", env.Int("RATE_LIMIT_BURST", d.RateLimitBurst), "requests a client may make at once (env RATE_LIMIT_BURST)")
	c.TrustedProxies = envflag.Get(&env, "TRUSTED_PROXIES", nil, parsePrefixes)
	fs.Var((*prefixList)(&c.TrustedProxies), "trusted-proxies", "comma list of addresses or CIDR prefixes whose X-Forwarded-For is trusted (env TRUSTED_PROXIES)")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", env.Int("MAX_CONNS_PER_IP", 0), "concurrent connections per client address; 0 for no limit (env MAX_CONNS_PER_IP)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", env.Duration("READ_TIMEOUT", d.ReadTimeout), "time to read a request (env READ_TIMEOUT)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", env.Duration("WRITE_TIMEOUT", d.WriteTimeout), "time to write a response (env WRITE_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", env.Duration("IDLE_TIMEOUT", d.IdleTimeout), "keep-alive idle time (env IDLE_TIMEOUT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", env.Duration("SHUTDOWN_TIMEOUT", d.ShutdownTimeout), "time in-flight requests get on shutdown (env SHUTDOWN_TIMEOUT)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", env.Int("MAX_HEADER_BYTES", d.MaxHeaderBytes), "bound on request line and headers (env MAX_HEADER_BYTES)")
	fs.IntVar(&c.MaxBodyBytes, "max-body-bytes", env.Int("MAX_BODY_BYTES", d.MaxBodyBytes), "bound on a request body (env MAX_BODY_BYTES)")
	c.envErr = env.Err()
}

// cacheBytes is the flag.Value of Config.CacheBytes: a size in bytes with
// an optional unit, where 0 means no cache, which Config spells as a
// negative size (its zero is the default).
type cacheBytes int64

func (b *cacheBytes) String() string {
	if b == nil || *b < 0 {
		return "0"
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *cacheBytes) Set(s string) error {
	n, err := parseCacheBytes(s)
	if err == nil {
		*b = cacheBytes(n)
	}
	return err
}

func parseCacheBytes(s string) (int64, error) {
	n, err := parseBytes(s)
	if n == 0 && err == nil {
		return -1, nil
	}
	return n, err
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// parseBytes reads "67108864", "64MiB", "64M" (binary) or "64MB" (decimal).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a size in bytes such as 67108864 or 64MiB")
	}
	if n > (1<<62)/mult {
		return 0, errors.New("size too large")
	}
	return n * mult, nil
}

// prefixList is a flag.Value of comma-separated addresses and prefixes.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(s string) error {
	l, err := parsePrefixes(s)
	if err == nil {
		*p = l
	}
	return err
}

// parsePrefixes reads "10.0.0.0/8, 192.168.1.7, ::1".
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
