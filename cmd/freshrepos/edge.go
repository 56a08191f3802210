package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"time"

	"github.com/freshrepos/freshrepos/edge"
	"github.com/freshrepos/freshrepos/publisher"
	"github.com/freshrepos/freshrepos/publisher/fakegithub"
)

func runEdge(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	cfg := edge.DefaultConfig()
	cfg.RegisterFlags(fs)
	store := fs.String("store", envOr("STORE", "file:./data"), "where snapshots live: file:DIR or s3://BUCKET[/PREFIX] [STORE]")
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
	store := fs.String("store", envOr("STORE", "file:./data"), "where snapshots live: file:DIR or s3://BUCKET[/PREFIX] [STORE]")
	demo := fs.Bool("demo", false, "ask the built-in fake GitHub (synthetic, offline) instead of GitHub, and publish every 10s")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, *store)
	if err != nil {
		return err
	}
	if *demo {
		url, err := startDemoGitHub(ctx, logger)
		if err != nil {
			return err
		}
		pcfg.APIURL, pcfg.Token, pcfg.Schedule = url, "demo", "@every 10s"
		ecfg.PublishInterval = 10 * time.Second
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
	errc := make(chan error, 1)
	go func() { errc <- pub.Serve(ctx) }()
	err = srv.Run(ctx)
	if perr := <-errc; err == nil {
		err = perr
	}
	return err
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
