package models

import (
	"context"
	"testing"

	"github.com/sieve-stream/sieve/datasets"
)

// BenchmarkModeration scores the functional suite's short texts with the
// built-in moderation model, with its dense head and with the hashed
// n-grams alone: the head's cost per text.
func BenchmarkModeration(b *testing.B) {
	ex, err := datasets.Load("../testdata/functional/moderation.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 0, 256)
	for i := 0; len(texts) < cap(texts); i++ {
		texts = append(texts, ex[i%len(ex)].Text)
	}
	m, err := Builtin("moderation")
	if err != nil {
		b.Fatal(err)
	}
	alone := m.WithWindow(0, 0)
	alone.Dense = nil
	for _, bc := range []struct {
		name string
		run  func(context.Context, []string) ([][]float32, error)
	}{{"dense", m.Classify}, {"ngrams", alone.Classify}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.run(context.Background(), texts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
		})
	}
}
