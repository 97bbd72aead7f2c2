package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/examples"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/traffic"
	"github.com/twmb/franz-go/pkg/kgo"
)

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	path := fs.String("c", "", "config file (default: built-in defaults with an embedded broker)")
	rate := fs.Int("rate", 2000, "synthetic messages per second")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	seed := fs.Uint64("seed", 1, "traffic seed")
	scenario := fs.String("scenario", "moderation", "moderation (posts: spam, abuse, broken records) or reviews (examples/reviews/sieve.yaml: departments, sentiment, fake reviews, routing, windowed counts)")
	data := fs.String("data", defaultDatasets(), "reviews scenario: the shared datasets folder whose review sets (train and dev parts, never the held-out test part) make the traffic")
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg *config.Config
	var err error
	switch *scenario {
	case "moderation":
		cfg, err = loadConfig(*path)
	case "reviews":
		if *path != "" {
			return usagef("--scenario reviews brings its own config; -c is for the moderation scenario")
		}
		cfg, err = config.Parse(bytes.NewReader(examples.Reviews()))
	default:
		return usagef("--scenario: %q is not moderation or reviews", *scenario)
	}
	if err != nil {
		return err
	}
	var reviews []traffic.Review
	if *scenario == "reviews" {
		reviews = loadReviews(*data, stderr)
		rateSet := false
		fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "rate" })
		if !rateSet {
			// Slow enough that the ~20,000 reviews last over six minutes
			// before they repeat (and the campaign signals call every
			// repeat a campaign).
			*rate = 50
		}
	}
	if *path == "" {
		cfg.Kafka.Embedded = true
		cfg.HTTP.Addr = "127.0.0.1:9464"
		cfg.Log.Level = "warn"
	}
	if *rate <= 0 {
		return usagef("--rate: must be positive")
	}
	obs, err := observe(cfg, stderr)
	if err != nil {
		// The demo must start on any machine: run without the HTTP server
		// when its port is taken.
		fmt.Fprintf(stderr, "metrics server disabled: %v\n", err)
		cfg.HTTP.Addr = ""
		if obs, err = observe(cfg, stderr); err != nil {
			return err
		}
	}
	defer obs.close()
	ctx, cancel := signalContext()
	defer cancel()
	if *duration > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, *duration)
		defer c2()
	}
	brokers, stopBroker, err := service.Brokers(cfg)
	if err != nil {
		return err
	}
	defer stopBroker()
	if err := service.CreateTopics(ctx, cfg, brokers); err != nil {
		return err
	}
	stats := newLiveStats()
	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers, Metrics: obs.metrics, Registry: obs.reg, Logger: obs.log,
		Tune: func(o *pipeline.Options) { o.OnDone = stats.add }})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sieve demo: embedded Kafka at %s, %d msgs/s of synthetic traffic into %q; verdicts in %q. Ctrl-C stops.\n",
		strings.Join(brokers, ","), *rate, cfg.Kafka.Topics.Input[0], cfg.Kafka.Topics.Verdicts)
	if obs.server != nil {
		fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", obs.server.Addr())
	}
	var wg sync.WaitGroup
	wg.Add(2)
	prodErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		prodErr <- produceTraffic(ctx, cfg.Kafka, brokers, *rate, *seed, cfg.Pipeline.MaxTextBytes, reviews)
	}()
	go func() {
		defer wg.Done()
		stats.print(ctx, stdout, isTerminal(stdout))
	}()
	obs.ready(true)
	err = m.Run(ctx)
	cancel()
	wg.Wait()
	fmt.Fprintf(stdout, "\n%s\nstopped cleanly.\n", stats.summary())
	if err != nil {
		return err
	}
	if perr := <-prodErr; perr != nil && ctx.Err() == nil {
		return perr
	}
	return nil
}

// defaultDatasets is $SIEVE_DATASETS, else the shared folder beside the
// repository.
func defaultDatasets() string {
	if d := os.Getenv("SIEVE_DATASETS"); d != "" {
		return d
	}
	return "../shared/datasets"
}

