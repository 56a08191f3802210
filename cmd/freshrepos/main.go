// Command freshrepos is the one binary: `publish` keeps a store's snapshot
// fresh, `edge` serves it, `serve` runs both in one process, and
// `fakegithub` stands in for GitHub in tests and demos.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/freshrepos/freshrepos/envflag"
	"github.com/freshrepos/freshrepos/ops"
	"github.com/freshrepos/freshrepos/publisher"
	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
	"github.com/freshrepos/freshrepos/snapshots/s3store"
)

const usage = `freshrepos serves the newest public GitHub repositories and their languages.

Usage:
  freshrepos serve       publisher and edge in one process over one store
  freshrepos publish     publish snapshots on a schedule (--once: one run)
  freshrepos edge        serve the newest snapshot over HTTP
  freshrepos fakegithub  a fake GitHub REST API for tests and demos

Run 'freshrepos COMMAND -h' for a command's flags. Every flag has an
environment variable that sets its default; see README.md.
`

func main() {
	level, err := logLevel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "publish":
		err = runPublish(ctx, args, logger)
	case "edge":
		err = runEdge(ctx, args, logger)
	case "serve":
		err = runServe(ctx, args, logger)
	case "fakegithub":
		err = runFakeGitHub(ctx, args, logger)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "freshrepos: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		logger.Error("exiting", "command", os.Args[1], "err", err)
		os.Exit(1)
	}
}

// logLevel reads LOG_LEVEL: unset or empty is info; one that is not a
// level is refused, as every other variable that does not parse.
func logLevel() (slog.Level, error) {
	env := envflag.Reader{Prefix: "freshrepos"}
	level := envflag.Get(&env, "LOG_LEVEL", slog.LevelInfo, func(v string) (l slog.Level, err error) {
		return l, l.UnmarshalText([]byte(v))
	})
	return level, env.Err()
}

// storeFlag registers --store, whose default is STORE's.
func storeFlag(fs *flag.FlagSet) *string {
	var env envflag.Reader
	return fs.String("store", env.String("STORE", "file:./data"), "where snapshots live: file:DIR or s3://BUCKET[/PREFIX] [STORE]")
}

// openStore opens the store a STORE URL names: file:DIR or s3://BUCKET[/PREFIX].
func openStore(ctx context.Context, raw string) (snapshots.Store, error) {
	switch {
	case strings.HasPrefix(raw, "file:"):
		return dirstore.New(strings.TrimPrefix(strings.TrimPrefix(raw, "file:"), "//"))
	case strings.HasPrefix(raw, "s3://"):
		cfg, err := s3store.FromEnv(raw)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return s3store.New(ctx, cfg)
	}
	return nil, fmt.Errorf("STORE %q: want file:DIR or s3://BUCKET[/PREFIX]", raw)
}

// serveMetrics serves Prometheus metrics and pprof on their own address,
// never on the public port. It stops when ctx is done.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, logger *slog.Logger) {
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: ops.Handler(reg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "addr", addr, "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("metrics and pprof", "addr", addr)
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func runPublish(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	var cfg publisher.Config
	cfg.RegisterFlags(fs)
	store := storeFlag(fs)
	var env envflag.Reader
	metricsAddr := fs.String("metrics-addr", env.String("METRICS_ADDR", ""), "address for /metrics and pprof, empty for none [METRICS_ADDR]")
	once := fs.Bool("once", false, "run once and exit non-zero on failure (for Kubernetes CronJobs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, *store)
	if err != nil {
		return err
	}
	reg := newRegistry()
	cfg.Logger, cfg.Registerer = logger, reg
	p, err := publisher.New(cfg, st)
	if err != nil {
		return err
	}
	if *once {
		return p.RunOnce(ctx)
	}
	serveMetrics(ctx, *metricsAddr, reg, logger)
	return p.Serve(ctx)
}
