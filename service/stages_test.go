package service

import (
	"slices"
	"testing"
)

// The registered stages run in the flow's order (docs/architecture.md):
// rails before scoring, evidence before the policy, routes last.
func TestStageKindsInFlowOrder(t *testing.T) {
	var got []string
	for _, k := range stageKinds {
		got = append(got, k.name)
	}
	want := []string{"guardrails", "classify", "signals", "media", "policy", "shadow", "override", "rewrite", "route"}
	if !slices.Equal(got, want) {
		t.Fatalf("stages %v, want %v", got, want)
	}
}
