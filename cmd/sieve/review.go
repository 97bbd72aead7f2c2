package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/review"
	"github.com/sieve-stream/sieve/service"
)

// runReview serves the review console: the queue is the review topic (a
// route with payload review fills it), decisions go to the decisions topic.
func runReview(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("review", stderr)
	path := fs.String("c", "", "config file (sieve.yaml) with a review section")
	cfg, err := parseWithConfig(fs, args, path)
	if err != nil {
		return err
	}
	if len(cfg.Review.Keys) == 0 {
		return usagef("%s: review.keys: at least one moderator key is required", *path)
	}
	if err := cfg.Kafka.RequireBrokers(); err != nil {
		return usagef("%s: %w", *path, err)
	}
	obs, err := observe(cfg, stderr)
	if err != nil {
		return usageError{err}
	}
	defer obs.close()
	// The configured models give the thresholds the queue orders by and the
	// word attributions the console highlights.
	cs, err := service.Classifiers(cfg)
	if err != nil {
		return usageError{err}
	}
	defer classifiers.CloseAll(cs)
	thresholds := classifiers.NewStage(cs...).Thresholds()
	var explainers []review.Attributor
	for _, c := range cs {
		if a, ok := c.(review.Attributor); ok {
			explainers = append(explainers, a)
		}
	}
	var leaser review.Leaser = review.NewMemoryLeaser()
	if cfg.Redis.Enabled() {
		rc, err := redis.New(cfg.Redis)
		if err != nil {
			return usageError{err}
		}
		defer rc.Close()
		leaser = redis.NewLeaser(rc)
	}
	brokers, stopBroker, err := service.Brokers(cfg)
	if err != nil {
		return err
	}
	defer stopBroker()
	opts, err := kafka.ClientOptions(&cfg.Kafka, brokers)
	if err != nil {
		return usageError{err}
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := signalContext()
	defer cancel()
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	err = kafka.EnsureTopics(tctx, cl, cfg.Kafka.Partitions, cfg.Review.Topic, cfg.Review.DecisionsTopic)
	tcancel()
	if err != nil {
		return err
	}
	q := review.NewQueue(leaser, cfg.Review.Lease)
	srv := review.NewServer(cfg.Review, review.Options{Queue: q, Writer: review.KafkaWriter{Client: cl, Topic: cfg.Review.DecisionsTopic},
		Explainers: explainers, Registry: obs.reg, Logger: obs.log})
	fmt.Fprintf(stdout, "sieve review on http://%s (queue %q, decisions %q)\n", cfg.Review.Listen, cfg.Review.Topic, cfg.Review.DecisionsTopic)
	obs.ready(true)
	var wg conc.WaitGroup
	var feedErr error
	wg.Go(func() {
		if feedErr = review.Feed(ctx, opts, cfg.Review, srv, thresholds, obs.log); feedErr != nil {
			cancel()
		}
	})
	err = srv.Serve(ctx, cfg.Review.Listen)
	cancel()
	wg.Wait()
	obs.ready(false)
	if err != nil {
		return err
	}
	return feedErr
}
