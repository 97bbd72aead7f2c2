package guardrails

import (
	"context"
	"fmt"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Stage runs the input rails over stream messages: each hit becomes a
// finding, and the most severe action raises the item's decision (block
// blocks; mask publishes the masked text as the rewrite; flag flags). It
// implements pipeline.Stage.
type Stage struct{ Engine *Engine }

// Name implements pipeline.Stage.
func (s Stage) Name() string { return "guardrails" }

// Process implements pipeline.Stage.
func (s Stage) Process(_ context.Context, items []*pipeline.Item) error {
	for _, it := range items {
		if it.Msg == nil || it.Text() == "" {
			continue
		}
		r := s.Engine.Input(it.Text(), it.Msg.Tenant, it.Msg.Channel)
		for _, f := range r.Findings {
			it.Findings = append(it.Findings, contract.Finding{Detector: "guardrails:" + f.Scanner, Signal: f.Label,
				Detail: fmt.Sprintf("%s at %d–%d", f.Action, f.Span.Start, f.Span.End)})
		}
		switch r.Action {
		case ActionBlock:
			it.Decision = contract.DecisionBlock
		case ActionMask:
			masked := r.Text
			it.Rewrite = &masked
			it.Raise(contract.DecisionRewrite)
		case ActionRewrite:
			it.Raise(contract.DecisionRewrite)
		case ActionFlag:
			it.Raise(contract.DecisionFlag)
		}
	}
	return nil
}
