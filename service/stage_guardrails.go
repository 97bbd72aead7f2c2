package service

import (
	"fmt"

	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/pipeline"
)

// The input rails of guardrails.policy, on every message before it is scored.
func init() {
	registerStage(stageKind{name: "guardrails", order: 10, build: func(b *builder) (pipeline.Stage, error) {
		if b.cfg.Guardrails.Policy == "" {
			return nil, nil
		}
		p, err := guardrails.LoadPolicy(b.cfg.Guardrails.Policy)
		if err != nil {
			return nil, fmt.Errorf("guardrails.policy: %w", err)
		}
		b.app.Rails = guardrails.NewEngine(p)
		return guardrails.Stage{Engine: b.app.Rails}, nil
	}})
}
