package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/freshrepos/freshrepos/edge"
	"github.com/freshrepos/freshrepos/publisher"
	"github.com/freshrepos/freshrepos/publisher/fakegithub"
)

func runEdge(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	cfg := edge.DefaultConfig()
	cfg.RegisterFlags(fs)
	store := storeFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, *store)
	if err != nil {
		return err
	}
	cfg.Logger, cfg.Registry = logger, newRegistry()
	srv, err := edge.New(cfg, st)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// runServe is publisher and edge in one process over one store: the edge
// hears of each publication at once, and one registry holds both's metrics.
func runServe(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	ecfg := edge.DefaultConfig()
	ecfg.RegisterFlags(fs)
	var pcfg publisher.Config
	pcfg.RegisterFlags(fs)
	store := storeFlag(fs)
	demo := fs.Bool("demo", false, "ask the built-in fake GitHub (synthetic, offline) instead of GitHub, and publish every 10s")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *demo {
		pcfg.Token, pcfg.Schedule = "demo", "@every 10s"
		ecfg.PublishInterval = 10 * time.Second
	}
	if err := pcfg.Validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, *store)
	if err != nil {
		return err
	}
	if *demo {
		if pcfg.APIURL, err = startDemoGitHub(ctx, logger); err != nil {
			return err
		}
	}
	reg := newRegistry()
	ecfg.Logger, ecfg.Registry = logger.With("component", "edge"), reg
	srv, err := edge.New(ecfg, st)
	if err != nil {
		return err
	}
	pcfg.Logger, pcfg.Registerer, pcfg.OnPublish = logger.With("component", "publisher"), reg, srv.Notify
	pub, err := publisher.New(pcfg, st)
	if err != nil {
		return err
	}
	// Either half returning stops the other: a serve whose edge cannot
	// listen must not go on publishing unseen, nor an edge go on serving
	// what no publisher refreshes. The first error is the one returned.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var g errgroup.Group
	g.Go(func() error { defer cancel(); return pub.Serve(ctx) })
	g.Go(func() error { defer cancel(); return srv.Run(ctx) })
	return g.Wait()
}

// startDemoGitHub serves the fake GitHub in synthetic mode on a loopback
// port for `serve --demo`, so the demo needs no network and no token.
func startDemoGitHub(ctx context.Context, logger *slog.Logger) (string, error) {
	fake, err := fakegithub.New(fakegithub.Config{Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() {
		if err := serveHTTP(ctx, ln, fake); err != nil {
			logger.Error("demo fake GitHub", "err", err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/"
	logger.Info("demo: publishing from the built-in fake GitHub", "url", url)
	return url, nil
}
