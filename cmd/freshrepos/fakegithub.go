package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/freshrepos/freshrepos/envflag"
	"github.com/freshrepos/freshrepos/publisher/fakegithub"
)

func runFakeGitHub(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("fakegithub", flag.ContinueOnError)
	var env envflag.Reader
	addr := fs.String("addr", env.String("FAKEGITHUB_ADDR", "127.0.0.1:8081"), "listen address [FAKEGITHUB_ADDR]")
	var cfg fakegithub.Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fake, err := fakegithub.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("fake GitHub API listening", "url", "http://"+ln.Addr().String()+"/", "replay", cfg.ReplayDir)
	return serveHTTP(ctx, ln, fake)
}

// serveHTTP serves h on ln until ctx is done, then shuts down gracefully.
// Requests' contexts are ctx, so they end when shutdown begins: a request
// the fake holds open (--fault-hang) waits on its context, and would
// otherwise hold Shutdown until its time-out.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
