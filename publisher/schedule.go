package publisher

import (
	"context"
	"log/slog"

	"github.com/robfig/cron/v3"
)

// Serve publishes at once, then on the schedule, until ctx is done; then it
// waits for a run in progress, which sees ctx cancelled and stops early.
// A run that would overlap the one before is skipped, and a panic in a run
// is logged and survived, so one bad run never stops the schedule.
func (p *Publisher) Serve(ctx context.Context) error {
	sched, err := parseSchedule(p.cfg.Schedule) // valid: New validated it
	if err != nil {
		return err
	}
	p.warnAnonymous()
	logger := cron.PrintfLogger(slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelWarn))
	job := cron.NewChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)).Then(cron.FuncJob(func() {
		_, _ = p.Run(ctx) // failures are logged and counted by Run
	}))
	c := cron.New(cron.WithLogger(logger))
	c.Schedule(sched, job)
	c.Start()
	// The run at start is not cron's, so c.Stop does not wait for it; first
	// does, so that when Serve returns no run of its is left behind.
	first := make(chan struct{})
	go func() {
		defer close(first)
		job.Run()
	}()
	<-ctx.Done()
	<-c.Stop().Done()
	<-first
	p.mu.Lock() // a run started by hand holds it until it returns
	p.mu.Unlock()
	return nil
}

// warnAnonymous says once what running without a token means.
func (p *Publisher) warnAnonymous() {
	if p.cfg.Token == "" {
		p.cfg.Logger.Warn("GITHUB_TOKEN is not set: GitHub allows 60 core calls an hour and 10 searches a minute without one, " +
			"so each hour only about 60 repositories get their languages; the rest are published as pending until budget returns. " +
			"Set GITHUB_TOKEN for 5,000 calls an hour.")
	}
}

// RunOnce is `publish --once`: one run, an error when it failed.
func (p *Publisher) RunOnce(ctx context.Context) error {
	p.warnAnonymous()
	_, err := p.Run(ctx)
	return err
}
