package main

import (
	"context"
	"io"
	"time"

	"github.com/sieve-stream/sieve/service"
)

func runRun(args []string, _, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	path := fs.String("c", "", "config file (sieve.yaml)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return usagef("-c sieve.yaml is required")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if err := cfg.Kafka.RequireBrokers(); err != nil {
		return usagef("%s: %w", *path, err)
	}
	obs, err := observe(cfg, stderr)
	if err != nil {
		return usageError{err}
	}
	defer obs.close()
	brokers, stopBroker, err := service.Brokers(cfg)
	if err != nil {
		return err
	}
	defer stopBroker()
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
	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers, Metrics: obs.metrics, Registry: obs.reg, Logger: obs.log})
	if err != nil {
		return err
	}
	obs.log.Info("sieve running", "brokers", brokers, "group", cfg.Kafka.Group, "input", cfg.Kafka.Topics.Input, "delivery", cfg.Delivery)
	obs.ready(true)
	err = m.Run(ctx)
	obs.ready(false)
	obs.log.Info("sieve stopped")
	return err
}
