package service

import (
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/policy"
)

// Thresholds to flags to a decision, after every stage that adds evidence.
func init() {
	registerStage(stageKind{name: "policy", order: 50, build: func(b *builder) (pipeline.Stage, error) {
		return policy.New(b.cfg.Policy, b.cls.Thresholds(), b.cls.Categories()...)
	}})
}
