package encoder

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/internal/tokenizer"
)

// tinyModel writes a Hugging Face-style model directory: a mean-pooling
// classifier over the tiny BERT vocabulary, with seeded random weights.
func tinyModel(t testing.TB, labels int) (dir string, emb, w, b []float32, dim int) {
	t.Helper()
	if _, err := Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	const vocab = 21
	dim = 8
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	emb, w, b = rnd(vocab*dim), rnd(dim*labels), rnd(labels)
	dir = t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "model.onnx"), onnxmodel.MeanPoolClassifier(emb, vocab, dim, w, b, labels), 0o644))
	tj, err := os.ReadFile("../../internal/tokenizer/testdata/bert-tiny-tokenizer.json")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644))
	cfg := `{"id2label": {"0": "negative", "1": "positive"}, "problem_type": "single_label_classification", "max_position_embeddings": 16}`
	if labels == 3 {
		cfg = `{"id2label": {"0": "spam", "1": "toxic", "2": "threat"}, "problem_type": "multi_label_classification"}`
	}
	must(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644))
	return dir, emb, w, b, dim
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// expected computes the model by hand: mean of the token embeddings, then
// the linear layer.
func expected(ids []int64, emb, w, b []float32, dim, labels int) []float64 {
	mean := make([]float64, dim)
	for _, id := range ids {
		for d := range dim {
			mean[d] += float64(emb[int(id)*dim+d])
		}
	}
	for d := range mean {
		mean[d] /= float64(len(ids))
	}
	z := make([]float64, labels)
	for k := range labels {
		z[k] = float64(b[k])
		for d := range dim {
			z[k] += mean[d] * float64(w[d*labels+k])
		}
	}
	return z
}

func TestScoresMatchIndependentComputation(t *testing.T) {
	for _, labels := range []int{2, 3} {
		dir, emb, w, b, dim := tinyModel(t, labels)
		for _, padding := range []string{PadBuckets, PadBatch, PadMax} {
			e, err := Load(Config{Dir: dir, Padding: padding, BatchSize: 2, MaxLength: 16})
			must(t, err)
			texts := []string{"unwanted running", "hello! how are you?", "ah博推zz", "", "UNwant\u00e9d,running unwanted"}
			got, err := e.Classify(context.Background(), texts)
			must(t, err)
			tok, _ := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
			for i, text := range texts {
				z := expected(tok.Encode(text, 16).IDs, emb, w, b, dim, labels)
				want := make([]float64, labels)
				if labels == 2 { // softmax
					mx := math.Max(z[0], z[1])
					s := math.Exp(z[0]-mx) + math.Exp(z[1]-mx)
					want[0], want[1] = math.Exp(z[0]-mx)/s, math.Exp(z[1]-mx)/s
				} else { // sigmoid
					for k := range z {
						want[k] = 1 / (1 + math.Exp(-z[k]))
					}
				}
				for k := range want {
					if math.Abs(float64(got[i][k])-want[k]) > 1e-5 {
						t.Fatalf("labels %d padding %s text %q label %d: got %v, want %v", labels, padding, text, k, got[i][k], want[k])
					}
				}
			}
			d := e.Describe()
			if len(d.Labels) != labels || d.Version == "" {
				t.Fatalf("description %+v", d)
			}
			e.Close()
		}
	}
}

func TestMissingPiecesAreNamed(t *testing.T) {
	dir, _, _, _, _ := tinyModel(t, 2)
	os.Remove(filepath.Join(dir, "config.json"))
	if _, err := Load(Config{Dir: dir}); err == nil {
		t.Fatal("a model directory without config.json must fail")
	}
}

// A text longer than the model takes is scored in windows, pooled by the
// maximum: the result is the largest of its windows' scores.
func TestLongTextsUseWindows(t *testing.T) {
	dir, _, _, _, _ := tinyModel(t, 3)
	e, err := Load(Config{Dir: dir, MaxLength: 6, Stride: 2})
	must(t, err)
	defer e.Close()
	long := "hello how are you unwanted running hello how are you"
	got, err := e.Classify(context.Background(), []string{long})
	must(t, err)
	tok, _ := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	ws := tok.Windows(long, 6, 2)
	if len(ws) < 3 {
		t.Fatalf("%d windows", len(ws))
	}
	want := make([]float32, 3)
	for _, w := range ws {
		s, err := e.classifyRows(context.Background(), []tokenizer.Encoding{w})
		must(t, err)
		for k := range want {
			want[k] = max(want[k], s[0][k])
		}
	}
	for k := range want {
		if math.Abs(float64(got[0][k]-want[k])) > 1e-6 {
			t.Fatalf("label %d: %v, want the windows' max %v", k, got[0][k], want[k])
		}
	}
	trunc, err := Load(Config{Dir: dir, MaxLength: 6, Truncate: true})
	must(t, err)
	defer trunc.Close()
	one, err := trunc.Classify(context.Background(), []string{long})
	must(t, err)
	first, _ := e.classifyRows(context.Background(), ws[:1])
	for k := range one[0] {
		if math.Abs(float64(one[0][k]-first[0][k])) > 1e-6 {
			t.Fatalf("truncate must score only the first window")
		}
	}
}

// The BERT-shaped benchmark model runs, and padding does not change its
// scores: the attention mask keeps padded positions out.
func TestBERTShapedModelIgnoresPadding(t *testing.T) {
	dir, _, _, _, _ := tinyModel(t, 2)
	small := onnxmodel.BERTShape{Dim: 16, Heads: 2, FFN: 32, Layers: 2}
	must(t, os.WriteFile(filepath.Join(dir, "model.onnx"), onnxmodel.BERTEncoder(21, small, 2, 3), 0o644))
	texts := []string{"hello", "unwanted running hello how are you", "ah"}
	var ref [][]float32
	for _, padding := range []string{PadBuckets, PadMax} {
		e, err := Load(Config{Dir: dir, Padding: padding, MaxLength: 16})
		must(t, err)
		got, err := e.Classify(context.Background(), texts)
		must(t, err)
		e.Close()
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			for k := range got[i] {
				if math.Abs(float64(got[i][k]-ref[i][k])) > 1e-4 {
					t.Fatalf("text %d label %d: %v padded to max, %v in buckets", i, k, got[i][k], ref[i][k])
				}
			}
		}
	}
}

// TestProviderOption: provider and device_id reach ONNX Runtime's session
// options; with no CUDA provider installed (the npm build has none) the
// encoder runs, and says it runs, on the CPU.
func TestProviderOption(t *testing.T) {
	dir, _, _, _, _ := tinyModel(t, 2)
	for _, p := range []string{"", "cpu", "cuda", "tensorrt"} {
		e, err := Load(Config{Dir: dir, Options: onnxrt.Options{Provider: p}})
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if e.Provider() != "cpu" {
			t.Errorf("%q: provider %q", p, e.Provider())
		}
		if _, err := e.Classify(context.Background(), []string{"hello world"}); err != nil {
			t.Errorf("%q: %v", p, err)
		}
		e.Close()
	}
}
