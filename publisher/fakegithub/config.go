package fakegithub

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config holds every knob of the fake. Its zero value behaves like anonymous access to
// api.github.com with synthetic data and no injected faults: zero limits, windows, rate and
// retry-after mean GitHub's values, zero fractions mean the fault is off.
type Config struct {
	// Seed makes the synthetic data and every fault decision reproducible.
	Seed uint64
	// Rate is how many synthetic repositories are created per second (0 means 2).
	Rate float64
	// Epoch is when synthetic repository 0 was created (zero means 2024-01-01T00:00:00Z); it is
	// fixed so that the data depends only on Seed, Rate and the clock.
	Epoch time.Time
	// ReplayDir, when set, serves recorded responses laid out like
	// shared/fixtures/github-2024 instead of synthetic data.
	ReplayDir string
	// Now is the fake's clock (nil means time.Now) so tests can move time without sleeping.
	// Rate-limit windows, repository visibility, pushes and arrival times follow it; latency and
	// hangs use real time.
	Now func() time.Time

	// Primary rate limits without an Authorization header (GitHub: 60/hour core, 10/minute search).
	CoreLimit, SearchLimit   int
	CoreWindow, SearchWindow time.Duration
	// Primary rate limits with any Authorization header (GitHub: 5000/hour core, 30/minute search).
	AuthCoreLimit, AuthSearchLimit   int
	AuthCoreWindow, AuthSearchWindow time.Duration

	// SecondaryConcurrency is how many requests may be in flight at once before the rest get the
	// secondary rate limit answer (0 = no limit).
	SecondaryConcurrency int
	// SecondaryRetryAfter is the Retry-After sent with that answer (0 means 60s).
	SecondaryRetryAfter time.Duration
	// SecondaryStatus is 403 (GitHub's documented answer, go-github's AbuseRateLimitError) or
	// 429 (also seen in the wild); 0 means 403.
	SecondaryStatus int

	// Latency is the mean delay before each answer; each request gets Latency±LatencyJitter,
	// uniformly spread.
	Latency, LatencyJitter time.Duration
	// Fractions of attempts answered with 502/503, left hanging until the client gives up, or
	// answered 200 with the JSON body cut in half. Each attempt is decided afresh, so retries
	// eventually succeed.
	ServerErrorFraction, HangFraction, TruncateFraction float64
	// VanishFraction of repositories are listed by search and /repositories but answer 404 to
	// /repos/{owner}/{repo} and its languages, as if deleted after being listed.
	VanishFraction float64

	// SearchScanLimit bounds how many synthetic repositories one search may examine when it
	// must look at each (sorting, free text); beyond it the newest ones are used and the answer
	// says incomplete_results:true, as GitHub does when a search times out. 0 means 200000.
	SearchScanLimit int

	envErr error
}

// GitHub's documented defaults.
const (
	defaultRate          = 2.0
	defaultCoreLimit     = 60
	defaultSearchLimit   = 10
	defaultAuthCore      = 5000
	defaultAuthSearch    = 30
	defaultCoreWindow    = time.Hour
	defaultSearchWindow  = time.Minute
	defaultRetryAfter    = 60 * time.Second
	defaultScanLimit     = 200000
	defaultSecondaryCode = 403
)

var defaultEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// RegisterFlags registers one flag per knob on fs. Each default comes from an environment
// variable when set (FAKEGITHUB_*, or the seed design's MOCK_* names), so the same binary can be
// configured from a container environment or a command line; a malformed variable makes New fail.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	var errs []error
	env := func(names ...string) (string, string, bool) {
		for _, n := range names {
			if v, ok := os.LookupEnv(n); ok && strings.TrimSpace(v) != "" {
				return n, strings.TrimSpace(v), true
			}
		}
		return "", "", false
	}
	intVar := func(p *int, name string, def int, usage string, envs ...string) {
		if n, v, ok := env(envs...); ok {
			if x, err := strconv.Atoi(v); err == nil {
				def = x
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: not an integer", n, v))
			}
		}
		fs.IntVar(p, name, def, usage+envHelp(envs))
	}
	floatVar := func(p *float64, name string, def float64, usage string, envs ...string) {
		if n, v, ok := env(envs...); ok {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				def = x
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: not a number", n, v))
			}
		}
		fs.Float64Var(p, name, def, usage+envHelp(envs))
	}
	durVar := func(p *time.Duration, name string, def time.Duration, usage string, envs ...string) {
		if n, v, ok := env(envs...); ok {
			if x, err := parseSeconds(v); err == nil {
				def = x
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: %v", n, v, err))
			}
		}
		fs.DurationVar(p, name, def, usage+envHelp(envs))
	}

	seed := uint64(0)
	if n, v, ok := env("FAKEGITHUB_SEED"); ok {
		if x, err := strconv.ParseUint(v, 10, 64); err == nil {
			seed = x
		} else {
			errs = append(errs, fmt.Errorf("%s=%q: not an unsigned integer", n, v))
		}
	}
	fs.Uint64Var(&c.Seed, "seed", seed, "seed of the synthetic data and of fault decisions"+envHelp([]string{"FAKEGITHUB_SEED"}))
	floatVar(&c.Rate, "rate", defaultRate, "synthetic repositories created per second", "FAKEGITHUB_RATE")
	epoch := defaultEpoch
	if n, v, ok := env("FAKEGITHUB_EPOCH"); ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			epoch = t
		} else {
			errs = append(errs, fmt.Errorf("%s=%q: not an RFC 3339 time", n, v))
		}
	}
	c.Epoch = epoch
	fs.Func("epoch", "creation time of synthetic repository 0, RFC 3339 (default "+epoch.Format(time.RFC3339)+")"+envHelp([]string{"FAKEGITHUB_EPOCH"}), func(s string) error {
		t, err := time.Parse(time.RFC3339, s)
		if err == nil {
			c.Epoch = t
		}
		return err
	})
	replay, _ := os.LookupEnv("FAKEGITHUB_REPLAY")
	fs.StringVar(&c.ReplayDir, "replay", replay, "serve the recorded responses in this directory instead of synthetic data"+envHelp([]string{"FAKEGITHUB_REPLAY"}))

	intVar(&c.CoreLimit, "core-limit", defaultCoreLimit, "core requests per window without a token", "FAKEGITHUB_CORE_LIMIT", "MOCK_RATE_LIMIT")
	durVar(&c.CoreWindow, "core-window", defaultCoreWindow, "core rate-limit window without a token", "FAKEGITHUB_CORE_WINDOW", "MOCK_RATE_LIMIT_WINDOW_SECONDS")
	intVar(&c.SearchLimit, "search-limit", defaultSearchLimit, "search requests per window without a token", "FAKEGITHUB_SEARCH_LIMIT")
	durVar(&c.SearchWindow, "search-window", defaultSearchWindow, "search rate-limit window without a token", "FAKEGITHUB_SEARCH_WINDOW")
	intVar(&c.AuthCoreLimit, "auth-core-limit", defaultAuthCore, "core requests per window with a token", "FAKEGITHUB_AUTH_CORE_LIMIT", "MOCK_RATE_LIMIT")
	durVar(&c.AuthCoreWindow, "auth-core-window", defaultCoreWindow, "core rate-limit window with a token", "FAKEGITHUB_AUTH_CORE_WINDOW", "MOCK_RATE_LIMIT_WINDOW_SECONDS")
	intVar(&c.AuthSearchLimit, "auth-search-limit", defaultAuthSearch, "search requests per window with a token", "FAKEGITHUB_AUTH_SEARCH_LIMIT")
	durVar(&c.AuthSearchWindow, "auth-search-window", defaultSearchWindow, "search rate-limit window with a token", "FAKEGITHUB_AUTH_SEARCH_WINDOW")

	intVar(&c.SecondaryConcurrency, "secondary-concurrency", 0, "requests in flight beyond which the secondary rate limit answers (0 = off)", "FAKEGITHUB_SECONDARY_CONCURRENCY")
	durVar(&c.SecondaryRetryAfter, "secondary-retry-after", defaultRetryAfter, "Retry-After of the secondary rate limit answer", "FAKEGITHUB_SECONDARY_RETRY_AFTER")
	intVar(&c.SecondaryStatus, "secondary-status", defaultSecondaryCode, "status of the secondary rate limit answer: 403 or 429", "FAKEGITHUB_SECONDARY_STATUS")

	durVar(&c.Latency, "latency", 0, "mean delay before each answer", "FAKEGITHUB_LATENCY", "MOCK_FETCHER_AVG_REQUEST_SECONDS")
	durVar(&c.LatencyJitter, "latency-jitter", 0, "the delay varies uniformly by up to this much either way", "FAKEGITHUB_LATENCY_JITTER")
	floatVar(&c.ServerErrorFraction, "fault-5xx", 0, "fraction of attempts answered 502 or 503", "FAKEGITHUB_FAULT_5XX")
	floatVar(&c.HangFraction, "fault-hang", 0, "fraction of attempts that hang until the client gives up", "FAKEGITHUB_FAULT_HANG")
	floatVar(&c.TruncateFraction, "fault-truncate", 0, "fraction of 200 answers whose JSON body is cut in half", "FAKEGITHUB_FAULT_TRUNCATE")
	floatVar(&c.VanishFraction, "fault-vanish", 0, "fraction of repositories that answer 404 although search lists them", "FAKEGITHUB_FAULT_VANISH")
	intVar(&c.SearchScanLimit, "search-scan-limit", defaultScanLimit, "most synthetic repositories one sorted or free-text search examines", "FAKEGITHUB_SEARCH_SCAN_LIMIT")

	c.envErr = errors.Join(errs...)
}

