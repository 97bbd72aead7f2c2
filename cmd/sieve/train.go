package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/encoder"
	"github.com/sieve-stream/sieve/classifiers/linear"
	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/review"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var data, dev multiFlag
	fs.Var(&data, "data", "training data: FILE.jsonl, FILE.jsonl#train (a part of the deterministic split), spamassassin:DIR; repeatable")
	fs.Var(&dev, "dev", "dev data for calibration and the final report (default: the #dev part of each --data FILE#train); repeatable")
	out := fs.String("out", "", "model file to write")
	name := fs.String("name", "", "model name (default: the --out file's base name)")
	kind := fs.String("kind", "", "binary, multi-class, multi-label, or tagger (a named-entity tagger from labelled span files) (default: binary for one label, else multi-label)")
	labels := fs.String("labels", "", "comma-separated labels to learn, in order (default: all in the data)")
	epochs := fs.Int("epochs", 8, "passes over the data")
	dims := fs.Int("dims", 18, "log2 of the hashed feature space")
	lr := fs.Float64("lr", 0.5, "initial learning rate")
	seed := fs.Uint64("seed", 1, "shuffle seed")
	arch := fs.String("arch", "linear", "linear (a Sieve model file) or bag (an ONNX model directory: word-piece embeddings, mean pooling, sigmoid outputs)")
	targetPrecision := fs.Float64("target-precision", 0, "calibrate thresholds to reach this precision (default: maximise F1)")
	categories := fs.Bool("categories", false, "a categories model (a review's department): verdicts name its most probable label under \"categories\", or \"other\" when rows without any of its labels (the background: texts of another kind) look likelier; its labels never flag; implies --kind multi-class")
	abstain := fs.Float64("abstain-below", 0, "with --categories: below this calibrated top score the category is \"other\"")
	feedback := fs.String("feedback", "", "moderators' decisions to learn from: a JSONL file of decision records, or \"topic\" for review.decisions_topic of -c")
	feedbackItems := fs.String("feedback-items", "", "the reviewed texts: a JSONL file of review records (default with -c: review.topic)")
	feedbackWeight := fs.Int("feedback-weight", 5, "how many times a moderator's row counts against one row of --data")
	cfgPath := fs.String("c", "", "config file, for --feedback topic")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(data) == 0 || *out == "" {
		return usagef("--data and --out are required")
	}
	if *kind == "tagger" {
		if *epochs == 8 && !flagSet(fs, "epochs") {
			*epochs = 10
		}
		return trainTagger(data, dev, *out, *name, *labels, *epochs, *seed, stdout)
	}
	switch classifiers.Kind(*kind) {
	case "", classifiers.Binary, classifiers.MultiClass, classifiers.MultiLabel:
	default:
		return usagef("--kind: %q is not binary, multi-class, multi-label or tagger", *kind)
	}
	if len(dev) == 0 {
		for _, d := range data {
			if p, ok := strings.CutSuffix(d, "#"+datasets.Train); ok {
				dev = append(dev, p+"#"+datasets.Dev)
			}
		}
	}
	train, err := loadAll(data)
	if err != nil {
		return usageError{err}
	}
	var fbRows int
	if *feedback != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		decFile := *feedback
		if decFile == "topic" {
			decFile = ""
		}
		if (decFile == "" || *feedbackItems == "") && *cfgPath == "" {
			return usagef("--feedback topic and a missing --feedback-items read Kafka: give -c sieve.yaml")
		}
		items, ds, err := readReviewRecords(cfg, *cfgPath, *feedbackItems, decFile)
		if err != nil {
			return err
		}
		fb := review.Examples(items, ds)
		fbRows = len(fb)
		for range max(*feedbackWeight, 1) {
			train = append(train, fb...)
		}
		fmt.Fprintf(stderr, "merged %d moderator rows (each counted %d times) from %d decisions\n", len(fb), max(*feedbackWeight, 1), len(ds))
	}
	devEx, err := loadAll(dev)
	if err != nil {
		return usageError{err}
	}
	if *name == "" {
		base := *out
		if i := strings.LastIndexByte(base, '/'); i >= 0 {
			base = base[i+1:]
		}
		*name, _, _ = strings.Cut(base, ".")
	}
	var order []string
	if *labels != "" {
		order = strings.Split(*labels, ",")
	}
	fmt.Fprintf(stderr, "training %s on %d examples (%d dev)\n", *name, len(train), len(devEx))
	if *arch == "bag" {
		if len(order) == 0 {
			return usagef("--labels is required with --arch bag")
		}
		start := time.Now()
		if err := encoder.TrainBag(train, *out, encoder.BagOptions{Labels: order, Epochs: *epochs, LR: *lr, Seed: *seed}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote ONNX model directory %s in %s\n", *out, time.Since(start).Round(time.Millisecond))
		return nil
	} else if *arch != "linear" {
		return usagef("--arch: %q is not linear or bag", *arch)
	}
	start := time.Now()
	if *categories && *kind == "" {
		*kind = string(classifiers.MultiClass)
	}
	if *abstain != 0 && !*categories {
		return usagef("--abstain-below needs --categories")
	}
	m, err := linear.Train(train, linear.TrainOptions{
		Name: *name, Kind: classifiers.Kind(*kind), Labels: order, DimsLog2: *dims, Epochs: *epochs, LR: *lr, Seed: *seed,
		Categories: *categories, AbstainBelow: *abstain,
		Meta: map[string]string{"data": strings.Join(data, " "), "seed": fmt.Sprint(*seed), "epochs": fmt.Sprint(*epochs),
			"feedback": fmt.Sprintf("%s (%d rows ×%d)", *feedback, fbRows, *feedbackWeight)},
		Progress: func(e, n int, loss float64) { progress(stderr, e, n, loss) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr)
	if err := m.Calibrate(devEx, *targetPrecision); err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	d := m.Describe()
	fmt.Fprintf(stdout, "wrote %s: %s (%s, labels %v, thresholds %v) in %s\n", *out, d.ID(), d.Kind, d.Labels, d.Thresholds, time.Since(start).Round(time.Millisecond))
	if len(devEx) > 0 {
		rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{m}, devEx, nil, 512)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "dev set:")
		printReport(stdout, rep)
	}
	return nil
}

func loadAll(srcs []string) ([]classifiers.Example, error) {
	var all []classifiers.Example
	for _, s := range srcs {
		ex, err := datasets.Load(s)
		if err != nil {
			return nil, err
		}
		all = append(all, ex...)
	}
	return all, nil
}

func progress(w io.Writer, epoch, epochs int, loss float64) {
	const width = 30
	done := width * epoch / epochs
	fmt.Fprintf(w, "\r  epoch %2d/%d [%s%s] loss %.4f", epoch, epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done), loss)
}
