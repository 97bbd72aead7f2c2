package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/linear"
	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/internal/plots"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/tagger"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	path := fs.String("c", "", "config file (default: the built-in models)")
	data := fs.String("data", "", "labelled JSONL: {id, text, labels}; FILE#test selects the held-out part of the deterministic split")
	model := fs.String("model", "", "evaluate only the configured classifier with this name")
	taggerFile := fs.String("tagger", "", "with a span file: evaluate this tagger model file (sieve train --kind tagger) instead of the built-in one")
	asJSON := fs.Bool("json", false, "print the report as JSON (last line)")
	plotDir := fs.String("plots", "", "also write a precision-recall curve per label and a confusion matrix as PNG into this folder")
	cmpOld := fs.String("compare", "", "`OLD NEW`: two models (built-in names or model files) side by side: per-label deltas, the texts whose flags change, and a bootstrap interval of the F1 difference")
	cmpNew := fs.String("compare-new", "", "the second model of --compare (also the argument after it)")
	if err := parse(fs, compareArgs(args)); err != nil {
		return err
	}
	if *data == "" {
		return usagef("--data is required")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	kind, err := datasets.Kind(*data)
	if err != nil {
		return usagef("--data: %w", err)
	}
	if *cmpOld != "" || *cmpNew != "" {
		return evalCompare(*cmpOld, *cmpNew, *data, *asJSON, stdout)
	}
	switch kind {
	case "spans":
		return evalSpans(*data, *taggerFile, *asJSON, stdout)
	case "rewrites":
		return evalRewrites(*data, *asJSON, stdout)
	}
	cs, err := service.Classifiers(cfg)
	if err != nil {
		return usageError{err}
	}
	defer classifiers.CloseAll(cs)
	ex, err := datasets.Load(*data)
	if err != nil {
		return usageError{err}
	}
	if *model != "" {
		var keep []classifiers.Classifier
		for _, c := range cs {
			if c.Describe().Name == *model {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			c, err := standaloneModel(*model)
			if err != nil {
				return usagef("--model: no configured classifier is named %q, and %v", *model, err)
			}
			keep = append(keep, c)
		}
		cs = keep
	} else if *path == "" && !knowsAny(cs, ex) {
		// Without a config, data whose labels no default model knows (review
		// departments) is evaluated with the built-in models that know them.
		cs = builtinsFor(ex)
	}
	rep, err := classifiers.Evaluate(context.Background(), cs, ex, cfg.Policy.Thresholds, 512)
	if err != nil {
		return err
	}
	if *plotDir != "" {
		if err := os.MkdirAll(*plotDir, 0o755); err != nil {
			return usagef("--plots: %w", err)
		}
		files, err := plots.Write(*plotDir, rep)
		if err != nil {
			return fmt.Errorf("plots: %w", err)
		}
		for _, f := range files {
			fmt.Fprintf(stderr, "wrote %s\n", f)
		}
	}
	if *asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	for _, c := range cs {
		fmt.Fprintf(stdout, "model %s\n", c.Describe().ID())
		if r, ok := c.(interface{ Reached() []int64 }); ok {
			for i, n := range r.Reached() {
				fmt.Fprintf(stdout, "  cascade step %d scored %d texts (%.1f%%)\n", i, n, 100*float64(n)/float64(max(1, len(ex))))
			}
		}
	}
	printReport(stdout, rep)
	return nil
}

// printPRF prints per-label precision, recall, F1 and support, sorted.
func printPRF(w io.Writer, per map[string]classifiers.PRF) {
	labels := make([]string, 0, len(per))
	for l := range per {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	fmt.Fprintf(w, "  %-22s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support")
	for _, l := range labels {
		m := per[l]
		fmt.Fprintf(w, "  %-22s %9.4f %9.4f %9.4f %8d\n", l, m.Precision, m.Recall, m.F1, m.Support)
	}
}

func printReport(w io.Writer, r *classifiers.Report) {
	printPRF(w, r.Labels)
	fmt.Fprintf(w, "  macro F1 %.4f over %d examples\n", r.MacroF1, r.Examples)
	fmt.Fprintf(w, "  any: accuracy %.4f precision %.4f recall %.4f f1 %.4f\n", r.Any.Accuracy, r.Any.Precision, r.Any.Recall, r.Any.F1)
	if r.Accuracy != nil {
		fmt.Fprintf(w, "  single-label: accuracy %.4f weighted F1 %.4f\n", *r.Accuracy, *r.WeightedF1)
		if r.Abstention != nil {
			fmt.Fprintf(w, "  abstained on %.4f of rows (counted wrong above); accuracy where it answered %.4f\n", *r.Abstention, *r.AnsweredAccuracy)
		}
	}
	if len(r.Unsupported) > 0 {
		fmt.Fprintf(w, "  labels no model knows: %v\n", r.Unsupported)
	}
	if r.FunctionalPassRate != nil {
		names := make([]string, 0, len(r.Functionalities))
		for n := range r.Functionalities {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "  functional suite: %.4f of cases pass\n", *r.FunctionalPassRate)
		fmt.Fprintf(w, "  %-28s %6s %6s %9s\n", "functionality", "cases", "passed", "pass rate")
		for _, n := range names {
			f := r.Functionalities[n]
			fmt.Fprintf(w, "  %-28s %6d %6d %9.4f\n", n, f.Cases, f.Passed, f.PassRate)
		}
	}
}

// evalSpans scores the PII scanners on a span file.
// The structured types come from the scanner's patterns and checksums,
// the entities (person, street_address, ...) from the tagger: the built-in
// one, or taggerFile.
func evalSpans(data, taggerFile string, asJSON bool, stdout io.Writer) error {
	ex, err := datasets.LoadLines(data, func(e *guardrails.SpanExample) string { return e.ID })
	if err != nil {
		return usageError{err}
	}
	m, err := tagger.Builtin()
	if err != nil {
		return err
	}
	if taggerFile != "" {
		b, err := os.ReadFile(taggerFile)
		if err != nil {
			return usageError{err}
		}
		if m, err = tagger.Load(b); err != nil {
			return usagef("--tagger %s: %w", taggerFile, err)
		}
	}
	rep := guardrails.EvaluateSpans(ex, guardrails.PII{Tagger: m, Entities: m.Labels})
	if asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printPRF(stdout, rep.Labels)
	fmt.Fprintf(stdout, "  macro F1 %.4f over %d examples (exact spans)\n", rep.MacroF1, rep.Examples)
	if len(rep.Unsupported) > 0 {
		fmt.Fprintf(stdout, "  labels no scanner finds: %v\n", rep.Unsupported)
	}
	return nil
}

// evalRewrites rewrites the toxic side of each pair with the embedded
// rewriter and scores style, similarity and fidelity to the human rewrite,
// judged by the built-in toxicity model.
func evalRewrites(data string, asJSON bool, stdout io.Writer) error {
	pairs, err := datasets.LoadLines(data, func(p *generator.Pair) string { return p.ID })
	if err != nil {
		return usageError{err}
	}
	tox, err := models.Builtin("toxicity")
	if err != nil {
		return err
	}
	labels := tox.Describe().Labels
	rw := &generator.Embedded{Model: tox, Labels: labels}
	rep, err := generator.EvaluateRewrites(context.Background(), rw, tox, labels, pairs)
	if err != nil {
		return err
	}
	if asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "rewriter %s judged by %s over %d pairs\n", rep.Rewriter, tox.Describe().ID(), rep.Examples)
	fmt.Fprintf(stdout, "  style accuracy %.4f  similarity (chrF to source) %.4f  reference chrF %.4f  joint %.4f\n",
		rep.StyleAccuracy, rep.Similarity, rep.ReferenceChrF, rep.Joint)
	return nil
}

// standaloneModel is --model naming a built-in model or a model file rather
// than a configured classifier.
func standaloneModel(name string) (classifiers.Classifier, error) {
	if m, err := models.Builtin(name); err == nil {
		return m, nil
	}
	if _, err := os.Stat(name); err != nil {
		return nil, fmt.Errorf("it is neither a built-in model (%s) nor a model file", strings.Join(models.Names(), ", "))
	}
	return linear.Load(name)
}

func knowsAny(cs []classifiers.Classifier, ex []classifiers.Example) bool {
	for _, c := range cs {
		for _, l := range c.Describe().Labels {
			for _, e := range ex {
				if slices.Contains(e.Labels, l) {
					return true
				}
			}
		}
	}
	return false
}

func builtinsFor(ex []classifiers.Example) []classifiers.Classifier {
	var out []classifiers.Classifier
	for _, n := range models.Names() {
		if m, err := models.Builtin(n); err == nil && knowsAny([]classifiers.Classifier{m}, ex) {
			out = append(out, m)
		}
	}
	return out
}

// compareArgs turns "--compare OLD NEW" into "--compare OLD --compare-new
// NEW", so that the two models can be named as the command line reads.
func compareArgs(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i := 0; i < len(args); i++ {
		out = append(out, args[i])
		if (args[i] == "--compare" || args[i] == "-compare") && i+2 < len(args) && !strings.HasPrefix(args[i+2], "-") {
			out = append(out, args[i+1], "--compare-new", args[i+2])
			i += 2
		}
	}
	return out
}

// evalCompare prints two models side by side on one labelled file.
func evalCompare(oldName, newName, data string, asJSON bool, stdout io.Writer) error {
	if oldName == "" || newName == "" {
		return usagef("--compare needs two models: --compare OLD NEW")
	}
	old, err := standaloneModel(oldName)
	if err != nil {
		return usagef("--compare %s: %v", oldName, err)
	}
	cand, err := standaloneModel(newName)
	if err != nil {
		return usagef("--compare %s: %v", newName, err)
	}
	ex, err := datasets.Load(data)
	if err != nil {
		return usageError{err}
	}
	cmp, err := classifiers.Compare(context.Background(), old, cand, ex, 1000, 1)
	if err != nil {
		return usageError{err}
	}
	if asJSON {
		b, _ := json.Marshal(cmp)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "old %s\nnew %s\n\n", cmp.Old, cmp.New)
	labels := make([]string, 0, len(cmp.Labels))
	for l := range cmp.Labels {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	fmt.Fprintf(stdout, "  %-22s %17s %17s %9s\n", "label", "old P / R / F1", "new P / R / F1", "delta F1")
	for _, l := range labels {
		d := cmp.Labels[l]
		fmt.Fprintf(stdout, "  %-22s %5.3f %5.3f %5.3f %5.3f %5.3f %5.3f %+9.4f\n", l, d.Old.Precision, d.Old.Recall, d.Old.F1,
			d.New.Precision, d.New.Recall, d.New.F1, d.DF1)
	}
	for _, x := range []struct {
		name string
		d    classifiers.Delta
	}{{"macro-F1", cmp.MacroF1}, {"any-F1", cmp.AnyF1}} {
		note := "the set cannot tell the models apart"
		if x.d.CI[0] > 0 {
			note = "new is better"
		} else if x.d.CI[1] < 0 {
			note = "new is worse"
		}
		fmt.Fprintf(stdout, "%s: old %.4f, new %.4f, difference %+.4f, 95%% bootstrap interval [%+.4f, %+.4f]: %s\n",
			x.name, x.d.Old, x.d.New, x.d.Diff, x.d.CI[0], x.d.CI[1], note)
	}
	fmt.Fprintf(stdout, "\n%d texts flagged differently", cmp.ChangedCount)
	if cmp.ChangedCount > len(cmp.Changed) {
		fmt.Fprintf(stdout, " (the first %d)", len(cmp.Changed))
	}
	fmt.Fprintln(stdout, ":")
	for _, c := range cmp.Changed {
		fmt.Fprintf(stdout, "  %s  old %v  new %v  labels %v  %q\n", c.ID, c.Old, c.New, c.Gold, truncate(c.Text, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
