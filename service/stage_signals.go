package service

import (
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
		k, err := lookupStore(b, "signals.store", b.cfg.Signals.Store)
		if err != nil {
			return nil, err
		}
		st, br, err := k.signals(b)
		if err != nil {
			return nil, err
		}
		if st != nil {
			so.Store, so.Breaker = st, br
		}
		return signals.New(so), nil
	}})
}
