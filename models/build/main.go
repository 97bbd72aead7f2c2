// Command build writes Sieve's built-in models and their model card (make
// models):
//
//	go run ./models/build -data ../shared/datasets -out models/builtin
//	go run ./models/build -data ../shared/datasets -card docs/models.md
//
// The card is a second run because it evaluates the models embedded in the
// binary, which a run compiled before the first wrote them does not hold.
// -fasttext DIR writes each recipe's #train and #test rows in fastText's
// format for scripts/compare-fasttext.sh. -dense-data FILE writes the
// #train and #dev rows of the -only recipe for models/neural/train_dan.py;
// -dense FILE attaches the head it trained in place of the committed one.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/linear"
	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/models/recipes"
)

func main() {
	data := flag.String("data", "../shared/datasets", "the labelled datasets folder")
	out := flag.String("out", "models/builtin", "where the model files go")
	local := flag.String("local", "models/data", "the project's own labelled rows (synthetic cases)")
	only := flag.String("only", "", "build only this model")
	epochs := flag.Int("epochs", 0, "override the recipe's epochs (experiments; make models uses the recipes as they are)")
	lr := flag.Float64("lr", 0, "override the recipe's learning rate")
	dims := flag.Int("dims", 0, "override the recipe's log2 hash dimensions")
	l2 := flag.Float64("l2", 0, "override the recipe's weight decay")
	precision := flag.Float64("precision", 0, "override the recipe's target precision for thresholds")
	cardPath := flag.String("card", "", "write the model card of the embedded models to this file, and train nothing")
	suite := flag.String("suite", "testdata/functional/moderation.jsonl", "the functional test suite, for the card")
	peers := flag.String("peers", "models/fasttext.json", "the fastText peer's figures, for the card")
	ftDir := flag.String("fasttext", "", "write each recipe's #train and #test rows for fastText to this folder, and train nothing")
	denseFile := flag.String("dense", "", "the dense head to attach (make dense writes it); default: the one in the committed model")
	denseData := flag.String("dense-data", "", "write the -only recipe's #train and #dev rows, tokenised, with the embedded linear model's scores, for models/neural/train_dan.py, and train nothing")
	flag.Parse()
	if *denseData != "" {
		if err := writeDenseData(*denseData, *only, *data, *local); err != nil {
			fmt.Fprintln(os.Stderr, "dense data:", err)
			os.Exit(1)
		}
		return
	}
	if *cardPath != "" {
		if err := card(*cardPath, *data, *local, *suite, *peers, nil); err != nil {
			fmt.Fprintln(os.Stderr, "model card:", err)
			os.Exit(1)
		}
		return
	}
	if *ftDir != "" {
		if err := fastTextData(*ftDir, *data, *local); err != nil {
			fmt.Fprintln(os.Stderr, "fastText data:", err)
			os.Exit(1)
		}
		return
	}
	for _, r := range recipes.Recipes {
		if *only != "" && r.Name != *only {
			continue
		}
		if *epochs > 0 {
			r.Options.Epochs = *epochs
		}
		if *lr > 0 {
			r.Options.LR = *lr
		}
		if *dims > 0 {
			r.Options.DimsLog2 = *dims
		}
		if *l2 > 0 {
			r.Options.L2 = *l2
		}
		if *precision > 0 {
			r.TargetPrecision = *precision
		}
		var head *linear.Dense
		if r.Dense {
			var err error
			if head, err = denseHead(r.Name, *denseFile); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		m, err := r.Build(*data, *local, head, func(e, n int, loss float64) {
			fmt.Fprintf(os.Stderr, "\r%-10s epoch %2d/%d loss %.4f", r.Name, e, n, loss)
		})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		path := filepath.Join(*out, r.Name+".sieve")
		if err := m.Save(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		d := m.Describe()
		fmt.Printf("%s  %s  thresholds %v\n", path, d.ID(), d.Thresholds)
	}
}

// fastTextData writes NAME.train and NAME.test per recipe: one row a line,
// "__label__X" for each label (or __label__benign), then the lower-cased
// text on one line. NAME.kind says how to score it.
func fastTextData(dir, data, local string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(path string, srcs []recipes.Source, labels []string) error {
		var b strings.Builder
		for _, s := range srcs {
			ex, err := s.Load(data, local)
			if err != nil {
				return err
			}
			for _, e := range ex {
				n := 0
				for _, l := range e.Labels {
					if slices.Contains(labels, l) {
						b.WriteString("__label__" + l + " ")
						n++
					}
				}
				if n == 0 {
					b.WriteString("__label__benign ")
				}
				b.WriteString(strings.ToLower(strings.Join(strings.Fields(e.Text), " ")) + "\n")
			}
		}
		return os.WriteFile(path, []byte(b.String()), 0o644)
	}
	for _, r := range recipes.Recipes {
		labels := r.Options.Labels
		if len(labels) == 0 {
			m, err := models.Builtin(r.Name)
			if err != nil {
				return err
			}
			labels = m.Describe().Labels
		}
		base := filepath.Join(dir, r.Name)
		if err := write(base+".train", r.Data, labels); err != nil {
			return err
		}
		tests := r.Tests()
		if r.Options.Kind == classifiers.MultiClass {
			tests = tests[:1] // as the model card scores a multi-class model
		}
		if err := write(base+".test", tests, labels); err != nil {
			return err
		}
		if err := os.WriteFile(base+".kind", []byte(string(r.Options.Kind)+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// denseHead is the dense head for the named model: the file's when one is
// given (a head make dense just trained), else the committed model's. The
// head is a trained artifact like the n-gram weights, but `make models`
// cannot retrain it (that needs PyTorch), so the model file keeps it.
func denseHead(name, file string) (*linear.Dense, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		d, err := linear.DecodeDense(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return d, nil
	}
	m, err := models.Builtin(name)
	if err != nil {
		return nil, err
	}
	if m.Dense == nil {
		return nil, fmt.Errorf("%s: the committed model has no dense head; run make dense", name)
	}
	return m.Dense, nil
}

// writeDenseData writes one JSON row per #train and #dev row of the named
// recipe: its part, dense tokens, labels, unknown labels and the embedded
// model's linear probabilities (without any dense head), from which the
// training script picks its blend.
func writeDenseData(path, name, data, local string) error {
	i := slices.IndexFunc(recipes.Recipes, func(r recipes.Recipe) bool { return r.Name == name })
	if i < 0 {
		return fmt.Errorf("-only: no recipe %q", name)
	}
	r := recipes.Recipes[i]
	m, err := models.Builtin(name)
	if err != nil {
		return err
	}
	lin := m.WithWindow(0, 0)
	lin.Dense = nil
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	parts := []struct {
		name string
		srcs []recipes.Source
	}{{datasets.Train, r.Data}, {datasets.Dev, r.Dev}}
	for _, part := range parts {
		ex, err := recipes.LoadAll(part.srcs, data, local)
		if err != nil {
			return err
		}
		texts := make([]string, len(ex))
		for i, e := range ex {
			texts[i] = e.Text
		}
		probs, err := lin.Classify(context.Background(), texts)
		if err != nil {
			return err
		}
		for i, e := range ex {
			row := map[string]any{"part": part.name, "tokens": linear.DenseTokens(e.Text), "labels": e.Labels,
				"unknown": e.Unknown, "linear": probs[i]}
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
