package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/linear"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/models/recipes"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
)

// peer is what scripts/compare-fasttext.sh measured for one recipe: the
// fastText baseline trained on the same #train rows and scored on the same
// #test rows.
type peer struct {
	Labels   map[string]float64 `json:"labels"` // F1 per label
	MacroF1  float64            `json:"macro_f1"`
	AnyF1    float64            `json:"any_f1"`
	Accuracy float64            `json:"accuracy"`
	Rows     int                `json:"rows"`
}

// card writes docs/models.md: for every built-in model its provenance,
// labels, held-out figures per label and per source, the fastText peer on
// the same rows and its blind spots; for the default models together, the
// functional suite's pass rates and the share of benign texts they flag and
// block.
func card(out, data, local, suite, peers string, built map[string]*linear.Model) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	peer := map[string]peer{}
	if raw, err := os.ReadFile(peers); err == nil {
		if err := json.Unmarshal(raw, &peer); err != nil {
			return fmt.Errorf("%s: %w", peers, err)
		}
	}
	p("# Model card\n\n")
	p("Written by `make models` from the recipes in `models/recipes/recipes.go`; do not edit by hand. ")
	p("Every figure is on rows the model never trained or calibrated on: the `#test` part of the deterministic split ")
	p("(`datasets.PartOf`: sha256 of the row id, 80/10/10), mapped as in training. The fastText peer figures come from ")
	p("`scripts/compare-fasttext.sh` (Debian's fastText, trained on the same `#train` rows, 25 epochs, word bigrams, ")
	p("character 3–5-grams, no calibration: multi-label models with one-vs-all loss at 0.5), kept in `%s`.\n\n", filepath.ToSlash(peers))
	p("Public blind sets (the OpenAI moderation evaluation set, HateCheck, the YouTube Spam Collection, LLM Guard's tests) ")
	p("were never fetched, trained, tuned or thresholded on; the functional suite `%s` is written by the project and kept out of training.\n\n", filepath.ToSlash(suite))

	if err := defaults(&b, data, suite); err != nil {
		return err
	}
	for _, r := range recipes.Recipes {
		m := built[r.Name]
		if m == nil {
			var err error
			if m, err = models.Builtin(r.Name); err != nil {
				return err
			}
		}
		if err := modelSection(&b, r, m, data, local, peer[r.Name]); err != nil {
			return err
		}
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func modelSection(b *strings.Builder, r recipes.Recipe, m *linear.Model, data, local string, pr peer) error {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	d := m.Describe()
	p("## %s (`%s`)\n\n%s\n\n", r.Name, d.ID(), r.Card.Summary)
	kind := string(d.Kind)
	if d.Categories {
		kind += ", categories model"
	}
	p("- Kind: %s; labels: %s.\n", kind, "`"+strings.Join(d.Labels, "`, `")+"`")
	if len(d.Thresholds) > 0 {
		var ts []string
		for _, l := range d.Labels {
			ts = append(ts, fmt.Sprintf("%s %.3f", l, d.Thresholds[l]))
		}
		p("- Thresholds (max F1 on the dev part): %s.\n", strings.Join(ts, ", "))
	}
	if len(r.Options.Parents) > 0 {
		var ps []string
		for c, par := range r.Options.Parents {
			ps = append(ps, c+" → "+par)
		}
		slices.Sort(ps)
		p("- A narrower label's score lifts its parent's: %s.\n", strings.Join(ps, ", "))
	}
	p("- Trained on:\n")
	for _, s := range r.Card.Provenance {
		p("  - %s\n", s)
	}
	var all []classifiers.Example
	type bySource struct {
		name     string
		rep      *classifiers.Report
		n        int
		labelled bool // some row has one of the model's labels
	}
	var per []bySource
	// A multi-class model's figures are on its own task's set (the first
	// source); the others only add ordinary text or a background class,
	// reported per source. A multi-label or binary model's are on all.
	multiClass := d.Kind == classifiers.MultiClass
	for i, s := range r.Tests() {
		ex, err := s.Load(data, local)
		if err != nil {
			return err
		}
		for j := range ex {
			// Labels of other tasks (a review's sentiment) are benign here.
			ex[j].Labels = slices.DeleteFunc(slices.Clone(ex[j].Labels), func(l string) bool { return !slices.Contains(d.Labels, l) })
		}
		rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{m}, ex, nil, 512)
		if err != nil {
			return err
		}
		labelled := slices.ContainsFunc(ex, func(e classifiers.Example) bool { return len(e.Labels) > 0 })
		per = append(per, bySource{s.Path, rep, len(ex), labelled})
		if i == 0 || !multiClass {
			all = append(all, ex...)
		}
	}
	rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{m}, all, nil, 512)
	if err != nil {
		return err
	}
	if multiClass {
		p("\n### Held out\n\n%d rows: the `#test` part of `%s`.", len(all), per[0].name)
	} else {
		p("\n### Held out\n\n%d rows: the `#test` parts of the sources above.", len(all))
	}
	if slices.ContainsFunc(all, func(e classifiers.Example) bool { return len(e.Unknown) > 0 }) {
		p(" Rows whose source never annotated a label (partial labels, see `moderationUnknown`) are not scored on it.")
	}
	p("\n\n| label | precision | recall | F1 | support | fastText F1 |\n|---|---:|---:|---:|---:|---:|\n")
	for _, l := range d.Labels {
		f, ok := rep.Labels[l]
		if !ok {
			continue
		}
		peerF1 := "–"
		if v, ok := pr.Labels[l]; ok {
			peerF1 = fmt.Sprintf("%.4f", v)
		}
		note := ""
		if f.Support < 20 {
			note = " (too few rows to measure)"
		}
		p("| %s%s | %.4f | %.4f | %.4f | %d | %s |\n", l, note, f.Precision, f.Recall, f.F1, f.Support, peerF1)
	}
	p("\n")
	measured := 0
	sum := 0.0
	for _, l := range d.Labels {
		if f, ok := rep.Labels[l]; ok && f.Support >= 20 {
			measured++
			sum += f.F1
		}
	}
	if d.Categories || (rep.Accuracy != nil && d.Kind == classifiers.MultiClass) {
		p("- Accuracy %.4f, weighted F1 %.4f", *rep.Accuracy, *rep.WeightedF1)
		if rep.Abstention != nil {
			p(" (abstention %.4f, counted wrong; accuracy where it answered %.4f)", *rep.Abstention, *rep.AnsweredAccuracy)
		}
		if pr.Accuracy > 0 {
			p("; fastText accuracy %.4f", pr.Accuracy)
		}
		p(".\n")
	} else {
		p("- Macro-F1 %.4f over every label with rows; %.4f over the %d labels with at least 20; any-flag F1 %.4f (precision %.4f, recall %.4f)",
			rep.MacroF1, sum/float64(max(1, measured)), measured, rep.Any.F1, rep.Any.Precision, rep.Any.Recall)
		if pr.Rows > 0 {
			p("; fastText macro-F1 %.4f, any-flag F1 %.4f", pr.MacroF1, pr.AnyF1)
		}
		p(".\n")
		if m.Dense != nil {
			alone, err := withoutDense(r, m, data, local, all)
			if err != nil {
				return err
			}
			p("- Without its dense head (the linear weights alone, thresholds calibrated again on the dev part): macro-F1 %.4f, any-flag F1 %.4f (precision %.4f, recall %.4f).\n",
				alone.MacroF1, alone.Any.F1, alone.Any.Precision, alone.Any.Recall)
		}
	}
	if len(per) > 1 {
		p("\nPer source (any-flag F1, or accuracy for categories):\n\n| source | rows | figure |\n|---|---:|---|\n")
		for _, s := range per {
			fig := fmt.Sprintf("any-flag F1 %.4f (P %.4f, R %.4f)", s.rep.Any.F1, s.rep.Any.Precision, s.rep.Any.Recall)
			if !s.labelled {
				fig = fmt.Sprintf("benign only: %.2f%% flagged", 100*(1-s.rep.Any.Accuracy))
			}
			if d.Categories && s.rep.Accuracy != nil {
				fig = fmt.Sprintf("accuracy %.4f", *s.rep.Accuracy)
				if s.rep.Abstention != nil && !s.labelled {
					fig = fmt.Sprintf("texts of another kind: %.2f%% called `other`", 100**s.rep.Abstention)
				}
			}
			p("| `%s` | %d | %s |\n", s.name, s.n, fig)
		}
	}
	if len(r.Card.BlindSpots) > 0 {
		p("\n### Known blind spots\n\n")
		for _, s := range r.Card.BlindSpots {
			p("- %s\n", s)
		}
	}
	p("\n")
	return nil
}

