package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sieve-stream/sieve/datasets"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/tagger"
)

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// trainTagger trains the named-entity tagger on span files (FILE#part as
// for the linear models) and reports per-label figures on the dev data.
func trainTagger(data, dev []string, out, name, labels string, epochs int, seed uint64, stdout io.Writer) error {
	// A source may say which labels it annotates after a "?":
	// FILE?labels=person,gpe,organization; the others are unlabelled in it.
	load := func(srcs []string) ([]tagger.Example, error) {
		var all []tagger.Example
		for _, s := range srcs {
			s, query, _ := strings.Cut(s, "?")
			path, part, _ := strings.Cut(s, "#")
			ex, err := tagger.ReadSpans(path, part)
			if err != nil {
				return nil, err
			}
			if has, ok := strings.CutPrefix(query, "labels="); ok {
				var un []string
				for _, l := range tagger.DefaultLabels {
					if !slices.Contains(strings.Split(has, ","), l) {
						un = append(un, l)
					}
				}
				for i := range ex {
					ex[i].Unlabelled = un
				}
			} else if query != "" {
				return nil, fmt.Errorf("%s: %q is not labels=LABEL,LABEL", s, query)
			}
			all = append(all, ex...)
		}
		return all, nil
	}
	if len(dev) == 0 {
		for _, d := range data {
			if p, ok := strings.CutSuffix(d, "#"+datasets.Train); ok {
				dev = append(dev, p+"#"+datasets.Dev)
			}
		}
	}
	train, err := load(data)
	if err != nil {
		return usageError{err}
	}
	// The dev report is `sieve eval`'s: the span scorer of the guardrails,
	// on the tagger's labels alone.
	var devEx []guardrails.SpanExample
	for _, d := range dev {
		d, _, _ = strings.Cut(d, "?")
		ex, err := datasets.LoadLines(d, func(e *guardrails.SpanExample) string { return e.ID })
		if err != nil {
			return usageError{err}
		}
		devEx = append(devEx, ex...)
	}
	ls := tagger.DefaultLabels
	if labels != "" {
		ls = strings.Split(labels, ",")
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(out), filepath.Ext(out))
	}
	m := tagger.Train(train, tagger.TrainOptions{Name: name, Labels: ls, Epochs: epochs, Seed: seed})
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, %d KB): %d training texts, %d epochs\n", out, m.ID(), b.Len()/1024, len(train), epochs)
	if len(devEx) > 0 {
		rep := guardrails.EvaluateSpans(devEx, taggerOnly{m}).Labels
		fmt.Fprintf(stdout, "dev (%d texts), exact spans:\n%-16s %9s %7s %6s %8s\n", len(devEx), "label", "precision", "recall", "F1", "support")
		for _, l := range ls {
			r := rep[l]
			fmt.Fprintf(stdout, "%-16s %9.3f %7.3f %6.3f %8d\n", l, r.Precision, r.Recall, r.F1, r.Support)
		}
	}
	return nil
}

// taggerOnly scans with the tagger alone, for its dev report.
type taggerOnly struct{ m *tagger.Model }

func (taggerOnly) Name() string       { return "tagger" }
func (t taggerOnly) Labels() []string { return t.m.Labels }
func (t taggerOnly) Scan(text string) []guardrails.Span {
	var out []guardrails.Span
	for _, e := range t.m.Tag(text) {
		out = append(out, guardrails.Span{Start: e.Start, End: e.End, Label: e.Label, Score: e.Score})
	}
	return out
}
