package fakegithub

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parseFlags(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("fakegithub", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	_, err := New(cfg)
	return cfg, err
}

func TestFlagDefaultsAreGitHubs(t *testing.T) {
	cfg, err := parseFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Seed: 0, Rate: 2, Epoch: defaultEpoch,
		CoreLimit: 60, CoreWindow: time.Hour, SearchLimit: 10, SearchWindow: time.Minute,
		AuthCoreLimit: 5000, AuthCoreWindow: time.Hour, AuthSearchLimit: 30, AuthSearchWindow: time.Minute,
		SecondaryRetryAfter: time.Minute, SecondaryStatus: 403, SearchScanLimit: 200000,
	}
	if cfg.Now != nil || cfg.envErr != nil {
		t.Fatal("unexpected clock or error")
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestEnvironmentSetsFlagDefaults(t *testing.T) {
	t.Setenv("FAKEGITHUB_CORE_LIMIT", "7")
	t.Setenv("MOCK_RATE_LIMIT", "99") // the new name wins for anonymous core...
	t.Setenv("MOCK_RATE_LIMIT_WINDOW_SECONDS", "30")
	t.Setenv("MOCK_FETCHER_AVG_REQUEST_SECONDS", "0.25")
	t.Setenv("FAKEGITHUB_SEARCH_WINDOW", "2m")
	t.Setenv("FAKEGITHUB_FAULT_5XX", "0.1")
	t.Setenv("FAKEGITHUB_SEED", "42")
	t.Setenv("FAKEGITHUB_RATE", "5")
	t.Setenv("FAKEGITHUB_EPOCH", "2025-06-01T00:00:00Z")
	t.Setenv("FAKEGITHUB_REPLAY", "")
	cfg, err := parseFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CoreLimit != 7 || cfg.AuthCoreLimit != 99 || cfg.CoreWindow != 30*time.Second || cfg.AuthCoreWindow != 30*time.Second ||
		cfg.Latency != 250*time.Millisecond || cfg.SearchWindow != 2*time.Minute || cfg.ServerErrorFraction != 0.1 ||
		cfg.Seed != 42 || cfg.Rate != 5 || !cfg.Epoch.Equal(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) || cfg.ReplayDir != "" {
		t.Errorf("from the environment: %+v", cfg)
	}
	// ...and the command line wins over both.
	cfg, err = parseFlags(t, "-core-limit", "3", "-latency", "1s", "-seed", "9", "-rate", "0.5", "-epoch", "2023-01-01T00:00:00Z", "-secondary-status", "429")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CoreLimit != 3 || cfg.Latency != time.Second || cfg.Seed != 9 || cfg.Rate != 0.5 ||
		!cfg.Epoch.Equal(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)) || cfg.SecondaryStatus != 429 {
		t.Errorf("from the command line: %+v", cfg)
	}
}

func TestMalformedEnvironmentFailsNew(t *testing.T) {
	for name, value := range map[string]string{
		"FAKEGITHUB_CORE_LIMIT":            "many",
		"MOCK_RATE_LIMIT_WINDOW_SECONDS":   "soon",
		"MOCK_FETCHER_AVG_REQUEST_SECONDS": "x",
		"FAKEGITHUB_FAULT_HANG":            "half",
		"FAKEGITHUB_SEED":                  "-1",
		"FAKEGITHUB_EPOCH":                 "yesterday",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := parseFlags(t); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: %v", name, value, err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{Rate: -1}, {CoreLimit: -1}, {SearchWindow: -time.Second}, {SecondaryStatus: 500},
		{ServerErrorFraction: 1.5}, {HangFraction: -0.1}, {VanishFraction: 2}, {SecondaryConcurrency: -3},
		{ReplayDir: "/nonexistent"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
