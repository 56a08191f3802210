package publisher

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestRegisterFlagsReadsEnvironment(t *testing.T) {
	t.Setenv("REPO_COUNT", "7")
	t.Setenv("EXCLUDE_FORKS", "true")
	t.Setenv("FETCH_TIMEOUT", "3s")
	t.Setenv("PUBLISH_SCHEDULE", "*/5 * * * *")
	t.Setenv("SEARCH_WINDOW", "") // empty means the default
	var c Config
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-retention=3"}); err != nil {
		t.Fatal(err)
	}
	if c.RepoCount != 7 || !c.ExcludeForks || c.FetchTimeout != 3*time.Second || c.Schedule != "*/5 * * * *" ||
		c.InitialWindow != 0 || c.Retention != 3 { // 0: the default, 2m held to the widest
		t.Errorf("config %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestBadEnvironmentFailsValidate: a malformed variable is refused, as the
// edge refuses its own, rather than silently meaning its default; and a
// flag given as well does not hide it.
func TestBadEnvironmentFailsValidate(t *testing.T) {
	for name, value := range map[string]string{
		"EXCLUDE_FORKS": "yes", "FETCH_TIMEOUT": "30", "REPO_COUNT": "ten", "SEARCH_MAX_WINDOW": "a month",
		"PUBLISH_SCHEDULE": "every 2 minutes",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			var c Config
			fs := flag.NewFlagSet("publish", flag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse([]string{"-repo-count=5"}); err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), value) {
				t.Errorf("Validate: %v, want an error naming %s and %q", err, name, value)
			}
		})
	}
}

func TestValidateSchedule(t *testing.T) {
	for spec, ok := range map[string]bool{
		"":                true, // the default
		"@every 2m":       true,
		"*/2 * * * *":     true,
		"every 2 minutes": false,
		"* * * * * *":     false, // seconds are not a field of the standard parser Serve uses
		"@every":          false,
	} {
		err := (&Config{Schedule: spec}).Validate()
		if (err == nil) != ok {
			t.Errorf("Validate(Schedule %q) = %v", spec, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "PUBLISH_SCHEDULE") || !strings.Contains(err.Error(), "--schedule")) {
			t.Errorf("Validate(Schedule %q) = %v, want it to name PUBLISH_SCHEDULE and --schedule", spec, err)
		}
	}
}

func TestValidateWindows(t *testing.T) {
	wide := Config{InitialWindow: 60 * 24 * time.Hour, MaxWindow: 30 * 24 * time.Hour}
	if err := wide.Validate(); err == nil || !strings.Contains(err.Error(), "SEARCH_WINDOW") || !strings.Contains(err.Error(), "SEARCH_MAX_WINDOW") {
		t.Errorf("a first window wider than the widest: %v, want an error naming both", err)
	}
	// With the widest left to its default, the first window is held to it.
	c := Config{InitialWindow: 60 * 24 * time.Hour}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.setDefaults()
	if c.InitialWindow != c.MaxWindow || c.MaxWindow != 30*24*time.Hour {
		t.Errorf("first window %v, widest %v", c.InitialWindow, c.MaxWindow)
	}
	// A widest window narrower than the default first one is kept.
	c = Config{MaxWindow: time.Minute}
	c.setDefaults()
	if c.MaxWindow != time.Minute || c.InitialWindow != time.Minute {
		t.Errorf("first window %v, widest %v, want both a minute", c.InitialWindow, c.MaxWindow)
	}
}

// A maximum window narrower than the default first one, set alone, is
// taken as it is.
func TestNarrowMaxWindowAlone(t *testing.T) {
	t.Setenv("SEARCH_MAX_WINDOW", "1m")
	var c Config
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("SEARCH_MAX_WINDOW=1m alone: %v", err)
	}
	c.setDefaults()
	if c.InitialWindow != time.Minute || c.MaxWindow != time.Minute {
		t.Errorf("first window %v, widest %v, want both a minute", c.InitialWindow, c.MaxWindow)
	}
	if err := fs.Parse([]string{"-search-window=2m"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil {
		t.Error("--search-window=2m with SEARCH_MAX_WINDOW=1m was not refused")
	}
}
