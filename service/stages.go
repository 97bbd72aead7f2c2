package service

import (
	"fmt"
	"slices"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/pipeline"
)

// A stageKind is one stage NewApp can place in the flow. Each is declared,
// with its registration, in a file of its own (stage_*.go): adding a stage
// to the assembly is one file here, beside the stage's own package.
type stageKind struct {
	name string
	// order is the stage's place in the flow (docs/architecture.md);
	// stages run in ascending order.
	order int
	// build returns the stage, or nil when the config leaves it off. A
	// stage that implements io.Closer is closed by the app.
	build func(b *builder) (pipeline.Stage, error)
}

// stageKinds are the registered stages in flow order.
var stageKinds []stageKind

func registerStage(k stageKind) {
	for _, o := range stageKinds {
		if o.name == k.name || o.order == k.order {
			panic(fmt.Sprintf("service: stage %s (order %d) clashes with %s (order %d)", k.name, k.order, o.name, o.order))
		}
	}
	stageKinds = append(stageKinds, k)
	slices.SortFunc(stageKinds, func(a, b stageKind) int { return a.order - b.order })
}

// builder carries what the stages share while NewApp builds them.
type builder struct {
	cfg *config.Config
	o   StageOptions
	app *App
	// cls is the classify stage: the policy, the routes and the cache read
	// its models' labels, thresholds and categories.
	cls *classifiers.Stage
	// rc is the Redis client; nil without one.
	rc *redis.Client
}
