package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sieve-stream/sieve/bench"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	path := fs.String("c", "", "config file (default: built-in defaults)")
	n := fs.Int("messages", 200_000, "messages to seed and process")
	classifier := fs.String("classifier", "config", "nop (the no-op stage: the pipeline's own cost), rules (the baseline), or config")
	batch := fs.Int("batch", 0, "max items per micro-batch (0: config)")
	linger := fs.Duration("linger", -1, "batch linger (-1: config)")
	workers := fs.Int("workers", 0, "concurrent batches (0: config)")
	delivery := fs.String("delivery", "", "at_least_once or exactly_once (default: config)")
	partitions := fs.Int("partitions", 6, "input partitions")
	seed := fs.Uint64("seed", 1, "traffic seed")
	copyLoop := fs.Bool("copy", true, "also measure a raw franz-go consume→produce copy loop in the same run")
	asJSON := fs.Bool("json", false, "print the result as JSON (last line)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	// The benchmark brings its own embedded broker.
	cfg.Kafka.Embedded = true
	if *batch > 0 {
		cfg.Pipeline.Batch.MaxItems = *batch
	}
	if *linger >= 0 {
		cfg.Pipeline.Batch.Linger = *linger
	}
	if *workers > 0 {
		cfg.Pipeline.Workers = *workers
	}
	if *delivery != "" {
		cfg.Delivery = *delivery
	}
	var stages []pipeline.Stage
	switch *classifier {
	case "nop":
		stages = []pipeline.Stage{pipeline.Nop}
	case "rules":
		cfg.Classifiers = []config.ClassifierConfig{{Type: "rules"}}
		cfg.EnsureDefaults()
	case "config":
	default:
		return usagef("--classifier: %q is not nop, rules or config", *classifier)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if stages == nil {
		if stages, err = service.Stages(cfg); err != nil {
			return usageError{err}
		}
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "seeding %d messages into an embedded broker (%d partitions)...\n", *n, *partitions)
	}
	var profile io.Writer
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return usagef("--cpuprofile: %w", err)
		}
		defer f.Close()
		profile = f
	}
	res, err := bench.Run(context.Background(), bench.Options{
		Messages: *n, Partitions: int32(*partitions), Seed: *seed, Config: cfg, Stages: stages, Copy: *copyLoop,
		Timeout: 10 * time.Minute, CPUProfile: profile,
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "stages:      %s\n", stageNames(stages))
		fmt.Fprintf(stdout, "delivery:    %s  batch %d  linger %s  workers %d\n", cfg.Delivery, cfg.Pipeline.Batch.MaxItems, cfg.Pipeline.Batch.Linger, cfg.Pipeline.Workers)
		fmt.Fprintf(stdout, "messages:    %d (%d invalid)  verdicts %d  dead letters %d\n", res.Messages, res.Invalid, res.Verdicts, res.DeadLetters)
		fmt.Fprintf(stdout, "throughput:  %.0f msgs/s over %.2fs\n", res.MsgsPerSec, res.Seconds)
		fmt.Fprintf(stdout, "latency:     p50 %.2f ms  p99 %.2f ms (taken → verdict acknowledged)\n", res.P50ms, res.P99ms)
		fmt.Fprintf(stdout, "lost:        %d  duplicates %d\n", res.Lost, res.Duplicates)
		if res.CopyMsgsPerSec > 0 {
			fmt.Fprintf(stdout, "copy loop:   %.0f msgs/s (raw franz-go consume→produce); pipeline/copy = %.3f\n", res.CopyMsgsPerSec, res.Ratio)
		}
	}
	b, _ := json.Marshal(res)
	if *asJSON {
		fmt.Fprintln(stdout, string(b))
	}
	if res.Lost > 0 {
		return fmt.Errorf("%d messages lost", res.Lost)
	}
	if cfg.Delivery == config.ExactlyOnce && res.Duplicates > 0 {
		return fmt.Errorf("%d duplicates in exactly-once mode", res.Duplicates)
	}
	return nil
}

func stageNames(st []pipeline.Stage) string {
	s := ""
	for i, x := range st {
		if i > 0 {
			s += " → "
		}
		s += x.Name()
	}
	return s
}
