package service

import (
	"github.com/sieve-stream/sieve/override"
	"github.com/sieve-stream/sieve/pipeline"
)

// Moderators' decisions on identical texts, after the policy: a person's
// answer replaces the models' (review.apply_decisions).
func init() {
	registerStage(stageKind{name: "override", order: 55, build: func(b *builder) (pipeline.Stage, error) {
		if a := b.cfg.Review.ApplyDecisions; a != nil && !*a {
			return nil, nil
		}
		st := &override.Stage{Store: override.NewMemory()}
		if b.rc != nil {
			st.Store, st.Breaker = b.rc, b.rc.Breaker()
		}
		b.app.Overrides = st.Store
		return st, nil
	}})
}
