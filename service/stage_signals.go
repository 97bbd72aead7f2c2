package service

import (
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/signals"
)

// Campaign clusters and author velocity, in Redis when configured.
func init() {
	registerStage(stageKind{name: "signals", order: 30, build: func(b *builder) (pipeline.Stage, error) {
		if b.cfg.Signals.Disabled {
			return nil, nil
		}
		so := signals.Options{Window: b.cfg.Signals.Window, MinChars: b.cfg.Signals.MinChars, Logger: b.o.Logger, Registry: b.o.Registry}
		if b.rc != nil {
			so.Store, so.Breaker = redis.NewSignals(b.rc), b.rc.Breaker()
		}
		return signals.New(so), nil
	}})
}
