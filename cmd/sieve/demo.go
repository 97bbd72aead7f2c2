package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/contract"
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
	data := fs.String("data", defaultDatasets(), "the shared datasets folder whose train parts (never the held-out test part) make the traffic: posts, spam and abuse for the moderation scenario, reviews for the reviews scenario")
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
	rateSet := false
	fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "rate" })
	var reviews []traffic.Review
	var corpus *traffic.Corpus
	if *scenario == "moderation" {
		if corpus = loadCorpus(*data); corpus == nil {
			fmt.Fprintf(stderr, "no shared datasets under %s (--data); the traffic is synthetic templates\n", *data)
		} else if !rateSet {
			// Real texts run out: at 500 a second a text comes back after a
			// minute or more, too seldom for the campaign signals to call
			// the repeats a campaign.
			*rate = 500
		}
	}
	if *scenario == "reviews" {
		reviews = loadReviews(*data, stderr)
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
	what := "synthetic traffic"
	switch {
	case corpus != nil:
		what = fmt.Sprintf("real posts (%d ordinary, %d spam, %d abusive or harmful, from the shared sets' train parts; a spam campaign from 30 new accounts now and then)",
			len(corpus.Benign), len(corpus.Spam), len(corpus.Harmful))
	case reviews != nil:
		what = fmt.Sprintf("%d reviews", len(reviews))
	}
	fmt.Fprintf(stdout, "sieve demo: embedded Kafka at %s, %d msgs/s of %s into %q; verdicts in %q. Ctrl-C stops.\n",
		strings.Join(brokers, ","), *rate, what, cfg.Kafka.Topics.Input[0], cfg.Kafka.Topics.Verdicts)
	if obs.server != nil {
		fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", obs.server.Addr())
	}
	var wg sync.WaitGroup
	wg.Add(2)
	prodErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		prodErr <- produceTraffic(ctx, cfg.Kafka, brokers, *rate, *seed, cfg.Pipeline.MaxTextBytes, reviews, corpus)
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

// ordinarySources are the moderation corpus's sources of benign rows that
// look like a platform's everyday traffic. The others were collected where
// abuse or despair is common (OLID by offensive keywords, the Gab Hate
// Corpus, depression and suicide forums): their benign rows are hard
// negatives for evaluation (docs/models.md), not a random day's posts.
var ordinarySources = []string{"coco_captions", "xstest_safe", "convabuse"}

// loadCorpus reads the posts of the moderation demo from the shared sets'
// train parts: ordinary posts (reviews, SMS, captions, chat turns, benign
// prompts), SMS spam, and the moderation corpus's labelled posts and
// requests. Nil when there are none.
func loadCorpus(dir string) *traffic.Corpus {
	var c traffic.Corpus
	for _, set := range []string{"moderation", "sms_spam", "review_sentiment", "review_category", "prompt_attacks"} {
		ex, err := datasets.Load(filepath.Join(dir, set, "train.jsonl") + "#" + datasets.Train)
		if err != nil {
			continue
		}
		for _, e := range ex {
			switch {
			case set == "review_sentiment" || set == "review_category":
				c.Benign = append(c.Benign, e.Text)
			case set == "moderation" && len(e.Labels) == 0 && slices.Contains(ordinarySources, e.Source):
				c.Benign = append(c.Benign, e.Text)
			case set == "moderation" && len(e.Labels) > 0:
				c.Harmful = append(c.Harmful, e.Text)
			case set == "sms_spam" && len(e.Labels) == 0, set == "prompt_attacks" && len(e.Labels) == 0:
				c.Benign = append(c.Benign, e.Text)
			case set == "sms_spam":
				c.Spam = append(c.Spam, e.Text)
			}
		}
	}
	if len(c.Benign) == 0 {
		return nil
	}
	return &c
}

// produceTraffic writes messages at rate until ctx ends: real posts from
// corpus, reviews, or (neither given) the synthetic moderation mix.
func produceTraffic(ctx context.Context, kc kafka.Config, brokers []string, rate int, seed uint64, maxText int, reviews []traffic.Review, corpus *traffic.Corpus) error {
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
	switch {
	case reviews != nil:
		rg := traffic.NewReviews(seed, reviews)
		next = func() traffic.Message { return rg.Next(time.Now()) }
	case corpus != nil:
		pg := traffic.NewPosts(seed, *corpus, traffic.DefaultPostMix)
		next = func() traffic.Message { return pg.Next(time.Now()) }
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
	campaigns int // messages the signals put in a campaign of 20 or more authors
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
		s.dead[string(it.Err.Code)]++
		return
	}
	if ts := it.Record.Timestamp; !ts.IsZero() {
		s.lat = append(s.lat, float64(time.Since(ts).Microseconds())/1000)
	}
	for _, f := range it.Flags {
		s.flags[f]++
	}
	if it.Signals["campaign_authors"] >= 20 {
		s.campaigns++
	}
	if len(it.Categories) > 0 {
		s.cats[it.Categories[0].Value]++
	}
	d := it.Decision
	if d == "" {
		d = contract.DecisionAllow
	}
	s.decisions[string(d)]++
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
			line := fmt.Sprintf("%8d msgs  %6.0f msg/s  e2e p50 %6.1fms p99 %6.1fms  flags %s  decisions %s%s  campaign posts %d  dead %d",
				s.total, rate, p50, p99, counts(s.flags), counts(s.decisions), s.share(), s.campaigns, sum(s.dead))
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

// share is the part of the verdicts that were not allowed, the figure a
// trust-and-safety team watches; s.mu is held.
func (s *liveStats) share() string {
	n, acted := 0, 0
	for d, c := range s.decisions {
		n += c
		if d != string(contract.DecisionAllow) {
			acted += c
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.1f%% not allowed)", 100*float64(acted)/float64(n))
}

func (s *liveStats) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := fmt.Sprintf("total %d messages in %s: flags %s, decisions %s%s, campaign posts %d, dead letters %s",
		s.total, time.Since(s.start).Round(time.Second), counts(s.flags), counts(s.decisions), s.share(), s.campaigns, counts(s.dead))
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
