package service

import (
	"fmt"

	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/rewrite"
)

// Rewrites of messages decided rewrite, checked by the judge model and the output rails.
func init() {
	registerStage(stageKind{name: "rewrite", order: 60, build: func(b *builder) (pipeline.Stage, error) {
		if b.cfg.Rewrite.Disabled {
			return nil, nil
		}
		judge, err := models.Builtin(b.cfg.Rewrite.Judge)
		if err != nil {
			return nil, fmt.Errorf("rewrite.judge: %w", err)
		}
		labels := judge.Describe().Labels
		rw, err := generator.New(b.cfg.Rewrite.Generator, generator.Settings{Judge: judge, Labels: labels, OpenAI: b.cfg.Rewrite.OpenAI})
		if err != nil {
			return nil, fmt.Errorf("rewrite.%s: %w", b.cfg.Rewrite.Generator, err)
		}
		return rewrite.New(rewrite.Options{
			Rewriter: rw,
			Judge:    judge, Labels: labels, Fallback: b.cfg.Rewrite.Fallback, Topic: b.cfg.Kafka.Topics.Rewrites, Rails: b.app.Rails,
		}), nil
	}})
}
