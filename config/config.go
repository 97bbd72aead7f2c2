// Package config is sieve.yaml: one plain struct with defaults
// (EnsureDefaults) and a Validate that names the bad field.
package config

import (
	// Every classifier type Sieve ships, so that a sieve.yaml can name any.
	"github.com/sieve-stream/sieve/cache"
	_ "github.com/sieve-stream/sieve/classifiers/all"
	"github.com/sieve-stream/sieve/detectors"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/internal/telemetry"
	"github.com/sieve-stream/sieve/mapping"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/review"
	"github.com/sieve-stream/sieve/rewrite"
	"github.com/sieve-stream/sieve/signals"

	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sieve-stream/sieve/aggregate"
	"github.com/sieve-stream/sieve/models"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/policy"
	"github.com/sieve-stream/sieve/proxy"
	"github.com/sieve-stream/sieve/route"
	"gopkg.in/yaml.v3"
)

// Delivery modes.
const (
	AtLeastOnce = "at_least_once"
	ExactlyOnce = "exactly_once"
)

// Config is sieve.yaml.
type Config struct {
	// Delivery is at_least_once (default) or exactly_once.
	Delivery string       `yaml:"delivery"`
	Kafka    kafka.Config `yaml:"kafka"`
	// Input says how records are read: Sieve's envelope, or a topic's own
	// schema through a mapping (mapping.Input).
	Input mapping.Input `yaml:"input"`
	// Output says what the verdicts topic receives.
	Output      Output               `yaml:"output"`
	Pipeline    Pipeline             `yaml:"pipeline"`
	Classifiers []classifiers.Config `yaml:"classifiers"`
	Policy      policy.Config        `yaml:"policy"`
	Redis       redis.Config         `yaml:"redis"`
	Cache       cache.Config         `yaml:"cache"`
	Signals     signals.Config       `yaml:"signals"`
	Rewrite     rewrite.Config       `yaml:"rewrite"`
	Guardrails  guardrails.Config    `yaml:"guardrails"`
	Media       detectors.Config     `yaml:"media"`
	// Routes send copies of verdicts or messages to topics chosen per
	// message (route.Config).
	Routes []route.Config `yaml:"routes"`
	// Aggregates counts verdicts in event-time windows (aggregate.Config).
	Aggregates aggregate.Config `yaml:"aggregates"`
	Proxy      proxy.Config     `yaml:"proxy"`
	// Review is the console of `sieve review` (review.Config).
	Review review.Config `yaml:"review"`
	HTTP   HTTP          `yaml:"http"`
	Log    Log           `yaml:"log"`
	// Tracing sends OpenTelemetry traces of records and proxy requests to
	// an OTLP collector (off by default).
	Tracing telemetry.Tracing `yaml:"tracing"`

	// path is the file the config came from, for error messages.
	path string
}

// Pipeline tunes batching, concurrency and fault handling.
type Pipeline struct {
	Workers     int   `yaml:"workers"`       // micro-batches processed at once
	MaxInFlight int   `yaml:"max_in_flight"` // records taken and not yet acknowledged before polling stops; 0: max(4096, 16 × batch.max_items)
	Batch       Batch `yaml:"batch"`
	// MaxTextBytes bounds a message's text; longer ones are dead-lettered
	// as too_large.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// MaxRecordBytes bounds a whole record value, media included.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// KeepUnknown copies the input's meta and unknown fields into the
	// verdict's meta.
	KeepUnknown     bool          `yaml:"keep_unknown"`
	Retries         int           `yaml:"retries"`         // per batch, after a transient stage error
	BackoffInitial  time.Duration `yaml:"backoff_initial"` // first wait before a retry; doubles each time, with jitter
	BackoffMax      time.Duration `yaml:"backoff_max"`     // longest wait before a retry
	Breaker         Breaker       `yaml:"breaker"`
	CommitInterval  time.Duration `yaml:"commit_interval"`  // how often acknowledged offsets are committed (at_least_once)
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"` // how long a stop waits for records in flight
}

// Batch bounds a micro-batch.
type Batch struct {
	MaxItems  int           `yaml:"max_items"`  // messages per micro-batch at most
	MaxTokens int           `yaml:"max_tokens"` // estimated tokens per micro-batch at most; 0: no bound
	Linger    time.Duration `yaml:"linger"`     // how long a batch waits to fill; negative: no wait
}

