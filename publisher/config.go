package publisher

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config holds the publisher's settings. RegisterFlags gives each a flag
// whose default comes from the environment.
type Config struct {
	APIURL           string        // GITHUB_API_URL
	Token            string        // GITHUB_TOKEN; never logged
	RepoCount        int           // REPO_COUNT: how many of the newest to publish
	Strategy         string        // SOURCE_STRATEGY: "search" or "since"
	ExcludeForks     bool          // EXCLUDE_FORKS: forks are included unless set
	Concurrency      int           // LANGUAGE_CONCURRENCY
	FetchTimeout     time.Duration // FETCH_TIMEOUT, per GitHub call
	MaxRetries       int           // MAX_RETRIES, per call, for 5xx, time-outs and broken bodies
	RateLimitReserve int           // RATE_LIMIT_RESERVE: core calls never spent
	Schedule         string        // PUBLISH_SCHEDULE, a robfig/cron spec
	Retention        int           // RETENTION: versions kept
	InitialWindow    time.Duration // SEARCH_WINDOW: the first run's created:>= window
	MaxWindow        time.Duration // SEARCH_MAX_WINDOW

	// Not flags.
	HTTPClient   *http.Client
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time
	BackoffBase  time.Duration // first retry waits up to this; default 200ms
	BackoffLimit time.Duration // default 10s
	// OnPublish, when set, is called after each publication: freshrepos
	// serve uses it to tell its edge at once.
	OnPublish func()
}

// RegisterFlags registers the publisher's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.APIURL, "github-api-url", env("GITHUB_API_URL", "https://api.github.com/"), "GitHub REST API base URL (GitHub, GitHub Enterprise or the fake) [GITHUB_API_URL]")
	c.Token = os.Getenv("GITHUB_TOKEN") // from the environment only: a flag would show in ps
	fs.IntVar(&c.RepoCount, "repo-count", envInt("REPO_COUNT", 100), "how many of the newest repositories to publish [REPO_COUNT]")
	fs.StringVar(&c.Strategy, "source-strategy", env("SOURCE_STRATEGY", "search"), `"search" (created:>= windows) or "since" (the /repositories frontier) [SOURCE_STRATEGY]`)
	fs.BoolVar(&c.ExcludeForks, "exclude-forks", envBool("EXCLUDE_FORKS", false), "leave forks out [EXCLUDE_FORKS]")
	fs.IntVar(&c.Concurrency, "language-concurrency", envInt("LANGUAGE_CONCURRENCY", 8), "languages requests in flight at once [LANGUAGE_CONCURRENCY]")
	fs.DurationVar(&c.FetchTimeout, "fetch-timeout", envDuration("FETCH_TIMEOUT", 10*time.Second), "time limit of one GitHub call [FETCH_TIMEOUT]")
	fs.IntVar(&c.MaxRetries, "max-retries", envInt("MAX_RETRIES", 4), "retries of one call after 5xx, time-outs and broken bodies [MAX_RETRIES]")
	fs.IntVar(&c.RateLimitReserve, "rate-limit-reserve", envInt("RATE_LIMIT_RESERVE", 5), "core calls of the hourly budget never spent [RATE_LIMIT_RESERVE]")
	fs.StringVar(&c.Schedule, "schedule", env("PUBLISH_SCHEDULE", "@every 2m"), "when to publish, a cron spec [PUBLISH_SCHEDULE]")
	fs.IntVar(&c.Retention, "retention", envInt("RETENTION", 20), "snapshot versions kept in the store [RETENTION]")
	fs.DurationVar(&c.InitialWindow, "search-window", envDuration("SEARCH_WINDOW", 2*time.Minute), "first created:>= window of the search strategy; later runs adapt it [SEARCH_WINDOW]")
	fs.DurationVar(&c.MaxWindow, "search-max-window", envDuration("SEARCH_MAX_WINDOW", 30*24*time.Hour), "widest created:>= window [SEARCH_MAX_WINDOW]")
}

func (c *Config) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com/"
	}
	if c.RepoCount <= 0 {
		c.RepoCount = 100
	}
	if c.Strategy == "" {
		c.Strategy = "search"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 10 * time.Second
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.Schedule == "" {
		c.Schedule = "@every 2m"
	}
	if c.Retention <= 0 {
		c.Retention = 20
	}
	if c.InitialWindow <= 0 {
		c.InitialWindow = 2 * time.Minute
	}
	if c.MaxWindow < c.InitialWindow {
		c.MaxWindow = 30 * 24 * time.Hour
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 200 * time.Millisecond
	}
	if c.BackoffLimit <= 0 {
		c.BackoffLimit = 10 * time.Second
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func envBool(name string, def bool) bool {
	if b, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return b
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
