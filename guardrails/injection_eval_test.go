package guardrails

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/sieve-stream/sieve/internal/datasetstest"

	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/models"
)

// The input rail of deploy/proxy/rails.yaml (the injection heuristics, and
// the injection model at 0.9), and the same with the model's calibrated
// thresholds, on the held-out part of the shared prompt attacks: recall on
// attacks, false positives on benign prompts. Issue 18 asks for 90% at 2%;
// the floors keep what is measured (docs/security.md has the figures).
func TestInjectionRailHeldOut(t *testing.T) {
	dir := datasetstest.Dir(t, "prompt_attacks/train.jsonl")
	ex, err := datasets.Load(filepath.Join(dir, "prompt_attacks", "train.jsonl") + "#test")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.Builtin("injection")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		threshold  float64 // the classifier's; 0: the model's calibrated thresholds
		minRecall  float64
		maxFalsePo float64
	}{
		{"the model at 0.9 (the deploy rails before)", 0.9, 0.55, 0.02},
		{"the model at its calibrated thresholds (deploy/proxy/rails.yaml)", 0, 0.75, 0.02},
	} {
		rails := []Scanner{Injection{}, ClassifierScanner{Classifier: m, Threshold: tt.threshold}}
		hit := func(text string) bool {
			for _, s := range rails {
				if len(s.Scan(text)) > 0 {
					return true
				}
			}
			return false
		}
		attacks, caught, benign, fp := 0, 0, 0, 0
		for _, e := range ex {
			switch {
			case slices.Contains(e.Labels, "jailbreak") || slices.Contains(e.Labels, "prompt_injection"):
				attacks++
				if hit(e.Text) {
					caught++
				}
			case len(e.Labels) == 0:
				benign++
				if hit(e.Text) {
					fp++
				}
			}
		}
		recall, fpr := float64(caught)/float64(attacks), float64(fp)/float64(benign)
		t.Logf("%s: recall %.3f (%d of %d attacks), false positives %.3f (%d of %d benign prompts)", tt.name, recall, caught, attacks, fpr, fp, benign)
		if recall < tt.minRecall || fpr > tt.maxFalsePo {
			t.Errorf("%s: recall %.3f below %.2f or false positives %.3f above %.2f", tt.name, recall, tt.minRecall, fpr, tt.maxFalsePo)
		}
	}
}
