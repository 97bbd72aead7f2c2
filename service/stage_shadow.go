package service

import (
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/shadow"
)

// Shadow classifiers, after the policy so that the live flags they are
// compared with are final; they never change a verdict.
func init() {
	registerStage(stageKind{name: "shadow", order: 52, build: func(b *builder) (pipeline.Stage, error) {
		cs, err := ShadowClassifiers(b.cfg)
		if err != nil || len(cs) == 0 {
			return nil, err
		}
		return shadow.New(cs, b.cfg.Kafka.Topics.Shadow, shadow.NewMetrics(b.o.Registry)), nil
	}})
}
