// Package config is sieve.yaml: one plain struct with defaults
// (EnsureDefaults) and a Validate that names the bad field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/sieve-stream/sieve/aggregate"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/cascade"
	"github.com/sieve-stream/sieve/classifiers/encoder"
	"github.com/sieve-stream/sieve/classifiers/remote"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/generator"
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
	Delivery    string             `yaml:"delivery"`
	Kafka       kafka.Config       `yaml:"kafka"`
	Pipeline    Pipeline           `yaml:"pipeline"`
	Classifiers []ClassifierConfig `yaml:"classifiers"`
	Policy      policy.Config      `yaml:"policy"`
	Redis       redis.Config       `yaml:"redis"`
	Cache       Cache              `yaml:"cache"`
	Signals     Signals            `yaml:"signals"`
	Rewrite     Rewrite            `yaml:"rewrite"`
	Guardrails  Guardrails         `yaml:"guardrails"`
	Media       Media              `yaml:"media"`
	// Routes send copies of verdicts or messages to topics chosen per
	// message (route.Config).
	Routes []route.Config `yaml:"routes"`
	// Aggregates counts verdicts in event-time windows (aggregate.Config).
	Aggregates aggregate.Config `yaml:"aggregates"`
	Proxy      proxy.Config     `yaml:"proxy"`
	HTTP       HTTP             `yaml:"http"`
	Log        Log              `yaml:"log"`

	// path is the file the config came from, for error messages.
	path string
}

