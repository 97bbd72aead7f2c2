package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/internal/telemetry"
	"github.com/sieve-stream/sieve/proxy"
	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

func runProxy(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("proxy", stderr)
	path := fs.String("c", "", "config file (sieve.yaml) with a proxy section")
	cfg, err := parseWithConfig(fs, args, path)
	if err != nil {
		return err
	}
	if cfg.Proxy.Upstream.BaseURL == "" {
		return usagef("%s: proxy.upstream.base_url: required", *path)
	}
	obs, err := observe(cfg, stderr)
	if err != nil {
		return usageError{err}
	}
	defer obs.close()
	opts := proxy.Options{Logger: obs.log}
	if cfg.Tracing.Exporter != "" {
		tp, shutdown, err := telemetry.NewTracerProvider(context.Background(), cfg.Tracing)
		if err != nil {
			return usageError{err}
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shutdown(ctx) // flush the spans not yet exported
		}()
		opts.Tracer = tp.Tracer("github.com/sieve-stream/sieve/proxy")
	}
	if cfg.Guardrails.Policy != "" {
		p, err := guardrails.LoadPolicy(cfg.Guardrails.Policy)
		if err != nil {
			return usageError{err}
		}
		opts.Rails = guardrails.NewEngine(p)
	}
	// /v1/moderations answers with the configured classifiers (by default
	// the built-in moderation model), mapped onto OpenAI's categories.
	moderators, err := service.Classifiers(cfg)
	if err != nil {
		return usageError{err}
	}
	defer classifiers.CloseAll(moderators)
	opts.Moderators = moderators
	opts.Metrics = proxy.NewMetrics(obs.reg)
	if cfg.Proxy.AuditTopic != "" {
		if err := cfg.Kafka.RequireBrokers(); err != nil {
			return usagef("%s: proxy.audit_topic needs Kafka: %w", *path, err)
		}
		brokers, stopBroker, err := service.Brokers(cfg)
		if err != nil {
			return err
		}
		defer stopBroker()
		kopts, err := kafka.ClientOptions(&cfg.Kafka, brokers)
		if err != nil {
			return usageError{err}
		}
		cl, err := kgo.NewClient(kopts...)
		if err != nil {
			return err
		}
		defer cl.Close()
		tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = kafka.EnsureTopics(tctx, cl, cfg.Kafka.Partitions, cfg.Proxy.AuditTopic)
		tcancel()
		if err != nil {
			return err
		}
		opts.Auditor = proxy.AuditLog{W: kafka.NewTopicWriter(cl, cfg.Proxy.AuditTopic, obs.log)}
	}
	if cfg.Redis.Enabled() {
		rc, err := redis.New(cfg.Redis)
		if err != nil {
			return usageError{err}
		}
		defer rc.Close()
		opts.Limiter = redis.NewLimiter(rc)
	}
	srv, err := proxy.New(cfg.Proxy, opts)
	if err != nil {
		return usagef("%s: %w", *path, err)
	}
	listen := cfg.Proxy.Listen
	if listen == "" {
		listen = ":8080"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return usagef("proxy.listen: %w", err)
	}
	hs := srv.HTTPServer()
	fmt.Fprintf(stdout, "sieve proxy on http://%s/v1 in front of %s\n", ln.Addr(), cfg.Proxy.Upstream.BaseURL)
	obs.ready(true)
	return serveUntilSignal(hs, ln)
}
