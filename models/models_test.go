package models

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/classifiers/linear"
	"github.com/sieve-stream/sieve/internal/datasetstest"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/models/recipes"
)

// datasetsDir finds the shared datasets: $SIEVE_DATASETS, or the shared
// folder beside the repository, as CI lays it out.
func datasetsDir(t *testing.T) string {
	t.Helper()
	return datasetstest.Dir(t, "sms_spam/train.jsonl")
}

// make models rebuilds the committed models bit for bit.
func TestBuiltinModelsReproduce(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains every built-in model; the full (non-short) run checks it")
	}
	dir := datasetsDir(t)
	for _, r := range recipes.Recipes {
		want, err := files.ReadFile("builtin/" + r.Name + ".sieve")
		if err != nil {
			t.Fatalf("%s: not committed: %v", r.Name, err)
		}
		var head *linear.Dense
		if r.Dense {
			committed, err := Builtin(r.Name)
			if err != nil || committed.Dense == nil {
				t.Fatalf("%s: the committed model has no dense head (%v)", r.Name, err)
			}
			head = committed.Dense // make models keeps the committed head
		}
		m, err := r.Build(dir, "data", head, nil)
		if err != nil {
			t.Fatal(err)
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
		{"spam", "sms_spam/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return r.Labels["spam"].F1, 0.92 }},
		{"toxicity", "davidson_hate_offensive/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return *r.WeightedF1, 0.88 }},
		{"injection", "prompt_attacks/train.jsonl#test", func(r *classifiers.Report) (float64, float64) {
			return (r.Labels["prompt_injection"].F1 + r.Labels["jailbreak"].F1) / 2, 0.90
		}},
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
	if len(names) != len(recipes.Recipes) {
		t.Fatalf("built-in models %v, recipes %d", names, len(recipes.Recipes))
	}
	if _, err := Builtin("nope"); err == nil {
		t.Fatal("unknown model must fail")
	}
}

// The moderation and spam models keep their held-out figures on the test
// parts of their recipes' sources, mapped (and partially labelled) as in
// training. Floors are a little under docs/models.md's figures.
func TestRecipeHeldOut(t *testing.T) {
	dir := datasetsDir(t)
	tests := []struct {
		model, source string // source "" is every test source of the recipe
		check         func(*classifiers.Report) (float64, float64)
	}{
		{"moderation", "", func(r *classifiers.Report) (float64, float64) { return r.Any.F1, 0.76 }},
		{"moderation", "", func(r *classifiers.Report) (float64, float64) {
			sum, n := 0.0, 0
			for _, f := range r.Labels {
				if f.Support >= 20 {
					sum += f.F1
					n++
				}
			}
			return sum / float64(n), 0.58
		}},
		{"moderation", "", func(r *classifiers.Report) (float64, float64) { return r.Labels["self_harm_intent"].F1, 0.80 }},
		{"spam", "sms_spam/train.jsonl#test", func(r *classifiers.Report) (float64, float64) { return r.Labels["spam"].F1, 0.92 }},
		{"spam", "local:spam_synthetic.jsonl#test", func(r *classifiers.Report) (float64, float64) { return r.Labels["spam"].F1, 0.85 }},
	}
	for _, tt := range tests {
		var r recipes.Recipe
		for _, x := range recipes.Recipes {
			if x.Name == tt.model {
				r = x
			}
		}
		var ex []classifiers.Example
		for _, s := range r.Tests() {
			if tt.source != "" && s.Path != tt.source {
				continue
			}
			rows, err := s.Load(dir, "data")
			if err != nil {
				t.Fatal(err)
			}
			ex = append(ex, rows...)
		}
		if len(ex) == 0 {
			t.Fatalf("%s: no test rows for %q", tt.model, tt.source)
		}
		for _, e := range ex {
			if id, _, _ := strings.Cut(e.ID, "#"); datasets.PartOf(id) != datasets.Test {
				t.Fatalf("%s: evaluation row %s is not held out", tt.model, e.ID)
			}
		}
		m, err := Builtin(tt.model)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{m}, ex, nil, 256)
		if err != nil {
			t.Fatal(err)
		}
		got, floor := tt.check(rep)
		t.Logf("%s on %q (%d rows): %.4f (floor %.2f)", tt.model, tt.source, len(ex), got, floor)
		if got < floor {
			t.Errorf("%s on %q: %.4f below %.2f", tt.model, tt.source, got, floor)
		}
	}
}

// The functional suite through the default models: its pass rates are in
// docs/models.md; the floors catch a regression.
func TestFunctionalSuite(t *testing.T) {
	ex, err := datasets.Load("../testdata/functional/moderation.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) < 400 {
		t.Fatalf("%d cases, want at least 400", len(ex))
	}
	var cs []classifiers.Classifier
	for _, n := range []string{"moderation", "spam", "injection"} {
		m, err := Builtin(n)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, m)
	}
	rep, err := classifiers.Evaluate(context.Background(), cs, ex, nil, 256)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pass rate %.4f", *rep.FunctionalPassRate)
	if *rep.FunctionalPassRate < 0.80 {
		t.Errorf("functional suite pass rate %.4f below 0.80", *rep.FunctionalPassRate)
	}
	for name, f := range rep.Functionalities {
		if f.Cases < 10 {
			t.Errorf("%s: %d cases", name, f.Cases)
		}
		if f.PassRate < 0.5 {
			t.Errorf("%s: pass rate %.4f below 0.5", name, f.PassRate)
		}
	}
}