// Pipeline tunes batching, concurrency and fault handling.
type Pipeline struct {
	Workers     int   `yaml:"workers"`
	MaxInFlight int   `yaml:"max_in_flight"`
	Batch       Batch `yaml:"batch"`
	// MaxTextBytes bounds a message's text; longer ones are dead-lettered
	// as too_large.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// MaxRecordBytes bounds a whole record value, media included.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// KeepUnknown copies the input's meta and unknown fields into the
	// verdict's meta.
	KeepUnknown     bool          `yaml:"keep_unknown"`
	Retries         int           `yaml:"retries"`
	BackoffInitial  time.Duration `yaml:"backoff_initial"`
	BackoffMax      time.Duration `yaml:"backoff_max"`
	Breaker         Breaker       `yaml:"breaker"`
	CommitInterval  time.Duration `yaml:"commit_interval"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Batch bounds a micro-batch.
type Batch struct {
	MaxItems  int           `yaml:"max_items"`
	MaxTokens int           `yaml:"max_tokens"`
	Linger    time.Duration `yaml:"linger"`
}

// Breaker configures the per-stage circuit breakers.
type Breaker struct {
	Threshold int           `yaml:"threshold"`
	Cooldown  time.Duration `yaml:"cooldown"`
	// PauseConsumption pauses the input while a breaker is open (default
	// true); false dead-letters the batches that reach the open stage.
	PauseConsumption *bool `yaml:"pause_consumption"`
}

// ClassifierConfig selects one classifier.
type ClassifierConfig struct {
	// Type is linear (a trained model), rules (the keyword/regex baseline)
	// or nop (scores nothing).
	Type string `yaml:"type"`
	// Builtin names a model shipped in the binary (moderation, spam,
	// injection, toxicity, sentiment, review_category); Model is the path of a model file from
	// sieve train. One of them, for type linear.
	Builtin string                   `yaml:"builtin"`
	Model   string                   `yaml:"model"`
	Rules   *classifiers.RulesConfig `yaml:"rules"`
	// Window and Stride, for type linear: a text longer than Window words
	// is scored as windows of Window words every Stride words, each label
	// at its highest over them (default 32 and 16; -1 scores the whole
	// text at once).
	Window int `yaml:"window"`
	Stride int `yaml:"stride"`
	// Remote is a model on a KServe v2 inference server (Triton, KServe,
	// MLServer, sieve serve-model), for type remote.
	Remote *remote.Config `yaml:"remote"`
	// ONNX is a Hugging Face export (model.onnx, tokenizer.json,
	// config.json) run on ONNX Runtime, for type onnx.
	ONNX *encoder.Config `yaml:"onnx"`
	// Steps, for type cascade: classifiers for the same labels, cheapest
	// first; a text goes on while a score lies in Band (or Bands[label]).
	Steps []ClassifierConfig      `yaml:"steps"`
	Band  *cascade.Band           `yaml:"band"`
	Bands map[string]cascade.Band `yaml:"bands"`
	// Categories makes a multi-class model (an ONNX export or remote model
	// of a user's taxonomy) a categories model: verdicts name its most
	// probable label, "other" below AbstainBelow, and its labels never
	// flag. Built-in and trained categories models carry this themselves.
	Categories   bool    `yaml:"categories"`
	AbstainBelow float64 `yaml:"abstain_below"`
}

// DefaultClassifiers are the built-in models used when the config names
// none: the moderation taxonomy, spam and prompt attacks. The older
// toxicity model (Davidson's hate_speech and offensive_language) is opt-in.
var DefaultClassifiers = []ClassifierConfig{{Type: "linear", Builtin: "moderation"}, {Type: "linear", Builtin: "spam"}, {Type: "linear", Builtin: "injection"}}

// Cache configures the verdict cache (an in-process LRU, with Redis behind
// it when redis.addrs is set).
type Cache struct {
	// Enabled defaults to true.
	Enabled bool          `yaml:"enabled"`
	LRUSize int           `yaml:"lru_size"`
	TTL     time.Duration `yaml:"ttl"`
	set     bool
}

// UnmarshalYAML records that the section was given, so that an explicit
// enabled: false is told apart from an absent section.
func (c *Cache) UnmarshalYAML(n *yaml.Node) error {
	type plain Cache
	p := plain{Enabled: true}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Cache(p)
	c.set = true
	return nil
}

// Signals configures campaign detection and author velocity.
type Signals struct {
	// Disabled turns the signals stage off.
	Disabled bool          `yaml:"disabled"`
	Window   time.Duration `yaml:"window"`    // default 10m
	MinChars int           `yaml:"min_chars"` // default 20
}

// Guardrails names the rails policy file whose input rails run on every
// message. `sieve run` reloads it on SIGHUP.
type Guardrails struct {
	Policy string `yaml:"policy"`
}

// Media configures the synthetic-media detectors that read every image a
// message carries (detectors.Stage).
type Media struct {
	Disabled bool `yaml:"disabled"`
	// FetchURLs loads media given by URL through the SSRF-safe fetcher;
	// off, URL media get an "unreadable" finding.
	FetchURLs bool `yaml:"fetch_urls"`
	// Allow lists address prefixes (CIDR) URL fetches may reach although
	// they are private, loopback or link-local.
	Allow []string `yaml:"allow"`
	// MaxBytes caps one image, inline or fetched (default 16 MiB).
	MaxBytes int `yaml:"max_bytes"`
	// MaxPixels refuses images whose header claims more pixels (default
	// 40,000,000).
	MaxPixels int `yaml:"max_pixels"`
	// FetchTimeout bounds one URL fetch (default 10s).
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// MaxMedia is how many images of one message are read (default 16);
	// MaxDecodeBytes its images' budget for decoded pixels (default 256
	// MiB); MessageTimeout bounds all its URL fetches together (default
	// 20s).
	MaxMedia       int           `yaml:"max_media"`
	MaxDecodeBytes int64         `yaml:"max_decode_bytes"`
	MessageTimeout time.Duration `yaml:"message_timeout"`
	// SkipWatermark turns off the invisible-watermark decoder, the one
	// media check that decodes pixels (tens of images/s per core instead of
	// thousands).
	SkipWatermark bool `yaml:"skip_watermark"`
	// Learned is the optional learned detector: a Hugging Face
	// image-classification export run on ONNX Runtime.
	Learned LearnedDetector `yaml:"learned"`
	// TrustAnchors is a PEM file of the CA certificates C2PA signers must
	// chain to for a manifest to count as from a trusted signer.
	TrustAnchors string `yaml:"trust_anchors"`
}

// LearnedDetector names an image classifier directory (model.onnx,
// config.json, preprocessor_config.json) and the labels that count as
// findings.
type LearnedDetector struct {
	Dir       string   `yaml:"dir"`
	Positive  []string `yaml:"positive"`
	Threshold float64  `yaml:"threshold"`
	Library   string   `yaml:"library"`
}

// Rewrite configures the rewrite stage (decision "rewrite").
type Rewrite struct {
	Disabled bool `yaml:"disabled"`
	// Fallback when a rewrite fails its rails twice: block (default) or
	// mask.
	Fallback string `yaml:"fallback"`
	// Judge is the built-in model whose labels a rewrite must clear, and
	// whose word attributions the embedded rewriter uses (default
	// moderation).
	Judge string `yaml:"judge"`
	// OpenAI, when set, rewrites with an OpenAI-compatible chat server
	// (vLLM, llama.cpp, Ollama, TGI, OpenAI) instead of the embedded
	// rewriter.
	OpenAI *generator.OpenAIConfig `yaml:"openai"`
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
		c.Classifiers = append([]ClassifierConfig(nil), DefaultClassifiers...)
	}
	for i := range c.Classifiers {
		if c.Classifiers[i].Type == "rules" && c.Classifiers[i].Rules == nil {
			r := classifiers.DefaultRules
			c.Classifiers[i].Rules = &r
		}
	}
	if c.Policy.Rules == nil && c.Policy.Thresholds == nil {
		c.Policy = policy.Default
	}
	if !c.Cache.set {
		c.Cache = Cache{Enabled: true, set: true}
	}
	if c.Cache.LRUSize <= 0 {
		c.Cache.LRUSize = 100_000
	}
	if c.Cache.TTL <= 0 {
		c.Cache.TTL = time.Hour
	}
	c.Redis.EnsureDefaults()
	if c.Rewrite.Fallback == "" {
		c.Rewrite.Fallback = "block"
	}
	if c.Rewrite.Judge == "" {
		c.Rewrite.Judge = "moderation"
	}
	if c.Signals.Window <= 0 {
		c.Signals.Window = 10 * time.Minute
	}
	if c.Signals.MinChars <= 0 {
		c.Signals.MinChars = 20
	}
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
	for i, cc := range c.Classifiers {
		switch cc.Type {
		case "rules":
			if _, err := classifiers.NewRules(*cc.Rules); err != nil {
				return fmt.Errorf("classifiers[%d].rules.%w", i, err)
			}
		case "linear":
			if (cc.Builtin == "") == (cc.Model == "") {
				return fmt.Errorf("classifiers[%d]: type linear needs exactly one of builtin and model", i)
			}
			if cc.Window < -1 || cc.Window == 1 {
				return fmt.Errorf("classifiers[%d].window: %d is not -1 (whole text) or at least 2 words", i, cc.Window)
			}
			if cc.Stride < 0 || (cc.Window > 0 && cc.Stride > cc.Window) {
				return fmt.Errorf("classifiers[%d].stride: %d is not between 1 and the window", i, cc.Stride)
			}
		case "remote":
			if cc.Remote == nil || cc.Remote.URL == "" || cc.Remote.Model == "" {
				return fmt.Errorf("classifiers[%d].remote: url and model are required for type remote", i)
			}
		case "onnx":
			if cc.ONNX == nil || cc.ONNX.Dir == "" {
				return fmt.Errorf("classifiers[%d].onnx.dir: required for type onnx", i)
			}
			switch cc.ONNX.Padding {
			case "", encoder.PadBuckets, encoder.PadBatch, encoder.PadMax:
			default:
				return fmt.Errorf("classifiers[%d].onnx.padding: %q is not buckets, batch or max", i, cc.ONNX.Padding)
			}
		case "cascade":
			if len(cc.Steps) < 2 {
				return fmt.Errorf("classifiers[%d].steps: a cascade needs at least two", i)
			}
			for j, st := range cc.Steps {
				if st.Type == "cascade" || st.Type == "nop" || st.Type == "" {
					return fmt.Errorf("classifiers[%d].steps[%d].type: %q cannot be a cascade step", i, j, st.Type)
				}
			}
		case "nop":
		default:
			return fmt.Errorf("classifiers[%d].type: %q is not linear, rules, remote, onnx, cascade or nop", i, cc.Type)
		}
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	if err := c.Redis.Validate(); err != nil {
		return err
	}
	for i, a := range c.Media.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			return fmt.Errorf("media.allow[%d]: %q is not a CIDR prefix", i, a)
		}
	}
	if l := c.Media.Learned; l.Dir != "" && len(l.Positive) == 0 {
		return errors.New("media.learned.positive: name the labels that mean generated (e.g. [fake])")
	}
	if l := c.Media.Learned; l.Threshold < 0 || l.Threshold > 1 {
		return fmt.Errorf("media.learned.threshold: %v is not in [0, 1]", l.Threshold)
	}
	if c.Media.MaxBytes < 0 || c.Media.MaxPixels < 0 || c.Media.FetchTimeout < 0 ||
		c.Media.MaxMedia < 0 || c.Media.MaxDecodeBytes < 0 || c.Media.MessageTimeout < 0 {
		return errors.New("media: max_bytes, max_pixels, fetch_timeout, max_media, max_decode_bytes and message_timeout must not be negative")
	}
	if c.Rewrite.Fallback != "block" && c.Rewrite.Fallback != "mask" {
		return fmt.Errorf("rewrite.fallback: %q is not block or mask", c.Rewrite.Fallback)
	}
	if o := c.Rewrite.OpenAI; o != nil && (o.BaseURL == "" || o.Model == "") {
		return errors.New("rewrite.openai: base_url and model are required")
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