// defaults reports the default models together: the functional suite and
// the benign texts they flag or block through the default policy.
func defaults(b *strings.Builder, data, suite string) error {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	cfg := config.Default()
	cs, err := service.Classifiers(cfg)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range cs {
		names = append(names, "`"+c.Describe().ID()+"`")
	}
	p("## The default models together\n\n`sieve run`, `sieve classify` and `sieve proxy` with no `classifiers` configured run %s under the default policy.\n\n", strings.Join(names, ", "))
	ex, err := datasets.Load(suite)
	if err != nil {
		return err
	}
	rep, err := classifiers.Evaluate(context.Background(), cs, ex, nil, 512)
	if err != nil {
		return err
	}
	if rep.FunctionalPassRate == nil {
		return fmt.Errorf("%s: no functionality named", suite)
	}
	p("### Functional suite\n\n`sieve eval --data %s`: %d hand-written cases, **%.1f%%** pass (a case with labels passes when one of them is flagged, a case without labels when nothing is).\n\n",
		filepath.ToSlash(suite), len(ex), 100**rep.FunctionalPassRate)
	p("| functionality | cases | pass rate |\n|---|---:|---:|\n")
	fs := make([]string, 0, len(rep.Functionalities))
	for f := range rep.Functionalities {
		fs = append(fs, f)
	}
	slices.SortFunc(fs, func(a, c string) int {
		return cmp.Or(cmp.Compare(rep.Functionalities[a].PassRate, rep.Functionalities[c].PassRate), strings.Compare(a, c))
	})
	for _, f := range fs {
		x := rep.Functionalities[f]
		p("| %s | %d | %.1f%% |\n", f, x.Cases, 100*x.PassRate)
	}
	p("\n### Benign texts flagged and blocked\n\nThe default config (models, verdict cache, campaign signals, policy) over benign `#test` rows, each as a message without an author:\n\n")
	p("| benign rows | rows | flagged | blocked |\n|---|---:|---:|---:|\n")
	for _, src := range []recipes.Source{
		{Path: "review_sentiment/train.jsonl#test"},
		{Path: "review_category/train.jsonl#test"},
		{Path: "sms_spam/train.jsonl#test", BenignOnly: true},
		{Path: "moderation/train.jsonl#test", BenignOnly: true},
	} {
		ex, err := src.Load(data, "")
		if err != nil {
			return err
		}
		flagged, blocked, err := decide(cfg, ex)
		if err != nil {
			return err
		}
		p("| `%s`%s | %d | %.2f%% | %.2f%% |\n", src.Path, map[bool]string{true: " (no labels)"}[src.BenignOnly], len(ex),
			100*float64(flagged)/float64(len(ex)), 100*float64(blocked)/float64(len(ex)))
	}
	p("\n")
	return nil
}