// Breaker configures the per-stage circuit breakers.
type Breaker struct {
	Threshold int           `yaml:"threshold"` // failed batches in a row that open a stage's breaker
	Cooldown  time.Duration `yaml:"cooldown"`  // how long a breaker stays open before a trial batch
	// PauseConsumption pauses the input while a breaker is open (default
	// true); false dead-letters the batches that reach the open stage.
	PauseConsumption *bool `yaml:"pause_consumption"`
}

// DefaultClassifiers are the built-in models used when the config names
// none: the moderation taxonomy, spam and prompt attacks. The older
// toxicity model (Davidson's hate_speech and offensive_language) is opt-in.
var DefaultClassifiers = []classifiers.Config{
	{Type: "linear", Spec: &models.LinearType{Builtin: "moderation"}},
	{Type: "linear", Spec: &models.LinearType{Builtin: "spam"}},
	{Type: "linear", Spec: &models.LinearType{Builtin: "injection"}},
}

// Output is what the verdicts topic (and the routed copies of verdicts)
// receive for each message.
type Output struct {
	// Mode is verdict (Sieve's verdict, the default), enrich (the input's
	// own JSON with the verdict added as "moderation") or headers (the
	// input's value untouched, the decision, flags and models in sieve-*
	// headers).
	Mode string `yaml:"mode"`
}

// HTTP is the metrics and health server.
type HTTP struct {
	// Addr serves /metrics, /healthz and /readyz; empty disables it.
	Addr string `yaml:"addr"`
}

// Log configures log/slog.
type Log struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// Default returns a config with every default filled in.
func Default() *Config {
	c := &Config{}
	c.EnsureDefaults()
	return c
}

// Path is the file the config was loaded from, "" for defaults.
func (c *Config) Path() string { return c.path }

// EnsureDefaults fills every unset field.
func (c *Config) EnsureDefaults() {
	if c.Delivery == "" {
		c.Delivery = AtLeastOnce
	}
	c.Kafka.EnsureDefaults()
	for i := range c.Routes {
		c.Routes[i].EnsureDefaults()
	}
	c.Aggregates.EnsureDefaults()
	p := &c.Pipeline
	if p.Workers <= 0 {
		p.Workers = 4
	}
	if p.Batch.MaxItems <= 0 {
		p.Batch.MaxItems = 256
	}
	if p.Batch.Linger == 0 {
		p.Batch.Linger = 5 * time.Millisecond
	}
	if p.Batch.Linger < 0 {
		p.Batch.Linger = 0
	}
	if p.MaxTextBytes <= 0 {
		p.MaxTextBytes = 64 << 10
	}
	if p.MaxRecordBytes <= 0 {
		p.MaxRecordBytes = 8 << 20
	}
	if p.Retries == 0 {
		p.Retries = 3
	}
	if p.BackoffInitial <= 0 {
		p.BackoffInitial = 100 * time.Millisecond
	}
	if p.BackoffMax <= 0 {
		p.BackoffMax = 5 * time.Second
	}
	if p.Breaker.Threshold <= 0 {
		p.Breaker.Threshold = 5
	}
	if p.Breaker.Cooldown <= 0 {
		p.Breaker.Cooldown = 5 * time.Second
	}
	if p.Breaker.PauseConsumption == nil {
		t := true
		p.Breaker.PauseConsumption = &t
	}
	if p.CommitInterval <= 0 {
		p.CommitInterval = time.Second
	}
	if p.ShutdownTimeout <= 0 {
		p.ShutdownTimeout = 30 * time.Second
	}
	if len(c.Classifiers) == 0 {
		for _, d := range DefaultClassifiers {
			l := *d.Spec.(*models.LinearType)
			c.Classifiers = append(c.Classifiers, classifiers.Config{Type: d.Type, Spec: &l})
		}
	}
	for i := range c.Classifiers {
		c.Classifiers[i].EnsureDefaults()
	}
	if c.Policy.Rules == nil && c.Policy.Thresholds == nil {
		c.Policy = policy.Default
	}
	c.Cache.EnsureDefaults()
	c.Redis.EnsureDefaults()
	c.Proxy.EnsureDefaults()
	c.Review.EnsureDefaults()
	c.Rewrite.EnsureDefaults()
	c.Signals.EnsureDefaults()
	c.Media.EnsureDefaults()
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
}

