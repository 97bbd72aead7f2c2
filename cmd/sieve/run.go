package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sieve-stream/sieve/service"
	"github.com/sourcegraph/conc"
)

func runRun(args []string, _, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	path := fs.String("c", "", "config file (sieve.yaml)")
	cfg, err := parseWithConfig(fs, args, path)
	if err != nil {
		return err
	}
	obs, brokers, stop, err := startKafkaCommand(cfg, *path, stderr)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := signalContext()
	defer cancel()
	if cfg.Kafka.CreateTopics || cfg.Kafka.Embedded {
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		err := service.CreateTopics(tctx, cfg, brokers)
		tcancel()
		if err != nil {
			return err
		}
	}
	// A record for a topic that does not exist waits in the producer
	// (forever, inside a transaction): say so now instead.
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	err = service.CheckTopics(tctx, cfg, brokers)
	tcancel()
	if err != nil {
		return usageError{err}
	}
	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers, Metrics: obs.metrics, Registry: obs.reg, Logger: obs.log})
	if err != nil {
		return err
	}
	if m.App.Rails != nil {
		reloads := conc.NewWaitGroup()
		defer func() { cancel(); reloads.Wait() }() // the reloader stops with ctx
		reloads.Go(func() { reloadOnHUP(ctx, cfg.Guardrails.Policy, m.App, obs) })
	}
	obs.log.Info("sieve running", "brokers", brokers, "group", cfg.Kafka.Group, "input", cfg.Kafka.Topics.Input, "delivery", cfg.Delivery)
	obs.ready(true)
	err = m.Run(ctx)
	obs.ready(false)
	obs.log.Info("sieve stopped")
	return err
}

// reloadOnHUP reloads the rails policy on SIGHUP and when the file
// changes (checked every two seconds). Checks in flight finish on the policy
// they started with; a bad file is logged and the running policy kept, so
// nothing is dropped.
func reloadOnHUP(ctx context.Context, path string, app *service.App, obs *observability) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	modTime := func() time.Time {
		if st, err := os.Stat(path); err == nil {
			return st.ModTime()
		}
		return time.Time{}
	}
	seen := modTime()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if m := modTime(); m.Equal(seen) {
				continue
			} else {
				seen = m
			}
		case <-hup:
		}
		if err := app.Reload(); err != nil {
			obs.log.Error("guardrails policy not reloaded; keeping the running one", "err", err)
			continue
		}
		obs.log.Info("guardrails policy reloaded", "path", path)
	}
}
