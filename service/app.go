package service

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/sieve-stream/sieve/cache"
	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/policy"
	"github.com/sieve-stream/sieve/rewrite"
	"github.com/sieve-stream/sieve/route"
	"github.com/sieve-stream/sieve/signals"
)

// App is Sieve assembled from a config: its stages in order, and every
// resource built for them (the Redis client, ONNX sessions, the rail
// engine). It owns them: Close releases them, last built first, once
// nothing runs the stages any more. A Member adds the Kafka clients and
// closes those first.
type App struct {
	// Stages run in this order.
	Stages []pipeline.Stage
	// Rails is the rail engine of guardrails.policy; nil without one.
	Rails *guardrails.Engine
	// Redis is the client of the redis section; nil without one.
	Redis *redis.Client

	railsPath string
	closers   []func() error // in the order built
	closed    bool
}

func (a *App) owns(close func() error) { a.closers = append(a.closers, close) }

// Close releases what the app built, last built first, and returns the
// errors joined. A second Close does nothing.
func (a *App) Close() error {
	if a == nil || a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

// ErrNoRails is returned by Reload for an app without guardrails.policy.
var ErrNoRails = errors.New("no guardrails.policy to reload")

// Reload reads guardrails.policy again and swaps it in: checks in flight
// finish on the policy they started with. A bad file changes nothing.
func (a *App) Reload() error {
	if a.Rails == nil {
		return ErrNoRails
	}
	p, err := guardrails.LoadPolicy(a.railsPath)
	if err != nil {
		return fmt.Errorf("guardrails.policy: %w", err)
	}
	a.Rails.Reload(p)
	return nil
}

// NewApp builds the stages the config names: guardrails, classify (behind
// the verdict cache), signals, media, policy, rewrite, routes. On an error
// it closes what it built.
func NewApp(cfg *config.Config, o StageOptions) (_ *App, err error) {
	a := &App{railsPath: cfg.Guardrails.Policy}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cs, err := Classifiers(cfg)
	if err != nil {
		return nil, err
	}
	cls := classifiers.NewStage(cs...)
	// The classifiers' sessions are the stage's from here: closing it
	// closes them.
	a.owns(cls.Close)
	if len(cs) == 0 {
		a.Stages = []pipeline.Stage{pipeline.Nop}
		return a, nil
	}
	pol, err := policy.New(cfg.Policy, cls.Thresholds(), cls.Categories()...)
	if err != nil {
		return nil, err
	}
	var rc *redis.Client
	if cfg.Redis.Enabled() {
		if rc, err = redis.New(cfg.Redis); err != nil {
			return nil, err
		}
		a.Redis = rc
		a.owns(rc.Close)
	}
	if cfg.Cache.Enabled || !cfg.Signals.Disabled {
		redis.Watch(o.Registry, rc, o.Logger)
	}
	var classify pipeline.Stage = cls
	if o.WrapClassify != nil {
		classify = o.WrapClassify(classify)
	}
	if cfg.Cache.Enabled {
		co := cache.Options{Version: modelSetVersion(cls, cfg), LRUSize: cfg.Cache.LRUSize, TTL: cfg.Cache.TTL,
			Metrics: cache.NewMetrics(o.Registry), Logger: o.Logger}
		if rc != nil {
			co.Store, co.Breaker = rc, rc.Breaker()
		}
		classify = cache.New(classify, co)
	}
	var stages []pipeline.Stage
	var rails *guardrails.Engine
	if cfg.Guardrails.Policy != "" {
		p, err := guardrails.LoadPolicy(cfg.Guardrails.Policy)
		if err != nil {
			return nil, fmt.Errorf("guardrails.policy: %w", err)
		}
		rails = guardrails.NewEngine(p)
		a.Rails = rails
		stages = append(stages, guardrails.Stage{Engine: rails})
	}
	stages = append(stages, classify)
	if !cfg.Signals.Disabled {
		so := signals.Options{Window: cfg.Signals.Window, MinChars: cfg.Signals.MinChars, Logger: o.Logger, Registry: o.Registry}
		if rc != nil {
			so.Store, so.Breaker = redis.NewSignals(rc), rc.Breaker()
		}
		stages = append(stages, signals.New(so))
	}
	if !cfg.Media.Disabled {
		ms, err := mediaStage(cfg.Media)
		if err != nil {
			return nil, err
		}
		a.owns(ms.Close)
		stages = append(stages, ms)
	}
	stages = append(stages, pol)
	if !cfg.Rewrite.Disabled {
		judge, err := models.Builtin(cfg.Rewrite.Judge)
		if err != nil {
			return nil, fmt.Errorf("rewrite.judge: %w", err)
		}
		labels := judge.Describe().Labels
		var rw generator.Rewriter = &generator.Embedded{Model: judge, Labels: labels}
		if cfg.Rewrite.OpenAI != nil {
			if rw, err = generator.NewOpenAI(*cfg.Rewrite.OpenAI); err != nil {
				return nil, fmt.Errorf("rewrite.openai: %w", err)
			}
		}
		stages = append(stages, rewrite.New(rewrite.Options{
			Rewriter: rw,
			Judge:    judge, Labels: labels, Fallback: cfg.Rewrite.Fallback, Topic: cfg.Kafka.Topics.Rewrites, Rails: rails,
		}))
	}
	if len(cfg.Routes) > 0 {
		rs, err := route.New(cfg.Routes, cls.Categories())
		if err != nil {
			return nil, err
		}
		stages = append(stages, rs)
	}
	// aggregates.cross names categories models, known only here.
	for i, m := range cfg.Aggregates.Cross {
		if !slices.ContainsFunc(cls.Categories(), func(c contract.Categories) bool { return c.Model == m }) {
			return nil, fmt.Errorf("aggregates.cross[%d]: no categories model is named %q", i, m)
		}
	}
	a.Stages = stages
	return a, nil
}