// Validate reports the first bad field, named as in sieve.yaml.
func (c *Config) Validate() error {
	switch c.Delivery {
	case AtLeastOnce, ExactlyOnce:
	default:
		return fmt.Errorf("delivery: %q is not %s or %s", c.Delivery, AtLeastOnce, ExactlyOnce)
	}
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	p := &c.Pipeline
	if p.Workers > 1024 {
		return fmt.Errorf("pipeline.workers: %d is more than 1024", p.Workers)
	}
	if p.MaxInFlight < 0 {
		return fmt.Errorf("pipeline.max_in_flight: %d is negative", p.MaxInFlight)
	}
	if p.MaxInFlight > 0 && p.MaxInFlight < p.Batch.MaxItems {
		return fmt.Errorf("pipeline.max_in_flight: %d is below pipeline.batch.max_items %d; no batch could fill", p.MaxInFlight, p.Batch.MaxItems)
	}
	if p.Batch.MaxTokens < 0 {
		return fmt.Errorf("pipeline.batch.max_tokens: %d is negative", p.Batch.MaxTokens)
	}
	if p.Retries < 0 {
		return fmt.Errorf("pipeline.retries: %d is negative", p.Retries)
	}
	if p.MaxTextBytes > p.MaxRecordBytes {
		return fmt.Errorf("pipeline.max_text_bytes: %d is over pipeline.max_record_bytes %d", p.MaxTextBytes, p.MaxRecordBytes)
	}
	for i := range c.Classifiers {
		if err := c.Classifiers[i].Validate(); err != nil {
			return fmt.Errorf("classifiers[%d].%w", i, err)
		}
	}
	if c.Proxy.Upstream.BaseURL != "" {
		// A section `sieve proxy` will serve; without an upstream the
		// proxy command says what is missing itself.
		if err := c.Proxy.Validate(); err != nil {
			return err
		}
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	if err := c.Redis.Validate(); err != nil {
		return err
	}
	for field, store := range map[string]string{"cache.store": c.Cache.Store, "signals.store": c.Signals.Store} {
		if store == "redis" && !c.Redis.Enabled() {
			return fmt.Errorf("%s: redis needs redis.addrs", field)
		}
	}
	if err := c.Review.Validate(); err != nil {
		return err
	}
	if err := c.Input.Validate(); err != nil {
		return err
	}
	if err := c.Tracing.Validate(); err != nil {
		return err
	}
	switch c.Output.Mode {
	case "", pipeline.OutputVerdict, pipeline.OutputEnrich, pipeline.OutputHeaders:
	default:
		return fmt.Errorf("output.mode: %q is not verdict, enrich or headers", c.Output.Mode)
	}
	if err := c.Media.Validate(); err != nil {
		return err
	}
	if err := c.Rewrite.Validate(); err != nil {
		return err
	}
	for i := range c.Routes {
		if err := c.Routes[i].Validate(i); err != nil {
			return err
		}
	}
	if err := c.Aggregates.Validate(); err != nil {
		return err
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format: %q is not text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	return nil
}

// Load reads, defaults and validates a config file. Every error names the
// file, and the field or line that is wrong.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.path = path
	return c, nil
}

// Parse reads a config from r, rejecting unknown fields, then defaults and
// validates it.
func Parse(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, nameFields(data, err)
		}
	}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// nameFields rewrites yaml's "line N: ..." errors to also name the field at
// that line, so that every config error names its field.
func nameFields(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return err
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		var line int
		if _, serr := fmt.Sscanf(e, "line %d:", &line); serr == nil {
			if path := fieldAt(&root, line, ""); path != "" {
				e = path + ": " + e
			}
		}
		msgs = append(msgs, e)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// fieldAt returns the dotted path of the deepest key whose value starts on
// line.
func fieldAt(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := fieldAt(c, line, prefix); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if p := fieldAt(v, line, path); p != "" {
				return p
			}
			if v.Line == line && (v.Kind == yaml.ScalarNode || k.Line == line) {
				return path
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := fieldAt(c, line, fmt.Sprintf("%s[%d]", prefix, i)); p != "" {
				return p
			}
		}
	}
	return ""
}
