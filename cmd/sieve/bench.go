package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sieve-stream/sieve/bench"
	"github.com/sieve-stream/sieve/cache"
	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/encoder"
	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/detectors"
	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/internal/srtest"
	"github.com/sieve-stream/sieve/internal/telemetry"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/traffic"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "soak" {
		return runBenchSoak(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "proxy" {
		return runBenchProxy(args[1:], stdout, stderr)
	}
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
	duplicates := fs.Float64("duplicates", -1, "share of exact duplicate texts in the traffic (default: the standard mix, 5%)")
	encoderCost := fs.Duration("encoder-cost", 0, "extra CPU time per scored text, standing in for a transformer encoder (with --compare-cache)")
	onnxDir := fs.String("onnx", "", "score with this ONNX model directory (model.onnx, tokenizer.json, config.json); \"standin\" writes a MiniLM-sized stand-in; the same run also measures the model alone")
	compareTracing := fs.Bool("compare-tracing", false, "run the pipeline twice on the same traffic, without and with OpenTelemetry tracing at 100% sampling (spans batched to an exporter that drops them), and report both")
	pairs := fs.Int("pairs", 1, "with --compare-tracing or --compare-mapping: run the comparison's runs this many times over, one after the other, and report each round and the medians (on a shared machine one round is noisy)")
	compareMapping := fs.Bool("compare-mapping", false, "run the pipeline twice on the same traffic: as Sieve's envelope, then in another schema read through input.mapping, and report both")
	compareCache := fs.Bool("compare-cache", false, "run the pipeline twice on the same traffic, without and with the verdict cache, and report both")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	mediaDir := fs.String("media", "", "attach an image from this folder (PNG/JPEG, round robin) to every message and score it with the media stage's NSFW model (OCR and the watermark decoder off); the same run also measures the model alone")
	rate := fs.Float64("rate", 0, "open loop: produce this many messages a second while the pipeline consumes, and time each from its scheduled send to its verdict (with --duration)")
	duration := fs.Duration("duration", 10*time.Second, "open loop: how long --rate produces (and each step of --sweep)")
	brokerProcess := fs.Bool("broker-process", true, "with --rate and --sweep: run the embedded broker in a child process, so that its heap (it keeps every record) and its garbage collection do not stall the pipeline being timed")
	sweep := fs.Bool("sweep", false, "measure the peak (a closed-loop run of --messages), then run open-loop at 25, 50, 75 and 90% of it for --duration each, and print a table")
	data := fs.String("data", "", "replay real posts from this shared datasets folder's train parts (as sieve demo does) instead of the synthetic mix")
	if err := parse(fs, args); err != nil {
		return err
	}
	if os.Getenv(brokerChildEnv) == "1" {
		return serveBrokerChild(stdout)
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
		cfg.Classifiers = []classifiers.Config{{Type: "rules"}}
		cfg.EnsureDefaults()
	case "config":
		if *onnxDir != "" {
			dir := *onnxDir
			if dir == "standin" {
				tmp, err := os.MkdirTemp("", "sieve-standin-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				if err := onnxmodel.WriteStandin(tmp); err != nil {
					return err
				}
				dir = tmp
			}
			cfg.Classifiers = []classifiers.Config{{Type: "onnx", Spec: &encoder.Type{ONNX: &encoder.Config{Dir: dir, Name: "encoder", Options: onnxrt.Options{Threads: 2}}}}}
			cfg.Cache.Enabled = false
			cfg.Signals.Disabled = true
		}
	default:
		return usagef("--classifier: %q is not nop, rules or config", *classifier)
	}
	var media [][]byte
	if *mediaDir != "" {
		if *classifier == "nop" {
			return usagef("--media needs the media stage: not with --classifier nop")
		}
		entries, err := os.ReadDir(*mediaDir)
		if err != nil {
			return usagef("--media: %w", err)
		}
		for _, e := range entries {
			if ext := strings.ToLower(filepath.Ext(e.Name())); ext == ".png" || ext == ".jpg" || ext == ".jpeg" {
				b, err := os.ReadFile(filepath.Join(*mediaDir, e.Name()))
				if err != nil {
					return usagef("--media: %w", err)
				}
				media = append(media, b)
			}
		}
		if len(media) == 0 {
			return usagef("--media: no PNG or JPEG files in %s", *mediaDir)
		}
		cfg.Media.Disabled, cfg.Media.SkipWatermark, cfg.Media.OCR.Disabled, cfg.Media.NSFW.Disabled = false, true, true, false
		cfg.Cache.Enabled = false
		cfg.Signals.Disabled = true
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if stages == nil {
		app, err := service.NewApp(cfg, service.StageOptions{})
		if err != nil {
			return usageError{err}
		}
		defer app.Close()
		stages = app.Stages
	}
	if !*asJSON && *rate == 0 && !*sweep {
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
	mix := traffic.DefaultMix
	if *duplicates >= 0 {
		if *duplicates > 0.9 {
			return usagef("--duplicates: %v is more than 0.9", *duplicates)
		}
		mix.Duplicate = *duplicates
	}
	opts := bench.Options{
		Messages: *n, Partitions: int32(*partitions), Seed: *seed, Config: cfg, Stages: stages, Copy: *copyLoop, Mix: mix,
		Timeout: 10 * time.Minute, CPUProfile: profile, Media: media,
	}
	if *data != "" {
		if opts.Corpus = loadCorpus(*data); opts.Corpus == nil {
			return usagef("--data: no shared datasets under %s", *data)
		}
	}
	if *rate < 0 {
		return usagef("--rate: %v is negative", *rate)
	}
	if *rate > 0 || *sweep {
		if *compareMapping || *compareTracing || *compareCache || *onnxDir != "" || len(media) > 0 {
			return usagef("--rate and --sweep: not with a comparison, --onnx or --media")
		}
		if *duration <= 0 {
			return usagef("--duration: %s is not positive", *duration)
		}
		opts.Copy = false
		run := bench.Run
		if *brokerProcess {
			run = runWithBrokerProcess
		}
		if *sweep {
			return runSweep(run, opts, *duration, *asJSON, stdout)
		}
		opts.Rate, opts.Duration = *rate, *duration
		res, err := run(context.Background(), opts)
		if err != nil {
			return err
		}
		return reportOpenLoop(res, *asJSON, stdout)
	}
	if *pairs < 1 {
		return usagef("--pairs: %d is not positive", *pairs)
	}
	if *pairs > 1 && !*compareTracing && !*compareMapping {
		return usagef("--pairs: only with --compare-tracing or --compare-mapping")
	}
	// measure runs one measured run of a comparison on stages of its own
	// (cold caches, an empty campaign store), closed after it, so that the
	// runs differ only in what is compared and none keeps the next one's
	// process busy. A run that lost a message fails the comparison.
	measure := func(o bench.Options, c *config.Config, what string) (*bench.Result, error) {
		if *classifier != "nop" {
			a, err := service.NewApp(c, service.StageOptions{})
			if err != nil {
				return nil, usageError{err}
			}
			defer a.Close()
			o.Stages = a.Stages
		}
		r, err := bench.Run(context.Background(), o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if r.Lost > 0 {
			return nil, fmt.Errorf("%s: %d of %d messages lost", what, r.Lost, r.Messages)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "  %.0f msgs/s, p99 %.2f ms, process CPU %.1f µs/msg\n", r.MsgsPerSec, r.P99ms, r.CPUMicrosPerMsg)
		}
		return r, nil
	}
	// compared is the result a comparison reports as the run (the last
	// traced run, the last mapped run); nil: the plain run below.
	var compared *bench.Result
	var envelope, mappedRes, avroRes *bench.Result
	var mappedRatios, avroRatios []float64
	if *compareMapping {
		if *compareCache || *compareTracing {
			return usagef("--compare-mapping: one comparison at a time")
		}
		// A first run warms the process and the broker, so that the
		// measured runs start alike.
		o1 := opts
		o1.Copy, o1.CPUProfile = false, nil
		o0 := o1
		o0.Messages, o0.Seed = max(1000, o1.Messages/4), o1.Seed+1000 // other texts
		if !*asJSON {
			fmt.Fprintf(stdout, "run 0 (warm-up, not reported): %d messages as the envelope\n", o0.Messages)
		}
		if _, err := bench.Run(context.Background(), o0); err != nil {
			return err
		}
		// The same messages in another JSON schema through a mapping, and
		// in the same schema as Avro framed for a schema registry (a local
		// stand-in that speaks its REST API).
		reg, stopReg := srtest.New()
		defer stopReg()
		avroID := reg.Register("bench-in-value", "AVRO", bench.MappedAvro)
		runMapped := func(avroID int, registry string, last bool, what string) (*bench.Result, error) {
			mapped := *cfg
			mapped.Input = bench.MappedInput
			mapped.Input.SchemaRegistry.URL = registry
			if err := mapped.Validate(); err != nil {
				return nil, err
			}
			o := o1
			o.Config, o.Mapped, o.AvroID = &mapped, true, avroID
			if last && avroID == 0 {
				o.CPUProfile = opts.CPUProfile // --cpuprofile: the last mapped JSON run's
			}
			return measure(o, &mapped, what)
		}
		for round := 1; round <= *pairs; round++ {
			if !*asJSON {
				fmt.Fprintf(stdout, "round %d of %d: Sieve's envelope\n", round, *pairs)
			}
			if envelope, err = measure(o1, cfg, "the envelope run"); err != nil {
				return err
			}
			if !*asJSON {
				fmt.Fprintf(stdout, "round %d of %d: another JSON schema through input.mapping\n", round, *pairs)
			}
			if mappedRes, err = runMapped(0, "", round == *pairs, "the mapped run"); err != nil {
				return err
			}
			if !*asJSON {
				fmt.Fprintf(stdout, "round %d of %d: the same schema as Avro through a schema registry\n", round, *pairs)
			}
			if avroRes, err = runMapped(avroID, reg.URL, round == *pairs, "the Avro run"); err != nil {
				return err
			}
			mappedRatios = append(mappedRatios, trunc3(mappedRes.MsgsPerSec/envelope.MsgsPerSec))
			avroRatios = append(avroRatios, trunc3(avroRes.MsgsPerSec/envelope.MsgsPerSec))
		}
		compared = mappedRes
	}
	var untraced *bench.Result
	var tracingCosts, tracingCPU []float64 // each pair's cost in rate and in CPU
	if *compareTracing {
		if *compareCache {
			return usagef("--compare-tracing: one comparison at a time")
		}
		o1 := opts
		o1.Copy, o1.CPUProfile = false, nil
		o0 := o1
		o0.Messages, o0.Seed = max(1000, o1.Messages/4), o1.Seed+1000
		if !*asJSON {
			fmt.Fprintf(stdout, "run 0 (warm-up, not reported): %d messages\n", o0.Messages)
		}
		if _, err := bench.Run(context.Background(), o0); err != nil {
			return err
		}
		tp, shutdown, err := telemetry.NewSDKProvider(telemetry.Tracing{SampleRatio: 1}, bench.DiscardSpans{})
		if err != nil {
			return err
		}
		defer shutdown(context.Background())
		traced := o1
		traced.TracerProvider = tp
		for pair := 1; pair <= *pairs; pair++ {
			if !*asJSON {
				fmt.Fprintf(stdout, "pair %d of %d: without tracing\n", pair, *pairs)
			}
			if untraced, err = measure(o1, cfg, "the untraced run"); err != nil {
				return err
			}
			if !*asJSON {
				fmt.Fprintf(stdout, "pair %d of %d: traced, 100%% sampling\n", pair, *pairs)
			}
			if compared, err = measure(traced, cfg, "the traced run"); err != nil {
				return err
			}
			// The traced run's spans are exported before the next run
			// starts, not during it.
			if f, ok := tp.(interface{ ForceFlush(context.Context) error }); ok {
				f.ForceFlush(context.Background())
			}
			tracingCosts = append(tracingCosts, 1-compared.MsgsPerSec/untraced.MsgsPerSec)
			if compared.CPUMicrosPerMsg > 0 {
				tracingCPU = append(tracingCPU, 1-untraced.CPUMicrosPerMsg/compared.CPUMicrosPerMsg)
			}
		}
		if opts.CPUProfile != nil {
			// The profile comes from a traced run of its own, after the
			// measured pairs, which profiling would have slowed.
			if !*asJSON {
				fmt.Fprintln(stdout, "one more traced run, for --cpuprofile (not reported)")
			}
			p := traced
			p.CPUProfile = opts.CPUProfile
			if _, err := measure(p, cfg, "the profiled run"); err != nil {
				return err
			}
		}
	}
	var uncached *bench.Result
	if *compareCache {
		if *classifier == "nop" {
			return usagef("--compare-cache needs a classifier to cache")
		}
		off := *cfg
		off.Cache.Enabled = false
		offApp, err := service.NewApp(&off, service.StageOptions{WrapClassify: bench.Costly(*encoderCost)})
		if err != nil {
			return usageError{err}
		}
		defer offApp.Close()
		offStages := offApp.Stages
		o2 := opts
		o2.Config, o2.Stages, o2.Copy = &off, offStages, false
		if !*asJSON {
			fmt.Fprintln(stdout, "run 1: without the verdict cache")
		}
		if uncached, err = bench.Run(context.Background(), o2); err != nil {
			return err
		}
		cfg.Cache.Enabled = true
		onApp, err := service.NewApp(cfg, service.StageOptions{WrapClassify: bench.Costly(*encoderCost)})
		if err != nil {
			return usageError{err}
		}
		defer onApp.Close()
		opts.Stages = onApp.Stages
		if !*asJSON {
			fmt.Fprintf(stdout, "  %.0f msgs/s, p99 %.2f ms\nrun 2: with the verdict cache\n", uncached.MsgsPerSec, uncached.P99ms)
		}
	}
	var res *bench.Result
	if compared != nil {
		res = compared
	} else if res, err = bench.Run(context.Background(), opts); err != nil {
		return err
	}
	hitStages := opts.Stages
	if compared != nil {
		hitStages = nil // the compared runs' stages are closed; stages served only the warm-up
	}
	for _, st := range hitStages {
		if c, ok := st.(*cache.Stage); ok {
			lookups, hits := c.Stats()
			if lookups > 0 {
				res.CacheHitRatio = trunc3(float64(hits) / float64(lookups))
			}
		}
	}
	if *onnxDir != "" {
		for _, st := range stages {
			if cs, ok := st.(*classifiers.Stage); ok && len(cs.Classifiers()) == 1 {
				direct, err := bench.Direct(context.Background(), cs.Classifiers()[0], opts, cfg.Pipeline.Batch.MaxItems)
				if err != nil {
					return err
				}
				res.DirectMsgsPerSec = direct
				res.RatioToDirect = trunc3(res.MsgsPerSec / direct)
			}
		}
	}
	if len(media) > 0 {
		var nsfw detectors.ImageClassifier
		for _, st := range stages {
			if ds, ok := st.(*detectors.Stage); ok && ds.Vision != nil {
				nsfw = ds.Vision.NSFW
			}
		}
		if nsfw == nil {
			return errors.New("--media: the NSFW model is not installed (make vision-models)")
		}
		direct, err := bench.DirectImages(context.Background(), nsfw, opts, cfg.Media.NSFW.BatchSize)
		if err != nil {
			return err
		}
		res.DirectMsgsPerSec = direct
		res.RatioToDirect = trunc3(res.MsgsPerSec / direct)
	}
	if untraced != nil {
		res.UntracedMsgsPerSec = untraced.MsgsPerSec
		res.TracedRatio = trunc3(res.MsgsPerSec / untraced.MsgsPerSec)
		res.UntracedCPUMicrosPerMsg = untraced.CPUMicrosPerMsg
		res.TracingCosts, res.TracingCPUShares = tracingCosts, tracingCPU
		for i := range res.TracingCosts {
			res.TracingCosts[i] = trunc3(res.TracingCosts[i])
		}
		for i := range res.TracingCPUShares {
			res.TracingCPUShares[i] = trunc3(res.TracingCPUShares[i])
		}
		res.TracingCostMedian = percentile(res.TracingCosts, 0.5)
		res.TracingCPUShareMedian = percentile(res.TracingCPUShares, 0.5)
		if res.CPUMicrosPerMsg > 0 {
			res.TracingCPUShare = trunc3(1 - untraced.CPUMicrosPerMsg/res.CPUMicrosPerMsg)
		}
	}
	if envelope != nil {
		res.EnvelopeMsgsPerSec = envelope.MsgsPerSec
		res.MappedRatio = trunc3(res.MsgsPerSec / envelope.MsgsPerSec)
		res.AvroMsgsPerSec = avroRes.MsgsPerSec
		res.AvroRatio = trunc3(avroRes.MsgsPerSec / envelope.MsgsPerSec)
		res.MappedRatios, res.AvroRatios = mappedRatios, avroRatios
		res.MappedRatioMedian, res.AvroRatioMedian = percentile(mappedRatios, 0.5), percentile(avroRatios, 0.5)
	}
	if uncached != nil {
		res.UncachedMsgsPerSec = uncached.MsgsPerSec
		res.CacheSpeedup = trunc3(res.MsgsPerSec / uncached.MsgsPerSec)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "stages:      %s\n", stageNames(stages))
		fmt.Fprintf(stdout, "delivery:    %s  batch %d  linger %s  workers %d\n", cfg.Delivery, cfg.Pipeline.Batch.MaxItems, cfg.Pipeline.Batch.Linger, cfg.Pipeline.Workers)
		fmt.Fprintf(stdout, "messages:    %d (%d invalid)  verdicts %d  dead letters %d\n", res.Messages, res.Invalid, res.Verdicts, res.DeadLetters)
		fmt.Fprintf(stdout, "throughput:  %.0f msgs/s over %.2fs (process CPU %.1f µs/msg)\n", res.MsgsPerSec, res.Seconds, res.CPUMicrosPerMsg)
		fmt.Fprintf(stdout, "latency:     p50 %.2f ms  p99 %.2f ms (taken → verdict acknowledged)\n", res.P50ms, res.P99ms)
		fmt.Fprintf(stdout, "lost:        %d  duplicates %d\n", res.Lost, res.Duplicates)
		if res.DirectMsgsPerSec > 0 {
			if len(media) > 0 {
				fmt.Fprintf(stdout, "model alone: %.1f msgs/s (the same images decoded and classified, batches of %d, one goroutine); pipeline/direct = %.3f\n", res.DirectMsgsPerSec, cfg.Media.NSFW.BatchSize, res.RatioToDirect)
			} else {
				fmt.Fprintf(stdout, "model alone: %.1f msgs/s (same texts, batches of %d, one goroutine); pipeline/direct = %.3f\n", res.DirectMsgsPerSec, cfg.Pipeline.Batch.MaxItems, res.RatioToDirect)
			}
		}
		if res.CacheHitRatio > 0 {
			fmt.Fprintf(stdout, "cache:       hit ratio %.3f (texts served without scoring)\n", res.CacheHitRatio)
		}
		if untraced != nil {
			fmt.Fprintf(stdout, "tracing:     %.0f msgs/s traced, %.0f untraced: traced/untraced = %.3f (cost %.1f%%)\n", res.MsgsPerSec, untraced.MsgsPerSec, res.TracedRatio, 100*(1-res.TracedRatio))
			fmt.Fprintf(stdout, "tracing cpu: %.1f µs/msg traced, %.1f untraced: tracing's share of the traced CPU %.1f%%\n", res.CPUMicrosPerMsg, untraced.CPUMicrosPerMsg, 100*res.TracingCPUShare)
			if len(res.TracingCosts) > 1 {
				fmt.Fprintf(stdout, "tracing:     cost of each pair %v: median %.1f%%\n", res.TracingCosts, 100*res.TracingCostMedian)
				fmt.Fprintf(stdout, "tracing cpu: share of each pair %v: median %.1f%%\n", res.TracingCPUShares, 100*res.TracingCPUShareMedian)
			}
		}
		if envelope != nil {
			fmt.Fprintf(stdout, "  %.0f msgs/s, p99 %.2f ms\n", avroRes.MsgsPerSec, avroRes.P99ms)
			fmt.Fprintf(stdout, "mapping:     %.0f msgs/s mapped JSON, %.0f Avro, %.0f as the envelope: mapped/envelope = %.3f, avro/envelope = %.3f\n",
				res.MsgsPerSec, res.AvroMsgsPerSec, envelope.MsgsPerSec, res.MappedRatio, res.AvroRatio)
			if len(mappedRatios) > 1 {
				fmt.Fprintf(stdout, "mapping:     mapped/envelope of each round %v: median %.3f; avro/envelope %v: median %.3f\n",
					mappedRatios, res.MappedRatioMedian, avroRatios, res.AvroRatioMedian)
			}
		}
		if uncached != nil {
			fmt.Fprintf(stdout, "cache gain:  %.0f msgs/s with the cache, %.0f without: %.2fx\n", res.MsgsPerSec, uncached.MsgsPerSec, res.CacheSpeedup)
		}
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

// reportOpenLoop prints one open-loop run.
func reportOpenLoop(res *bench.Result, asJSON bool, stdout io.Writer) error {
	if asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "open loop:   %.0f msgs/s asked, %.0f achieved over %.2fs (%d messages)\n", res.TargetRate, res.AchievedRate, res.Seconds, res.Messages)
		fmt.Fprintf(stdout, "latency:     p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms (scheduled send → verdict acknowledged)\n", res.P50ms, res.P99ms, res.P999ms)
		fmt.Fprintf(stdout, "lost:        %d  duplicates %d\n", res.Lost, res.Duplicates)
		if res.Behind {
			fmt.Fprintf(stdout, "BEHIND:      the pipeline did not keep up with %.0f msgs/s; latency grows with the run's length\n", res.TargetRate)
		}
	}
	if res.Lost > 0 {
		return fmt.Errorf("%d messages lost", res.Lost)
	}
	return nil
}

// sweepSteps are the shares of the measured peak a sweep runs at.
var sweepSteps = []float64{0.25, 0.50, 0.75, 0.90}

// runSweep measures the peak with a closed-loop run, then runs open-loop at
// each of sweepSteps of it. Each run gets texts of its own (another seed),
// so that the verdict cache does not carry one run's texts into the next.
func runSweep(run func(context.Context, bench.Options) (*bench.Result, error), opts bench.Options, d time.Duration, asJSON bool, stdout io.Writer) error {
	if !asJSON {
		fmt.Fprintf(stdout, "peak: closed loop, %d messages...\n", opts.Messages)
	}
	peak, err := run(context.Background(), opts)
	if err != nil {
		return err
	}
	type step struct {
		Share float64 `json:"share"`
		*bench.Result
	}
	var steps []step
	for i, share := range sweepSteps {
		o := opts
		o.Rate, o.Duration, o.Seed = share*peak.MsgsPerSec, d, opts.Seed+uint64(i+1)*7919
		if !asJSON {
			fmt.Fprintf(stdout, "open loop at %.0f%% of the peak (%.0f msgs/s) for %s...\n", 100*share, o.Rate, d)
		}
		res, err := run(context.Background(), o)
		if err != nil {
			return err
		}
		if res.Lost > 0 {
			return fmt.Errorf("%d messages lost at %.0f msgs/s", res.Lost, o.Rate)
		}
		steps = append(steps, step{share, res})
	}
	if asJSON {
		b, _ := json.Marshal(map[string]any{"peak_msgs_per_sec": peak.MsgsPerSec, "peak_p99_ms": peak.P99ms, "sweep": steps})
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "\npeak (closed loop): %.0f msgs/s\n\n", peak.MsgsPerSec)
	fmt.Fprintln(stdout, "| share of peak | asked msgs/s | achieved msgs/s | p50 ms | p99 ms | p99.9 ms | kept up |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|")
	for _, s := range steps {
		kept := "yes"
		if s.Behind {
			kept = "no"
		}
		fmt.Fprintf(stdout, "| %.0f%% | %.0f | %.0f | %.2f | %.2f | %.2f | %s |\n", 100*s.Share, s.TargetRate, s.AchievedRate, s.P50ms, s.P99ms, s.P999ms, kept)
	}
	return nil
}

// brokerChildEnv marks the child process of --broker-process.
const brokerChildEnv = "SIEVE_BENCH_BROKER_CHILD"

// serveBrokerChild is the child of --broker-process: an embedded broker
// whose address goes to stdout, kept until stdin closes (the parent ended).
func serveBrokerChild(stdout io.Writer) error {
	b, err := kafka.StartBroker(0, "")
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintln(stdout, strings.Join(b.Addrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// runWithBrokerProcess runs one benchmark against a fresh broker in a child
// process (this binary, as serveBrokerChild).
func runWithBrokerProcess(ctx context.Context, o bench.Options) (*bench.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench")
	cmd.Env = append(os.Environ(), brokerChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the broker process: %w", err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("the broker process gave no address: %w", err)
	}
	o.Brokers = strings.Split(strings.TrimSpace(line), ",")
	return bench.Run(ctx, o)
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

// trunc3 cuts a ratio to three decimals for the report.
func trunc3(x float64) float64 { return float64(int(1000*x)) / 1000 }
