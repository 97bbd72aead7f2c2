package service

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/override"
	"github.com/sieve-stream/sieve/pipeline"
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
	// Overrides is where moderators' decisions are kept for the override
	// stage; nil when review.apply_decisions is off. A Member fills it from
	// the decisions topic.
	Overrides override.Store

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

// NewApp builds the stages the config names, in the order of the flow
// (stageKinds: guardrails, classify behind the verdict cache, signals,
// media, policy, rewrite, routes). On an error it closes what it built.
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
	b := &builder{cfg: cfg, o: o, app: a, cls: cls}
	if cfg.Redis.Enabled() {
		if b.rc, err = redis.New(cfg.Redis); err != nil {
			return nil, err
		}
		a.Redis = b.rc
		a.owns(b.rc.Close)
	}
	if cfg.Cache.Enabled || !cfg.Signals.Disabled {
		redis.Watch(o.Registry, b.rc, o.Logger)
	}
	for _, k := range stageKinds {
		st, err := k.build(b)
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue
		}
		if c, ok := st.(io.Closer); ok && k.name != "classify" { // classify's close is cls.Close, owned above
			a.owns(c.Close)
		}
		a.Stages = append(a.Stages, st)
	}
	// aggregates.cross names categories models, known only here.
	for i, m := range cfg.Aggregates.Cross {
		if !slices.ContainsFunc(cls.Categories(), func(c contract.Categories) bool { return c.Model == m }) {
			return nil, fmt.Errorf("aggregates.cross[%d]: no categories model is named %q", i, m)
		}
	}
	return a, nil
}