func envHelp(names []string) string {
	return " (env " + strings.Join(names, ", ") + ")"
}

// parseSeconds accepts a Go duration ("90s", "1h") or a bare number of seconds, the unit of the
// seed design's *_SECONDS variables.
func parseSeconds(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errors.New("neither a duration nor a number of seconds")
	}
	return time.Duration(f * float64(time.Second)), nil
}

// withDefaults validates c and fills in GitHub's values for the zero knobs.
func (c Config) withDefaults() (Config, error) {
	if c.envErr != nil {
		return c, c.envErr
	}
	pick := func(p *int, def int, name string) error {
		if *p < 0 {
			return fmt.Errorf("fakegithub: %s must not be negative", name)
		}
		if *p == 0 {
			*p = def
		}
		return nil
	}
	pickD := func(p *time.Duration, def time.Duration, name string) error {
		if *p < 0 {
			return fmt.Errorf("fakegithub: %s must not be negative", name)
		}
		if *p == 0 {
			*p = def
		}
		return nil
	}
	errs := []error{
		pick(&c.CoreLimit, defaultCoreLimit, "CoreLimit"),
		pick(&c.SearchLimit, defaultSearchLimit, "SearchLimit"),
		pick(&c.AuthCoreLimit, defaultAuthCore, "AuthCoreLimit"),
		pick(&c.AuthSearchLimit, defaultAuthSearch, "AuthSearchLimit"),
		pick(&c.SearchScanLimit, defaultScanLimit, "SearchScanLimit"),
		pick(&c.SecondaryStatus, defaultSecondaryCode, "SecondaryStatus"),
		pickD(&c.CoreWindow, defaultCoreWindow, "CoreWindow"),
		pickD(&c.SearchWindow, defaultSearchWindow, "SearchWindow"),
		pickD(&c.AuthCoreWindow, defaultCoreWindow, "AuthCoreWindow"),
		pickD(&c.AuthSearchWindow, defaultSearchWindow, "AuthSearchWindow"),
		pickD(&c.SecondaryRetryAfter, defaultRetryAfter, "SecondaryRetryAfter"),
		pickD(&c.Latency, 0, "Latency"),
		pickD(&c.LatencyJitter, 0, "LatencyJitter"),
	}
	if c.SecondaryStatus != 403 && c.SecondaryStatus != 429 {
		errs = append(errs, fmt.Errorf("fakegithub: SecondaryStatus %d is neither 403 nor 429", c.SecondaryStatus))
	}
	if c.SecondaryConcurrency < 0 {
		errs = append(errs, errors.New("fakegithub: SecondaryConcurrency must not be negative"))
	}
	if c.Rate < 0 || c.Rate != c.Rate {
		errs = append(errs, errors.New("fakegithub: Rate must be positive"))
	}
	if c.Rate == 0 {
		c.Rate = defaultRate
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"ServerErrorFraction", c.ServerErrorFraction}, {"HangFraction", c.HangFraction},
		{"TruncateFraction", c.TruncateFraction}, {"VanishFraction", c.VanishFraction},
	} {
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("fakegithub: %s %v is outside [0, 1]", f.name, f.v))
		}
	}
	if c.Epoch.IsZero() {
		c.Epoch = defaultEpoch
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, errors.Join(errs...)
}
