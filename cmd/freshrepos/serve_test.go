package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshrepos/freshrepos/publisher/fakegithub"
)

// These tests run the subcommands in-process, on real loopback sockets.

// hungBound only stops a test whose command never returns; no timing is
// asserted.
const hungBound = 30 * time.Second

// returnsOnItsOwn runs cmd and returns its error, failing the test if cmd
// keeps running until its context is cancelled (it is then cancelled, so
// that nothing outlives the test).
func returnsOnItsOwn(t *testing.T, cmd func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(hungBound):
		cancel()
		t.Fatalf("still running after %s; returned %v once cancelled", hungBound, <-done)
		return nil
	}
}

// fakeGitHub serves a synthetic fake GitHub on a loopback port.
func fakeGitHub(t *testing.T, cfg fakegithub.Config) (*fakegithub.Server, string) {
	t.Helper()
	fake, err := fakegithub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL + "/"
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestServeExitsWhenEdgeCannotListen: serve must not go on publishing
// without its edge; it stops the publisher and returns the listen error.
func TestServeExitsWhenEdgeCannotListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, api := fakeGitHub(t, fakegithub.Config{Seed: 1})
	err = returnsOnItsOwn(t, func(ctx context.Context) error {
		return runServe(ctx, []string{"--addr", taken.Addr().String(), "--metrics-addr=", "--store", "file:" + t.TempDir(),
			"--github-api-url", api, "--schedule", "@every 1h"}, quiet())
	})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("serve returned %v, want address already in use", err)
	}
}

// TestServeRefusesInvalidScheduleAtStart: a schedule that does not parse
// stops serve before the edge listens or GitHub is asked anything.
func TestServeRefusesInvalidScheduleAtStart(t *testing.T) {
	fake, api := fakeGitHub(t, fakegithub.Config{Seed: 2})
	err := returnsOnItsOwn(t, func(ctx context.Context) error {
		return runServe(ctx, []string{"--addr", "127.0.0.1:0", "--metrics-addr=", "--store", "file:" + t.TempDir(),
			"--github-api-url", api, "--schedule", "every 2 minutes"}, quiet())
	})
	if err == nil || !strings.Contains(err.Error(), "PUBLISH_SCHEDULE") || !strings.Contains(err.Error(), "--schedule") {
		t.Fatalf("serve returned %v, want an error naming PUBLISH_SCHEDULE and --schedule", err)
	}
	if n := fake.Stats().Requests(); n != 0 {
		t.Errorf("GitHub was asked %d times before the schedule was checked", n)
	}
}

// TestPublishRefusesBadConfigAtStart: publish, --once or not, refuses an
// invalid schedule or a malformed environment variable before asking GitHub.
func TestPublishRefusesBadConfigAtStart(t *testing.T) {
	for _, tc := range []struct {
		name, env, value string
		args             []string
		want             []string
	}{
		{"schedule", "", "", []string{"--schedule", "every 2 minutes"}, []string{"PUBLISH_SCHEDULE", "--schedule"}},
		{"schedule once", "", "", []string{"--once", "--schedule", "every 2 minutes"}, []string{"PUBLISH_SCHEDULE", "--schedule"}},
		{"env schedule", "PUBLISH_SCHEDULE", "every 2 minutes", []string{"--once"}, []string{"PUBLISH_SCHEDULE"}},
		{"env bool", "EXCLUDE_FORKS", "yes", []string{"--once"}, []string{`EXCLUDE_FORKS="yes"`}},
		{"env duration", "FETCH_TIMEOUT", "30", []string{"--once"}, []string{`FETCH_TIMEOUT="30"`, "missing unit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, tc.value)
			}
			fake, api := fakeGitHub(t, fakegithub.Config{Seed: 3})
			args := append([]string{"--store", "file:" + t.TempDir(), "--github-api-url", api}, tc.args...)
			err := returnsOnItsOwn(t, func(ctx context.Context) error { return runPublish(ctx, args, quiet()) })
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("publish returned %v, want an error naming %s", err, w)
				}
			}
			if n := fake.Stats().Requests(); n != 0 {
				t.Errorf("GitHub was asked %d times before the configuration was checked", n)
			}
		})
	}
}

// TestFakeGitHubShutsDownWithHungRequest: a request the fake holds open
// (--fault-hang) ends when shutdown begins, so shutdown is clean.
func TestFakeGitHubShutsDownWithHungRequest(t *testing.T) {
	fake, err := fakegithub.New(fakegithub.Config{Seed: 4, HangFraction: 1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, ln, fake) }()

	asked := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/rate_limit")
		if err == nil {
			resp.Body.Close()
		}
		asked <- err
	}()
	for deadline := time.Now().Add(hungBound); fake.Stats().Hangs == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the fake")
		}
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serveHTTP with a hung request in flight: %v", err)
		}
	case <-time.After(hungBound):
		t.Fatal("serveHTTP did not return after its context was cancelled")
	}
	<-asked // the client sees the connection end; either outcome is fine
}

func TestLogLevel(t *testing.T) {
	for v, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		t.Setenv("LOG_LEVEL", v)
		if got, err := logLevel(); err != nil || got != want {
			t.Errorf("LOG_LEVEL=%q: %v %v, want %v", v, got, err, want)
		}
	}
	t.Setenv("LOG_LEVEL", "verbose")
	if _, err := logLevel(); err == nil || !strings.Contains(err.Error(), `LOG_LEVEL="verbose"`) {
		t.Errorf("LOG_LEVEL=verbose: %v, want an error naming it", err)
	}
}
