package models

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/datasets"
)

// datasetsDir finds the shared datasets: $SIEVE_DATASETS, or the shared
// folder beside the repository, as CI lays it out.
func datasetsDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{os.Getenv("SIEVE_DATASETS"), "../../shared/datasets"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "sms_spam", "train.jsonl")); err == nil {
			return d
		}
	}
	t.Skip("the shared datasets are not beside the repository (set SIEVE_DATASETS); cannot retrain or evaluate the built-in models")
	return ""
}

// make models rebuilds the committed models bit for bit.
func TestBuiltinModelsReproduce(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains every built-in model; the full (non-short) run checks it")
	}
	dir := datasetsDir(t)
	for _, r := range Recipes {
		m, err := r.Build(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := files.ReadFile("builtin/" + r.Name + ".sieve")
		if err != nil {
			t.Fatalf("%s: not committed: %v", r.Name, err)
		}
		if got := m.Encode(); !bytes.Equal(got, want) {
			t.Errorf("%s: retrained model (%s) differs from the committed one; run make models", r.Name, m.Describe().ID())
		}
	}
}

// The committed models keep their held-out figures (floors a little under
// what README reports, so a real regression fails and float noise does not).
func TestBuiltinModelsHeldOut(t *testing.T) {
	dir := datasetsDir(t)
	tests := []struct {
		model, data string
		check       func(*classifiers.Report) (float64, float64)
	}{
		{"spam", "sms_spam/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return r.Labels["spam"].F1, 0.94 }},
		{"toxicity", "davidson_hate_offensive/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return *r.WeightedF1, 0.88 }},
		{"injection", "prompt_attacks/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return r.Labels["prompt_injection"].F1, 0.88 }},
		{"sentiment", "review_sentiment/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return *r.Accuracy, 0.80 }},
		// Abstention counts as wrong in Accuracy.
		{"review_category", "review_category/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return *r.Accuracy, 0.85 }},
	}
	for _, tt := range tests {
		m, err := Builtin(tt.model)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := datasets.Load(filepath.Join(dir, tt.data))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			if datasets.PartOf(e.ID) != datasets.Test {
				t.Fatalf("%s: evaluation row %s is not held out", tt.model, e.ID)
			}
		}
		rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{m}, ex, nil, 256)
		if err != nil {
			t.Fatal(err)
		}
		got, floor := tt.check(rep)
		t.Logf("%s on %s: %.4f (floor %.2f)", tt.model, tt.data, got, floor)
		if got < floor {
			t.Errorf("%s: %.4f below %.2f", tt.model, got, floor)
		}
	}
}

func TestBuiltinNames(t *testing.T) {
	names := Names()
	if len(names) != len(Recipes) {
		t.Fatalf("built-in models %v, recipes %d", names, len(Recipes))
	}
	if _, err := Builtin("nope"); err == nil {
		t.Fatal("unknown model must fail")
	}
}
