// Package service assembles Sieve from a config: stages from the
// classifiers and policy sections, an Engine over a Kafka Source and Sink,
// and the embedded broker when the config asks for one. cmd/sieve and the
// integration tests start Sieve through it.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/aggregate"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/internal/telemetry"
	"github.com/sieve-stream/sieve/mapping"
	"github.com/sieve-stream/sieve/override"
	"github.com/sourcegraph/conc"
	"go.opentelemetry.io/otel/trace"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/route"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
)

// Classifiers builds the live classifiers the config names (each entry's
// registered type builds its own; classifiers/all links them in).
func Classifiers(cfg *config.Config) ([]classifiers.Classifier, error) {
	return classifiersOf(cfg, false)
}

// ShadowClassifiers builds the entries marked shadow.
func ShadowClassifiers(cfg *config.Config) ([]classifiers.Classifier, error) {
	return classifiersOf(cfg, true)
}

func classifiersOf(cfg *config.Config, shadow bool) ([]classifiers.Classifier, error) {
	var cs []classifiers.Classifier
	for i, cc := range cfg.Classifiers {
		if cc.Shadow != shadow {
			continue
		}
		cc.EnsureDefaults()
		c, err := cc.New()
		if err != nil {
			return nil, fmt.Errorf("classifiers[%d].%w", i, err)
		}
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// StageOptions carry what stages share with the process: where their
// metrics register and where they log.
type StageOptions struct {
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// WrapClassify, when set, wraps the classify stage inside the verdict
	// cache: `sieve bench --encoder-cost` adds CPU work per text with it
	// (bench.Costly) to stand in for a transformer encoder.
	WrapClassify func(pipeline.Stage) pipeline.Stage
}

// routedTopics are the topics the stages' routes name that can be known
// before any message arrives (route.Stage.Topics).
func routedTopics(stages []pipeline.Stage) []string {
	var out []string
	for _, st := range stages {
		if rs, ok := st.(*route.Stage); ok {
			out = append(out, rs.Topics()...)
		}
	}
	return out
}

// modelSetVersion names the classifiers and policy whose scores the cache
// holds: a new model or threshold gets new keys.
func modelSetVersion(cls *classifiers.Stage, cfg *config.Config) string {
	h := sha256.New()
	for _, d := range cls.Descriptions() {
		fmt.Fprintf(h, "%s;", d.ID())
	}
	b, _ := json.Marshal(cfg.Policy)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// EngineOptions maps the pipeline section onto pipeline.Options. The
// input section must have passed validation (config.Validate).
func EngineOptions(cfg *config.Config, stages []pipeline.Stage, m *pipeline.Metrics, log *slog.Logger) pipeline.Options {
	d, err := mapping.NewDecoder(cfg.Input)
	if err != nil && log != nil {
		// Validate has checked the section; what is left is the registry
		// client, which cannot fail for a valid URL.
		log.Error("input section: records are read as the envelope", "err", err)
	}
	return engineOptions(cfg, d, stages, m, log)
}

// engineOptions is EngineOptions with the input's decoder (and its
// schema cache) made by the caller; nil reads the envelope.
func engineOptions(cfg *config.Config, d *mapping.Decoder, stages []pipeline.Stage, m *pipeline.Metrics, log *slog.Logger) pipeline.Options {
	p := cfg.Pipeline
	var decode func(*pipeline.Record, contract.DecodeOptions, *contract.Message) error
	var enrich func(value, verdict []byte) ([]byte, error)
	if d != nil {
		decode = func(r *pipeline.Record, o contract.DecodeOptions, msg *contract.Message) error {
			return d.Decode(r.Topic, r.Value, r.Header, o, msg)
		}
		enrich = func(value, verdict []byte) ([]byte, error) {
			if b, err := d.Enrich(value, verdict); !errors.Is(err, mapping.ErrNotFramed) {
				return b, err
			}
			return pipeline.Enrich(value, verdict), nil
		}
	}
	return pipeline.Options{
		Decoder:            decode,
		TransactionRetries: cfg.Kafka.TransactionRetries,
		EnrichValue:        enrich,
		OutputMode:         cfg.Output.Mode,
		Stages:             stages,
		Batch:              pipeline.BatchOptions{MaxItems: p.Batch.MaxItems, MaxTokens: p.Batch.MaxTokens, Linger: p.Batch.Linger},
		Workers:            p.Workers,
		MaxInFlight:        p.MaxInFlight,
		VerdictTopic:       cfg.Kafka.Topics.Verdicts,
		DeadLetterTopic:    cfg.Kafka.Topics.DeadLetters,
		Decode:             contract.DecodeOptions{MaxTextBytes: p.MaxTextBytes, MaxRecordBytes: p.MaxRecordBytes, KeepUnknown: p.KeepUnknown},
		MaxRetries:         p.Retries,
		Backoff:            resilience.Backoff{Initial: p.BackoffInitial, Max: p.BackoffMax},
		BreakerThreshold:   p.Breaker.Threshold,
		BreakerCooldown:    p.Breaker.Cooldown,
		PauseOnOpenBreaker: *p.Breaker.PauseConsumption,
		CommitInterval:     p.CommitInterval,
		ShutdownTimeout:    p.ShutdownTimeout,
		RevokeTimeout:      cfg.Kafka.RebalanceTimeout / 2,
		Metrics:            m,
		Logger:             log,
	}
}

// Member is one consumer-group member: a Kafka source and an engine.
type Member struct {
	Source *kafka.Source
	Engine *pipeline.Engine
	// App owns the stages the member built from its config; nil when
	// MemberOptions.Stages gave them (their owner closes them).
	App *App

	// follow fills the app's overrides from the decisions topic while the
	// member runs; nil without overrides.
	follow func(ctx context.Context) error

	state *kafka.StateStore // aggregates' state reader, when configured

	// stopTracing shuts down the tracer provider the member made.
	stopTracing func(context.Context) error

	once sync.Once
}

// MemberOptions customise a member beyond the config.
type MemberOptions struct {
	Brokers []string // default: cfg.Kafka.Brokers
	Stages  []pipeline.Stage
	Metrics *pipeline.Metrics
	// Registry receives the stages' own metrics (cache, signals).
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// Tune adjusts the engine options after they are built from cfg.
	Tune func(*pipeline.Options)
	// KafkaOpts are extra franz-go options (tests shorten timeouts).
	KafkaOpts []kgo.Opt
	// TracerProvider traces records; default: the one cfg.Tracing asks
	// for, which the member owns and shuts down (flushing its spans).
	TracerProvider trace.TracerProvider
}

// NewMember connects one group member. Stages default to those of cfg, in
// an App the member owns.
func NewMember(cfg *config.Config, o MemberOptions) (_ *Member, err error) {
	var app *App
	defer func() {
		if err != nil {
			app.Close()
		}
	}()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Brokers == nil {
		o.Brokers = cfg.Kafka.Brokers
	}
	if o.Stages == nil {
		if app, err = NewApp(cfg, StageOptions{Registry: o.Registry, Logger: o.Logger}); err != nil {
			return nil, err
		}
		o.Stages = app.Stages
	}
	if err := ensureRoutedTopics(cfg, o.Brokers, routedTopics(o.Stages)); err != nil {
		return nil, err
	}
	// One decoder for the member: the start-up check and the engine share
	// its schema cache.
	dec, err := mapping.NewDecoder(cfg.Input)
	if err != nil {
		return nil, err
	}
	if cfg.Output.Mode == pipeline.OutputEnrich {
		// An Avro or Protobuf topic whose schema has no field for the
		// verdict is refused now, not record by record.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = dec.CheckEnrich(ctx, cfg.Kafka.Topics.Input)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	extra := o.KafkaOpts
	for _, r := range cfg.Routes {
		if r.Dynamic() {
			extra = append(slices.Clip(extra), kgo.AllowAutoTopicCreation())
			break
		}
	}
	tp := o.TracerProvider
	var stopTracing func(context.Context) error
	if tp == nil && cfg.Tracing.Exporter != "" {
		if tp, stopTracing, err = telemetry.NewTracerProvider(context.Background(), cfg.Tracing); err != nil {
			return nil, err
		}
	}
	if tp != nil && cfg.Tracing.KafkaClientSpans() {
		// franz-go's kotel hooks add the client's spans: receive for each
		// record fetched (the parent of Sieve's record span) and publish
		// for each output (its child), with the W3C context in headers.
		extra = append(slices.Clip(extra), kgo.WithHooks(kotel.NewTracer(
			kotel.TracerProvider(tp), kotel.TracerPropagator(telemetry.Propagator), kotel.ConsumerGroup(cfg.Kafka.Group))))
	}
	src, err := kafka.NewSource(&cfg.Kafka, o.Brokers, kafka.SourceOptions{
		ExactlyOnce: cfg.Delivery == config.ExactlyOnce,
		Logger:      o.Logger,
		Metrics:     kafka.NewMetrics(o.Registry),
		Extra:       extra,
	})
	if err != nil {
		if stopTracing != nil {
			stopTracing(context.Background())
		}
		return nil, err
	}
	opts := engineOptions(cfg, dec, o.Stages, o.Metrics, o.Logger)
	m := &Member{Source: src, App: app, stopTracing: stopTracing}
	if tp != nil {
		opts.Tracer = tp.Tracer("github.com/sieve-stream/sieve/pipeline")
		opts.ClientPublishSpans = cfg.Tracing.KafkaClientSpans()
	}
	if app != nil && app.Overrides != nil {
		copts, err := kafka.ClientOptions(&cfg.Kafka, o.Brokers)
		if err != nil {
			src.Close()
			if m.stopTracing != nil {
				m.stopTracing(context.Background())
			}
			return nil, err
		}
		store, topic, log := app.Overrides, cfg.Review.DecisionsTopic, o.Logger
		m.follow = func(ctx context.Context) error {
			err := override.Follow(ctx, copts, topic, store, log)
			if err != nil {
				log.Warn("moderator decisions not followed", "topic", topic, "err", err)
			}
			return err
		}
	}
	if cfg.Aggregates.Enabled() {
		agg, store, err := aggregator(cfg, o)
		if err != nil {
			src.Close()
			if m.stopTracing != nil {
				m.stopTracing(context.Background())
			}
			return nil, err
		}
		m.state = store
		opts.Folders = append(opts.Folders, agg)
	}
	if o.Tune != nil {
		o.Tune(&opts)
	}
	m.Engine = pipeline.New(src.Pipeline(), src.Sink(), opts)
	return m, nil
}

// aggregator builds the windowed aggregates and the reader of their state
// topic, which it creates where missing: like Kafka Streams' changelogs, it
// is Sieve's internal topic, not one a user manages.
func aggregator(cfg *config.Config, o MemberOptions) (*aggregate.Aggregator, *kafka.StateStore, error) {
	a := cfg.Aggregates
	cl, err := adminClient(cfg, o.Brokers)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = kafka.EnsureStateTopic(ctx, cl, a.StateTopic)
	cancel()
	cl.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("aggregates.state_topic: %w", err)
	}
	store, err := kafka.NewStateStore(&cfg.Kafka, o.Brokers, a.StateTopic)
	if err != nil {
		return nil, nil, err
	}
	return aggregate.New(a, aggregate.Options{Store: store, Group: cfg.Kafka.Group, Registry: o.Registry, Logger: o.Logger}), store, nil
}

// Run runs the member until ctx is done, drains, and leaves the group.
func (m *Member) Run(ctx context.Context) error {
	// The follower of moderator decisions lives as long as the engine
	// runs, and stops before the app closes the store it writes to.
	var wg conc.WaitGroup
	fctx, stop := context.WithCancel(ctx)
	if m.follow != nil {
		wg.Go(func() { _ = m.follow(fctx) })
	}
	err := m.Engine.Run(ctx)
	stop()
	wg.Wait()
	m.Close()
	return err
}

// Kill stops the member as a crash would: no drain, no commit. Run returns
// soon after.
func (m *Member) Kill() {
	m.Engine.Kill()
}

// Close closes the member's Kafka clients, then its app's resources.
func (m *Member) Close() {
	m.once.Do(func() {
		m.Source.Close()
		if m.stopTracing != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m.stopTracing(ctx) // flush what the exporter has not sent
			cancel()
		}
		if m.state != nil {
			m.state.Close()
		}
		m.App.Close()
	})
}

// Brokers starts the embedded broker when the config asks for one and
// returns the addresses to dial and a function that stops what it started.
func Brokers(cfg *config.Config) ([]string, func(), error) {
	if !cfg.Kafka.Embedded {
		return cfg.Kafka.Brokers, func() {}, nil
	}
	b, err := kafka.StartBroker(cfg.Kafka.EmbeddedPort, cfg.Kafka.DataDir)
	if err != nil {
		return nil, nil, err
	}
	return b.Addrs(), b.Close, nil
}

// adminClient is a plain client of the configured cluster, for topic
// administration.
func adminClient(cfg *config.Config, brokers []string) (*kgo.Client, error) {
	opts, err := kafka.ClientOptions(&cfg.Kafka, brokers)
	if err != nil {
		return nil, err
	}
	return kgo.NewClient(opts...)
}

// CreateTopics creates the config's topics where missing.
func CreateTopics(ctx context.Context, cfg *config.Config, brokers []string) error {
	cl, err := adminClient(cfg, brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	t := cfg.Kafka.Topics
	topics := append(append([]string{}, t.Input...), t.Verdicts, t.Rewrites, t.DeadLetters)
	topics = append(topics, cfg.Aggregates.Topic)
	if hasShadow(cfg) {
		topics = append(topics, t.Shadow)
	}
	return kafka.EnsureTopics(ctx, cl, cfg.Kafka.Partitions, topics...)
}

// CheckTopics fails, naming the config field, when a topic of the config
// that Sieve writes to or reads from does not exist on the cluster. The
// routes' topics are the member's to ensure (NewMember), as they come from
// its stages.
func CheckTopics(ctx context.Context, cfg *config.Config, brokers []string) error {
	cl, err := adminClient(cfg, brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	t := cfg.Kafka.Topics
	need := map[string]string{"kafka.topics.verdicts": t.Verdicts, "kafka.topics.dead_letters": t.DeadLetters}
	for i, in := range t.Input {
		need[fmt.Sprintf("kafka.topics.input[%d]", i)] = in
	}
	if !cfg.Rewrite.Disabled {
		need["kafka.topics.rewrites"] = t.Rewrites
	}
	if cfg.Aggregates.Enabled() {
		need["aggregates.topic"] = cfg.Aggregates.Topic
	}
	if hasShadow(cfg) {
		need["kafka.topics.shadow"] = t.Shadow
	}
	return missingTopics(cfg, topics, need)
}

// missingTopics names, by config field, the needed topics the cluster lacks.
func missingTopics(cfg *config.Config, have kadm.TopicDetails, need map[string]string) error {
	var missing []string
	for field, topic := range need {
		if !have.Has(topic) {
			missing = append(missing, fmt.Sprintf("%s: topic %q does not exist", field, topic))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s: %s (create them, or set kafka.create_topics: true)", cfg.Path(), strings.Join(missing, "; "))
	}
	return nil
}

// ensureRoutedTopics creates the routes' topics where the config lets Sieve
// create topics, and otherwise checks they exist: a record for a missing
// topic would wait in the producer.
func ensureRoutedTopics(cfg *config.Config, brokers []string, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	cl, err := adminClient(cfg, brokers)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cfg.Kafka.CreateTopics || cfg.Kafka.Embedded {
		return kafka.EnsureTopics(ctx, cl, cfg.Kafka.Partitions, topics...)
	}
	have, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	need := map[string]string{}
	for _, t := range topics {
		need["routes (topic "+t+")"] = t
	}
	return missingTopics(cfg, have, need)
}

func hasShadow(cfg *config.Config) bool {
	return slices.ContainsFunc(cfg.Classifiers, func(c classifiers.Config) bool { return c.Shadow })
}
