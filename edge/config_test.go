package edge

import (
	"flag"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRegisterFlagsReadsEnvironment(t *testing.T) {
	t.Setenv("PORT", "6000")
	t.Setenv("METRICS_ADDR", "")
	t.Setenv("POLL_INTERVAL", "500ms")
	t.Setenv("PUBLISH_INTERVAL", "10s")
	t.Setenv("CACHE_BYTES", "32MiB")
	t.Setenv("SNAPSHOT_LRU", "2")
	t.Setenv("RATE_LIMIT_PER_IP", "2.5")
	t.Setenv("RATE_LIMIT_BURST", "7")
	t.Setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")
	t.Setenv("MAX_CONNS_PER_IP", "50")
	var c Config
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-snapshot-lru=3"}); err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}
	if c.Addr != ":6000" || c.MetricsAddr != "" || c.PollInterval != 500*time.Millisecond || c.PublishInterval != 10*time.Second ||
		c.CacheBytes != 32<<20 || c.SnapshotLRU != 3 || c.RateLimitPerIP != 2.5 || c.RateLimitBurst != 7 ||
		len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != want[0] || c.TrustedProxies[1] != want[1] || c.MaxConnsPerIP != 50 {
		t.Errorf("config %+v", c)
	}
	if _, err := New(c, newStore(t)); err != nil {
		t.Errorf("New: %v", err)
	}

	t.Setenv("PORT", "127.0.0.1:7000")
	var d Config
	d.RegisterFlags(flag.NewFlagSet("edge", flag.ContinueOnError))
	if d.Addr != "127.0.0.1:7000" || d.MetricsAddr != "" {
		t.Errorf("PORT as host:port: %q", d.Addr)
	}
}

func TestBadEnvironmentFailsNew(t *testing.T) {
	for name, value := range map[string]string{
		"POLL_INTERVAL": "often", "CACHE_BYTES": "lots", "TRUSTED_PROXIES": "10.0.0.0/33", "RATE_LIMIT_PER_IP": "x", "SNAPSHOT_LRU": "two",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			var c Config
			c.RegisterFlags(flag.NewFlagSet("edge", flag.ContinueOnError))
			if _, err := New(c, newStore(t)); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func TestFlagDefaultsAreDocumented(t *testing.T) {
	for _, name := range []string{"PORT", "METRICS_ADDR", "POLL_INTERVAL", "PUBLISH_INTERVAL", "CACHE_BYTES", "RATE_LIMIT_PER_IP", "SNAPSHOT_LRU"} {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	var c Config
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	c.RegisterFlags(fs)
	d := DefaultConfig()
	for name, want := range map[string]string{
		"addr": ":5000", "poll-interval": "2s", "publish-interval": "2m0s", "cache-bytes": "67108864",
		"metrics-addr": d.MetricsAddr, "rate-limit-per-ip": "0", "snapshot-lru": "4",
	} {
		if f := fs.Lookup(name); f == nil || f.DefValue != want {
			t.Errorf("-%s default %v, want %s", name, f, want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "64MiB": 64 << 20, "64M": 64 << 20, "64MB": 64e6, "1GiB": 1 << 30, "2 KiB": 2048, "10b": 10,
	} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "MiB", "1.5GiB", "99999999999GiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
