package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/sieve-stream/sieve/service"
)

// runReplay is a backfill: the input topics from a time, read again by a
// new consumer group under this config (new models, new output topics),
// until the group has caught up with where the topics ended when it
// started.
func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", stderr)
	path := fs.String("c", "", "config file (sieve.yaml) of the replay: its models, policy and output topics")
	from := fs.String("from-time", "", "where to start, RFC 3339 (2026-11-29T00:00:00Z)")
	group := fs.String("group", "", "a new consumer group for the replay")
	cfg, err := parseWithConfig(fs, args, path)
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, *from)
	if err != nil {
		return usagef("--from-time: %w", err)
	}
	if *group == "" || *group == cfg.Kafka.Group {
		return usagef("--group: name a new consumer group, not the config's %q", cfg.Kafka.Group)
	}
	cfg.Kafka.Group = *group
	cfg.Kafka.TransactionalID = *group
	obs, brokers, stop, err := startKafkaCommand(cfg, *path, stderr)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := signalContext()
	defer cancel()
	if err := service.CheckTopics(ctx, cfg, brokers); err != nil {
		return usageError{err}
	}
	ends, err := service.ReplayFrom(ctx, cfg, brokers, *group, t)
	if err != nil {
		return usageError{err}
	}
	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers, Metrics: obs.metrics, Registry: obs.reg, Logger: obs.log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replaying %v from %s as group %q\n", cfg.Kafka.Topics.Input, t.Format(time.RFC3339), *group)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg conc.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
				if done, err := service.CaughtUp(runCtx, cfg, brokers, *group, ends); err == nil && done {
					stop()
					return
				}
			}
		}
	})
	err = m.Run(runCtx)
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "replay caught up")
	return nil
}