// decide runs the default stages over ex as messages and counts the
// verdicts that flag anything and those that block.
func decide(cfg *config.Config, ex []classifiers.Example) (flagged, blocked int, err error) {
	app, err := service.NewApp(cfg, service.StageOptions{})
	if err != nil {
		return 0, 0, err
	}
	defer app.Close()
	stages := app.Stages
	ctx := context.Background()
	for start := 0; start < len(ex); start += 256 {
		batch := ex[start:min(start+256, len(ex))]
		items := make([]*pipeline.Item, len(batch))
		for i, e := range batch {
			items[i] = &pipeline.Item{ID: e.ID, Msg: &contract.Message{ID: e.ID, Text: e.Text}, Record: &pipeline.Record{}}
		}
		for _, st := range stages {
			if err := st.Process(ctx, items); err != nil {
				return 0, 0, fmt.Errorf("%s: %w", st.Name(), err)
			}
		}
		for _, it := range items {
			if it.Decision != "" && it.Decision != contract.DecisionAllow {
				flagged++
			}
			if it.Decision == contract.DecisionBlock {
				blocked++
			}
		}
	}
	return flagged, blocked, nil
}

// withoutDense reports the model's linear weights alone on the held-out
// rows, calibrated on the recipe's dev part as the recipe would without a
// dense head: the head is kept only while it beats this.
func withoutDense(r recipes.Recipe, m *linear.Model, data, local string, held []classifiers.Example) (*classifiers.Report, error) {
	lin := m.WithWindow(0, 0)
	lin.Dense = nil
	lin.Thresholds = maps.Clone(m.Thresholds)
	dev, err := recipes.LoadAll(r.Dev, data, local)
	if err != nil {
		return nil, err
	}
	if err := lin.Calibrate(dev, r.TargetPrecision); err != nil {
		return nil, err
	}
	return classifiers.Evaluate(context.Background(), []classifiers.Classifier{lin}, held, nil, 512)
}