// loadReviews reads the review sets' train and dev parts; without them the
// demo replays traffic.SampleReviews.
func loadReviews(dir string, stderr io.Writer) []traffic.Review {
	var out []traffic.Review
	for _, set := range []string{"review_category", "review_sentiment"} {
		for _, part := range []string{datasets.Train, datasets.Dev} {
			ex, err := datasets.Load(filepath.Join(dir, set, "train.jsonl") + "#" + part)
			if err != nil {
				continue
			}
			for _, e := range ex {
				out = append(out, traffic.Review{Text: e.Text})
			}
		}
	}
	if len(out) == 0 {
		fmt.Fprintf(stderr, "no review sets under %s (--data); replaying %d sample reviews\n", dir, len(traffic.SampleReviews))
		return traffic.SampleReviews
	}
	return out
}

// produceTraffic writes synthetic messages at rate until ctx ends: the
// moderation mix, or reviews when reviews is not nil.
func produceTraffic(ctx context.Context, kc kafka.Config, brokers []string, rate int, seed uint64, maxText int, reviews []traffic.Review) error {
	opts, err := kafka.ClientOptions(&kc, brokers)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	next := traffic.New(seed, traffic.DefaultMix, maxText).Next
	if reviews != nil {
		rg := traffic.NewReviews(seed, reviews)
		next = func() traffic.Message { return rg.Next(time.Now()) }
	}
	tick := 20 * time.Millisecond
	per := float64(rate) * tick.Seconds()
	t := time.NewTicker(tick)
	defer t.Stop()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		owed += per
		for ; owed >= 1; owed-- {
			m := next()
			cl.Produce(ctx, &kgo.Record{Topic: kc.Topics.Input[0], Key: []byte(m.Key), Value: m.Value}, nil)
		}
	}
}

// liveStats aggregates verdicts for the demo's live line.
type liveStats struct {
	mu        sync.Mutex
	total     int
	window    int
	lat       []float64
	flags     map[string]int
	decisions map[string]int
	cats      map[string]int // the first categories model's categories
	dead      map[string]int
	start     time.Time
}

func newLiveStats() *liveStats {
	return &liveStats{flags: map[string]int{}, decisions: map[string]int{}, cats: map[string]int{}, dead: map[string]int{}, start: time.Now()}
}

func (s *liveStats) add(it *pipeline.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.window++
	if it.Err != nil {
		s.dead[it.Err.Code]++
		return
	}
	if ts := it.Record.Timestamp; !ts.IsZero() {
		s.lat = append(s.lat, float64(time.Since(ts).Microseconds())/1000)
	}
	for _, f := range it.Flags {
		s.flags[f]++
	}
	if len(it.Categories) > 0 {
		s.cats[it.Categories[0].Value]++
	}
	d := it.Decision
	if d == "" {
		d = pipeline.DecisionAllow
	}
	s.decisions[d]++
}

func (s *liveStats) print(ctx context.Context, w io.Writer, tty bool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			rate := float64(s.window) / now.Sub(last).Seconds()
			p50, p99 := percentile(s.lat, 0.5), percentile(s.lat, 0.99)
			line := fmt.Sprintf("%8d msgs  %6.0f msg/s  e2e p50 %6.1fms p99 %6.1fms  flags %s  decisions %s  dead %d",
				s.total, rate, p50, p99, counts(s.flags), counts(s.decisions), sum(s.dead))
			if len(s.cats) > 0 {
				line += "  categories " + counts(s.cats)
			}
			s.window, s.lat = 0, s.lat[:0]
			s.mu.Unlock()
			last = now
			if tty {
				fmt.Fprintf(w, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(w, line)
			}
		}
	}
}

func (s *liveStats) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := fmt.Sprintf("total %d messages in %s: flags %s, decisions %s, dead letters %s",
		s.total, time.Since(s.start).Round(time.Second), counts(s.flags), counts(s.decisions), counts(s.dead))
	if len(s.cats) > 0 {
		out += ", categories " + counts(s.cats)
	}
	return out
}

func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	c := append([]float64(nil), xs...)
	sort.Float64s(c)
	return c[min(len(c)-1, int(q*float64(len(c))))]
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
