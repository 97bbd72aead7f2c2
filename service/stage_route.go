package service

import (
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/route"
)

// Routed copies of verdicts or messages, last: they carry the final decision.
func init() {
	registerStage(stageKind{name: "route", order: 70, build: func(b *builder) (pipeline.Stage, error) {
		if len(b.cfg.Routes) == 0 {
			return nil, nil
		}
		return route.New(b.cfg.Routes, b.cls.Categories())
	}})
}
