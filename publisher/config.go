package publisher

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/freshrepos/freshrepos/envflag"
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

	envErr error // an environment variable RegisterFlags could not parse
}

// RegisterFlags registers the publisher's flags on fs, each defaulting to
// its environment variable when that is set. An environment variable that
// does not parse makes Validate fail, rather than silently meaning its
// default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	env := envflag.Reader{Prefix: "publisher"}
	fs.StringVar(&c.APIURL, "github-api-url", env.String("GITHUB_API_URL", "https://api.github.com/"), "GitHub REST API base URL (GitHub, GitHub Enterprise or the fake) [GITHUB_API_URL]")
	c.Token = os.Getenv("GITHUB_TOKEN") // from the environment only: a flag would show in ps
	fs.IntVar(&c.RepoCount, "repo-count", env.Int("REPO_COUNT", 100), "how many of the newest repositories to publish [REPO_COUNT]")
	fs.StringVar(&c.Strategy, "source-strategy", env.String("SOURCE_STRATEGY", "search"), `"search" (created:>= windows) or "since" (the /repositories frontier) [SOURCE_STRATEGY]`)
	fs.BoolVar(&c.ExcludeForks, "exclude-forks", env.Bool("EXCLUDE_FORKS", false), "leave forks out [EXCLUDE_FORKS]")
	fs.IntVar(&c.Concurrency, "language-concurrency", env.Int("LANGUAGE_CONCURRENCY", 8), "languages requests in flight at once [LANGUAGE_CONCURRENCY]")
	fs.DurationVar(&c.FetchTimeout, "fetch-timeout", env.Duration("FETCH_TIMEOUT", 10*time.Second), "time limit of one GitHub call [FETCH_TIMEOUT]")
	fs.IntVar(&c.MaxRetries, "max-retries", env.Int("MAX_RETRIES", 4), "retries of one call after 5xx, time-outs and broken bodies [MAX_RETRIES]")
	fs.IntVar(&c.RateLimitReserve, "rate-limit-reserve", env.Int("RATE_LIMIT_RESERVE", 5), "core calls of the hourly budget never spent [RATE_LIMIT_RESERVE]")
	fs.StringVar(&c.Schedule, "schedule", env.String("PUBLISH_SCHEDULE", "@every 2m"), "when to publish, a cron spec [PUBLISH_SCHEDULE]")
	fs.IntVar(&c.Retention, "retention", env.Int("RETENTION", 20), "snapshot versions kept in the store [RETENTION]")
	// 0, the default, is 2m held to SEARCH_MAX_WINDOW: so that a narrower
	// maximum alone is not refused as narrower than this.
	fs.DurationVar(&c.InitialWindow, "search-window", env.Duration("SEARCH_WINDOW", 0), "first created:>= window of the search strategy, later runs adapt it; 0 for 2m, or SEARCH_MAX_WINDOW if narrower [SEARCH_WINDOW]")
	fs.DurationVar(&c.MaxWindow, "search-max-window", env.Duration("SEARCH_MAX_WINDOW", 30*24*time.Hour), "widest created:>= window [SEARCH_MAX_WINDOW]")
	c.envErr = env.Err()
}

// Validate reports what RegisterFlags could not parse and a schedule that
// does not parse, so that a command fails at start-up, before it publishes
// or serves anything, rather than when the schedule is first needed. An
// empty Schedule is valid: it means the default.
func (c *Config) Validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	if c.Schedule != "" {
		if _, err := parseSchedule(c.Schedule); err != nil {
			return err
		}
	}
	if c.MaxWindow > 0 && c.InitialWindow > c.MaxWindow {
		return fmt.Errorf("SEARCH_WINDOW (--search-window) %v is wider than SEARCH_MAX_WINDOW (--search-max-window) %v", c.InitialWindow, c.MaxWindow)
	}
	return nil
}

// parseSchedule parses a PUBLISH_SCHEDULE as Serve runs it, its error
// naming the variable and the flag, since either may have set it.
func parseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("PUBLISH_SCHEDULE (--schedule) %q: %w", spec, err)
	}
	return s, nil
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
	if c.MaxWindow <= 0 {
		c.MaxWindow = 30 * 24 * time.Hour
	}
	c.InitialWindow = min(c.InitialWindow, c.MaxWindow) // wider only by default: Validate refuses one set wider
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
